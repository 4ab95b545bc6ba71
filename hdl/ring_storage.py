"""Ring storage: a memory with head and tail, for deep sliques that belong in block RAM."""

from amaranth import *
from amaranth.lib.memory import Memory
from amaranth.utils import bits_for

from .storage import Storage, count_up_down, count_up_down_gates, one_hot_to_binary


__all__ = ["RingStorage", "COMPACT_MAX_BITS"]


def _increment(pointer, modulo):
    if modulo == 1 << len(pointer):
        return pointer + 1
    return Mux(pointer == modulo - 1, 0, pointer + 1)


#: Most memory bits of a ring without a spare word: a memory this small becomes flip-flops or
#: distributed RAM, whose read in the cycle of a write to the same word returns the old word.
COMPACT_MAX_BITS = 128

#: Most memory words of a ring whose pointers are one-hot codes (see
#: :meth:`RingStorage._pointer`) rather than binary counters.
SMALL_RING_WORDS = 3

#: Widest ``level`` counter built from gates (:func:`~slique.hdl.storage.count_up_down_gates`,
#: ``w_en`` one gate from its flip-flops); wider ones (rings of 32 entries and more, in block RAM,
#: whose read port sets the pace) use one carry chain, which is smaller.
GATE_COUNTER_BITS = 5

#: Widest ``level`` counter from which whether an entry waits is decoded rather than kept in
#: registers (see :attr:`RingStorage.level_flags`).
NARROW_COUNTER_BITS = 3

#: Low flags of ``level``'s thermometer code (``level > k``, ``k < 3``) that a wider ring keeps as
#: registers.
LEVEL_FLAGS = 3


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
    ``ready`` are one gate deep and nothing compares the pointers. Up to 31 entries (``level``
    counted with gates), the caller's ``w_en`` (late: it comes from the producer's ``valid``)
    only reaches flip-flop enables and, in a compact ring, the memory's write enable: no adder
    or comparator sits after it.

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

    @property
    def level_flags(self):
        """Registers ``level_above_<k>`` (``level > k``) the ring keeps: none when ``level`` is
        narrow (see :data:`NARROW_COUNTER_BITS`), :data:`LEVEL_FLAGS` otherwise."""
        return 0 if bits_for(self._depth) <= NARROW_COUNTER_BITS else LEVEL_FLAGS

    def _width(self):
        return Shape.cast(self._shape).width

    def elaborate(self, platform):
        m = Module()

        attrs = {} if self.compact else {"no_rw_check": 1}
        m.submodules.memory = memory = Memory(shape=self._width(), depth=self.words, init=[],
                                              attrs=attrs)
        write_port = memory.write_port()
        read_port = memory.read_port(domain="comb")

        # Whether any entry waits in the memory (``level - o_stream.valid != 0``).
        waiting = Signal()

        valid = self.o_stream.valid
        read = Signal()
        fetch = Signal()
        m.d.comb += [
            read.eq(valid & self.o_stream.ready),
            fetch.eq(waiting & (~valid | self.o_stream.ready)),
        ]
        self._count_level(m, waiting, read=read)

        tail = self._pointer(m, "tail", advance=self.w_en)
        head = self._pointer(m, "head", advance=fetch)
        m.d.comb += [
            write_port.addr.eq(tail),
            write_port.data.eq(self.w_data),
            # With a spare word the word at the tail is always free: it can be written every cycle,
            # and the tail moves on only when the entry is taken.
            write_port.en.eq(self.w_en if self.compact else 1),
            read_port.addr.eq(head),
        ]
        with m.If(fetch):
            m.d.sync += self.o_stream.payload.eq(read_port.data)
        # As gates, not a multiplexer: Yosys then builds one LUT, not a flip-flop enable and a
        # data input.
        m.d.sync += self.o_stream.valid.eq(fetch | (valid & ~self.o_stream.ready))
        return m

    def _pointer(self, m, name, *, advance):
        """A word address that moves on by one (modulo :attr:`words`) when ``advance`` is high.

        A small ring keeps it as a one-hot code without its first flag (``<name>_past``:
        flag ``k`` set when the address is ``k + 1``, none set at 0): moving on shifts the flags
        and sets the first one when none was set, one gate, and at three words the flags are
        the binary address itself."""
        pointer = Signal(range(self.words), name=name)
        if self.words > SMALL_RING_WORDS:
            with m.If(advance):
                m.d.sync += pointer.eq(_increment(pointer, self.words))
            return pointer
        past = Signal(self.words - 1, name=f"{name}_past")
        with m.If(advance):
            m.d.sync += past.eq(Cat(~past.any(), past[:-1]))
        m.d.comb += pointer.eq(one_hot_to_binary(Cat(~past.any(), past)))
        return pointer

    def _count_level(self, m, waiting, *, read):
        """``level`` is a counter register (gates when narrow, a carry chain when wide, see
        :data:`GATE_COUNTER_BITS`). ``waiting`` is decoded from it when it is narrow, made of
        registers otherwise; ``full`` is its top bit when the depth is a power of two, decoded
        when it is narrow, a register otherwise."""
        power_of_two = self._depth & (self._depth - 1) == 0
        if len(self.level) <= GATE_COUNTER_BITS and power_of_two:
            # level <= depth = 2**k: the top bit is set only at depth, with the others clear.
            # They count modulo depth; the top bit is set when they wrap upwards and cleared by
            # any step down: its input is ~read & all(others), and synthesis (which otherwise
            # made the counter's top bits three LUTs deep, and then the rest of the control
            # logic too) keeps every path through the counter two LUTs deep.
            count_up_down_gates(m, self.level[:-1], up=self.w_en, down=read)
            with m.If(self.w_en ^ read):
                m.d.sync += self.level[-1].eq(~read & self.level[:-1].all())
        elif len(self.level) <= GATE_COUNTER_BITS:
            count_up_down_gates(m, self.level, up=self.w_en, down=read)
        else:
            count_up_down(m, self.level, up=self.w_en, down=read)
        narrow = not self.level_flags
        if narrow:
            # level >= 2 and level != 0, as gates.
            m.d.comb += waiting.eq(Mux(self.o_stream.valid, self.level[1:].any(),
                                       self.level.any()))
        else:
            self._track_waiting(m, waiting, read=read)
        if power_of_two:
            # level <= depth = 2**k: its top bit is set exactly when it is full.
            m.d.comb += self.full.eq(self.level[-1])
        elif narrow:
            m.d.comb += self.full.eq(self.level == self._depth)
        else:
            self._track_full(m, arrive=self.w_en, read=read)

    def _track_waiting(self, m, waiting, *, read):
        """``waiting`` from registers that say whether ``level`` is above 0 and above 1: it is
        the one or the other as ``o_stream.valid`` says, so the fetch is one gate deep. They are
        the low end of ``level``'s thermometer code, :data:`LEVEL_FLAGS` flags
        (``level_above_<k>``, ``level > k``) whose top one is updated from ``level >= 4``, an OR
        of bits of ``level`` (not a comparator, which synthesis builds as a carry chain): no
        path through them is longer than two gates, and only their enable sees ``w_en``."""
        above = [Signal(name=f"level_above_{k}") for k in range(LEVEL_FLAGS)]
        higher = above[1:] + [self.level[2:].any()]      # the last: level > 3
        lower = [C(1)] + above[:-1]
        with m.If(self.w_en ^ read):
            # level moves by one: down exactly when the consumer takes a beat.
            m.d.sync += [flag.eq(Mux(read, up, down))
                         for flag, up, down in zip(above, higher, lower)]
        m.d.comb += waiting.eq(Mux(self.o_stream.valid, above[1], above[0]))

    def _track_full(self, m, *, arrive, read):
        """``full`` (``level == depth``) as a register, so that the caller's ``ready`` is one
        gate deep."""
        with m.If(arrive & ~read):
            m.d.sync += self.full.eq(self.level == self._depth - 1)
        with m.Elif(read & ~arrive):
            m.d.sync += self.full.eq(0)
