"""The trace stream: every block's trace events, stamped and kept in one bounded slique."""

from functools import reduce
from operator import or_

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ._parameters import STORAGES, check_choice, check_depth
from .bounded_slique import COUNTER_WIDTH, BoundedSlique
from .registers import Register, RegisterMap
from .trace_event import TRACE_EVENT_SIGNATURE, TraceBlock, TraceRecord


__all__ = ["TraceStream", "TRACE_REGISTERS", "CYCLE_WIDTH"]


#: Width of the free-running cycle counter that stamps records (it wraps).
CYCLE_WIDTH = 32


def check_sources(sources):
    """Return ``sources`` as a tuple of :class:`TraceBlock`, or raise saying what is allowed."""
    if isinstance(sources, (str, bytes)) or not hasattr(sources, "__iter__"):
        raise TypeError(f"Trace sources must be a list of TraceBlock, not {sources!r}")
    sources = tuple(sources)
    if not sources:
        raise ValueError("A trace stream needs at least one source")
    for source in sources:
        if not isinstance(source, TraceBlock):
            raise TypeError(f"Trace sources must be TraceBlock members, not {source!r}")
    return sources


class TraceStream(wiring.Component):
    """One trace stream for the trace events of several blocks (the seed's ``trace_emit``).

    Every source block has an ``Out(TRACE_EVENT_SIGNATURE)`` port named ``trace``: a valid
    strobe carrying a :class:`~slique.hdl.trace_event.TraceEvent`, never back-pressured. Any
    number of sources may fire in the same cycle. The trace stream stamps each event with the
    cycle it arrived in and its source's :class:`~slique.hdl.trace_event.TraceBlock`, making a
    :class:`~slique.hdl.trace_event.TraceRecord` ``(cycle, block, reason, queue, tag)``, and
    delivers the records on ``o_stream`` through its own
    :class:`~slique.hdl.BoundedSlique` of ``depth`` records.

    How records are kept, and when they are lost
    --------------------------------------------
    Each source has a one-record holding register. An event is stamped into it at the clock
    edge of its cycle; a round-robin arbiter moves one held record per cycle into the slique
    (``i_stream.ready``, one record a cycle). So simultaneous events are all kept while there is
    room: up to one per source, drained in turn; and a single source firing every cycle is never
    slowed down (its register is emptied in the same cycle it is refilled). A record is lost
    only when its source's register is still full and not drained in that cycle: the slique is
    full (its consumer is slower than the events), or more events arrive than one record a
    cycle can carry. Lost records are the newest; records already held are never dropped.

    ``lose`` shows, in the cycle after, which sources lost an event (one bit per source), and
    ``lost`` counts them one cycle later still (32-bit, saturating; registering the losses
    first keeps the arbiter and the 32-bit adder on separate clock cycles). So at every cycle
    ``events == delivered + lost + popcount(lose) + held``, where ``held`` is the holding
    registers that are full (``pending``) plus the records in the slique (``level``): every
    record is delivered, held, or counted lost, exactly.

    Records of one source leave in the order of its events; records of different sources
    leave in round-robin order. A record is on ``o_stream`` two cycles after its event at the
    earliest (three with a ring slique). The ``cycle`` stamp wraps after ``2**32`` cycles.

    Parameters
    ----------
    sources : list of TraceBlock
        The block of each source, in port order; a block may appear more than once (several
        sliques, for instance: their records carry the same block and differ by ``queue``).
    depth : int
        Records the trace slique holds, at least 1.
    storage : ``"auto"``, ``"systolic"`` or ``"ring"``
        The slique's storage (see :class:`~slique.hdl.BoundedSlique`).

    Attributes
    ----------
    i_trace : ``In(TRACE_EVENT_SIGNATURE).array(len(sources))``
        One event port per source: connect a block's ``trace`` to ``i_trace[n]``.
    o_stream : ``Out(stream.Signature(TraceRecord))``
        The records; ``valid`` and ``payload`` are registered.
    lost : ``Out(32)``
        Records lost, up to the cycle before last; saturates.
    lose : ``Out(len(sources))``
        Sources whose event was lost in the previous cycle (counted into ``lost`` next).
    cycle : ``Out(32)``
        The free-running cycle counter (0 after reset; wraps).
    pending : ``Out(len(sources))``
        Holding registers that are full, one bit per source.
    level : ``Out(range(depth + 1))``
        Records in the slique.
    """

    def __init__(self, sources, depth, *, storage="auto"):
        self._sources = check_sources(sources)
        self._depth = check_depth(depth)
        self._storage = check_choice("storage", storage, STORAGES)
        super().__init__({
            "i_trace": In(TRACE_EVENT_SIGNATURE).array(len(self._sources)),
            "o_stream": Out(stream.Signature(TraceRecord)),
            "lost": Out(COUNTER_WIDTH),
            "lose": Out(len(self._sources)),
            "cycle": Out(CYCLE_WIDTH),
            "pending": Out(len(self._sources)),
            "level": Out(range(depth + 1)),
        })

    sources = property(lambda self: self._sources, doc="The source blocks, in port order.")
    depth = property(lambda self: self._depth, doc="Records the trace slique holds.")
    storage = property(lambda self: self._storage, doc="The slique's storage option.")

    def source(self, block, occurrence=0):
        """The event port of the ``occurrence``-th source of ``block``."""
        indices = [index for index, source in enumerate(self._sources) if source == block]
        if occurrence >= len(indices):
            raise KeyError(f"The trace stream has {len(indices)} source(s) of {block!r}, not "
                           f"{occurrence + 1}")
        return self.i_trace[indices[occurrence]]

    def elaborate(self, platform):
        m = Module()
        count = len(self._sources)

        m.submodules.slique = slique = BoundedSlique(TraceRecord, self._depth,
                                                     on_full="backpressure",
                                                     storage=self._storage)
        wiring.connect(m, wiring.flipped(self.o_stream), slique.o_stream)
        m.d.comb += self.level.eq(slique.level)
        m.d.sync += self.cycle.eq(self.cycle + 1)

        grant = self._arbiter(m, requests=self.pending, taken=slique.i_stream.ready)
        held = [Signal(TraceRecord, name=f"held{index}") for index in range(count)]
        m.d.comb += [
            slique.i_stream.valid.eq(self.pending.any()),
            slique.i_stream.payload.eq(reduce(or_, [Mux(grant[index], held[index].as_value(), 0)
                                                    for index in range(count)])),
        ]

        lose = Signal(count)
        m.d.sync += self.lose.eq(lose)
        for index, (block, port) in enumerate(zip(self._sources, self.i_trace)):
            drained = grant[index] & slique.i_stream.ready
            room = ~self.pending[index] | drained
            with m.If(port.valid & room):
                m.d.sync += [
                    held[index].cycle.eq(self.cycle),
                    held[index].block.eq(block),
                    held[index].reason.eq(port.payload.reason),
                    held[index].queue.eq(port.payload.queue),
                    held[index].tag.eq(port.payload.tag),
                    self.pending[index].eq(1),
                ]
            with m.Elif(drained):
                m.d.sync += self.pending[index].eq(0)
            m.d.comb += lose[index].eq(port.valid & ~room)

        total = Signal(COUNTER_WIDTH + 1)
        m.d.comb += total.eq(self.lost + sum(self.lose[index] for index in range(count)))
        m.d.sync += self.lost.eq(Mux(total >> COUNTER_WIDTH, (1 << COUNTER_WIDTH) - 1, total))
        return m

    def _arbiter(self, m, *, requests, taken):
        """Round-robin: the lowest requesting source at or after ``pointer``, else the lowest
        requesting source; ``pointer`` moves past the granted source when the grant is taken.
        Returns the one-hot grant."""
        count = len(self._sources)
        grant = Signal(count)
        if count == 1:
            m.d.comb += grant.eq(requests)
            return grant
        pointer = Signal(range(count))
        at_or_after = Signal(count)
        m.d.comb += at_or_after.eq(Cat(index >= pointer for index in range(count)))
        masked = Signal(count)
        pick = Signal(count)
        m.d.comb += [
            masked.eq(requests & at_or_after),
            pick.eq(Mux(masked.any(), masked, requests)),
            grant.eq(pick & (~pick + 1)),  # the lowest set bit
        ]
        with m.If(taken & requests.any()):
            for index in range(count):
                with m.If(grant[index]):
                    m.d.sync += pointer.eq((index + 1) % count)
        return grant


#: How a SoC shows the trace stream's status to firmware through a register bank (the
#: integrator drives each ``r_data`` from the :class:`TraceStream` port of the same name).
TRACE_REGISTERS = RegisterMap("trace", doc=(
    "Status of the trace stream (`slique.hdl.TraceStream`): every record lost, the records "
    "waiting and the cycle counter that stamps them."), registers=[
    Register("TRACE_LOST", 0x00, "r", doc=(
        "Records lost: events that arrived while their source's holding register was full "
        "and not drained (the trace slique full, or more than one event a cycle). 32-bit, "
        "saturating; it counts a lost record two cycles after its event.")),
    Register("TRACE_LEVEL", 0x04, "r", doc="Records waiting in the trace slique."),
    Register("TRACE_CYCLE", 0x08, "r", doc=(
        "The free-running cycle counter whose value stamps each record (wraps at 2**32).")),
])
