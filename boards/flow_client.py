"""Host side of the iCEBreaker flow top: configure it, run the generator, read counters and
trace records, all through a :class:`~slique.boards.bridge.BridgeClient` (a real port or a
simulated UART alike)."""

from dataclasses import dataclass

from slique.hdl.trace_event import TraceBlock, TraceReason
from slique.hdl.uart_bridge import BRIDGE_REGISTERS, Status, StrayByte

from .icebreaker import ADMISSION_BANK, BOARD_BANK, BOARD_REGISTERS, admission_bank_registers
from .soc import register_address


__all__ = ["FlowBoardClient", "TraceRecordRead", "ADMISSION_COUNTERS"]


#: The admission counters, in register order (one burst reads them).
ADMISSION_COUNTERS = ("offered", "accepted", "delivered", "dropped_burst_exhausted",
                      "dropped_hard_limit")


@dataclass(frozen=True)
class TraceRecordRead:
    """A trace record read from the board."""
    cycle: int
    block: TraceBlock
    reason: TraceReason
    queue: int
    tag: int


class FlowBoardClient:
    """Drives a :class:`~slique.boards.icebreaker.FlowBoardCore` through the bridge.

    Parameters
    ----------
    client : BridgeClient
    queues : int
        The board's queues.
    """

    def __init__(self, client, queues=2):
        self.client = client
        self.queues = queues

    def _board(self, name):
        return register_address(BOARD_BANK, BOARD_REGISTERS[name].offset)

    def _admission(self, queue, name):
        return register_address(ADMISSION_BANK + queue,
                                admission_bank_registers(queue)[name].offset)

    def configure_admission(self, queue, *, steady, burst, capacity, rate, denominator=0):
        """S, B, C and r (``rate``: tokens per cycle, a float; 8.8 fixed point with
        ``denominator`` 0) of one queue's admission."""
        fixed = round(rate * 256)
        self.client.write(self._admission(queue, "ADMISSION_STEADY"),
                          [steady, burst, capacity, fixed, denominator])

    def drain_every(self, period):
        self.client.write(self._board("DRAIN_PERIOD"), period)

    def start_generator(self, *, seed, count=0, min_length=1, length_mask=0, gap=0, burst=0,
                        burst_gap=0):
        """Load the generator's configuration and seed, then enable it."""
        self.client.write(self._board("GEN_SEED"), seed)
        self.client.write(self._board("GEN_LENGTH"), min_length | length_mask << 8)
        self.client.write(self._board("GEN_SHAPE"), gap | burst << 8 | burst_gap << 16)
        self.client.write(self._board("GEN_COUNT"), count)
        self.client.write(self._board("GEN_SEED_LOAD"), 1)
        self.client.write(self._board("GEN_CTRL"), 1)

    def stop_generator(self):
        self.client.write(self._board("GEN_CTRL"), 0)

    def sent(self):
        return self.client.read_word(self._board("GEN_SENT"))

    def admission_counters(self, queue):
        """The read-to-clear counters of one queue (reading clears them)."""
        words = self.client.read(self._admission(queue, "ADMISSION_OFFERED"),
                                 len(ADMISSION_COUNTERS))
        return dict(zip(ADMISSION_COUNTERS, words))

    def admission_level(self, queue):
        return self.client.read_word(self._admission(queue, "ADMISSION_LEVEL"))

    def trace_status(self):
        lost, level, cycle = self.client.read(self._board("TRACE_LOST"), 3)
        return {"lost": lost, "level": level, "cycle": cycle}

    def trace_records(self, limit=1000):
        """Take every waiting trace record (at most ``limit``)."""
        records = []
        for _ in range(limit):
            cycle, event, tag = self.client.read(self._board("TRACE_HEAD_CYCLE"), 3)
            if not event >> 31:
                break
            records.append(TraceRecordRead(cycle, TraceBlock(event >> 16 & 0xF),
                                           TraceReason(event >> 8 & 0xFF), event & 0xFF, tag))
        return records

    def bridge_counters(self):
        """The bridge's own counters (read-to-clear): replies by status, stray bytes."""
        first = register_address(0, BRIDGE_REGISTERS["BRIDGE_FRAMES_OK"].offset)
        words = self.client.read(first, len(Status) + len(StrayByte))
        return ({status: words[status.value] for status in Status},
                {reason: words[len(Status) + reason.value] for reason in StrayByte})
