"""Host side of the iCEBreaker flow top: configure it, run the generator, read counters and
trace records, all through a :class:`~slique.boards.bridge.BridgeClient` (a real port or a
simulated UART alike)."""

from dataclasses import dataclass

from slique.hdl.trace_event import TraceBlock, TraceReason
from slique.hdl.uart_bridge import BRIDGE_ID, BRIDGE_REGISTERS, DEFAULT_MAX_BURST, Status, StrayByte

from .bridge import BridgeError
from .icebreaker import (ADMISSION_BANK, BOARD_BANK, BOARD_REGISTERS,
                         admission_bank_registers, frame_bank, frame_registers)
from .soc import register_address


__all__ = ["FlowBoardClient", "TraceRecordRead", "ADMISSION_COUNTERS", "HeadBeat",
           "frame_words", "head_beat"]


#: The admission counters, in register order (one burst reads them).
ADMISSION_COUNTERS = ("offered", "accepted", "delivered", "dropped_burst_exhausted",
                      "dropped_hard_limit")


@dataclass(frozen=True)
class HeadBeat:
    """A word read from FRAME_HEAD: a beat of a queue (``valid`` false: the queue was empty)."""
    valid: bool
    data: int
    first: bool
    last: bool
    level: int


def frame_words(frame):
    """The FRAME_INJECT / FRAME_TX words of ``frame`` (bytes, at least one): one beat each."""
    if not frame:
        raise ValueError("A frame has at least one byte (the frame port carries no empty "
                         "frame)")
    last = len(frame) - 1
    return [byte | (index == 0) << 8 | (index == last) << 9 for index, byte in enumerate(frame)]


def head_beat(word):
    """The :class:`HeadBeat` of a FRAME_HEAD word."""
    return HeadBeat(bool(word >> 31), word & 0xFF, bool(word >> 8 & 1), bool(word >> 9 & 1),
                    word >> 16 & 0xFF)


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
        self.frame_registers = frame_registers(queues)

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

    def _frames(self, name, index=None):
        return register_address(frame_bank(self.queues),
                                self.frame_registers[name].offset_of(index))

    def ping(self):
        """Whether the bridge answers with its identity."""
        return self.client.read_word(register_address(0, BRIDGE_REGISTERS["BRIDGE_ID"].offset)) \
            == BRIDGE_ID

    def reset_admission(self, queue):
        """Put queue ``queue``'s admission settings back to their reset values (S = B = all
        ones: every frame admitted, a frame waits for room)."""
        registers = admission_bank_registers(queue)
        names = ("ADMISSION_STEADY", "ADMISSION_BURST", "ADMISSION_CAPACITY", "ADMISSION_RATE",
                 "ADMISSION_DENOMINATOR")
        self.client.write(self._admission(queue, names[0]),
                          [registers[name].reset for name in names])

    def write_admission(self, queue, *, steady, burst, capacity, rate, denominator=0):
        """S, B, C, the refill rate as the gateware's port takes it (8.8 fixed point, see
        :data:`~slique.boards.icebreaker.FRACTION_BITS`) and D of one queue's admission."""
        self.client.write(self._admission(queue, "ADMISSION_STEADY"),
                          [steady, burst, capacity, rate, denominator])

    def admission_state(self, queue):
        """Level, tokens and the read-to-clear counters of one queue, in one burst (reading
        clears the counters)."""
        words = self.client.read(self._admission(queue, "ADMISSION_LEVEL"),
                                 3 + len(ADMISSION_COUNTERS))
        return dict(level=words[0], tokens=words[1], **dict(zip(ADMISSION_COUNTERS, words[3:])))

    def host_reads(self, on=True):
        """The host empties the queues through FRAME_HEAD (``on``), or the drain does."""
        self.client.write(self._frames("FRAME_HOST"), int(on))

    def inject(self, words):
        """Write beats (:func:`frame_words`, at most one burst) to FRAME_INJECT; answer how
        many the flow path took (fewer when a queue stayed full for the bridge's bus timeout)."""
        if len(words) > DEFAULT_MAX_BURST:
            raise ValueError(f"At most {DEFAULT_MAX_BURST} beats at once, not {len(words)}")
        try:
            self.client.write(self._frames("FRAME_INJECT"), words, fixed=True)
        except BridgeError as error:
            if error.reply is None or error.reply.status != Status.BUS_TIMEOUT:
                raise
            return error.reply.done
        return len(words)

    def transmit(self, frame):
        """Send ``frame`` (bytes) to the board's transmit port."""
        self.client.write(self._frames("FRAME_TX"), frame_words(frame), fixed=True)

    def tx_frames(self):
        """FRAME_TX_FRAMES (wrapping at ``2**16``)."""
        return self.client.read_word(self._frames("FRAME_TX_FRAMES"))

    def read_head(self, queue, count=1):
        """Take up to ``count`` beats of queue ``queue`` (the host must read:
        :meth:`host_reads`); a :class:`HeadBeat` per word read, invalid ones included."""
        return [head_beat(word)
                for word in self.client.read(self._frames("FRAME_HEAD", queue), count,
                                             fixed=True)]

    def drain_every(self, period):
        """The drain takes a beat from every queue once every ``period`` cycles (and the host
        stops reading them: :meth:`host_reads`)."""
        self.client.write(self._board("DRAIN_PERIOD"), period)
        self.host_reads(False)

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
