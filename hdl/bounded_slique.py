"""The bounded slique: an explicitly bounded queue that back-pressures or counts its drops."""

from amaranth import *
from amaranth.hdl import Shape
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ._parameters import FULL_MODES, STORAGES, check_choice, check_depth, check_shape
from .ring_storage import RingStorage
from .systolic_storage import SystolicStorage


__all__ = ["BoundedSlique", "choose_storage", "COUNTER_WIDTH"]


#: Width of every event counter; counters saturate at ``2 ** COUNTER_WIDTH - 1``.
COUNTER_WIDTH = 32

#: ``storage="auto"`` picks the systolic chain up to this many entries, the ring above.
SYSTOLIC_MAX_DEPTH = 1


def choose_storage(shape, depth):
    """The storage that ``storage="auto"`` picks for ``depth`` entries of ``shape``.

    The rule, from ``slique bench sliques`` on iCE40 UP5K and ECP5-25F (README): from depth 2
    on, the ring is smaller than the systolic chain at every depth measured (4 to 512) and
    faster from depth 16 on, so ``auto`` picks the ring; at depth 1 it picks the systolic chain,
    the only storage that moves one beat every cycle when a single entry is full.
    """
    check_shape(shape)
    check_depth(depth)
    return "systolic" if depth <= SYSTOLIC_MAX_DEPTH else "ring"


class BoundedSlique(wiring.Component, fifo.FIFOInterface):
    """Bounded slique: a queue that never holds more than ``depth`` entries.

    One beat can enter and one can leave every cycle, also when the slique is full.
    ``o_stream.valid`` and ``o_stream.payload`` are registers, so chains of sliques close timing.
    How a full slique behaves when its consumer takes a beat depends on the storage
    (:attr:`writes_when_full_and_read`):

    - the ring, and the systolic chain of depth 1 or 2: a full slique whose consumer takes a beat
      accepts a new one in the same cycle; the only combinational path through the slique is
      from ``o_stream.ready`` to ``i_stream.ready`` when it is full (one gate);
    - the systolic chain of depth 3 or more: its room does not depend on ``o_stream.ready`` (no
      path from it to ``i_stream.ready``, no signal reaching the whole chain). A full chain takes
      no beat in a cycle in which one leaves; the freed slot walks up to the input in at most
      ``ceil(depth / 2)`` cycles, and from then on the slique moves one beat per cycle in and
      out (holding about half its depth). ``i_stream.ready`` can also be low for those few
      cycles while ``level < depth``. In ``"drop"`` mode a beat offered then is dropped.

    What happens to a beat offered while full depends on ``on_full``:

    - ``"backpressure"``: ``i_stream.ready`` is low while full and nothing is taken (the seed's
      ``slique_try_push`` returning false, EAGAIN; see above for the systolic chain);
    - ``"drop"``: ``i_stream.ready`` is always high; the beat is discarded, ``dropped`` counts it
      and ``drop`` is high for one cycle (the cycle after, when ``dropped`` shows the new count).
      Nothing is ever lost uncounted: ``offered == delivered + dropped``.

    In ``"backpressure"`` mode with an unsigned shape, it is a drop-in for
    :class:`amaranth.lib.fifo.SyncFIFOBuffered`: it implements :class:`amaranth.lib.fifo.FIFOInterface`
    (``w_data``, ``w_en``, ``w_rdy``, ``w_level``, ``r_data``, ``r_en``, ``r_rdy``, ``r_level``,
    ``level``, ``width``, ``depth``) as aliases of the stream ports.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of the payload, e.g. ``32``, ``signed(12)`` or a :class:`~amaranth.lib.data.Struct`.
    depth : int
        Most entries ever held; at least 1 (depth 0 is :class:`~slique.hdl.ZeroSlique`).
    on_full : ``"backpressure"`` or ``"drop"``
        What to do with a beat offered while full.
    storage : ``"auto"``, ``"systolic"`` or ``"ring"``
        ``"systolic"``: a chain of two-entry cells that talk only to their neighbours (first beat
        out ``ceil(depth / 2)`` cycles after it went in; Fmax independent of depth; see
        :class:`~slique.hdl.SystolicStorage`). ``"ring"``: a memory with head
        and tail, for deep sliques that belong in block RAM (first beat out after two cycles).
        ``"auto"``: see :func:`choose_storage`.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(shape))``
        Producer side.
    o_stream : ``Out(stream.Signature(shape))``
        Consumer side; ``valid`` and ``payload`` are registered.
    level : ``Out(range(depth + 1))``
        Entries held, exact every cycle.
    full : ``Out(1)``
        No room for a beat this cycle unless one leaves in it and the storage
        :attr:`writes_when_full_and_read` (the ring at ``depth`` entries; the systolic chain
        when its input cell has no free slot); from registers through at most one gate, so a
        producer can decide from it without waiting for the consumer's ``ready``.
    high_water : ``Out(range(depth + 1))``
        Largest ``level`` since reset.
    dropped : ``Out(32)``
        Beats discarded because the slique was full (``"drop"`` mode); saturates.
    drop : ``Out(1)``
        High for one cycle after each discarded beat.
    """

    def __init__(self, shape, depth, *, on_full="backpressure", storage="auto"):
        self._shape = check_shape(shape)
        self._depth = check_depth(depth)
        self._on_full = check_choice("on_full", on_full, FULL_MODES)
        check_choice("storage", storage, STORAGES)
        self._storage = choose_storage(shape, depth) if storage == "auto" else storage
        super().__init__({
            "i_stream": In(stream.Signature(shape)),
            "o_stream": Out(stream.Signature(shape)),
            "level": Out(range(depth + 1)),
            "full": Out(1),
            "high_water": Out(range(depth + 1)),
            "dropped": Out(COUNTER_WIDTH),
            "drop": Out(1),
        })

    shape = property(lambda self: self._shape, doc="Payload shape.")
    depth = property(lambda self: self._depth, doc="Most entries ever held.")
    on_full = property(lambda self: self._on_full, doc='``"backpressure"`` or ``"drop"``.')
    storage = property(lambda self: self._storage, doc='Storage in use (``"auto"`` resolved).')
    width = property(lambda self: Shape.cast(self._shape).width, doc="Payload width in bits.")

    @property
    def writes_when_full_and_read(self):
        """Whether a full slique takes a beat in a cycle in which the consumer takes one (see
        :meth:`slique.hdl.storage.Storage.writes_when_full_and_read`)."""
        return self._storage_class.writes_when_full_and_read(self._depth)

    @property
    def _storage_class(self):
        return SystolicStorage if self._storage == "systolic" else RingStorage

    # amaranth.lib.fifo.FIFOInterface, as aliases of the stream ports.
    w_data = property(lambda self: self.i_stream.payload)
    w_en = property(lambda self: self.i_stream.valid)
    w_rdy = property(lambda self: self.i_stream.ready)
    w_level = property(lambda self: self.level)
    r_data = property(lambda self: self.o_stream.payload)
    r_en = property(lambda self: self.o_stream.ready)
    r_rdy = property(lambda self: self.o_stream.valid)
    r_level = property(lambda self: self.level)

    def elaborate(self, platform):
        m = Module()

        m.submodules.storage = storage = self._storage_class(self._shape, self._depth)
        wiring.connect(m, wiring.flipped(self.o_stream), storage.o_stream)

        full = self.full
        read = Signal()
        room = Signal()
        write = Signal()
        m.d.comb += [
            read.eq(self.o_stream.valid & self.o_stream.ready),
            room.eq((~full | read) if self.writes_when_full_and_read else ~full),
            write.eq(self.i_stream.valid & room),
            storage.w_data.eq(self.i_stream.payload),
            storage.w_en.eq(write),
        ]
        if self._on_full == "backpressure":
            m.d.comb += self.i_stream.ready.eq(room)
        else:
            m.d.comb += self.i_stream.ready.eq(1)
            self._count_drops(m, self.i_stream.valid & ~room)

        self._track_level(m, write=write, read=read, full=full)
        return m

    def _track_level(self, m, *, write, read, full):
        storage = m.submodules.storage
        m.d.comb += [
            self.level.eq(storage.level),
            full.eq(storage.full),
        ]
        self._track_high_water(m, write=write, read=read)

    def _track_high_water(self, m, *, write, read):
        """``high_water`` from registers, through at most one gate after ``level``: the strobes
        only reach three flip-flops (the step of the edge), so that ``write`` and ``read``,
        which come from both ends of the slique, do not meet before a comparator.

        ``before`` is ``high_water`` of the cycle before and ``gap`` the distance from
        ``level`` to it then, ``at_top`` whether that was zero. ``high_water`` rises only when
        ``level`` did (``rose``) from ``at_top``, and then equals ``level``."""
        width = len(self.high_water)
        before = Signal(width, name="high_water_before")
        gap = Signal(width, name="high_water_gap")
        at_top = Signal(name="high_water_at_top", init=1)
        moved = Signal(name="high_water_moved")
        rose = Signal(name="high_water_rose")
        fell = Signal(name="high_water_fell")
        m.d.sync += [
            moved.eq(write ^ read),
            rose.eq(write & ~read),
            fell.eq(read & ~write),
        ]
        rises = Signal()
        m.d.comb += [
            rises.eq(at_top & rose),
            self.high_water.eq(Mux(rises, self.level, before)),
        ]
        m.d.sync += [
            before.eq(self.high_water),
            # The gap of this cycle: none when rising; else one less when level rose, one
            # more when it fell (moved: the step's low bit, rose: its sign).
            gap.eq(Mux(rises, 0, gap + Cat(moved, rose.replicate(width - 1)))),
            at_top.eq((at_top & ~fell) | ((gap == 1) & rose)),
        ]

    def _count_drops(self, m, discard):
        m.d.sync += self.drop.eq(discard)
        with m.If(discard & (self.dropped != (1 << COUNTER_WIDTH) - 1)):
            m.d.sync += self.dropped.eq(self.dropped + 1)
