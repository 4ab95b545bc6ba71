"""Host memory for the DMA engine's golden model, its cocotb bench and the igc-style driver.

API
---
``HostMemory(*, seed=0, wait_states=(0, 0), stall_probability=0.0, fill=0)``
    Sparse byte-addressed memory (4 KiB pages, created on first write; unwritten bytes read
    ``fill``), shared by the driver (the CPU) and the engine (the device).

    CPU side (the driver; never fails, not logged):
        ``read(address, length) -> bytes``, ``write(address, data)``.
    Device side, byte-exact (the golden model):
        ``dma_read(address, length) -> bytes`` and ``dma_write(address, data)``; both raise
        :class:`BusError` (with the first failing ``address``) when the range meets an error
        range; a failing ``dma_write`` writes the bytes before the error and none after.
    Device side, one bus word (the cocotb Wishbone slave responder):
        ``read_word(address, width_bytes) -> (value, error)`` and
        ``write_word(address, value, sel, width_bytes) -> error``: ``address`` is the byte
        address of the word (``adr * width_bytes``), ``value`` little-endian, ``sel`` one bit
        per byte; ``error`` is True when a selected byte (every byte, for reads) lies in an
        error range, and then nothing is written.
    Timing (the responder asks once per request / per cycle; the golden model ignores it):
        ``wait_states() -> int``: cycles to wait before answering the next request, uniform
        in ``wait_states``; ``stall() -> bool``: whether to raise ``stall`` this cycle
        (probability ``stall_probability``). Seeded by ``seed``.
        ``HostMemory.profile(name, seed)`` builds one of :data:`MEMORY_PROFILES`
        (``"zero-wait"``, ``"slow"``).
    Faults: ``add_error_range(start, end, *, reads=True, writes=True)`` (bus error on
    ``[start, end)``), ``clear_error_ranges()``, ``is_error(address, length=1, *,
    write=False) -> bool``.
    Audit: ``device_writes`` is the list of ``[start, end)`` ranges the device wrote
    (adjacent writes merged); ``writes_outside(allowed) -> list`` gives the parts of them
    outside ``allowed`` (a list of ``(start, end)``), which must be empty.

``Allocator(base, size, *, align=128)``
    Size-class allocator over ``[base, base + size)`` for the driver's rings and buffers:
    ``alloc(length) -> address`` (aligned to ``align``), ``free(address)``, ``in_use``
    (bytes), ``regions() -> list of (start, end)`` of every live allocation.

``CpuTrace(memory)``
    The driver's view of a memory, logging every CPU ``read`` / ``write`` range; its
    ``touched(ranges, since=mark())`` lists the accesses that met ``ranges`` (zero-copy
    checks).
"""

import random
from bisect import bisect_right


__all__ = ["HostMemory", "BusError", "Allocator", "CpuTrace", "MEMORY_PROFILES", "merge_ranges"]


#: Named memory timings: wait states per request and stall probability per cycle.
MEMORY_PROFILES = {
    "zero-wait": {"wait_states": (0, 0), "stall_probability": 0.0},
    "slow": {"wait_states": (1, 6), "stall_probability": 0.25},
}

_PAGE_BITS = 12
_PAGE = 1 << _PAGE_BITS


class BusError(Exception):
    """A device access met an error range; ``address`` is the first failing byte."""

    def __init__(self, address):
        super().__init__(f"bus error at {address:#x}")
        self.address = address


def merge_ranges(ranges):
    """``[start, end)`` ranges sorted and merged where they touch or overlap."""
    merged = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [tuple(pair) for pair in merged]


class HostMemory:
    """Sparse host memory with wait states, stalls and bus-error ranges (see the module
    documentation)."""

    def __init__(self, *, seed=0, wait_states=(0, 0), stall_probability=0.0, fill=0):
        low, high = wait_states
        if not 0 <= low <= high:
            raise ValueError(f"wait_states must be (low, high) with 0 <= low <= high, not "
                             f"{wait_states!r}")
        if not 0.0 <= stall_probability < 1.0:
            raise ValueError(f"stall_probability must be in [0, 1), not {stall_probability!r}")
        self.wait_range = (low, high)
        self.stall_probability = stall_probability
        self.fill = fill
        self._rng = random.Random(seed)
        self._pages = {}
        self._errors = []
        self.device_writes = []

    @classmethod
    def profile(cls, name, seed=0, **keywords):
        """A memory with the timing of ``MEMORY_PROFILES[name]``."""
        if name not in MEMORY_PROFILES:
            raise ValueError(f"memory profile must be one of {', '.join(MEMORY_PROFILES)}, "
                             f"not {name!r}")
        return cls(seed=seed, **MEMORY_PROFILES[name], **keywords)

    # -- bytes -------------------------------------------------------------------------------

    def read(self, address, length):
        """``length`` bytes from ``address`` (CPU side)."""
        if address < 0 or length < 0:
            raise ValueError(f"Bad read of {length} bytes at {address}")
        out = bytearray()
        while length:
            page, offset = address >> _PAGE_BITS, address & (_PAGE - 1)
            chunk = min(length, _PAGE - offset)
            stored = self._pages.get(page)
            out += stored[offset:offset + chunk] if stored is not None \
                else bytes([self.fill]) * chunk
            address += chunk
            length -= chunk
        return bytes(out)

    def write(self, address, data):
        """Write ``data`` at ``address`` (CPU side)."""
        if address < 0:
            raise ValueError(f"Bad write at {address}")
        data = memoryview(bytes(data))
        while data:
            page, offset = address >> _PAGE_BITS, address & (_PAGE - 1)
            chunk = min(len(data), _PAGE - offset)
            stored = self._pages.get(page)
            if stored is None:
                stored = self._pages[page] = bytearray([self.fill]) * _PAGE
            stored[offset:offset + chunk] = data[:chunk]
            address += chunk
            data = data[chunk:]

    # -- faults ------------------------------------------------------------------------------

    def add_error_range(self, start, end, *, reads=True, writes=True):
        """Answer device accesses to ``[start, end)`` with a bus error (reads, writes or
        both)."""
        if not 0 <= start < end:
            raise ValueError(f"Bad error range [{start:#x}, {end:#x})")
        self._errors.append((start, end, reads, writes))

    def clear_error_ranges(self):
        self._errors.clear()

    def _first_error(self, address, length, write=False):
        first = None
        for start, end, reads, writes in self._errors:
            if (writes if write else reads) and start < address + length and address < end:
                hit = max(start, address)
                first = hit if first is None else min(first, hit)
        return first

    def is_error(self, address, length=1, *, write=False):
        """Whether a device read (or write) of ``[address, address + length)`` meets an error
        range."""
        return self._first_error(address, length, write) is not None

    # -- device side ----------------------------------------------------------------------------

    def _log_write(self, address, length):
        if not length:
            return
        log = self.device_writes
        if log and log[-1][1] == address:
            log[-1][1] = address + length
        else:
            log.append([address, address + length])

    def dma_read(self, address, length):
        """Device read of ``length`` bytes; raises :class:`BusError` on an error range."""
        failing = self._first_error(address, length)
        if failing is not None:
            raise BusError(failing)
        return self.read(address, length)

    def dma_write(self, address, data):
        """Device write; on an error range, writes the bytes before it and raises
        :class:`BusError`."""
        failing = self._first_error(address, len(data), write=True)
        if failing is not None:
            self.write(address, data[:failing - address])
            self._log_write(address, failing - address)
            raise BusError(failing)
        self.write(address, data)
        self._log_write(address, len(data))

    def read_word(self, address, width_bytes):
        """One bus read of a ``width_bytes`` word at byte ``address``: ``(value, error)``."""
        if self.is_error(address, width_bytes):
            return 0, True
        return int.from_bytes(self.read(address, width_bytes), "little"), False

    def write_word(self, address, value, sel, width_bytes):
        """One bus write through byte selects ``sel``; returns whether it was a bus error
        (then nothing is written)."""
        lanes = [lane for lane in range(width_bytes) if sel >> lane & 1]
        if any(self.is_error(address + lane, write=True) for lane in lanes):
            return True
        raw = value.to_bytes(width_bytes, "little")
        # write runs of selected lanes
        run = []
        for lane in lanes + [None]:
            if run and (lane is None or lane != run[-1] + 1):
                start = address + run[0]
                self.write(start, raw[run[0]:run[-1] + 1])
                self._log_write(start, len(run))
                run = []
            if lane is not None:
                run.append(lane)
        return False

    # -- timing --------------------------------------------------------------------------------

    def wait_states(self):
        """Cycles the responder waits before answering the next request."""
        low, high = self.wait_range
        return low if low == high else self._rng.randint(low, high)

    def stall(self):
        """Whether the responder stalls (refuses a new request) this cycle."""
        return self.stall_probability > 0 and self._rng.random() < self.stall_probability

    # -- audit ---------------------------------------------------------------------------------

    def writes_outside(self, allowed):
        """Parts of the device's writes outside the ``allowed`` ``(start, end)`` ranges."""
        allowed = merge_ranges(allowed)
        starts = [start for start, _ in allowed]
        outside = []
        for start, end in merge_ranges(self.device_writes):
            position = start
            while position < end:
                index = bisect_right(starts, position) - 1
                if index >= 0 and allowed[index][0] <= position < allowed[index][1]:
                    position = min(end, allowed[index][1])
                    continue
                following = starts[index + 1] if index + 1 < len(starts) else end
                stop = min(end, following)
                outside.append((position, stop))
                position = stop
        return outside


class Allocator:
    """Size-class allocator for the driver's rings and buffers (see the module documentation).

    Each length is rounded up to a power of two of at least ``align`` bytes; freed blocks go
    back to their class's free list, new ones come from the end of the used space.
    """

    def __init__(self, base, size, *, align=128):
        if align & (align - 1) or align <= 0:
            raise ValueError(f"align must be a power of two, not {align}")
        if base % align:
            raise ValueError(f"base {base:#x} must be aligned to {align}")
        self.base, self.size, self.align = base, size, align
        self._next = base
        self._free = {}
        self._live = {}

    def _class(self, length):
        size = self.align
        while size < length:
            size <<= 1
        return size

    def alloc(self, length):
        """The address of a new block of at least ``length`` bytes (aligned to its size class,
        at least ``align``)."""
        if length <= 0:
            raise ValueError(f"Cannot allocate {length} bytes")
        size = self._class(length)
        free = self._free.get(size)
        if free:
            address = free.pop()
        else:
            address = -(-self._next // size) * size if size <= 4096 else \
                -(-self._next // 4096) * 4096
            if address + size > self.base + self.size:
                raise MemoryError(f"Allocator: no room for {length} bytes "
                                  f"({self.in_use} in use of {self.size})")
            self._next = address + size
        self._live[address] = size
        return address

    def free(self, address):
        size = self._live.pop(address, None)
        if size is None:
            raise ValueError(f"Allocator: {address:#x} is not allocated")
        self._free.setdefault(size, []).append(address)

    @property
    def in_use(self):
        """Bytes in live blocks (rounded to their classes)."""
        return sum(self._live.values())

    def regions(self):
        """``(start, end)`` of every live block."""
        return [(address, address + size) for address, size in self._live.items()]


class CpuTrace:
    """A view of a :class:`HostMemory` for the driver that logs the CPU's accesses:
    ``reads`` and ``writes`` are lists of ``(start, end)``; ``touched(ranges)`` gives the
    accesses that meet any of ``ranges`` (a zero-copy path must touch no payload)."""

    def __init__(self, memory):
        self.memory = memory
        self.reads, self.writes = [], []

    def read(self, address, length):
        self.reads.append((address, address + length))
        return self.memory.read(address, length)

    def write(self, address, data):
        self.writes.append((address, address + len(data)))
        self.memory.write(address, data)

    def mark(self):
        """A position in the logs, for ``touched(..., since=mark)``."""
        return len(self.reads), len(self.writes)

    def touched(self, ranges, since=(0, 0)):
        """The logged accesses (after ``since``) that meet any of ``ranges``."""
        ranges = merge_ranges(ranges)
        accesses = self.reads[since[0]:] + self.writes[since[1]:]
        return [(start, end) for start, end in accesses
                if any(low < end and start < high for low, high in ranges)]

    def __getattr__(self, name):
        return getattr(self.memory, name)
