"""Ring storage: a memory with head and tail, for deep sliques that belong in block RAM."""

from amaranth import *
from amaranth.lib.memory import Memory

from .storage import Storage, count_up_down


__all__ = ["RingStorage", "COMPACT_MAX_BITS"]


def _increment(pointer, modulo):
    if modulo == 1 << len(pointer):
        return pointer + 1
    return Mux(pointer == modulo - 1, 0, pointer + 1)


#: Most memory bits of a ring without a spare word: a memory this small becomes flip-flops or
#: distributed RAM, whose read in the cycle of a write to the same word returns the old word.
COMPACT_MAX_BITS = 128

#: Most memory words of a ring that counts the entries in its memory (two bits) rather than
#: ``level``, see :meth:`RingStorage._count_stored`.
SMALL_RING_WORDS = 3

#: Widest ``level`` counter whose flags (waiting, full) are decoded rather than kept as registers.
NARROW_COUNTER_BITS = 3


class RingStorage(Storage):
    """Storage for a :class:`~slique.hdl.BoundedSlique` as a memory-backed ring.

    Entries are written at the ``tail`` of a ring of memory words and fetched from its ``head``
    into the output register ``o_stream.payload`` (the memory's read data goes straight into it:
    synthesis merges the two into a block RAM's synchronous read port). A fetch happens whenever
    an entry waits in the memory and the output is empty or being consumed, so one entry moves
    in and one out every cycle. An entry written into an empty ring reaches ``o_stream`` two
    cycles later. ``level`` is a counter register (entries in the memory and on ``o_stream``);
    whether an entry waits in the memory and whether the ring is full are decoded from it when
    it is narrow, and kept as registers otherwise, so the fetch decision and the caller's
    ``ready`` are one gate deep and nothing compares the pointers.

    The ring has one of two sizes (see :attr:`words`):

    - *compact*, ``depth - 1`` words (at most :data:`COMPACT_MAX_BITS` bits, depth 2 and up):
      with the output register it holds ``depth`` entries, like
      ``amaranth.lib.fifo.SyncFIFOBuffered``. When full, the word fetched and the word written in
      the same cycle can be the same one; the memory is read before it is written (read-first),
      which synthesis maps to flip-flops or distributed RAM as they are, and emulates on a block
      RAM where a collision is undefined.
    - *with a spare word*, ``max(depth, 2)`` words (larger memories): at most ``depth - 1``
      entries wait in the memory, so a write never lands on the word being fetched. The memory
      carries the Yosys attribute ``no_rw_check`` (no collision logic), which this guarantee makes
      safe, and maps onto a block RAM with nothing around it.

    The caller guarantees that ``w_en`` is only asserted when there is room (fewer than ``depth``
    entries held in all, or the consumer takes a beat in the same cycle).

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of an entry.
    depth : int
        Number of entries held at most (ring and output register together), at least 1.

    Attributes
    ----------
    w_data, w_en, o_stream
        As for :class:`~slique.hdl.storage.Storage`.
    """

    @property
    def compact(self):
        """Whether the ring has no spare word (``depth - 1`` words), see the class docstring."""
        return self._depth >= 2 and (self._depth - 1) * self._width() <= COMPACT_MAX_BITS

    @property
    def words(self):
        """Number of memory words: ``depth - 1`` when :attr:`compact`, else ``max(depth, 2)``."""
        if self.compact:
            return self._depth - 1
        return max(self._depth, 2)

    def _width(self):
        return Shape.cast(self._shape).width

    def elaborate(self, platform):
        m = Module()

        attrs = {} if self.compact else {"no_rw_check": 1}
        m.submodules.memory = memory = Memory(shape=self._width(), depth=self.words, init=[],
                                              attrs=attrs)
        write_port = memory.write_port()
        read_port = memory.read_port(domain="comb")

        head = Signal(range(self.words))
        tail = Signal(range(self.words))
        # Whether any entry waits in the memory (``level - o_stream.valid != 0``).
        waiting = Signal()

        valid = self.o_stream.valid
        read = Signal()
        fetch = Signal()
        m.d.comb += [
            read.eq(valid & self.o_stream.ready),
            fetch.eq(waiting & (~valid | self.o_stream.ready)),
        ]
        if self.words <= SMALL_RING_WORDS:
            self._count_stored(m, waiting, fetch=fetch)
        else:
            self._count_level(m, waiting, fetch=fetch, read=read)

        m.d.comb += [
            write_port.addr.eq(tail),
            write_port.data.eq(self.w_data),
            # With a spare word the word at the tail is always free: it can be written every cycle,
            # and the tail moves on only when the entry is taken.
            write_port.en.eq(self.w_en if self.compact else 1),
            read_port.addr.eq(head),
        ]
        with m.If(self.w_en):
            m.d.sync += tail.eq(_increment(tail, self.words))
        with m.If(fetch):
            m.d.sync += [
                head.eq(_increment(head, self.words)),
                self.o_stream.payload.eq(read_port.data),
                self.o_stream.valid.eq(1),
            ]
        with m.Elif(self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)
        return m

    def _count_stored(self, m, waiting, *, fetch):
        """A small ring counts the entries waiting in its memory (two bits at most), like
        ``SyncFIFOBuffered``; ``level`` adds ``o_stream.valid`` to it and the flags are decoded
        (this measured smaller and faster than counting ``level`` at these sizes)."""
        valid = self.o_stream.valid
        stored = Signal(range(self.words + 1))
        count_up_down(m, stored, up=self.w_en, down=fetch)
        m.d.comb += [
            waiting.eq(stored != 0),
            self.full.eq(Mux(valid, stored == self._depth - 1, stored == self._depth)),
            self.level.eq(stored + valid),
        ]

    def _count_level(self, m, waiting, *, fetch, read):
        """A larger ring counts ``level`` itself; the flags are its top bit when the depth is a
        power of two, decoded when the counter is narrow, registers otherwise."""
        count_up_down(m, self.level, up=self.w_en, down=read)
        narrow = len(self.level) <= NARROW_COUNTER_BITS
        if narrow:
            m.d.comb += waiting.eq(Mux(self.o_stream.valid, self.level >= 2, self.level != 0))
        else:
            self._track_waiting(m, waiting, arrive=self.w_en, leave=fetch)
        if self._depth & (self._depth - 1) == 0:
            # level <= depth = 2**k: its top bit is set exactly when it is full.
            m.d.comb += self.full.eq(self.level[-1])
        elif narrow:
            m.d.comb += self.full.eq(self.level == self._depth)
        else:
            self._track_full(m, arrive=self.w_en, read=read)

    def _track_waiting(self, m, waiting, *, arrive, leave):
        """``waiting`` as a register, set from comparisons of ``level`` with constants (no
        pointer comparison, no adder): the fetch is then one gate deep."""
        # The entry about to be fetched is the only one waiting in the memory.
        last_waiting = Mux(self.o_stream.valid, self.level == 2, self.level == 1)
        with m.If(arrive & ~leave):
            m.d.sync += waiting.eq(1)
        with m.Elif(leave & ~arrive):
            m.d.sync += waiting.eq(~last_waiting)

    def _track_full(self, m, *, arrive, read):
        """``full`` (``level == depth``) as a register, so that the caller's ``ready`` is one
        gate deep."""
        with m.If(arrive & ~read):
            m.d.sync += self.full.eq(self.level == self._depth - 1)
        with m.Elif(read & ~arrive):
            m.d.sync += self.full.eq(0)
