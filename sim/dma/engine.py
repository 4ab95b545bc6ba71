"""Golden model of the i225-compatible descriptor DMA engine, at the transaction level.

It has the gateware's register interface (the same :func:`slique.hdl.dma.registers.dma_registers`
map, read and written by byte offset) and the same host memory
(:class:`slique.sim.dma.host_memory.HostMemory`, through its ``dma_read`` / ``dma_write``), and
follows the outcomes documented in the register map. It has no clock: a tail write makes the
TX queue send every frame that is complete in its ring at once, and :meth:`DmaEngine.receive`
handles one RX frame whole.

API
---
``DmaEngine(memory, *, queues=1, window=True, address_width=32, data_width=64)``
    ``read32(offset, sel=0xF) -> int`` / ``write32(offset, value, sel=0xF)``: bus accesses.
    ``receive(frame, queue=0, *, rss_hash=0, rss_type=0, cut_after=None) -> RxOutcome``: one
    frame on the RX stream; ``cut_after=k`` models software clearing RXDCTL.ENABLE once ``k``
    bytes of the frame are in memory (the disable-mid-frame case).
    ``pull_tx_frames() -> list[TxFrame]``: the frames sent on the TX stream since the last
    call (``TxFrame(queue, data)``; TX is store-and-forward, so frames leave whole).
    ``irq`` (bool): ``EICR & EIMS`` non-zero.
    ``totals``: ``collections.Counter`` of every counter event, never cleared (``"GPRC"``,
    ``"MPC"``, ``("RQDPC", n)``...), for conservation checks that must not disturb the
    read-to-clear counters.
    ``registers``: the :class:`slique.sim.RegisterFile` (peek with ``registers.value(name,
    field, index)``).
``TxFrame``, ``RxOutcome`` (``DELIVERED``, ``MISSED``, ``OVERSIZE``, ``DROPPED``,
``ABORTED``, ``ERROR``).
"""

import enum
from collections import Counter, deque
from dataclasses import dataclass

from slique.hdl.dma.descriptors import (
    DESCRIPTOR_BYTES, DTYP_DATA, MAX_FRAME_BYTES, MAX_FRAME_DESCRIPTORS, RING_ALIGN,
    SRRCTL_BSIZEPKT_UNIT, SRRCTL_DESCTYPE_ADV_ONEBUF, RxReadDescriptor, RxWriteBack,
    TxDataDescriptor, TxWriteBack, pack_descriptor, unpack_descriptor)
from slique.hdl.dma.registers import RxQueueError, TxQueueError, dma_registers
from slique.sim.registers import FULL_SEL, RegisterFile

from .host_memory import BusError


__all__ = ["DmaEngine", "TxFrame", "RxOutcome"]


@dataclass(frozen=True)
class TxFrame:
    """A frame sent (whole) on the TX stream."""
    queue: int
    data: bytes


class RxOutcome(enum.Enum):
    """What became of one RX frame."""
    DELIVERED = "delivered"   # written and written back (GPRC)
    MISSED = "missed"         # not enough free descriptors (MPC, RNBC)
    OVERSIZE = "oversize"     # longer than MAX_FRAME_BYTES (ROC)
    DROPPED = "dropped"       # the queue was not running (RQDPC)
    ABORTED = "aborted"       # cut by a disable mid-frame (RQDPC, RQERR.ABORTED)
    ERROR = "error"           # the queue stopped on a window or bus error (RQDPC)


class _Queue:
    """Latched ring state of one queue direction."""

    def __init__(self):
        self.running = False
        self.base = 0
        self.count = 0
        self.buffer_size = 0
        self.head = 0         # the engine's own head (TDH / RDH show it)
        self.taken = 0        # TX: descriptors of the unfinished frame at the head


class DmaEngine:
    """Transaction-level golden model of :class:`slique.hdl.dma.engine.DmaEngine` (see the
    module documentation)."""

    def __init__(self, memory, *, queues=1, window=True, address_width=32, data_width=64):
        if data_width not in (32, 64):
            raise ValueError(f"data_width must be 32 or 64, not {data_width!r}")
        self.memory = memory
        self.bus_bytes = data_width // 8
        self.queues = queues
        self.address_width = address_width
        self.window = window
        self.registers = RegisterFile(dma_registers(queues, window=window))
        self._tx = [_Queue() for _ in range(queues)]
        self._rx = [_Queue() for _ in range(queues)]
        self._tx_out = deque()
        self.totals = Counter()

    # -- bus -----------------------------------------------------------------------------------

    def read32(self, offset, sel=FULL_SEL):
        """A register read at byte ``offset`` (read-to-clear counters clear)."""
        return self.registers.read(offset, sel)

    def write32(self, offset, value, sel=FULL_SEL):
        """A register write at byte ``offset``, and what it sets going."""
        access = self.registers.access(offset, write=True, data=value, sel=sel)
        for (path, field), bits in access.written.items():
            name, index = path[0], (path[1] if len(path) > 1 else None)
            if name == "EICS":
                self.registers.raise_bits("EICR", bits, field)
            elif name == "EIMC":
                self.registers.clear_bits("EIMS", bits, field)
            elif name == "TXDCTL" and field == "ENABLE":
                self._tx_enable(index, bool(self.registers.value("TXDCTL", "ENABLE", index)))
            elif name == "RXDCTL" and field == "ENABLE":
                self._rx_enable(index, bool(self.registers.value("RXDCTL", "ENABLE", index)))
            elif name == "TDT" and self._tx[index].running:
                self._tx_check_tail(index)
                self._tx_process(index)
            elif name == "RDT" and self._rx[index].running:
                self._rx_check_tail(index)

    @property
    def irq(self):
        mask = self.registers.value
        return any(mask("EICR", field) & mask("EIMS", field)
                   for field in ("TXQ", "RXQ", "TXERR", "RXERR"))

    def pull_tx_frames(self):
        """The frames sent since the last call, oldest first."""
        frames = list(self._tx_out)
        self._tx_out.clear()
        return frames

    # -- helpers -------------------------------------------------------------------------------

    def _count(self, name, amount=1, index=None):
        self.registers.increment(name, amount, index=index)
        self.totals[name if index is None else (name, index)] += amount

    def _allowed(self, address, length):
        """Whether the engine may touch ``[address, address + length)``."""
        if address + length > 1 << self.address_width:
            return False
        if not self.window or not self.registers.value("DMAWBAL", "ENABLE"):
            return True
        value = self.registers.value
        base = value("DMAWBAH") << 32 | value("DMAWBAL", "BASE") << 12
        limit = value("DMAWLAH") << 32 | value("DMAWLAL", "LIMIT") << 12
        return base <= address and address + length <= limit

    def _ring(self, prefix, index):
        value = self.registers.value
        base = value(f"{prefix}DBAH", index=index) << 32 | \
            value(f"{prefix}DBAL", "ADDRESS", index) << 7
        return base, value(f"{prefix}DLEN", "LENGTH", index)

    def _tail(self, prefix, index):
        return self.registers.value(f"{prefix}DT", "TAIL", index)

    def _head(self, prefix, index):
        return self.registers.value(f"{prefix}DH", "HEAD", index)

    def _stop(self, direction, index, error):
        """Stop a queue on ``error`` (a TxQueueError / RxQueueError)."""
        if direction == "tx":
            queue, control, cause, eicr = self._tx[index], "TXDCTL", "TQERR", "TXERR"
        else:
            queue, control, cause, eicr = self._rx[index], "RXDCTL", "RQERR", "RXERR"
        if queue.taken:                # the unfinished frame at the head is discarded
            self._count("TPT")
            self._count("HTDPMC")
        queue.running = False
        queue.taken = 0
        self.registers.load(control, 0, "ENABLE", index)
        self.registers.raise_bits(cause, 1, error.name, index)
        self.registers.raise_bits("EICR", 1 << index, eicr)

    def _enable_checks(self, prefix, index, errors):
        """The checks made at enable, as a list of failing error members (all of them)."""
        base, length = self._ring(prefix, index)
        failing = []
        if length == 0 or length % RING_ALIGN:
            failing.append(errors.RING_LENGTH)
        count = length // DESCRIPTOR_BYTES
        if self._tail(prefix, index) >= count or self._head(prefix, index) >= count:
            failing.append(errors.TAIL)
        if not self._allowed(base, max(length, 1)):
            failing.append(errors.WINDOW)
        return base, count, failing

    def _raise_all(self, direction, index, failing):
        cause = "TQERR" if direction == "tx" else "RQERR"
        for error in failing[1:]:
            self.registers.raise_bits(cause, 1, error.name, index)
        self._stop(direction, index, failing[0])

    # -- TX ------------------------------------------------------------------------------------

    def _tx_enable(self, index, enable):
        queue = self._tx[index]
        if enable and not queue.running:
            base, count, failing = self._enable_checks("T", index, TxQueueError)
            if failing:
                self._raise_all("tx", index, failing)
                return
            queue.running, queue.base, queue.count, queue.taken = True, base, count, 0
            queue.head = self._head("T", index)
            self._tx_process(index)
        elif not enable and queue.running:
            if queue.taken:
                self._stop("tx", index, TxQueueError.ABORTED)
            queue.running = False

    def _tx_check_tail(self, index):
        if self._tail("T", index) >= self._tx[index].count:
            self._stop("tx", index, TxQueueError.TAIL)

    def _tx_discard(self, index, error):
        """Stop on ``error``, discarding the frame at the head (its first descriptor read)."""
        queue = self._tx[index]
        queue.taken = max(queue.taken, 1)
        self._stop("tx", index, error)

    def _tx_process(self, index):
        """Send every complete frame between head and tail."""
        queue = self._tx[index]
        while queue.running:
            head, tail = queue.head, self._tail("T", index)
            descriptors, slots, total = [], [], 0
            position = head
            frame_complete = False
            while position != tail and len(descriptors) < MAX_FRAME_DESCRIPTORS:
                address = queue.base + position * DESCRIPTOR_BYTES
                try:
                    raw = self.memory.dma_read(address, DESCRIPTOR_BYTES)
                except BusError:
                    return self._tx_discard(index, TxQueueError.BUS_ERROR) \
                        if descriptors else self._stop("tx", index, TxQueueError.BUS_ERROR)
                fields = unpack_descriptor(TxDataDescriptor, raw)
                command = fields["cmd_type_len"]
                length = command["length"]
                total += length
                if (not command["dext"] or command["dtyp"] != DTYP_DATA or length == 0
                        or total > MAX_FRAME_BYTES):
                    return self._tx_discard(index, TxQueueError.DESCRIPTOR)
                if not self._allowed(fields["buffer_addr"], length):
                    return self._tx_discard(index, TxQueueError.WINDOW)
                descriptors.append(fields)
                slots.append(position)
                position = (position + 1) % queue.count
                if command["eop"]:
                    frame_complete = True
                    break
            if not frame_complete:
                if len(descriptors) >= MAX_FRAME_DESCRIPTORS:
                    return self._tx_discard(index, TxQueueError.DESCRIPTOR)
                queue.taken = len(descriptors)     # wait for the rest of the frame
                return
            queue.taken = len(descriptors)
            frame = bytearray()
            for fields in descriptors:
                address, length = fields["buffer_addr"], fields["cmd_type_len"]["length"]
                try:
                    frame += self.memory.dma_read(address, length)
                except BusError:
                    return self._tx_discard(index, TxQueueError.BUS_ERROR)
            self._tx_out.append(TxFrame(index, bytes(frame)))
            self._count("TPT")
            self._count("GPTC")
            self._count("GOTCL", len(frame))
            queue.taken = 0
            queue.head = position              # the frame is finished: the head moves past it
            self.registers.load("TDH", position, "HEAD", index)
            written_back = False
            for fields, slot in zip(descriptors, slots):
                if not fields["cmd_type_len"]["rs"]:
                    continue
                try:
                    self.memory.dma_write(queue.base + slot * DESCRIPTOR_BYTES,
                                          pack_descriptor(TxWriteBack, {"status": {"dd": 1}}))
                except BusError:
                    return self._stop("tx", index, TxQueueError.BUS_ERROR)
                written_back = True
            if written_back:
                self.registers.raise_bits("EICR", 1 << index, "TXQ")

    # -- RX ------------------------------------------------------------------------------------

    def _rx_enable(self, index, enable):
        queue = self._rx[index]
        if enable and not queue.running:
            base, count, failing = self._enable_checks("R", index, RxQueueError)
            value = self.registers.value
            size = value("SRRCTL", "BSIZEPKT", index) * SRRCTL_BSIZEPKT_UNIT
            if size == 0 or value("SRRCTL", "DESCTYPE", index) != SRRCTL_DESCTYPE_ADV_ONEBUF:
                failing.insert(1 if failing and failing[0] == RxQueueError.RING_LENGTH else 0,
                               RxQueueError.SRRCTL)
            if failing:
                self._raise_all("rx", index, failing)
                return
            queue.running, queue.base, queue.count, queue.buffer_size = True, base, count, size
            queue.head = self._head("R", index)
        elif not enable:
            queue.running = False

    def _rx_check_tail(self, index):
        if self._tail("R", index) >= self._rx[index].count:
            self._stop("rx", index, RxQueueError.TAIL)

    def _rx_drop(self, index, outcome, error=None):
        self._count("RQDPC", index=index)
        if error is not None:
            self._stop("rx", index, error)
        return outcome

    def receive(self, frame, queue=0, *, rss_hash=0, rss_type=0, cut_after=None):
        """One frame on the RX stream for ``queue``; returns its :class:`RxOutcome`."""
        if not 0 <= queue < self.queues:
            raise ValueError(f"queue must be from 0 to {self.queues - 1}, not {queue}")
        if not frame:
            raise ValueError("An RX frame has at least one byte")
        state = self._rx[queue]
        self._count("TPR")
        if len(frame) > MAX_FRAME_BYTES:
            self._count("ROC")
            return RxOutcome.OVERSIZE
        if not state.running:
            return self._rx_drop(queue, RxOutcome.DROPPED)
        head, tail = state.head, self._tail("R", queue)
        needed = -(-len(frame) // state.buffer_size)
        if (tail - head) % state.count < needed:
            self._count("MPC")
            self._count("RNBC")
            return RxOutcome.MISSED
        chunks = [frame[start:start + state.buffer_size]
                  for start in range(0, len(frame), state.buffer_size)]
        written = 0
        for number, chunk in enumerate(chunks):
            slot = (head + number) % state.count
            try:
                raw = self.memory.dma_read(state.base + slot * DESCRIPTOR_BYTES, DESCRIPTOR_BYTES)
            except BusError:
                return self._rx_drop(queue, RxOutcome.ERROR, RxQueueError.BUS_ERROR)
            address = unpack_descriptor(RxReadDescriptor, raw)["pkt_addr"]
            if address % self.bus_bytes or not self._allowed(address, state.buffer_size):
                return self._rx_drop(queue, RxOutcome.ERROR, RxQueueError.WINDOW)
            if cut_after is not None and written + len(chunk) > cut_after:
                try:
                    self.memory.dma_write(address, chunk[:cut_after - written])
                except BusError:
                    pass
                self.registers.load("RXDCTL", 0, "ENABLE", queue)
                return self._rx_drop(queue, RxOutcome.ABORTED, RxQueueError.ABORTED)
            try:
                self.memory.dma_write(address, chunk)
            except BusError:
                return self._rx_drop(queue, RxOutcome.ERROR, RxQueueError.BUS_ERROR)
            written += len(chunk)
        for number, chunk in enumerate(chunks):
            slot = (head + number) % state.count
            write_back = pack_descriptor(RxWriteBack, {
                "pkt_info": {"rss_type": rss_type},
                "rss_hash": rss_hash,
                "status_error": {"dd": 1, "eop": int(number == len(chunks) - 1)},
                "length": len(chunk),
            })
            try:
                self.memory.dma_write(state.base + slot * DESCRIPTOR_BYTES, write_back)
            except BusError:
                return self._rx_drop(queue, RxOutcome.ERROR, RxQueueError.BUS_ERROR)
        state.head = (head + len(chunks)) % state.count
        self.registers.load("RDH", state.head, "HEAD", queue)
        self._count("GPRC")
        self._count("GORCL", len(frame))
        self.registers.raise_bits("EICR", 1 << queue, "RXQ")
        return RxOutcome.DELIVERED

