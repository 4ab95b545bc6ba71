"""The sideline reorder buffer (the seed's ``slique_insert_packet``): sequences in, order out."""

from amaranth import *
from amaranth.hdl import Shape
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ._parameters import check_shape
from .bounded_slique import COUNTER_WIDTH
from .trace_event import TRACE_EVENT_SIGNATURE, TraceReason


__all__ = ["SidelineReorder", "reorder_beat", "SEQUENCE_WIDTH", "check_reorder_parameters"]


#: Width of a sequence number; sequences compare by RFC 1982 serial-number arithmetic on it.
SEQUENCE_WIDTH = 32

_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1


def reorder_beat(payload_shape):
    """The beat layout of both streams of a :class:`SidelineReorder`: ``sequence`` (32 bits, at
    the least significant end) then ``payload``."""
    return data.StructLayout({"sequence": SEQUENCE_WIDTH, "payload": check_shape(payload_shape)})


def check_reorder_parameters(payload_shape, sideline_depth, queue, timeout_width):
    """Check the parameters of a :class:`SidelineReorder` (and of its golden model); raise saying
    what is allowed."""
    check_shape(payload_shape)
    for name, value, low, high in [("Sideline depth", sideline_depth, 1, None),
                                   ("Trace queue", queue, 0, 255),
                                   ("Timeout width", timeout_width, 1, 32)]:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, not {value!r}")
        if value < low or (high is not None and value > high):
            allowed = f"at least {low}" if high is None else f"from {low} to {high}"
            raise ValueError(f"{name} must be {allowed}, not {value}")


class SidelineReorder(wiring.Component):
    """Sideline reorder buffer: beats carry a sequence number; they leave in sequence order.

    Every beat of ``i_stream`` carries a 32-bit ``sequence`` and a ``payload``. The block keeps
    the ``expected`` sequence and decides on one beat per cycle, comparing sequences by RFC 1982
    serial-number arithmetic (the sign of the 32-bit difference, so wrap-around past
    ``2**32 - 1`` works):

    - **in order** (``sequence == expected``): the beat goes to ``o_stream``, ``expected``
      advances, and every held beat this completes then leaves the sideline, one per cycle;
    - **ahead** (``sequence - expected`` in ``1 .. 2**31 - 1``): the beat is held in the
      sideline, a bounded store of ``sideline_depth`` entries;
    - **behind** (``sequence - expected`` in ``2**31 + 1 .. 2**32 - 1``), or equal to a sequence
      already held: a duplicate, dropped, counted in ``dropped_duplicate`` and traced
      (``PACKET_DUPLICATE``, tag = its sequence). RFC 1982 leaves the comparison undefined for
      a difference of exactly ``2**31``; this block treats it as behind (the sign bit is set),
      so such a beat is a duplicate.

    The first beat accepted after reset sets ``expected`` (it is passed on as in order; a beat
    with a lower sequence arriving later is a duplicate). To start a flow at a known sequence,
    reset the block and send that beat first.

    **Sideline full.** An ahead beat that finds all ``sideline_depth`` entries held evicts the
    oldest of the ``sideline_depth + 1`` candidates, where *oldest* means the **lowest
    sequence**: the one the sender sent first (it is itself the newcomer when the newcomer is
    lower than everything held). It is counted in ``dropped_evicted`` and traced
    (``SIDELINE_EVICTED``, tag = its sequence). Eviction bounds memory; it never moves
    ``expected``. (The alternative reading, the entry held longest, needs an arrival order
    beside the sequence order and a search for it; in a flow whose gap does not close, both
    keep the most recent ``sideline_depth`` beats.)

    **Gaps.** While the sideline holds entries and ``expected`` is missing, there is a gap. Once
    a gap has been seen for ``gap_timeout`` cycles with the same ``expected`` (a run-time input;
    0 skips at once, i.e. no waiting at all; the comparison is registered, so a cycle decides
    with the value ``gap_timeout`` had the cycle before), it is skipped: ``expected`` jumps to
    the lowest held sequence, which leaves in the same cycle; the number of sequences skipped is
    added to ``gaps_skipped`` (sequences, not beats: nothing was offered for them) and the skip
    is traced (``GAP_SKIPPED``, tag = the first missing sequence). Each missing sequence gets its
    own ``gap_timeout``. This is what keeps a flow from hanging: once the input stops, with the
    consumer ready and ``gap_timeout`` at most ``T``, the sideline is empty within
    ``sideline_depth * (T + 1)`` cycles. A full sideline does not skip by itself: eviction
    already bounds the memory, and the timeout alone decides liveness.

    **Storage.** The sideline is kept sorted by sequence in a chain of cells, each comparing
    the incoming sequence with its own (``sideline_depth`` serial comparators and equality
    checks, no search, no address decoder): the lowest entry is always cell 0, so a drain, a
    skip or an eviction looks at cell 0 alone, and insertion shifts cells by one towards a
    neighbour. A memory indexed by ``sequence % window`` would suit deep sidelines better (block
    RAM, one comparator), but it holds a window of sequences rather than ``sideline_depth``
    beats, so "full" would mean "too far ahead", and finding the lowest held entry for a skip
    would need a scan; for the 4 to 64 entries a flow needs, registers are the honest choice.

    **Timing.** While cell 0 is due (it is ``expected``, or the gap timed out) the block
    drains it and back-pressures ``i_stream``; otherwise it takes a beat whenever ``o_stream``
    can take one (``i_stream.ready = ~due & (~o_stream.valid | o_stream.ready)``, independent of
    the beat offered). In-order traffic flows at one beat per cycle; each beat released from
    the sideline costs one input cycle. ``o_stream`` is registered; the only combinational path
    through the block is ``o_stream.ready`` to ``i_stream.ready``. ``trace`` and the counters
    show an event in the cycle after it.

    **Conservation.** Counters are 32-bit and saturate. Below saturation, after every cycle:
    ``offered == delivered + dropped_duplicate + dropped_evicted + level + o_stream.valid``;
    once drained, ``offered == delivered + dropped_duplicate + dropped_evicted``.

    Parameters
    ----------
    payload_shape : :ref:`shape-like <lang-shapelike>`
        Shape of the payload carried beside the sequence.
    sideline_depth : int
        Entries in the sideline (``M``), at least 1; each costs a 32-bit sequence register, a
        payload register and two 32-bit comparators, so keep it small (4 to 64).
    queue : int
        The queue or flow number (0 to 255) put in every trace event.
    timeout_width : int
        Width of ``gap_timeout`` (1 to 32); the gap age counter saturates at its largest value.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(reorder_beat(payload_shape)))``
        Beats in arrival order.
    o_stream : ``Out(stream.Signature(reorder_beat(payload_shape)))``
        Beats in sequence order, strictly increasing (serially); ``valid`` and ``payload`` are
        registered.
    gap_timeout : ``In(timeout_width)``
        Cycles a gap may last before it is skipped; may change at any time.
    trace : ``Out(TRACE_EVENT_SIGNATURE)``
        One event per duplicate, eviction and skipped gap; never back-pressured.
    expected : ``Out(32)``
        The next sequence to deliver (meaningless before the first beat).
    level : ``Out(range(sideline_depth + 1))``
        Entries held in the sideline.
    offered, delivered, dropped_duplicate, dropped_evicted : ``Out(32)``
        Beats taken from ``i_stream``, given to ``o_stream``, dropped as duplicates, evicted.
    gaps_skipped : ``Out(32)``
        Sequences skipped over by gap timeouts.
    """

    def __init__(self, payload_shape, sideline_depth, *, queue=0, timeout_width=16):
        try:
            check_reorder_parameters(payload_shape, sideline_depth, queue, timeout_width)
        except (TypeError, ValueError):
            self._MustUse__silence = True  # never built, so not "created but never used"
            raise
        self._payload_shape = payload_shape
        self._depth = sideline_depth
        self._queue = queue
        self._timeout_width = timeout_width
        beat = reorder_beat(payload_shape)
        super().__init__({
            "i_stream": In(stream.Signature(beat)),
            "o_stream": Out(stream.Signature(beat)),
            "gap_timeout": In(timeout_width),
            "trace": Out(TRACE_EVENT_SIGNATURE),
            "expected": Out(SEQUENCE_WIDTH),
            "level": Out(range(sideline_depth + 1)),
            "offered": Out(COUNTER_WIDTH),
            "delivered": Out(COUNTER_WIDTH),
            "dropped_duplicate": Out(COUNTER_WIDTH),
            "dropped_evicted": Out(COUNTER_WIDTH),
            "gaps_skipped": Out(COUNTER_WIDTH),
        })

    payload_shape = property(lambda self: self._payload_shape, doc="Payload shape.")
    sideline_depth = property(lambda self: self._depth, doc="Entries in the sideline.")
    depth = sideline_depth
    queue = property(lambda self: self._queue, doc="Queue number in trace events.")
    timeout_width = property(lambda self: self._timeout_width, doc="Width of ``gap_timeout``.")
    shape = property(lambda self: reorder_beat(self._payload_shape), doc="Beat layout.")

    def elaborate(self, platform):
        m = Module()
        depth = self._depth
        width = Shape.cast(self._payload_shape).width
        sequences = [Signal(SEQUENCE_WIDTH, name=f"cell{i}_sequence") for i in range(depth)]
        payloads = [Signal(width, name=f"cell{i}_payload") for i in range(depth)]
        occupied = [Signal(name=f"cell{i}_occupied") for i in range(depth)]
        synced = Signal()
        beat = self.i_stream.payload
        incoming = beat.sequence
        expected = self.expected

        # The head of the sideline is due when it is expected, or when the gap before it timed out.
        # Both are registers (`head_is_expected` kept equal to `occupied[0] & (sequences[0] ==
        # expected)`, see `_track_head`; `timed_out`, see `_track_age`), so that
        # `i_stream.ready` is two gates from registers.
        head_is_expected = Signal()
        timed_out = Signal()
        pop = Signal()
        skip = Signal()
        out_free = Signal()
        m.d.comb += out_free.eq(~self.o_stream.valid | self.o_stream.ready)
        due = head_is_expected | (occupied[0] & timed_out)
        m.d.comb += [
            pop.eq(due & out_free),
            skip.eq(pop & ~head_is_expected),
            self.i_stream.ready.eq(~due & out_free),
        ]

        # Classify the beat offered against `expected` and every held entry.
        accept = self.i_stream.valid & self.i_stream.ready
        difference = (incoming - expected)[:SEQUENCE_WIDTH]
        below = Signal(depth + 1)  # below[i]: the beat belongs below cell i (or cell i is empty)
        held = Signal(depth)
        for i in range(depth):
            m.d.comb += [
                below[i].eq(~occupied[i] | (incoming - sequences[i])[SEQUENCE_WIDTH - 1]),
                held[i].eq(occupied[i] & (incoming == sequences[i])),
            ]
        m.d.comb += below[depth].eq(1)
        in_order = ~synced | (incoming == expected)
        duplicate = Signal()
        insert = Signal()
        evict = Signal()
        m.d.comb += [
            duplicate.eq(accept & ~in_order & (difference[-1] | held.any())),
            insert.eq(accept & ~in_order & ~difference[-1] & ~held.any()),
            evict.eq(insert & occupied[depth - 1]),
        ]
        passed = accept & in_order

        self._update_cells(m, sequences, payloads, occupied, pop=pop, insert=insert,
                           full=occupied[depth - 1], below=below, incoming=incoming,
                           incoming_payload=beat.payload)

        with m.If(out_free):
            m.d.sync += [
                self.o_stream.valid.eq(pop | passed),
                self.o_stream.payload.eq(Mux(pop, Cat(sequences[0], payloads[0]), beat)),
            ]

        # `expected` moves on a pop (past cell 0) or an in-order beat (past it). Both candidates
        # are computed in parallel and chosen late: `pop` is not in front of an incrementer.
        after_head = Signal(SEQUENCE_WIDTH)
        after_incoming = Signal(SEQUENCE_WIDTH)
        m.d.comb += [after_head.eq(sequences[0] + 1), after_incoming.eq(incoming + 1)]
        with m.If(pop | passed):
            m.d.sync += expected.eq(Mux(pop, after_head, after_incoming))
        with m.If(passed):
            m.d.sync += synced.eq(1)
        with m.If(pop):
            m.d.sync += self.level.eq(self.level - 1)
        with m.Elif(insert & ~evict):
            m.d.sync += self.level.eq(self.level + 1)

        self._track_head(m, head_is_expected, sequences, occupied, pop=pop, passed=passed,
                         insert=insert, after_head=after_head, after_incoming=after_incoming)
        self._track_age(m, timed_out, restart=pop | passed | ~occupied[0] | head_is_expected)

        evicted = Mux(below[0], incoming, sequences[0])
        self._emit_trace(m, duplicate=duplicate, evict=evict, skip=skip, incoming=incoming,
                         evicted=evicted)
        self._count(m, self.offered, accept)
        self._count(m, self.delivered, self.o_stream.valid & self.o_stream.ready)
        self._count(m, self.dropped_duplicate, duplicate)
        self._count(m, self.dropped_evicted, evict)
        skipped = Signal(COUNTER_WIDTH + 1)
        m.d.comb += skipped.eq(self.gaps_skipped + (sequences[0] - expected)[:SEQUENCE_WIDTH])
        with m.If(skip):
            m.d.sync += self.gaps_skipped.eq(Mux(skipped[-1], _COUNTER_MAX, skipped))
        return m

    def _track_head(self, m, head_is_expected, sequences, occupied, *, pop, passed, insert,
                    after_head, after_incoming):
        """Next ``occupied[0] & (sequences[0] == expected)``, from the two ways it can change.

        A pop makes ``sequences[0] + 1`` (``after_head``) expected and cell 1 the head; an
        in-order beat makes ``incoming + 1`` (``after_incoming``) expected under the same head.
        An insertion can only happen while the head is not expected, and leaves a head that is
        not (every held entry is ahead of ``expected``)."""
        successor_held = (occupied[1] & (sequences[1] == after_head)) if self._depth > 1 else 0
        with m.If(pop):
            m.d.sync += head_is_expected.eq(successor_held)
        with m.Elif(passed):
            m.d.sync += head_is_expected.eq(occupied[0] & (sequences[0] == after_incoming))
        with m.Elif(insert):
            m.d.sync += head_is_expected.eq(0)

    def _track_age(self, m, timed_out, *, restart):
        """The gap age (cycles the same ``expected`` has been missing with entries held, counted
        from 0 in the first such cycle, saturating) and ``timed_out``: whether that age, in the
        next cycle, is at least ``gap_timeout`` as it is now."""
        age = Signal(self._timeout_width)
        older = Mux(age == (1 << self._timeout_width) - 1, age, age + 1)
        with m.If(restart):
            m.d.sync += [age.eq(0), timed_out.eq(self.gap_timeout == 0)]
        with m.Else():
            m.d.sync += [age.eq(older), timed_out.eq(older >= self.gap_timeout)]

    def _update_cells(self, m, sequences, payloads, occupied, *, pop, insert, full, below,
                      incoming, incoming_payload):
        """The sorted chain: cell ``i`` loads from its upper neighbour, its lower neighbour or the
        incoming beat, or keeps its entry.

        Entries are kept in increasing serial order, the lowest in cell 0; ``below[i]`` says that
        the incoming beat belongs below cell ``i``. A pop shifts every cell down by one. An
        insertion into a chain with room shifts the cells from the insertion point up by one
        (cells with ``below[i]``), the lowest of them taking the beat. An insertion into a full
        chain shifts the cells under the insertion point down by one (cells without
        ``below[i]``), pushing cell 0 out, the highest of them taking the beat; when the beat is
        the lowest of all, nothing moves and the beat itself is the one pushed out.
        """
        depth = self._depth
        new = Cat(incoming, incoming_payload)
        for i in range(depth):
            cell = Cat(sequences[i], payloads[i])
            upper = Cat(sequences[i + 1], payloads[i + 1]) if i + 1 < depth else new
            lower = Cat(sequences[i - 1], payloads[i - 1]) if i > 0 else new
            load = Signal(name=f"cell{i}_load")
            from_upper = Signal(name=f"cell{i}_from_upper")
            from_lower = Signal(name=f"cell{i}_from_lower")
            m.d.comb += [
                load.eq(pop | (insert & (full ^ below[i]))),
                from_upper.eq(pop | (full & ~below[i + 1])),
                from_lower.eq(~full & (below[i - 1] if i > 0 else 0)),
            ]
            with m.If(load):
                m.d.sync += cell.eq(Mux(from_upper, upper, Mux(from_lower, lower, new)))
            with m.If(pop):
                m.d.sync += occupied[i].eq(occupied[i + 1] if i + 1 < depth else 0)
            with m.Elif(insert & ~full):
                m.d.sync += occupied[i].eq(occupied[i - 1] if i > 0 else 1)

    def _emit_trace(self, m, *, duplicate, evict, skip, incoming, evicted):
        event = self.trace.payload
        m.d.comb += event.queue.eq(self._queue)
        m.d.sync += self.trace.valid.eq(duplicate | evict | skip)
        with m.If(duplicate):
            m.d.sync += [event.reason.eq(TraceReason.PACKET_DUPLICATE), event.tag.eq(incoming)]
        with m.Elif(evict):
            m.d.sync += [event.reason.eq(TraceReason.SIDELINE_EVICTED), event.tag.eq(evicted)]
        with m.Elif(skip):
            m.d.sync += [event.reason.eq(TraceReason.GAP_SKIPPED), event.tag.eq(self.expected)]

    @staticmethod
    def _count(m, counter, event):
        with m.If(event & (counter != _COUNTER_MAX)):
            m.d.sync += counter.eq(counter + 1)
