"""Golden model of :class:`slique.hdl.BurstAdmission`, its run-time configuration schedules and
its lockstep scoreboard.

The model steps one cycle at a time like the other golden models, with the configuration ports
as step inputs. :class:`ConfigSchedule` says what the configuration ports hold in every cycle
(seeded random changes, biased to the edge cases, or an explicit list). :func:`run_lockstep`
drives the same traffic and configuration into the gateware (through a port adapter: the
Amaranth simulator's or cocotb's) and the model, compares every output every cycle and checks
conservation, ``offered == delivered + dropped_burst_exhausted + dropped_hard_limit + level``,
on the gateware's own counters and on the scoreboard's count of what it offered and took.
"""

import random
from dataclasses import dataclass, field, fields

from amaranth.hdl import Shape
from amaranth.lib import data

from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.hdl.burst_admission import (Decision, check_admission_parameters, config_width,
                                        tag_field)
from slique.hdl.trace_event import TraceEvent, TraceReason

from ._ports import payload_mask
from .bounded_slique import BoundedSlique
from .lockstep import AmaranthPorts, Mismatch, _compare
from .sliques import SHAPES, parameters_hint


__all__ = ["BurstAdmission", "AdmissionPorts", "CONFIG_PORTS", "ConfigSchedule",
           "AdmissionResult", "run_lockstep", "lockstep_in_amaranth", "run_parameters",
           "gateware", "golden_model", "schedule_of", "parameters_hint", "pack_trace_event",
           "unpack_trace_event", "TaggedBeat"]


_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1

#: The configuration ports, in the order of :class:`ConfigSchedule` and the benches.
CONFIG_PORTS = ("steady_depth", "burst_depth", "bucket_capacity", "refill_rate",
                "refill_denominator")

_TRACE_LAYOUT = data.Layout.cast(TraceEvent)


def _trace_fields():
    for name in ("reason", "queue", "tag"):
        layout_field = _TRACE_LAYOUT[name]
        yield name, layout_field.offset, (1 << Shape.cast(layout_field.shape).width) - 1


_TRACE_FIELDS = tuple(_trace_fields())


def pack_trace_event(reason, queue, tag):
    """The raw bits of a :class:`~slique.hdl.trace_event.TraceEvent` (as ``trace.payload``)."""
    members = {"reason": TraceReason(reason).value, "queue": queue, "tag": tag}
    return sum((members[name] & mask) << offset for name, offset, mask in _TRACE_FIELDS)


def unpack_trace_event(value):
    """``(reason, queue, tag)`` of the raw bits of a trace event; ``reason`` a
    :class:`~slique.hdl.trace_event.TraceReason`."""
    members = {name: (value >> offset) & mask for name, offset, mask in _TRACE_FIELDS}
    return TraceReason(members["reason"]), members["queue"], members["tag"]


@dataclass(frozen=True, slots=True)
class AdmissionPorts:
    """Outputs of :class:`BurstAdmission` during one cycle, named as the gateware's ports.

    ``o_stream__payload`` and ``trace__payload`` are ``None`` while their ``valid`` is low.
    """

    i_stream__ready: int
    o_stream__valid: int
    o_stream__payload: int | None
    level: int
    tokens: int
    token_fraction: int
    decision: int
    offered: int
    accepted: int
    delivered: int
    dropped_burst_exhausted: int
    dropped_hard_limit: int
    trace__valid: int
    trace__payload: int | None

    def present(self):
        """The outputs that have a meaning this cycle, as a dict (the scoreboard compares them)."""
        return {item.name: getattr(self, item.name) for item in fields(self)
                if getattr(self, item.name) is not None}


@dataclass(frozen=True)
class _Config:
    """The configuration registers: ports of the previous cycle, clamped and split."""
    steady: int
    burst: int
    capacity: int
    rate_integer: int
    rate_fraction: int
    step: int
    denominator: int


class BurstAdmission:
    """Cycle-accurate golden model of :class:`slique.hdl.BurstAdmission` (its docstring and
    ``docs/burst_admission.md`` state the rule, the bucket arithmetic and the timing).

    The rule, for a beat offered with the slique holding ``level`` entries: below ``S`` it is
    admitted; from ``S`` up to ``B`` it is admitted if the bucket holds a token, which it takes,
    and dropped (``BURST_EXHAUSTED``) otherwise; at ``B`` (at most ``depth``) it is dropped
    (``HARD_LIMIT``). The bucket gains ``rate = integer + fraction / D`` tokens per cycle (the
    fraction kept exactly, modulo ``D``) and saturates at ``C``.

    **RFC 2697 (srTCM)**: the bucket is srTCM's committed bucket ``Tc`` with ``CBS = C`` and
    ``CIR = rate`` per cycle, for packets of size 1 and no excess bucket (``EBS = 0``);
    colour-blind, "green" (``Tc >= 1``, take one) is :attr:`Decision.TOKEN` and "red" is
    ``BURST_EXHAUSTED``, in the band ``S <= level < B`` where the bucket is consulted. The
    tests compare this model with an independent implementation of RFC 2697's update and
    metering rules (``Tc`` incremented by one ``CIR`` times per second up to ``CBS``; a packet
    of size 1 green when ``Tc - 1 >= 0``) over random arrivals, with ``S = 0``: the token counts
    and the colours agree every cycle once the RFC's full start is matched (our bucket starts
    empty).

    :meth:`step` takes the inputs of a cycle, returns the outputs during that cycle
    (:class:`AdmissionPorts`) and applies the clock edge. Configuration inputs left out (or
    ``None``) keep their previous value, as a port does; values are cut to the port's width.
    The slique behind the admission is the golden :class:`~slique.sim.BoundedSlique`.

    Parameters
    ----------
    shape, depth, fraction_bits, token_bits, queue, storage, register_stage
        As for :class:`slique.hdl.BurstAdmission` (the same checks).

    Attributes
    ----------
    ports : dict
        The configuration port values last given (initially the ports' reset values).
    tokens, token_fraction, level : int
        The bucket and the slique, as the gateware's registers hold them.
    """

    def __init__(self, shape, depth, *, fraction_bits=16, token_bits=16, queue=0,
                 storage="auto", register_stage=True):
        check_admission_parameters(shape, depth, fraction_bits=fraction_bits,
                                   token_bits=token_bits, queue=queue, storage=storage,
                                   register_stage=register_stage)
        self.depth = depth
        self.register_stage = register_stage
        self.fraction_bits = fraction_bits
        self.token_bits = token_bits
        self.queue = queue
        self.mask = payload_mask(shape)
        self._tag = tag_field(shape)
        self._slique = BoundedSlique(shape, depth, on_full="backpressure", storage=storage)
        self._staged = None  # the payload in the stage before the slique, or None
        self.widths = {
            "steady_depth": config_width(depth),
            "burst_depth": config_width(depth),
            "bucket_capacity": token_bits,
            "refill_rate": token_bits + fraction_bits,
            "refill_denominator": fraction_bits,
        }
        self.ports = dict(steady_depth=depth, burst_depth=depth, bucket_capacity=0,
                          refill_rate=0, refill_denominator=0)
        self._config = self._derive(self.ports)
        self.tokens = 0
        self.token_fraction = 0
        self._pending = 0
        self._decision = Decision.NONE
        self._trace = None
        self.offered = 0
        self.accepted = 0
        self.delivered = 0
        self.dropped_burst_exhausted = 0
        self.dropped_hard_limit = 0

    @property
    def level(self):
        """Beats in the stage and in the slique."""
        return self._slique.level + (self._staged is not None)

    @property
    def config(self):
        """The configuration in effect this cycle (a snapshot of the registers)."""
        return self._config

    def _derive(self, ports):
        fraction_bits, depth = self.fraction_bits, self.depth
        burst = min(ports["burst_depth"], depth)
        denominator = ports["refill_denominator"] or 1 << fraction_bits
        rate_fraction = min(ports["refill_rate"] & ((1 << fraction_bits) - 1), denominator - 1)
        return _Config(steady=min(ports["steady_depth"], burst), burst=burst,
                       capacity=ports["bucket_capacity"],
                       rate_integer=ports["refill_rate"] >> fraction_bits,
                       rate_fraction=rate_fraction, step=denominator - rate_fraction,
                       denominator=ports["refill_denominator"])

    def _tag_of(self, payload):
        if self._tag is None:
            return 0
        offset, width = self._tag
        return (payload >> offset) & ((1 << width) - 1)

    def step(self, *, i_stream__valid, i_stream__payload, o_stream__ready, **config):
        """Outputs during one cycle with these inputs; then the clock edge."""
        changed = False
        for name, value in config.items():
            if name not in self.widths:
                raise TypeError(f"BurstAdmission has no input {name!r}; the configuration "
                                f"inputs are {', '.join(CONFIG_PORTS)}")
            if value is not None:
                value = int(value) & ((1 << self.widths[name]) - 1)
                changed |= value != self.ports[name]
                self.ports[name] = value
        valid = bool(i_stream__valid)
        payload = i_stream__payload & self.mask
        level = self.level
        free = not self._slique.full
        room = free if not self.register_stage else self._staged is None or free
        offer = self._offer(valid)
        take, accept, exhausted, limit = self._rule(offer, level, room)
        space = level < self.depth and room
        written = self._written(valid, accept, space)
        ready = self._ready(space)
        if self.register_stage:
            entering = self._staged
            if room:
                self._staged = payload if written else None
        else:
            entering = payload if written else None
        queue = self._slique.step(i_stream__valid=int(entering is not None),
                                  i_stream__payload=entering or 0, o_stream__ready=o_stream__ready)
        if entering is not None and bool(queue.i_stream__ready) != room:
            raise AssertionError(f"the slique {'refused' if room else 'took'} a beat the "
                                 f"admission did not expect it to (level {level})")
        delivered = bool(queue.o_stream__valid and o_stream__ready) and \
            self._counts_as_delivered(queue.o_stream__payload)
        ports = AdmissionPorts(
            i_stream__ready=ready,
            o_stream__valid=queue.o_stream__valid,
            o_stream__payload=queue.o_stream__payload,
            level=level,
            tokens=self.tokens,
            token_fraction=self.token_fraction,
            decision=self._decision.value,
            offered=self.offered,
            accepted=self.accepted,
            delivered=self.delivered,
            dropped_burst_exhausted=self.dropped_burst_exhausted,
            dropped_hard_limit=self.dropped_hard_limit,
            trace__valid=int(self._trace is not None),
            trace__payload=self._trace,
        )

        self._refill(take)
        if changed:
            self._config = self._derive(self.ports)
        if limit:
            self._decision, reason = Decision.HARD_LIMIT, TraceReason.HARD_LIMIT
        elif exhausted:
            self._decision, reason = Decision.BURST_EXHAUSTED, TraceReason.BURST_EXHAUSTED
        else:
            self._decision = (Decision.TOKEN if take else Decision.STEADY if accept
                              else Decision.NONE)
            reason = None
        self._trace = (None if reason is None
                       else pack_trace_event(reason, self.queue, self._tag_of(payload)))
        self._advance(valid and ready, payload, accept)
        self.offered = min(self.offered + offer, _COUNTER_MAX)
        self.accepted = min(self.accepted + accept, _COUNTER_MAX)
        self.delivered = min(self.delivered + delivered, _COUNTER_MAX)
        self.dropped_burst_exhausted = min(self.dropped_burst_exhausted + exhausted,
                                           _COUNTER_MAX)
        self.dropped_hard_limit = min(self.dropped_hard_limit + limit, _COUNTER_MAX)
        return ports

    def _rule(self, offer, level, room):
        """``(take, accept, exhausted, limit)`` for an ``offer`` at ``level`` (the rule), with
        ``room`` in the stage (or the slique)."""
        cfg = self._config
        below_steady = level < cfg.steady
        fits = level < cfg.burst and room
        take = offer and not below_steady and fits and self.tokens != 0
        accept = offer and below_steady and room or take
        exhausted = offer and not below_steady and fits and self.tokens == 0
        limit = offer and not fits
        return take, accept, exhausted, limit

    # What a beat is: here every beat is a decision (PacketAdmission overrides these).

    def _offer(self, valid):
        """Whether this cycle's beat is an offer to decide on."""
        return valid

    def _written(self, valid, accept, space):
        """Whether this cycle's beat goes into the stage before the slique (``space``:
        ``level < depth`` and room in the stage, see the gateware's ``_stage``)."""
        return accept

    def _ready(self, space):
        """``i_stream.ready`` this cycle, given ``space``."""
        return 1

    def _counts_as_delivered(self, payload):
        """Whether a beat taken at ``o_stream`` counts in ``delivered``."""
        return True

    def _advance(self, taken, payload, accept):
        """The clock edge of any per-packet state (none here)."""

    def _refill(self, take):
        """The bucket's clock edge (uses the configuration of this cycle; see the gateware)."""
        cfg = self._config
        wraps = self.token_fraction >= cfg.step
        if self.ports["refill_denominator"] != cfg.denominator:
            self.token_fraction = 0
        elif wraps:
            self.token_fraction -= cfg.step
        else:
            self.token_fraction += cfg.rate_fraction
        self.tokens = min(self.tokens - take + self._pending, cfg.capacity)
        self._pending = cfg.rate_integer + wraps


class ConfigSchedule:
    """What the configuration ports of a :class:`BurstAdmission` hold, cycle by cycle.

    Parameters
    ----------
    initial : dict
        Value of every port of :data:`CONFIG_PORTS` from cycle 0.
    changes : dict of int to dict
        ``{cycle: {port: value}}``: from that cycle on, those ports hold those values.
    """

    def __init__(self, initial, changes=None):
        missing = [name for name in CONFIG_PORTS if name not in initial]
        if missing:
            raise ValueError(f"The initial configuration lacks {', '.join(missing)}")
        self.initial = dict(initial)
        self.changes = {int(cycle): dict(change) for cycle, change in (changes or {}).items()}
        self._current = dict(initial)

    def at(self, cycle):
        """The port values of ``cycle``; call with increasing cycles."""
        self._current.update(self.changes.get(cycle, {}))
        return dict(self._current)

    @classmethod
    def random(cls, seed, *, depth, fraction_bits=16, token_bits=16, cycles=2000,
               changes=12):
        """Seeded random configuration: a random start and ``changes`` random changes of one or
        more ports in ``cycles`` cycles, the values drawn from edge cases (``S = 0``,
        ``S = B``, ``B > depth``, ``C = 0``, ``r = 0``, the largest ``r``, 3/7, 1/1000, ...)
        as often as from the whole range."""
        rng = random.Random(seed)
        draw = _ConfigDraw(rng, depth=depth, fraction_bits=fraction_bits, token_bits=token_bits)
        initial = {name: draw(name) for name in CONFIG_PORTS}
        schedule = {}
        for _ in range(changes):
            names = rng.sample(CONFIG_PORTS, rng.randint(1, len(CONFIG_PORTS)))
            schedule.setdefault(rng.randrange(cycles), {}).update(
                {name: draw(name) for name in names})
        return cls(initial, schedule)


class _ConfigDraw:
    """Draws one configuration value, half the time an edge case."""

    def __init__(self, rng, *, depth, fraction_bits, token_bits):
        self.rng = rng
        one = 1 << fraction_bits
        depth_max = (1 << config_width(depth)) - 1
        token_max = (1 << token_bits) - 1
        self.edges = {
            "steady_depth": [0, 1, depth // 2, depth - 1, depth, depth + 1, depth_max],
            "burst_depth": [0, 1, depth // 2, depth - 1, depth, depth + 1, depth_max],
            "bucket_capacity": [0, 1, 2, 5, token_max],
            "refill_rate": [0, 1, 3, one // 1000, one // 7, one // 2, one, one + one // 3,
                            (token_max << fraction_bits) | (one - 1)],
            "refill_denominator": [0, 0, 1, 7, 1000 % one, one - 1],
        }
        self.maxima = {"steady_depth": 2 * depth + 2, "burst_depth": 2 * depth + 2,
                       "bucket_capacity": min(token_max, 64),
                       "refill_rate": min((token_max << fraction_bits) | (one - 1), 2 * one),
                       "refill_denominator": one - 1}

    def __call__(self, name):
        if self.rng.random() < 0.5:
            return self.rng.choice(self.edges[name])
        return self.rng.randint(0, self.maxima[name])


@dataclass
class AdmissionResult:
    """What the gateware did, as the scoreboard saw it.

    Attributes
    ----------
    cycles : int
        Cycles simulated, drain included.
    offered, accepted, delivered, dropped_burst_exhausted, dropped_hard_limit : int
        The gateware's counters at the end.
    decisions : dict of str to int
        How many of each :class:`~slique.hdl.burst_admission.Decision` the gateware reported.
    traces : dict of str to int
        Trace events the gateware emitted, by reason.
    high_water : int
        Largest level seen.
    levels, tokens : list of int
        Level and tokens every cycle, when recorded.
    """

    cycles: int = 0
    offered: int = 0
    accepted: int = 0
    delivered: int = 0
    dropped_burst_exhausted: int = 0
    dropped_hard_limit: int = 0
    decisions: dict = field(default_factory=lambda: {decision.name: 0 for decision in Decision})
    traces: dict = field(default_factory=lambda: {"BURST_EXHAUSTED": 0, "HARD_LIMIT": 0})
    high_water: int = 0
    levels: list = field(default_factory=list)
    tokens: list = field(default_factory=list)

    @property
    def dropped(self):
        return {"BURST_EXHAUSTED": self.dropped_burst_exhausted,
                "HARD_LIMIT": self.dropped_hard_limit}

    def as_dict(self):
        return {**self.__dict__, "dropped": self.dropped}


_COUNTERS = ("offered", "accepted", "delivered", "dropped_burst_exhausted", "dropped_hard_limit")


def _check_conservation(cycle, observed, seen, hint):
    """The gateware's counters against each other and against what the scoreboard saw."""
    dropped = observed["dropped_burst_exhausted"] + observed["dropped_hard_limit"]
    problems = []
    if observed["offered"] != observed["delivered"] + dropped + observed["level"]:
        problems.append(f"offered {observed['offered']} != delivered {observed['delivered']} + "
                        f"dropped {dropped} + level {observed['level']}")
    if observed["accepted"] != observed["delivered"] + observed["level"]:
        problems.append(f"accepted {observed['accepted']} != delivered "
                        f"{observed['delivered']} + level {observed['level']}")
    for name in ("offered", "delivered"):
        if observed[name] != min(seen[name], _COUNTER_MAX):
            problems.append(f"{name} counter {observed[name]}, but the scoreboard "
                            f"{name} {seen[name]}")
    if problems:
        raise Mismatch(f"cycle {cycle}: conservation broken: {'; '.join(problems)}; {hint}")


async def run_lockstep(ports, model, producer, consumer, schedule, *, cycles, hint,
                       record=False):
    """Run ``cycles`` cycles of traffic and configuration, then drain; return an
    :class:`AdmissionResult`.

    Parameters
    ----------
    ports : port adapter
        :class:`~slique.sim.lockstep.AmaranthPorts` or :class:`~slique.sim.benches.CocotbPorts`.
    model : BurstAdmission
        The golden model, fresh.
    producer, consumer : :mod:`slique.sim.traffic` generators
    schedule : ConfigSchedule
    cycles : int
        Cycles of traffic before the drain (the consumer always ready, nothing offered).
    hint : str
        Seed and replay command, carried by every failure.
    record : bool
        Keep level and tokens of every cycle.
    """
    result = AdmissionResult()
    seen = {"offered": 0, "delivered": 0}
    drain_limit = cycles + 2 * model.depth + 16
    for cycle in range(drain_limit):
        if cycle == cycles:
            producer.stop()
            consumer.drain()
        config = schedule.at(cycle)
        valid, payload = producer.drive()
        ready = consumer.drive()
        ports.drive(i_stream__valid=valid, i_stream__payload=payload, o_stream__ready=ready,
                    **config)
        await ports.settle()
        expected = model.step(i_stream__valid=valid, i_stream__payload=payload,
                              o_stream__ready=ready, **config)
        observed = _compare(cycle, expected, ports, hint)
        _check_conservation(cycle, observed, seen, hint)
        if not observed["i_stream__ready"]:
            raise Mismatch(f"cycle {cycle}: i_stream.ready is low; admission never "
                           f"back-pressures; {hint}")
        seen["offered"] += bool(valid)
        seen["delivered"] += bool(ready and observed["o_stream__valid"])
        _account(result, observed)
        result.high_water = max(result.high_water, observed["level"])
        if record:
            result.levels.append(observed["level"])
            result.tokens.append(observed["tokens"])
        producer.advance(valid)
        await ports.tick()
        result.cycles = cycle + 1
        if cycle >= cycles and model.level == 0 and not producer.valid:
            break
    await _finish(result, ports, model, seen, hint)
    return result


def _account(result, observed):
    """Count the decision and the trace event the gateware reports this cycle."""
    result.decisions[Decision(observed["decision"]).name] += 1
    if observed["trace__valid"]:
        reason, _queue, _tag = unpack_trace_event(observed["trace__payload"])
        result.traces[reason.name] += 1


async def _finish(result, ports, model, seen, hint):
    """After the drain: the slique is empty, the last decision is in the counters, and every
    beat offered was delivered or dropped by a reason."""
    await ports.settle()
    final = {name: ports.sample(name)
             for name in (*_COUNTERS, "level", "decision", "trace__valid", "trace__payload")}
    for name in _COUNTERS:
        setattr(result, name, final[name])
        if final[name] != getattr(model, name):
            raise Mismatch(f"after the drain: {name} is {final[name]} in the gateware but "
                           f"{getattr(model, name)} in the golden model; {hint}")
    _account(result, final)
    result.decisions.pop("NONE")
    if result.traces != result.dropped:
        raise Mismatch(f"trace events {result.traces} do not match the drop counters "
                       f"{result.dropped}; {hint}")
    if final["level"] != 0:
        raise Mismatch(f"the slique did not drain: level {final['level']} after "
                       f"{result.cycles} cycles with the consumer always ready; {hint}")
    _check_conservation(result.cycles, final, seen, hint)
    dropped = result.dropped_burst_exhausted + result.dropped_hard_limit
    if result.offered != result.delivered + dropped:
        raise Mismatch(f"conservation broken: offered {result.offered} != delivered "
                       f"{result.delivered} + dropped {dropped}; {hint}")


def lockstep_in_amaranth(component, model, schedule, *, seed, cycles, pattern="random",
                         hint="", record=False):
    """Run :func:`run_lockstep` on ``component`` in the Amaranth simulator; return the result."""
    from amaranth.sim import Simulator

    from .traffic import make_traffic

    producer, consumer = make_traffic(seed, Shape.cast(component.shape).width, pattern)
    outcome = {}

    async def testbench(ctx):
        outcome["result"] = await run_lockstep(
            AmaranthPorts(ctx, component), model, producer, consumer, schedule,
            cycles=cycles, hint=hint or f"seed={seed}", record=record)

    simulator = Simulator(component)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outcome["result"]


# One description of a run, shared by the tests, the cocotb bench and the CLI.

class TaggedBeat(data.Struct):
    """A packet beat whose ``tag`` (a sequence number) goes into the trace events."""
    data: 8
    first: 1
    last: 1
    tag: 16


def _shapes():
    return {**SHAPES, "tagged-beat": TaggedBeat}


def run_parameters(*, shape="unsigned32", depth=16, fraction_bits=16, token_bits=16, queue=0,
                   storage="auto", register_stage=True, seed=1, cycles=2000, pattern="random",
                   changes=12, replay="", record=False):
    """A JSON-able description of a lockstep run (the configuration schedule is drawn from
    ``seed`` with ``changes`` changes)."""
    shapes = _shapes()
    if shape not in shapes:
        raise ValueError(f"Unknown shape {shape!r}; choose one of {', '.join(shapes)}")
    return dict(design="burst-admission", shape=shape,
                width=Shape.cast(shapes[shape]).width, depth=depth, fraction_bits=fraction_bits,
                token_bits=token_bits, queue=queue, storage=storage,
                register_stage=register_stage, seed=seed, cycles=cycles, pattern=pattern,
                changes=changes, replay=replay, record=record)


def _construct(cls, parameters):
    return cls(_shapes()[parameters["shape"]], parameters["depth"],
               fraction_bits=parameters["fraction_bits"], token_bits=parameters["token_bits"],
               queue=parameters["queue"], storage=parameters["storage"],
               register_stage=parameters.get("register_stage", True))


def gateware(parameters):
    """The :class:`slique.hdl.BurstAdmission` the run describes."""
    from slique.hdl.burst_admission import BurstAdmission as Gateware
    return _construct(Gateware, parameters)


def golden_model(parameters):
    """The golden model the run describes."""
    return _construct(BurstAdmission, parameters)


def schedule_of(parameters):
    """The configuration schedule the run describes."""
    return ConfigSchedule.random(parameters["seed"] ^ 0x5EED, depth=parameters["depth"],
                                 fraction_bits=parameters["fraction_bits"],
                                 token_bits=parameters["token_bits"],
                                 cycles=parameters["cycles"], changes=parameters["changes"])
