"""An igc-style driver for the DMA engine, written once as coroutines over an abstract backend,
so that it runs unchanged against the golden model (synchronously) and against the gateware
in cocotb (awaiting Wishbone transactions).

The driver follows the Linux igc driver's ring handling (igc_main.c): ``igc_configure_tx_ring``
/ ``igc_configure_rx_ring`` set-up, ``igc_tx_map`` descriptors (one per buffer, EOP and RS on
the last), tail bumps after the descriptors are written, ``igc_clean_tx_irq`` (DD on the
frame's EOP descriptor frees its buffers), ``igc_alloc_rx_buffers`` (packet address in, the
write-back length cleared, one slot kept free) and ``igc_clean_rx_irq`` (stop at the first
descriptor whose write-back length is 0; join buffers up to EOP).

API
---
Backend protocol (what the driver and the scenarios await; implement it for a new target):
    ``async read32(offset) -> int``; ``async write32(offset, value) -> None``: register
    accesses by byte offset.
    ``async wait(cycles=1) -> None``: let the hardware run (a no-op for the golden model).
    ``async receive(frame, queue=0, rss_hash=0, rss_type=0) -> None``: offer one frame on the
    engine's RX stream (the scenarios use it, not the driver).
    ``async transmitted() -> list``: the frames the TX stream produced since the last call,
    as :class:`slique.sim.dma.engine.TxFrame` (``queue``, ``data``).
``ModelBackend(engine)``
    The protocol over a golden :class:`slique.sim.dma.engine.DmaEngine`.
``run_sync(coroutine)``
    Run a driver coroutine on a backend that never suspends (the golden model); raises if it
    does suspend.
``SyncDriver(driver)``
    Every coroutine method of an :class:`IgcDriver` as a plain method (``run_sync`` each).
``IgcDriver(backend, memory, *, queues=1, tx_ring_size=256, rx_ring_size=256,
rx_buffer_size=2048, arena=(0x1000_0000, 0x1000_0000), misalign_tx=False, seed=0,
poll_limit=100_000, poll_cycles=16)``
    ``async setup()``: every queue's TX and RX ring, interrupts unmasked.
    ``async configure_tx_ring(queue)`` / ``async configure_rx_ring(queue)``: one ring, as igc.
    ``async disable_tx(queue)`` / ``async disable_rx(queue)``: clear the enable bit.
    ``async transmit(fragments, queue=0) -> bool``: copy each fragment (bytes) into its own DMA
    buffer and post one descriptor per fragment (scatter-gather); False (nothing posted) when
    the ring lacks room; the caller cleans up and retries.
    ``async transmit_buffers(buffers, queue=0, release=None) -> bool``: zero copy: post
    descriptors for ``(address, length)`` buffers already in memory; ``release(buffers)`` is
    called when the frame is done (DD).
    ``async clean_tx(queue=0) -> int``: reclaim the frames whose EOP descriptor has DD.
    ``async clean_rx(queue=0, budget=None) -> list[RxFrame]``: the frames written back,
    buffers detached from the ring, which is refilled and its tail bumped.
    ``async wait_tx_idle(queue=0)``: poll (``wait`` between polls) until every posted frame is
    reclaimed; raises :exc:`TimeoutError` after ``poll_limit`` polls.
    ``async wait_rx(count, queue=0) -> list[RxFrame]``: poll ``clean_rx`` until ``count``
    frames arrived.
    ``async forward(frame, queue=0) -> bool``: DMA chaining: hand an RX frame's buffers to TX
    descriptors without reading the payload; they return to the RX buffer pool after TX.
    ``async service() -> Service``: the interrupt handler: read and acknowledge EICR, clean
    the queues it names, read and acknowledge TQERR / RQERR of the queues in error.
    ``async read_counters() -> dict``: read every statistics counter (clear-on-read) and add
    them to ``counters`` (a ``Counter`` of totals since set-up).
    ``frame_data(frame) -> bytes``: the payload of an RX frame (a CPU copy).
    ``recycle(frame)``: give an RX frame's buffers back to the pool.
    ``allowed_regions() -> list of (start, end)``: rings and buffers the driver gave the
    engine (for the "nothing written outside" audit).
    ``tx_in_flight(queue)``: frames posted and not yet reclaimed.
    Attributes: ``memory`` (the CPU's view), ``regs`` (the constants module of
    ``dma_registers(queues)``: ``regs.TDT(n)``, ``regs.TXDCTL_ENABLE_MASK``...), ``tx`` /
    ``rx`` (per-queue rings: ``base``, ``count``, ``next_to_use``, ``next_to_clean``),
    ``allocator``, ``counters``, ``tx_posted`` / ``tx_completed`` (``Counter`` by queue),
    ``rx_buffer_size``, ``poll_limit``, ``poll_cycles``.
``RxFrame``: ``queue``, ``buffers`` (list of ``(address, length)``), ``rss_hash``,
``rss_type``, ``length``. ``Service``: ``tx_cleaned``, ``rx_frames``, ``tx_errors``,
``rx_errors`` (dicts by queue).
"""

import random
from collections import Counter, deque
from dataclasses import dataclass, field

from slique.hdl.dma.descriptors import (
    DESCRIPTOR_BYTES, SRRCTL_BSIZEPKT_UNIT, SRRCTL_DESCTYPE_ADV_ONEBUF, RxWriteBack, TxWriteBack,
    rx_read_descriptor, tx_data_descriptor, unpack_descriptor, MAX_FRAME_DESCRIPTORS)
from slique.hdl.dma.registers import (COUNTERS, EICR_RXERR_SHIFT, EICR_RXQ_SHIFT,
                                      EICR_TXERR_SHIFT, EICR_TXQ_SHIFT, dma_registers)
from slique.regmap import constants_module

from .host_memory import Allocator


__all__ = ["IgcDriver", "SyncDriver", "ModelBackend", "RxFrame", "Service", "run_sync"]


#: igc's IGC_RX_HDR_LEN: the header buffer size it writes into SRRCTL.BSIZEHDRSIZE.
RX_HDR_LEN = 256


class ModelBackend:
    """The backend protocol over a golden :class:`~slique.sim.dma.engine.DmaEngine`."""

    def __init__(self, engine):
        self.engine = engine

    async def read32(self, offset):
        return self.engine.read32(offset)

    async def write32(self, offset, value):
        self.engine.write32(offset, value)

    async def wait(self, cycles=1):
        return None

    async def receive(self, frame, queue=0, rss_hash=0, rss_type=0):
        self.engine.receive(frame, queue, rss_hash=rss_hash, rss_type=rss_type)

    async def transmitted(self):
        return self.engine.pull_tx_frames()


def run_sync(coroutine):
    """Run ``coroutine`` to its end on a backend whose awaits never suspend."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("The driver suspended: run_sync is for backends that never suspend "
                       "(the golden model); run it in cocotb instead")


class SyncDriver:
    """An :class:`IgcDriver` whose coroutine methods run synchronously (golden model)."""

    def __init__(self, driver):
        self.driver = driver

    def __getattr__(self, name):
        attribute = getattr(self.driver, name)
        if callable(attribute) and getattr(attribute, "_coroutine", False):
            return lambda *args, **keywords: run_sync(attribute(*args, **keywords))
        return attribute

    def __setattr__(self, name, value):
        if name == "driver":
            super().__setattr__(name, value)
        else:
            setattr(self.driver, name, value)


def _coroutine(method):
    method._coroutine = True
    return method


@dataclass
class RxFrame:
    """A received frame: its buffers (still owned by the driver) and write-back fields."""
    queue: int
    buffers: list
    rss_hash: int = 0
    rss_type: int = 0

    @property
    def length(self):
        return sum(length for _, length in self.buffers)


@dataclass
class Service:
    """What one :meth:`IgcDriver.service` call found (per-queue dicts)."""
    tx_cleaned: dict
    rx_frames: dict
    tx_errors: dict
    rx_errors: dict


@dataclass
class _TxEntry:
    """One posted frame: its descriptors' slots and how to release its buffers."""
    first: int
    eop: int
    count: int
    buffers: list
    release: object = None


@dataclass
class _Ring:
    count: int
    base: int = 0
    next_to_use: int = 0
    next_to_clean: int = 0
    entries: deque = field(default_factory=deque)     # TX: posted frames in order
    slots: list = field(default_factory=list)         # RX: buffer address of each slot
    partial: list = field(default_factory=list)       # RX: buffers of a frame without EOP yet

    def unused(self):
        """igc_desc_unused: free descriptors, one kept back."""
        return (self.next_to_clean - self.next_to_use - 1) % self.count


class IgcDriver:
    """igc-style driver of the DMA engine over a backend and a host memory (see the module
    documentation)."""

    def __init__(self, backend, memory, *, queues=1, tx_ring_size=256, rx_ring_size=256,
                 rx_buffer_size=2048, arena=(0x1000_0000, 0x1000_0000), misalign_tx=False,
                 seed=0, poll_limit=100_000, poll_cycles=16):
        for name, size in (("tx_ring_size", tx_ring_size), ("rx_ring_size", rx_ring_size)):
            if size < 8 or size % 8:
                raise ValueError(f"{name} must be a multiple of 8 (igc's "
                                 f"REQ_*_DESCRIPTOR_MULTIPLE), not {size}")
        if rx_buffer_size % SRRCTL_BSIZEPKT_UNIT or not rx_buffer_size:
            raise ValueError(f"rx_buffer_size must be a multiple of 1024, not {rx_buffer_size}")
        self.backend, self.memory = backend, memory
        self.queues = queues
        self.regs = constants_module(dma_registers(queues, window=True))
        self.rx_buffer_size = rx_buffer_size
        self.allocator = Allocator(*arena)
        self.misalign_tx = misalign_tx
        self.poll_limit, self.poll_cycles = poll_limit, poll_cycles
        self._rng = random.Random(seed)
        self.tx = [_Ring(tx_ring_size) for _ in range(queues)]
        self.rx = [_Ring(rx_ring_size) for _ in range(queues)]
        self._rx_pool = []
        self.counters = Counter()
        self.tx_posted = Counter()
        self.tx_completed = Counter()

    # -- set-up ----------------------------------------------------------------------------------

    @_coroutine
    async def setup(self):
        """Configure every queue's TX and RX ring and unmask the queue interrupts."""
        for queue in range(self.queues):
            await self.configure_tx_ring(queue)
            await self.configure_rx_ring(queue)
        regs = self.regs
        await self.backend.write32(regs.EIMS, (1 << self.queues) - 1 << EICR_TXQ_SHIFT
                                   | (1 << self.queues) - 1 << EICR_RXQ_SHIFT)

    async def _program_ring(self, prefix, queue, ring):
        regs = self.regs
        write = self.backend.write32
        await write(getattr(regs, f"{prefix}XDCTL")(queue), 0)
        if not ring.base:
            ring.base = self.allocator.alloc(ring.count * DESCRIPTOR_BYTES)
            self.memory.write(ring.base, bytes(ring.count * DESCRIPTOR_BYTES))
        await write(getattr(regs, f"{prefix}DLEN")(queue), ring.count * DESCRIPTOR_BYTES)
        await write(getattr(regs, f"{prefix}DBAL")(queue), ring.base & 0xFFFF_FFFF)
        await write(getattr(regs, f"{prefix}DBAH")(queue), ring.base >> 32)
        await write(getattr(regs, f"{prefix}DH")(queue), 0)
        await write(getattr(regs, f"{prefix}DT")(queue), 0)
        ring.next_to_use = ring.next_to_clean = 0

    @_coroutine
    async def configure_tx_ring(self, queue):
        """igc_configure_tx_ring: queue off, ring registers, head = tail = 0, then enable with
        PTHRESH 8, HTHRESH 1, WTHRESH 16."""
        ring = self.tx[queue]
        self._release_tx(ring)
        await self._program_ring("T", queue, ring)
        regs = self.regs
        await self.backend.write32(regs.TXDCTL(queue), 8 << regs.TXDCTL_PTHRESH_SHIFT
                                   | 1 << regs.TXDCTL_HTHRESH_SHIFT
                                   | 16 << regs.TXDCTL_WTHRESH_SHIFT | regs.TXDCTL_ENABLE_MASK)

    @_coroutine
    async def configure_rx_ring(self, queue):
        """igc_configure_rx_ring: queue off, ring registers, head = tail = 0, SRRCTL
        (read-modify-write of BSIZEPKT, BSIZEHDRSIZE, DESCTYPE), enable with PTHRESH 8,
        HTHRESH 8, WTHRESH 4, then igc_alloc_rx_buffers."""
        ring = self.rx[queue]
        self._release_rx(ring)
        await self._program_ring("R", queue, ring)
        regs = self.regs
        srrctl = await self.backend.read32(regs.SRRCTL(queue))    # read-modify-write, as igc
        srrctl &= ~(regs.SRRCTL_BSIZEPKT_MASK | regs.SRRCTL_BSIZEHDRSIZE_MASK
                    | regs.SRRCTL_DESCTYPE_MASK)
        srrctl |= (RX_HDR_LEN // 64) << regs.SRRCTL_BSIZEHDRSIZE_SHIFT
        srrctl |= (self.rx_buffer_size // SRRCTL_BSIZEPKT_UNIT) << regs.SRRCTL_BSIZEPKT_SHIFT
        srrctl |= SRRCTL_DESCTYPE_ADV_ONEBUF << regs.SRRCTL_DESCTYPE_SHIFT
        await self.backend.write32(regs.SRRCTL(queue), srrctl)
        await self.backend.write32(regs.RXDCTL(queue), 8 << regs.RXDCTL_PTHRESH_SHIFT
                                   | 8 << regs.RXDCTL_HTHRESH_SHIFT
                                   | 4 << regs.RXDCTL_WTHRESH_SHIFT | regs.RXDCTL_ENABLE_MASK)
        ring.slots = [None] * ring.count
        await self.refill_rx(queue)

    @_coroutine
    async def disable_tx(self, queue=0):
        await self.backend.write32(self.regs.TXDCTL(queue), 0)

    @_coroutine
    async def disable_rx(self, queue=0):
        await self.backend.write32(self.regs.RXDCTL(queue), 0)

    def _release_tx(self, ring):
        """Free the buffers of frames still on a TX ring (ring reset)."""
        while ring.entries:
            self._finish_tx(ring.entries.popleft())

    def _release_rx(self, ring):
        for address in ring.slots:
            if address is not None:
                self._rx_pool.append(address)
        for address, _ in ring.partial:
            self._rx_pool.append(address)
        ring.slots, ring.partial = [], []

    # -- TX ----------------------------------------------------------------------------------------

    def tx_in_flight(self, queue=0):
        """Frames posted on ``queue`` and not yet reclaimed."""
        return len(self.tx[queue].entries)

    @_coroutine
    async def transmit(self, fragments, queue=0):
        """Copy ``fragments`` into DMA buffers and post them as one frame (scatter-gather)."""
        fragments = [bytes(fragment) for fragment in fragments]
        if not fragments or not all(fragments):
            raise ValueError("A TX frame is one or more non-empty fragments")
        if len(fragments) > self.tx[queue].unused():
            return False
        buffers, blocks = [], []
        for fragment in fragments:
            offset = self._rng.randrange(8) if self.misalign_tx else 0
            block = self.allocator.alloc(len(fragment) + offset)
            self.memory.write(block + offset, fragment)
            blocks.append(block)
            buffers.append((block + offset, len(fragment)))
        return await self.transmit_buffers(buffers, queue, release=lambda _: [
            self.allocator.free(block) for block in blocks])

    @_coroutine
    async def transmit_buffers(self, buffers, queue=0, release=None):
        """Post ``(address, length)`` buffers as one frame (igc_tx_map), then bump TDT."""
        ring = self.tx[queue]
        if not buffers or len(buffers) > ring.unused() or len(buffers) > MAX_FRAME_DESCRIPTORS:
            if len(buffers) > MAX_FRAME_DESCRIPTORS:
                raise ValueError(f"A frame may use at most {MAX_FRAME_DESCRIPTORS} descriptors")
            return False
        total = sum(length for _, length in buffers)
        first = ring.next_to_use
        for number, (address, length) in enumerate(buffers):
            last = number == len(buffers) - 1
            self.memory.write(ring.base + ring.next_to_use * DESCRIPTOR_BYTES, tx_data_descriptor(
                address, length, eop=last, rs=last, paylen=total))
            eop = ring.next_to_use
            ring.next_to_use = (ring.next_to_use + 1) % ring.count
        ring.entries.append(_TxEntry(first, eop, len(buffers), list(buffers), release))
        self.tx_posted[queue] += 1
        await self.backend.write32(self.regs.TDT(queue), ring.next_to_use)   # after the wmb
        return True

    def _finish_tx(self, entry):
        if entry.release is not None:
            entry.release(entry.buffers)

    @_coroutine
    async def clean_tx(self, queue=0):
        """igc_clean_tx_irq: reclaim frames, in order, whose EOP descriptor has DD."""
        ring = self.tx[queue]
        cleaned = 0
        while ring.entries:
            entry = ring.entries[0]
            raw = self.memory.read(ring.base + entry.eop * DESCRIPTOR_BYTES, DESCRIPTOR_BYTES)
            if not unpack_descriptor(TxWriteBack, raw)["status"]["dd"]:
                break
            ring.entries.popleft()
            self._finish_tx(entry)
            ring.next_to_clean = (entry.eop + 1) % ring.count
            cleaned += 1
        self.tx_completed[queue] += cleaned
        return cleaned

    @_coroutine
    async def wait_tx_idle(self, queue=0):
        """Poll clean_tx until every posted frame is reclaimed."""
        for _ in range(self.poll_limit):
            await self.clean_tx(queue)
            if not self.tx[queue].entries:
                return
            await self.backend.wait(self.poll_cycles)
        raise TimeoutError(f"TX queue {queue}: {len(self.tx[queue].entries)} frame(s) without "
                           f"DD after {self.poll_limit} polls")

    # -- RX ----------------------------------------------------------------------------------------

    def _rx_buffer(self):
        if self._rx_pool:
            return self._rx_pool.pop()
        return self.allocator.alloc(self.rx_buffer_size)

    @_coroutine
    async def refill_rx(self, queue=0):
        """igc_alloc_rx_buffers: give every unused slot a buffer, then bump RDT."""
        ring = self.rx[queue]
        unused = ring.unused()
        if not unused:
            return 0
        for _ in range(unused):
            slot = ring.next_to_use
            if ring.slots[slot] is None:
                ring.slots[slot] = self._rx_buffer()
            self.memory.write(ring.base + slot * DESCRIPTOR_BYTES,
                              rx_read_descriptor(ring.slots[slot]))
            ring.next_to_use = (slot + 1) % ring.count
        await self.backend.write32(self.regs.RDT(queue), ring.next_to_use)
        return unused

    @_coroutine
    async def clean_rx(self, queue=0, budget=None):
        """igc_clean_rx_irq: collect written-back frames, detach their buffers, refill."""
        ring = self.rx[queue]
        frames = []
        while budget is None or len(frames) < budget:
            slot = ring.next_to_clean
            if slot == ring.next_to_use:
                break
            fields = unpack_descriptor(RxWriteBack, self.memory.read(
                ring.base + slot * DESCRIPTOR_BYTES, DESCRIPTOR_BYTES))
            if not fields["length"]:
                break
            ring.partial.append((ring.slots[slot], fields["length"]))
            ring.slots[slot] = None
            ring.next_to_clean = (slot + 1) % ring.count
            if fields["status_error"]["eop"]:
                frames.append(RxFrame(queue, ring.partial, fields["rss_hash"],
                                      fields["pkt_info"]["rss_type"]))
                ring.partial = []
        await self.refill_rx(queue)
        return frames

    @_coroutine
    async def wait_rx(self, count, queue=0):
        """Poll clean_rx until ``count`` frames arrived."""
        frames = []
        for _ in range(self.poll_limit):
            frames += await self.clean_rx(queue, count - len(frames))
            if len(frames) >= count:
                return frames
            await self.backend.wait(self.poll_cycles)
        raise TimeoutError(f"RX queue {queue}: {len(frames)} of {count} frame(s) after "
                           f"{self.poll_limit} polls")

    def frame_data(self, frame):
        """The payload of ``frame`` (a CPU copy)."""
        return b"".join(self.memory.read(address, length) for address, length in frame.buffers)

    def recycle(self, frame):
        """Give ``frame``'s buffers back to the RX buffer pool."""
        self._rx_pool.extend(address for address, _ in frame.buffers)
        frame.buffers = []

    @_coroutine
    async def forward(self, frame, queue=0):
        """DMA chaining: send ``frame``'s RX buffers as a TX frame, payload untouched."""
        buffers = list(frame.buffers)
        posted = await self.transmit_buffers(buffers, queue, release=lambda done: self._rx_pool
                                             .extend(address for address, _ in done))
        if posted:
            frame.buffers = []
        return posted

    # -- interrupts ------------------------------------------------------------------------------------

    @_coroutine
    async def service(self):
        """The interrupt handler: read EICR, acknowledge it (write 1 to clear), clean the
        queues whose TX / RX done bits are set, and read and acknowledge the error causes of
        the queues whose error bits are set. Returns ``Service(tx_cleaned, rx_frames,
        tx_errors, rx_errors)``: per-queue dicts of frames cleaned, frames received, and the
        TQERR / RQERR bits seen."""
        regs = self.regs
        cause = await self.backend.read32(regs.EICR)
        if cause:
            await self.backend.write32(regs.EICR, cause)
        result = Service({}, {}, {}, {})
        for queue in range(self.queues):
            if cause >> (EICR_TXQ_SHIFT + queue) & 1:
                result.tx_cleaned[queue] = await self.clean_tx(queue)
            if cause >> (EICR_RXQ_SHIFT + queue) & 1:
                result.rx_frames[queue] = await self.clean_rx(queue)
            for shift, register, errors in ((EICR_TXERR_SHIFT, regs.TQERR, result.tx_errors),
                                            (EICR_RXERR_SHIFT, regs.RQERR, result.rx_errors)):
                if cause >> (shift + queue) & 1:
                    bits = await self.backend.read32(register(queue))
                    await self.backend.write32(register(queue), bits)
                    errors[queue] = bits
        return result

    # -- statistics and audit ------------------------------------------------------------------------

    @_coroutine
    async def read_counters(self):
        """Read (and so clear) every statistics counter; returns the totals since set-up."""
        regs = self.regs
        for name in COUNTERS:
            self.counters[name] += await self.backend.read32(getattr(regs, name))
        for queue in range(self.queues):
            self.counters[("RQDPC", queue)] += await self.backend.read32(regs.RQDPC(queue))
        return self.counters

    def allowed_regions(self):
        """Rings and buffers the driver gave the engine: every live allocation."""
        return self.allocator.regions()
