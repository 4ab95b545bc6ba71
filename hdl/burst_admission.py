"""Burst admission: a token bucket before a bounded slique (the seed's ``slique_can_accept``)."""

from amaranth import *
from amaranth.hdl import Shape
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import bits_for

from ._parameters import STORAGES, check_choice, check_depth, check_shape
from .bounded_slique import COUNTER_WIDTH, BoundedSlique
from .trace_event import TRACE_EVENT_SIGNATURE, TraceEvent, TraceReason


__all__ = ["BurstAdmission", "Decision", "check_admission_parameters", "config_width",
           "tag_field", "TAG_WIDTH"]


#: Width of the ``tag`` of a :class:`~slique.hdl.trace_event.TraceEvent`.
TAG_WIDTH = Shape.cast(data.Layout.cast(TraceEvent)["tag"].shape).width

#: Width of the ``queue`` of a :class:`~slique.hdl.trace_event.TraceEvent`.
QUEUE_WIDTH = Shape.cast(data.Layout.cast(TraceEvent)["queue"].shape).width


#: The three ways ``level`` and ``tokens`` can move in a cycle, and their signal names.
_DELTAS = {-1: "minus_one", 0: "same", 1: "plus_one"}


def _select(m, targets, candidates, *, plus, minus):
    """At the clock edge, ``targets`` load ``candidates[1]`` if ``plus``, else
    ``candidates[-1]`` if ``minus``, else ``candidates[0]``."""
    def load(delta):
        return [target.eq(value) for target, value in zip(targets, candidates[delta])]

    with m.If(plus):
        m.d.sync += load(1)
    with m.Elif(minus):
        m.d.sync += load(-1)
    with m.Else():
        m.d.sync += load(0)


class Decision(enum.Enum, shape=3):
    """What :class:`BurstAdmission` did with the beat offered in a cycle."""
    #: Nothing was offered.
    NONE = 0
    #: Accepted below the steady depth (no token needed).
    STEADY = 1
    #: Accepted between the steady and the burst depth, taking one token (RFC 2697 "green").
    TOKEN = 2
    #: Dropped between the steady and the burst depth: no token left.
    BURST_EXHAUSTED = 3
    #: Dropped at the burst depth (the hard limit).
    HARD_LIMIT = 4


def config_width(depth):
    """Width of the ``steady_depth`` and ``burst_depth`` ports: 16 bits, or more for a deeper
    slique, so that any value up to (and beyond) ``depth`` can be written."""
    return max(16, bits_for(depth))


def _check_width(name, value, *, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be from {minimum} to {maximum}, not {value}")
    return value


def check_admission_parameters(shape, depth, *, fraction_bits, token_bits, queue, storage,
                               register_stage=True):
    """The checks of :class:`BurstAdmission`'s parameters (shared with its golden model)."""
    if not isinstance(register_stage, bool):
        raise TypeError(f"register_stage must be True or False, not {register_stage!r}")
    check_shape(shape)
    check_depth(depth)
    _check_width("fraction_bits", fraction_bits, minimum=1, maximum=32)
    _check_width("token_bits", token_bits, minimum=1, maximum=32)
    _check_width("queue", queue, minimum=0, maximum=(1 << QUEUE_WIDTH) - 1)
    check_choice("storage", storage, STORAGES)


def tag_field(shape):
    """``(offset, width)`` of the raw bits that a trace event carries as its ``tag``: the field
    named ``tag`` of a :class:`~amaranth.lib.data.Struct` payload, at most its low 32 bits;
    ``None`` for a payload without one (the tag is then 0)."""
    if not isinstance(shape, data.Layout):
        try:
            shape = data.Layout.cast(shape)
        except TypeError:
            return None
    if not isinstance(shape, data.StructLayout) or "tag" not in shape.members:
        return None
    field = shape["tag"]
    return field.offset, min(Shape.cast(field.shape).width, TAG_WIDTH)


class BurstAdmission(wiring.Component):
    """Burst admission: a steady depth, a burst depth and a token bucket in front of a slique.

    Every beat is a packet, and one beat can be offered every cycle; the decision is made in the
    cycle it is offered, from the slique's ``level`` at the start of that cycle and the bucket:

    - ``level < S`` (``steady_depth``): accepted (:attr:`Decision.STEADY`);
    - ``S <= level < B`` (``burst_depth``): accepted if ``tokens >= 1``, taking one token
      (:attr:`Decision.TOKEN`); else dropped, ``BURST_EXHAUSTED``;
    - ``level >= B``: dropped, ``HARD_LIMIT``; also below ``B`` when the slique cannot take a
      beat (only a systolic slique does that, for a few cycles while a read ripples up its
      chain; see ``_stage``).

    ``B`` is at most ``depth`` (a larger value acts as ``depth``: a slique that is full is the
    hard limit) and ``S`` at most ``B`` (the hard limit wins). Admission never back-pressures:
    ``i_stream.ready`` is always high, and a beat that is not accepted is dropped and counted.
    A beat leaving the slique in the same cycle does not make room for that cycle's decision
    (the decision does not depend on ``o_stream.ready``), only for the next one. With
    ``register_stage`` (the default) an admitted beat waits one cycle in a register before it
    enters the slique (see ``_stage``); ``level`` counts the beats in the stage and in the
    slique.

    **The bucket** holds ``tokens`` (an integer, at most ``C``, ``bucket_capacity``) and a
    fraction ``token_fraction / D``, with ``D`` the ``refill_denominator`` (``0`` means
    ``2 ** fraction_bits``: plain binary fixed point). ``refill_rate`` is a fixed-point number,
    ``token_bits`` integer and ``fraction_bits`` fraction bits (16.16 by default): the rate is
    ``refill_rate[fraction_bits:] + refill_rate[:fraction_bits] / D`` tokens per cycle. With
    ``D = 2 ** 16``, ``refill_rate = 0x0001_8000`` is 1.5 tokens per cycle; with ``D = 7``,
    ``refill_rate = 3`` is exactly 3/7 and with ``D = 1000``, ``refill_rate = 1`` exactly 1/1000
    (no binary fraction is). A fraction field not below ``D`` acts as ``D - 1``. In cycle ``n``,
    with the configuration in effect (see below)::

        wraps         = token_fraction + rate_fraction >= D
        token_fraction(n + 1) = (token_fraction + rate_fraction) mod D     # never lost
        refill(n + 1) = rate_integer + wraps
        tokens(n + 1) = min(tokens - taken + refill(n), C)                  # saturates at C

    The refill computed in a cycle reaches ``tokens`` one cycle later (a pipeline register;
    it keeps the loop through ``tokens`` to one adder for the clock rate). So, from reset with a
    configuration written in cycle 0 and held, ``C`` large and no tokens taken,
    ``tokens == floor((n - 2) * rate)`` in cycle ``n >= 2``: exact, with no error accumulating,
    for every rate. The fraction keeps running while the bucket is full (the refill clock does
    not stop), as RFC 2697's token counter updates do. No register wraps: ``tokens`` saturates
    at ``C <= 2 ** token_bits - 1``, the sums are computed two bits wider, and the fraction
    stays below ``D``.

    **RFC 2697 (srTCM)**: the bucket is the committed bucket ``Tc`` with ``CBS = C`` and
    ``CIR = rate`` tokens per cycle, counting packets instead of bytes (every beat has size 1);
    the excess bucket is absent (``EBS = 0``). Colour-blind, a packet is green when ``Tc >= 1``
    (and then ``Tc`` loses one) and red otherwise; here that test is made only between ``S``
    and ``B``: below ``S`` a beat is admitted without a token, at ``B`` it is dropped without
    taking one. With ``S = 0`` and a slique that never reaches ``B``, "admitted with a token"
    is exactly "green" and ``tokens`` is exactly ``Tc`` (checked by the tests against an
    independent implementation of RFC 2697's update rule). Differences: ``Tc`` starts full,
    ``tokens`` at 0; RFC 2697 adds one to ``Tc`` at ``CIR`` evenly spaced instants per second,
    here ``refill`` whole tokens are added once per cycle, which gives the same ``Tc`` at every
    cycle boundary when the instants are ``2 + k / rate`` cycles after reset.

    **Run-time configuration**: ``steady_depth``, ``burst_depth``, ``bucket_capacity``,
    ``refill_rate`` and ``refill_denominator`` are sampled into registers at every clock edge
    (the register bank drives them): the decision and the bucket of cycle ``n`` use the values
    of cycle ``n - 1``. They may change at any time while traffic flows. A lower ``C`` clamps
    ``tokens`` at the next clock edge after it takes effect (``tokens`` may exceed the new
    ``C`` for that one cycle, and the decision of that cycle may take one of those tokens). A
    new rate takes effect on the fraction at once and on ``tokens`` a cycle later (the refill
    register). A different ``refill_denominator`` restarts ``token_fraction`` at 0 (the refill
    of the cycle in which it changes still follows the old one).

    **Counters and trace**: ``offered`` (beats offered), ``accepted``, ``delivered`` (beats taken
    at ``o_stream``), ``dropped_burst_exhausted`` and ``dropped_hard_limit`` are 32-bit and
    saturate; ``offered == delivered + dropped_burst_exhausted + dropped_hard_limit + level``
    and ``accepted == delivered + level``. Every drop is reported on ``trace`` as a
    :class:`~slique.hdl.trace_event.TraceEvent` (``BURST_EXHAUSTED`` or ``HARD_LIMIT``, the
    ``queue`` parameter, and as ``tag`` the payload's field named ``tag`` when the payload is a
    :class:`~amaranth.lib.data.Struct` with one, its raw bits zero-extended or cut to 32; 0
    otherwise). ``decision``, the counters and ``trace`` are registers: they show the outcome of
    a cycle's offer in the next cycle.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of the payload.
    depth : int
        Entries of the slique; ``B`` is at most ``depth``.
    fraction_bits : int
        Fraction bits of ``refill_rate`` and ``token_fraction`` (1 to 32).
    token_bits : int
        Bits of ``tokens``, ``bucket_capacity`` and the integer part of ``refill_rate``
        (1 to 32).
    queue : int
        Queue number reported in trace events (0 to 255).
    storage : ``"auto"``, ``"systolic"`` or ``"ring"``
        Storage of the :class:`~slique.hdl.BoundedSlique`.
    register_stage : bool
        An admitted beat waits one cycle in a register before it enters the slique (``True``,
        for 125 MHz on ECP5: the decision and the slique's write are then apart), or enters it
        in the cycle of its decision (``False``: a few flip-flops fewer, for slow clocks where
        area counts, e.g. the iCEBreaker's 12 MHz).

    Attributes
    ----------
    i_stream : ``In(stream.Signature(shape))``
        Offered beats; ``ready`` is always high.
    o_stream : ``Out(stream.Signature(shape))``
        Admitted beats, from the slique (registered); a beat admitted into an empty slique is
        here one cycle later than the slique alone would give it with ``register_stage``.
    steady_depth, burst_depth : ``In(config_width(depth))``
        ``S`` and ``B``; both reset to ``depth`` (a slique that drops when full).
    bucket_capacity : ``In(token_bits)``
        ``C``, tokens; resets to 0.
    refill_rate : ``In(token_bits + fraction_bits)``
        Tokens per cycle, fixed point; resets to 0.
    refill_denominator : ``In(fraction_bits)``
        What the fraction of ``refill_rate`` counts in (0: ``2 ** fraction_bits``).
    level : ``Out(range(depth + 1))``
        Beats in the register stage and the slique (a register).
    tokens : ``Out(token_bits)``
        Whole tokens in the bucket.
    token_fraction : ``Out(fraction_bits)``
        The fraction of a token, in units of ``1 / D``.
    decision : ``Out(Decision)``
        The decision of the previous cycle.
    offered, accepted, delivered, dropped_burst_exhausted, dropped_hard_limit : ``Out(32)``
        Saturating counters.
    trace : ``Out(TRACE_EVENT_SIGNATURE)``
        One event per drop, the cycle after it; never back-pressured.
    """

    def __init__(self, shape, depth, *, fraction_bits=16, token_bits=16, queue=0,
                 storage="auto", register_stage=True):
        check_admission_parameters(shape, depth, fraction_bits=fraction_bits,
                                   token_bits=token_bits, queue=queue, storage=storage,
                                   register_stage=register_stage)
        self._register_stage = register_stage
        self._shape = shape
        self._depth = depth
        self._fraction_bits = fraction_bits
        self._token_bits = token_bits
        self._queue = queue
        self._storage = storage
        depth_width = config_width(depth)
        super().__init__({
            "i_stream": In(stream.Signature(shape)),
            "o_stream": Out(stream.Signature(shape)),
            "steady_depth": In(depth_width, init=depth),
            "burst_depth": In(depth_width, init=depth),
            "bucket_capacity": In(token_bits),
            "refill_rate": In(token_bits + fraction_bits),
            "refill_denominator": In(fraction_bits),
            "level": Out(range(depth + 1)),
            "tokens": Out(token_bits),
            "token_fraction": Out(fraction_bits),
            "decision": Out(Decision),
            "offered": Out(COUNTER_WIDTH),
            "accepted": Out(COUNTER_WIDTH),
            "delivered": Out(COUNTER_WIDTH),
            "dropped_burst_exhausted": Out(COUNTER_WIDTH),
            "dropped_hard_limit": Out(COUNTER_WIDTH),
            "trace": Out(TRACE_EVENT_SIGNATURE),
        })

    shape = property(lambda self: self._shape, doc="Payload shape.")
    depth = property(lambda self: self._depth, doc="Entries of the slique.")
    fraction_bits = property(lambda self: self._fraction_bits, doc="Fraction bits of the rate.")
    token_bits = property(lambda self: self._token_bits, doc="Bits of the token count.")
    queue = property(lambda self: self._queue, doc="Queue number of the trace events.")
    register_stage = property(lambda self: self._register_stage,
                              doc="Whether an admitted beat waits a cycle before the slique.")

    def elaborate(self, platform):
        m = Module()

        m.submodules.slique = slique = BoundedSlique(self._shape, self._depth,
                                                     on_full="backpressure",
                                                     storage=self._storage)
        wiring.connect(m, wiring.flipped(self.o_stream), slique.o_stream)
        config = self._sample_config(m)

        # The decision: registers only (flags kept for this cycle's level, configuration and
        # bucket), and the offer.
        below_steady = Signal(init=1)  # level < min(S, B, depth)
        below_burst = Signal(init=1)   # level < min(B, depth)
        below_depth = Signal(init=1)   # level < depth
        has_token = Signal()           # tokens != 0
        room = Signal()                # the stage (or the slique) can take a beat this cycle
        # below_burst & (below_steady | has_token) and below_burst & ~below_steady & has_token,
        # kept in registers of their own with the register stage (see ``_ready``)
        accept_ready = Signal(init=1)
        take_ready = Signal()
        flags = dict(below_steady=below_steady, below_burst=below_burst, has_token=has_token,
                     room=room)
        if self._register_stage:
            flags.update(accept_ready=accept_ready, take_ready=take_ready)
        outcome = self._admit(m, below_depth & room, **flags)
        self._stage(m, slique, written=outcome["written"], room=room)

        level_candidates, plus, minus = self._track_level(
            m, slique, accept=outcome["written"], below_steady=below_steady,
            below_burst=below_burst, below_depth=below_depth)
        token_candidates = self._refill(m, config, take=outcome["take"], has_token=has_token)
        if self._register_stage:
            self._ready(m, level_candidates, token_candidates, plus=plus, minus=minus,
                        take=outcome["take"], accept_ready=accept_ready, take_ready=take_ready)
        self._report(m, offer=outcome["offer"], accept=outcome["accept"], take=outcome["take"],
                     exhausted=outcome["exhausted"], limit=outcome["limit"])
        return m

    @staticmethod
    def _rule(m, offer, *, below_steady, below_burst, has_token, room, accept_ready=None,
              take_ready=None):
        """The admission rule for an ``offer``: returns ``take`` (accepted with a token),
        ``accept``, ``exhausted`` (dropped, BURST_EXHAUSTED) and ``limit`` (dropped,
        HARD_LIMIT: at ``B``, or no ``room``), as signals (shared with
        :class:`~slique.hdl.PacketAdmission`). With ``accept_ready`` and ``take_ready`` (the
        flags' combinations, kept in registers), ``take`` and ``accept`` are one gate each."""
        rule = {name: Signal(name=name) for name in ("take", "accept", "exhausted", "limit")}
        fits = below_burst & room
        if accept_ready is None:
            take_ready = ~below_steady & below_burst & has_token
            accept_ready = below_burst & (below_steady | has_token)
        m.d.comb += [
            rule["take"].eq(offer & room & take_ready),
            rule["accept"].eq(offer & room & accept_ready),
            rule["exhausted"].eq(offer & ~below_steady & fits & ~has_token),
            rule["limit"].eq(offer & ~fits),
        ]
        return rule

    def _stage(self, m, slique, *, written, room):
        """The register stage between the decision and the slique: a beat ``written`` waits in
        it for one cycle, then enters the slique; without ``register_stage`` it enters the
        slique at once. Drives ``room``: a beat can be written this cycle (the stage is empty
        or its beat enters the slique now; without a stage, the slique takes a beat), from the
        slique's ``full`` (registers) rather than its ``i_stream.ready``, so that the consumer's
        ``ready`` does not reach the decision.

        With a ring the stage never waits: ``level`` counts the staged beat and a beat is
        written only while ``level < depth``, so the ring has room for it (``full`` and a staged
        beat never meet, and a full ring taking a beat as one leaves does not arise), so ``room``
        is the constant 1 there. A systolic slique may refuse a beat below ``depth`` (its input
        cell is busy while a read ripples up the chain): the staged beat then waits, and
        ``room`` is low. The stage keeps the decision
        (``has_token`` -> ``accept``) and the slique's write (-> its level counter's carry chain)
        in two cycles: the two together were the slowest path of the Colorlight board top."""
        if not self._register_stage:
            m.d.comb += [
                slique.i_stream.valid.eq(written),
                slique.i_stream.payload.eq(self.i_stream.payload),
                room.eq(~slique.full),
            ]
            return
        staged = Signal(name="staged")
        staged_payload = Signal(self._shape, name="staged_payload")
        with m.If(room):
            m.d.sync += [staged.eq(written), staged_payload.eq(self.i_stream.payload)]
        m.d.comb += [
            slique.i_stream.valid.eq(staged),
            slique.i_stream.payload.eq(staged_payload),
            # A ring always has room for the staged beat (see above): ``room`` is then a
            # constant, and the stage's registers stay out of the decision's loops.
            room.eq(1 if slique.storage == "ring" else ~staged | ~slique.full),
        ]

    def _admit(self, m, space, **flags):
        """One decision per beat: every beat offered is an offer; an accepted beat goes into
        the stage (the rule admits only with ``room``). Returns the rule's signals, with
        ``offer`` and ``written`` (a beat enters the stage). ``space``: ``level < depth`` and
        ``room`` (used by :class:`~slique.hdl.PacketAdmission` for a packet's later beats)."""
        offer = self.i_stream.valid
        rule = self._rule(m, offer, **flags)
        m.d.comb += self.i_stream.ready.eq(1)
        return dict(rule, offer=offer, written=rule["accept"])

    def _delivered_event(self):
        """What the ``delivered`` counter counts: every beat taken at ``o_stream``."""
        return self.o_stream.valid & self.o_stream.ready

    def _trace_tag(self):
        """The ``tag`` of a trace event: the payload's ``tag`` field (see :func:`tag_field`)."""
        field = tag_field(self._shape)
        if field is None:
            return C(0, TAG_WIDTH)
        offset, width = field
        return Value.cast(self.i_stream.payload)[offset:offset + width]

    def _sample_config(self, m):
        """Configuration registers: what the decision and the bucket need of the configuration
        ports of the previous cycle. The rate is split into its integer part (kept as
        ``rate_integer + delta`` for ``delta`` of -2, -1, 0, 1) and its fraction (at most
        ``D - 1``); ``step = D - rate_fraction``: the fraction wraps when ``fraction >= step``."""
        fraction_bits = self._fraction_bits
        rate_integer = self.refill_rate[fraction_bits:]
        config = {
            "capacity": Signal(self._token_bits),
            "capacity_nonzero": Signal(),
            "rate_zero": Signal(init=1),
            "rate_fraction": Signal(fraction_bits),
            "step": Signal(fraction_bits + 1, init=1 << fraction_bits),
            "denominator": Signal(fraction_bits),
        }
        for delta in _DELTAS:
            rate = config["rate", delta] = Signal(signed(self._token_bits + 2), init=delta,
                                                  name=f"rate_{_DELTAS[delta]}")
            m.d.sync += rate.eq(rate_integer + delta)
        # for the bucket's thresholds (C - refill + 1 with refill = rate_integer - 1)
        config["rate", -2] = Signal(signed(self._token_bits + 2), init=-2, name="rate_minus_two")
        m.d.sync += config["rate", -2].eq(rate_integer - 2)
        denominator = Mux(self.refill_denominator == 0, 1 << fraction_bits,
                          self.refill_denominator)
        requested = self.refill_rate[:fraction_bits]
        rate_fraction = Mux(requested < denominator, requested, denominator - 1)
        m.d.sync += [
            config["capacity"].eq(self.bucket_capacity),
            config["capacity_nonzero"].eq(self.bucket_capacity != 0),
            config["rate_zero"].eq(rate_integer == 0),
            config["rate_fraction"].eq(rate_fraction),
            config["step"].eq(denominator - rate_fraction),
            config["denominator"].eq(self.refill_denominator),
        ]
        return config

    def _track_level(self, m, slique, *, accept, below_steady, below_burst, below_depth):
        """Count ``level`` (the beats in the stage and the slique) and keep ``below_steady``,
        ``below_burst`` and ``below_depth`` equal to ``level < min(S, B, depth)``,
        ``level < min(B, depth)`` and ``level < depth``, with ``S`` and ``B`` as sampled: compare
        each level there can be in the next cycle (``level - 1``, ``level``, ``level + 1``) with
        the configuration ports, and choose at the clock edge by what went in and out (the
        decision arrives late: it only selects).
        ``level + 1`` is kept in a register of its own, so that every comparison is one
        comparator."""
        read = slique.o_stream.valid & slique.o_stream.ready
        plus, minus = accept & ~read, read & ~accept
        level = Signal.like(self.level, name="occupancy")
        level_plus_one = Signal(len(level) + 1, init=1)
        m.d.comb += self.level.eq(level)
        _select(m, (level, level_plus_one),
                {1: (level + 1, level_plus_one + 1), -1: (level - 1, level_plus_one - 1),
                 0: (level, level_plus_one)}, plus=plus, minus=minus)
        width = len(level_plus_one)

        def below(threshold, delta):
            """level + delta < threshold, without wrapping; the comparison is as narrow as the
            level (a wide threshold is split into its low bits and whether the rest is zero)."""
            if isinstance(threshold, int):
                return level <= threshold if delta < 0 else level + delta < threshold
            low = threshold[:width]
            large = threshold[width:].any() if len(threshold) > width else C(0)
            return large | {-1: level <= low, 0: level < low, 1: level_plus_one < low}[delta]

        candidates = {}
        for delta in _DELTAS:
            room = Signal(name=f"below_depth_{_DELTAS[delta]}")
            fits = Signal(name=f"below_burst_{_DELTAS[delta]}")
            steady = Signal(name=f"below_steady_{_DELTAS[delta]}")
            m.d.comb += [
                room.eq(below(self._depth, delta)),
                fits.eq(below(self.burst_depth, delta) & room),
                steady.eq(below(self.steady_depth, delta) & fits),
            ]
            candidates[delta] = (steady, fits, room)
        _select(m, (below_steady, below_burst, below_depth), candidates, plus=plus, minus=minus)
        return candidates, plus, minus

    def _refill(self, m, config, *, take, has_token):
        """The bucket. Every cycle the fraction advances by ``rate_fraction`` modulo ``D`` and
        ``refill = rate_integer + wraps`` is computed; at the next clock edge
        ``tokens = min(tokens - take + refill, C)``.

        Built for timing: ``refill`` is a register, kept with ``refill - 1`` and with the
        thresholds for ``C - refill`` and ``C - refill + 1`` beside it, so that the loop through
        ``tokens`` is one adder and one comparator side by side, after which the decision
        (``take``) and the comparison only choose. A threshold is ``C - refill + 1``, 0 when
        negative (unsigned): ``tokens > C - refill`` is then ``tokens >= threshold``, an
        unsigned carry chain with no sign logic after it (with the signed ``C - refill``, at
        seed 1 of 19aa877 two LUT levels followed the chain in the Colorlight's worst path,
        8.38 ns).
        """
        fraction_bits, token_bits = self._fraction_bits, self._token_bits
        fraction = self.token_fraction
        wraps = Signal()
        m.d.comb += wraps.eq(fraction >= config["step"])
        with m.If(self.refill_denominator != config["denominator"]):
            m.d.sync += fraction.eq(0)
        with m.Elif(wraps):
            m.d.sync += fraction.eq(fraction - config["step"])
        with m.Else():
            m.d.sync += fraction.eq(fraction + config["rate_fraction"])

        # refill[delta] = refill + delta and threshold[delta] = C - refill[delta] + 1 (at most
        # 2 ** token_bits + 1: refill is at least -1), clamped at 0, with the C that takes
        # effect at the same edge (the configuration ports now).
        refill = {delta: Signal(signed(token_bits + 2), init=delta,
                                name=f"refill_{_DELTAS[delta]}") for delta in (-1, 0)}
        threshold = {delta: Signal(token_bits + 1, init=1 - delta,
                                   name=f"over_threshold_{_DELTAS[delta]}") for delta in (-1, 0)}
        refill_zero = Signal(init=1)

        # spare[delta] = C - (rate_integer + delta), 0 if negative: one subtractor each
        spare = {}
        for delta in (0, -1, -2):
            difference = (self.bucket_capacity - config["rate", delta]).as_signed()
            spare[delta] = Mux(difference[-1], 0, difference[:token_bits + 1])
        m.d.sync += [
            refill[0].eq(Mux(wraps, config["rate", 1], config["rate", 0])),
            refill[-1].eq(Mux(wraps, config["rate", 0], config["rate", -1])),
            threshold[0].eq(Mux(wraps, spare[0], spare[-1])),
            threshold[-1].eq(Mux(wraps, spare[-1], spare[-2])),
            refill_zero.eq(config["rate_zero"] & ~wraps),
        ]

        # tokens + refill - take > C  <=>  tokens > C - refill + take  <=>  tokens >= threshold
        # (tokens is at least 0: a threshold of 0 for a negative C - refill + 1 gives the same
        # answer)
        tokens, capacity = self.tokens, config["capacity"]
        over, total = {}, {}
        for delta in (-1, 0):
            over[delta] = Signal(name=f"over_{_DELTAS[delta]}")
            total[delta] = Signal(token_bits + 1, name=f"total_{_DELTAS[delta]}")
            m.d.comb += [
                over[delta].eq(tokens >= threshold[delta]),
                total[delta].eq(tokens + refill[delta]),
            ]
        # tokens - take + refill is zero only for a zero refill and tokens == take. Both next
        # values are made beside each other (one with a token taken, one without) and ``take``,
        # which comes from the offer, only chooses between them at the end.
        # has_token_next[taken]: whether tokens is not zero after this cycle, with a token
        # taken (1) or not (0): min(tokens - taken + refill, C) != 0, that is C != 0 and
        # tokens - taken + refill != 0 (both are at least 0), without the comparators; a token
        # is taken only when there is one, and tokens == 0 is ~has_token.
        has_token_next = {taken: Signal(name=f"has_token_{('kept', 'taken')[taken]}")
                          for taken in (0, 1)}
        m.d.comb += [
            has_token_next[1].eq(config["capacity_nonzero"] & ~(refill_zero & (tokens == 1))),
            has_token_next[0].eq(config["capacity_nonzero"] & ~(refill_zero & ~has_token)),
        ]
        m.d.sync += [
            tokens.eq(Mux(take, Mux(over[-1], capacity, total[-1]),
                          Mux(over[0], capacity, total[0]))),
            has_token.eq(Mux(take, has_token_next[1], has_token_next[0])),
        ]
        return has_token_next

    @staticmethod
    def _ready(m, level_candidates, token_candidates, *, plus, minus, take, accept_ready,
               take_ready):
        """Keep ``accept_ready == below_burst & (below_steady | has_token)`` and
        ``take_ready == below_burst & ~below_steady & has_token`` in registers: their values
        for every level the next cycle can have (``level_candidates``, as ``_track_level``
        chooses among them) and for a token taken or not (``token_candidates``), chosen at the
        clock edge by ``plus``, ``minus`` and ``take``. The decision is then one gate after
        flip-flops, and its loops through the level and the bucket only choose.
        """
        candidates = {}
        for taken, has_token in token_candidates.items():
            candidates[taken] = {}
            for delta, (steady, fits, _room) in level_candidates.items():
                accept = Signal(name=f"accept_ready_{_DELTAS[delta]}_{taken}")
                token = Signal(name=f"take_ready_{_DELTAS[delta]}_{taken}")
                m.d.comb += [accept.eq(fits & (steady | has_token)),
                             token.eq(fits & ~steady & has_token)]
                candidates[taken][delta] = (accept, token)
        with m.If(take):
            _select(m, (accept_ready, take_ready), candidates[1], plus=plus, minus=minus)
        with m.Else():
            _select(m, (accept_ready, take_ready), candidates[0], plus=plus, minus=minus)

    def _report(self, m, *, offer, accept, take, exhausted, limit):
        """Decision, counters and trace events, one cycle after the decision."""
        with m.If(limit):
            m.d.sync += self.decision.eq(Decision.HARD_LIMIT)
        with m.Elif(exhausted):
            m.d.sync += self.decision.eq(Decision.BURST_EXHAUSTED)
        with m.Elif(take):
            m.d.sync += self.decision.eq(Decision.TOKEN)
        with m.Elif(accept):
            m.d.sync += self.decision.eq(Decision.STEADY)
        with m.Else():
            m.d.sync += self.decision.eq(Decision.NONE)

        delivered = self._delivered_event()
        for counter, event in [(self.offered, offer), (self.accepted, accept),
                               (self.delivered, delivered),
                               (self.dropped_burst_exhausted, exhausted),
                               (self.dropped_hard_limit, limit)]:
            with m.If(event & (counter != (1 << COUNTER_WIDTH) - 1)):
                m.d.sync += counter.eq(counter + 1)

        tag = self._trace_tag()
        m.d.sync += [
            self.trace.valid.eq(exhausted | limit),
            self.trace.payload.reason.eq(Mux(limit, TraceReason.HARD_LIMIT,
                                             TraceReason.BURST_EXHAUSTED)),
            self.trace.payload.queue.eq(self._queue),
            self.trace.payload.tag.eq(tag),
        ]
