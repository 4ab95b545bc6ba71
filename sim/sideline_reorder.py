"""Golden model of :class:`slique.hdl.SidelineReorder`, its traffic and its lockstep scoreboard.

- :class:`SidelineReorder`: the cycle-accurate model (same name and parameters as the gateware);
- :func:`reordered_sequences`, :class:`SequenceProducer`, :func:`make_reorder_traffic`: seeded
  traffic of a reordering, lossy, duplicating path, starting near the 32-bit wrap-around;
- :func:`run_reorder_lockstep`: the scoreboard (the :mod:`slique.sim.lockstep` pattern, with the
  reorder block's checks), for the Amaranth simulator (:func:`reorder_in_amaranth`), cocotb
  (:mod:`slique.sim.benches.sideline_reorder_bench`) or a second model (:func:`golden_reorder_run`);
- :func:`run_parameters`, :func:`gateware`, :func:`golden_model`, :func:`traffic`: one JSON-able
  description of a run, shared by tests and the cocotb bench.
"""

import bisect
import random
from dataclasses import dataclass, field, fields

from amaranth.hdl import Shape
from amaranth.lib import data

from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.hdl.sideline_reorder import SEQUENCE_WIDTH, check_reorder_parameters, reorder_beat
from slique.hdl.trace_event import TraceEvent, TraceReason

from ._ports import payload_mask
from .lockstep import AmaranthPorts, Mismatch, ModelPorts, _compare, replay_hint
from .traffic import Consumer, Producer


__all__ = [
    "SidelineReorder", "ReorderPorts", "serial_difference", "serial_before", "pack_beat",
    "unpack_beat", "pack_trace", "unpack_trace", "payload_of", "reordered_sequences",
    "SequenceProducer", "TimeoutSchedule", "ReorderTraffic", "explicit_traffic",
    "make_reorder_traffic", "STYLES", "drain_bound",
    "ReorderResult", "run_reorder_lockstep", "reorder_in_amaranth", "golden_reorder_run",
    "run_parameters", "gateware", "golden_model", "traffic", "run_hint",
]


MODULUS = 1 << SEQUENCE_WIDTH
_SEQUENCE_MASK = MODULUS - 1
_HALF = 1 << (SEQUENCE_WIDTH - 1)
_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1
_TRACE_LAYOUT = data.Layout.cast(TraceEvent)


def serial_difference(a, b):
    """``a - b`` in RFC 1982 serial-number arithmetic: the 32-bit difference as a signed number.

    RFC 1982 leaves ``a`` and ``b`` incomparable when they are exactly ``2**31`` apart; like the
    gateware (which looks at the sign bit), this returns ``-2**31`` then: ``a`` is behind ``b``.
    """
    difference = (a - b) & _SEQUENCE_MASK
    return difference - MODULUS if difference >= _HALF else difference


def serial_before(a, b):
    """Whether ``a`` comes before ``b`` (RFC 1982 ``a < b``, half-way counted as before)."""
    return serial_difference(a, b) < 0


def pack_beat(sequence, payload):
    """The raw bits of a beat of ``reorder_beat(shape)``: ``sequence`` low, ``payload`` above."""
    return (sequence & _SEQUENCE_MASK) | (payload << SEQUENCE_WIDTH)


def unpack_beat(bits):
    """``(sequence, payload)`` of the raw bits of a beat."""
    return bits & _SEQUENCE_MASK, bits >> SEQUENCE_WIDTH


def pack_trace(reason, queue, tag):
    """The raw bits of a :class:`~slique.hdl.trace_event.TraceEvent`."""
    return ((TraceReason(reason).value << _TRACE_LAYOUT["reason"].offset)
            | (queue << _TRACE_LAYOUT["queue"].offset) | (tag << _TRACE_LAYOUT["tag"].offset))


def unpack_trace(bits):
    """``(reason, queue, tag)`` of the raw bits of a trace event."""
    def get(name):
        member = _TRACE_LAYOUT[name]
        return (bits >> member.offset) & ((1 << member.width) - 1)
    return TraceReason(get("reason")), get("queue"), get("tag")


@dataclass(frozen=True, slots=True)
class ReorderPorts:
    """Outputs of a :class:`SidelineReorder` during one cycle, by the gateware's flattened port
    names. Payloads are raw bits, ``None`` while their stream is not valid (never compared)."""

    i_stream__ready: int
    o_stream__valid: int
    o_stream__payload: int | None
    trace__valid: int
    trace__payload: int | None
    expected: int
    level: int
    offered: int
    delivered: int
    dropped_duplicate: int
    dropped_evicted: int
    gaps_skipped: int

    def present(self):
        """Every output to compare (``o_stream__payload`` always: the scoreboard skips it while
        ``o_stream`` is not valid; ``trace__payload`` only while ``trace`` is valid)."""
        return {item.name: getattr(self, item.name) for item in fields(self)
                if item.name == "o_stream__payload" or getattr(self, item.name) is not None}


class SidelineReorder:
    """Cycle-accurate golden model of the sideline reorder buffer, with the gateware's parameters.

    Call :meth:`step` once per clock cycle with the inputs of that cycle; it returns the outputs
    during that cycle (:class:`ReorderPorts`) and then applies the clock edge. The rules are the
    gateware's (see :class:`slique.hdl.SidelineReorder`): in order, ahead, behind, duplicate of a
    held entry, eviction of the lowest sequence, gap skip after ``gap_timeout`` cycles, the first
    beat after reset setting ``expected``.

    Parameters
    ----------
    payload_shape, sideline_depth, queue, timeout_width
        As for :class:`slique.hdl.SidelineReorder` (the same checks).

    Attributes
    ----------
    cells : list of (int, int)
        The sideline, ``(sequence, payload)`` in increasing serial order.
    o_valid : int
        Whether the output register holds a beat.
    """

    def __init__(self, payload_shape, sideline_depth, *, queue=0, timeout_width=16):
        check_reorder_parameters(payload_shape, sideline_depth, queue, timeout_width)
        self.sideline_depth = self.depth = sideline_depth
        self.queue = queue
        self.timeout_width = timeout_width
        self.beat_mask = payload_mask(reorder_beat(payload_shape))
        self._age_max = (1 << timeout_width) - 1
        self.cells = []
        self.expected = 0
        self.synced = False
        self.age = 0
        self.timed_out = False
        self.o_valid = 0
        self.o_payload = None
        self.trace_valid = 0
        self.trace_payload = None
        self.offered = self.delivered = 0
        self.dropped_duplicate = self.dropped_evicted = self.gaps_skipped = 0

    @property
    def level(self):
        """Entries held in the sideline."""
        return len(self.cells)

    def step(self, *, i_stream__valid, i_stream__payload, o_stream__ready, gap_timeout):
        """Outputs during one cycle with these inputs; then the clock edge."""
        head = self.cells[0] if self.cells else None
        head_is_expected = head is not None and head[0] == self.expected
        due = head_is_expected or (head is not None and self.timed_out)
        out_free = not self.o_valid or bool(o_stream__ready)
        pop = due and out_free
        accept = bool(i_stream__valid) and not due and out_free
        ports = ReorderPorts(
            i_stream__ready=int(not due and out_free),
            o_stream__valid=self.o_valid,
            o_stream__payload=self.o_payload if self.o_valid else None,
            trace__valid=self.trace_valid,
            trace__payload=self.trace_payload if self.trace_valid else None,
            expected=self.expected,
            level=self.level,
            offered=self.offered,
            delivered=self.delivered,
            dropped_duplicate=self.dropped_duplicate,
            dropped_evicted=self.dropped_evicted,
            gaps_skipped=self.gaps_skipped,
        )
        beat = i_stream__payload & self.beat_mask
        passed = accept and (not self.synced or unpack_beat(beat)[0] == self.expected)
        if out_free:
            self.o_valid = int(pop or passed)
            self.o_payload = pack_beat(*head) if pop else beat if passed else None
        taken = ports.o_stream__valid and bool(o_stream__ready)
        self.delivered = _saturate(self.delivered + taken)
        self.offered = _saturate(self.offered + accept)
        event = None
        if pop:
            event = self._pop(head, head_is_expected)
        elif passed:
            self.expected = (unpack_beat(beat)[0] + 1) & _SEQUENCE_MASK
            self.synced = True
        elif accept:
            event = self._hold(*unpack_beat(beat))
        # The gap age: cycles the same `expected` has been missing with entries held; whether it
        # reaches `gap_timeout` (as it is in this cycle) is decided now, for the next cycle.
        gap = head is not None and not head_is_expected
        self.age = min(self.age + 1, self._age_max) if gap and not (pop or passed) else 0
        self.timed_out = self.age >= (gap_timeout & self._age_max)
        self.trace_valid = int(event is not None)
        self.trace_payload = pack_trace(event[0], self.queue, event[1]) if event else None
        return ports

    def _pop(self, head, head_is_expected):
        """Cell 0 leaves for the output; a skipped gap is counted and traced."""
        self.cells.pop(0)
        first_missing = self.expected
        self.expected = (head[0] + 1) & _SEQUENCE_MASK
        if head_is_expected:
            return None
        skipped = (head[0] - first_missing) & _SEQUENCE_MASK
        self.gaps_skipped = _saturate(self.gaps_skipped + skipped)
        return TraceReason.GAP_SKIPPED, first_missing

    def _hold(self, sequence, payload):
        """A beat not in order: a duplicate, or held in order of sequence (evicting the lowest of
        the ``depth + 1`` candidates when the sideline was full)."""
        if (serial_before(sequence, self.expected)
                or any(held == sequence for held, _ in self.cells)):
            self.dropped_duplicate = _saturate(self.dropped_duplicate + 1)
            return TraceReason.PACKET_DUPLICATE, sequence
        distances = [(held - self.expected) & _SEQUENCE_MASK for held, _ in self.cells]
        position = bisect.bisect(distances, (sequence - self.expected) & _SEQUENCE_MASK)
        self.cells.insert(position, (sequence, payload))
        if len(self.cells) <= self.depth:
            return None
        self.dropped_evicted = _saturate(self.dropped_evicted + 1)
        return TraceReason.SIDELINE_EVICTED, self.cells.pop(0)[0]


def _saturate(count):
    return min(count, _COUNTER_MAX)


# --- traffic -------------------------------------------------------------------------------------

def payload_of(sequence, width):
    """The payload that the traffic sends with ``sequence``: a fixed hash, so that every
    delivered beat can be checked against its sequence."""
    value, state = 0, sequence & _SEQUENCE_MASK
    for offset in range(0, width, 32):
        state = (state * 0x9E3779B1 + 0x7F4A7C15) & _SEQUENCE_MASK
        value |= (state ^ (state >> 15)) << offset
    return value & ((1 << width) - 1)


def reordered_sequences(rng, *, start, window, loss=0.0, duplicate=0.0, stale=0.0, burst_loss=0.0,
                        shuffle=0.5):
    """Sequence numbers as a reordering, lossy, duplicating path delivers them (endless).

    Consecutive blocks of 1 to ``window`` sequences (from ``start``, modulo ``2**32``) are each
    permuted (with probability ``shuffle``; else left in order); every sequence is lost with
    probability ``loss`` and sent twice (the copy anywhere in its block) with probability
    ``duplicate``; with probability ``burst_loss`` a run of up to ``2 * window`` sequences after a
    block is lost; with probability ``stale`` a block ends with a copy of an older sequence.
    """
    following = start & _SEQUENCE_MASK
    while True:
        size = rng.randint(1, window)
        block = [(following + offset) & _SEQUENCE_MASK for offset in range(size)]
        following = (following + size) & _SEQUENCE_MASK
        if rng.random() < burst_loss:
            following = (following + rng.randint(1, 2 * window)) & _SEQUENCE_MASK
        block = [sequence for sequence in block if rng.random() >= loss]
        if rng.random() < shuffle:
            rng.shuffle(block)
        for sequence in list(block):
            if rng.random() < duplicate:
                block.insert(rng.randrange(len(block) + 1), sequence)
        if rng.random() < stale:
            block.append((following - rng.randint(1, 4 * window)) & _SEQUENCE_MASK)
        yield from block


class SequenceProducer(Producer):
    """A :class:`~slique.sim.traffic.Producer` whose beats carry the given sequences in turn, each
    with :func:`payload_of` its sequence; it stops by itself when the sequences run out.

    Parameters
    ----------
    rng : random.Random
        Source of randomness of the on/off pattern.
    sequences : iterable of int
    payload_width : int
    **pattern
        ``duty``, ``burst``, ``idle`` of the :class:`~slique.sim.traffic.OnOff` pattern.
    """

    def __init__(self, rng, sequences, payload_width, **pattern):
        super().__init__(rng, payload_width, **pattern)
        self._sequences = iter(sequences)
        self.sequence = None

    def drive(self):
        if not self.valid and not self.stopped and self._pattern.active():
            sequence = next(self._sequences, None)
            if sequence is None:
                self.stopped = True
            else:
                self.sequence = sequence & _SEQUENCE_MASK
                self.valid = 1
                self.payload = pack_beat(sequence, payload_of(sequence, self._width))
        return self.valid, self.payload

    @property
    def payload_width(self):
        return self._width

    @property
    def exhausted(self):
        """Nothing offered and nothing more to offer."""
        return self.stopped and not self.valid


class TimeoutSchedule:
    """The run-time ``gap_timeout``: a value from ``choices``, changed after random periods of
    about ``period`` cycles (never, if ``period`` is 0). Ask for nondecreasing cycles."""

    def __init__(self, rng, choices, period=0):
        self._rng = rng
        self._choices = list(choices)
        self._period = period
        self.value = rng.choice(self._choices)
        self._change = self._next_change(0)

    @property
    def maximum(self):
        return max(self._choices)

    def _next_change(self, cycle):
        if not self._period:
            return None
        return cycle + self._rng.randint(self._period // 2 + 1, 3 * self._period // 2 + 1)

    def __call__(self, cycle):
        while self._change is not None and cycle >= self._change:
            self.value = self._rng.choice(self._choices)
            self._change = self._next_change(self._change)
        return self.value


@dataclass
class ReorderTraffic:
    """Everything a reorder run drives: the producer, the consumer, the timeout and its bound."""
    producer: SequenceProducer
    consumer: Consumer
    timeout: TimeoutSchedule
    settings: dict = field(default_factory=dict)


def explicit_traffic(sequences, *, payload_width, timeout, seed=0, producer_duty=1.0,
                     consumer_duty=1.0):
    """Traffic that offers ``sequences`` (any iterable; when it ends, the input stops), with a
    fixed ``gap_timeout`` and random valid/ready at the given duty cycles."""
    rng = random.Random(seed)
    return ReorderTraffic(
        SequenceProducer(random.Random(rng.getrandbits(64)), sequences, payload_width,
                         duty=producer_duty),
        Consumer(random.Random(rng.getrandbits(64)), duty=consumer_duty),
        TimeoutSchedule(rng, [timeout]),
        dict(timeout=timeout, producer_duty=producer_duty, consumer_duty=consumer_duty))


#: Traffic styles of :func:`make_reorder_traffic`: settings that override the random ones.
STYLES = {
    "random": {},
    "in-order": dict(window=1, loss=0.0, duplicate=0.0, stale=0.0, burst_loss=0.0),
    "overflow": dict(window="wide", shuffle=1.0, loss=0.02, timeouts=[60, 200]),
    "lossy": dict(loss=0.1, burst_loss=0.05, timeouts=[0, 1, 3, 10]),
    "duplicates": dict(duplicate=0.3, stale=0.2),
}


def make_reorder_traffic(seed, *, depth, payload_width, style="random", start=None):
    """Seeded random reorder traffic for a sideline of ``depth`` entries: windows that fit the
    sideline and windows that overflow it, losses, bursts of loss, duplicates, stale copies,
    a stalling consumer and a ``gap_timeout`` that changes while traffic flows. ``style`` (a key
    of :data:`STYLES`) fixes some of these. The sequences start near ``0xFFFFFFF0`` unless
    ``start`` is given, so every run wraps around ``2**32``."""
    if style not in STYLES:
        raise ValueError(f"Unknown reorder traffic style {style!r}; choose one of "
                         f"{', '.join(STYLES)}")
    rng = random.Random(seed)
    settings = dict(
        start=(0xFFFFFFF0 + rng.randint(-32, 8)) & _SEQUENCE_MASK if start is None else start,
        window=rng.choice([2, depth, depth + 1, 2 * depth + 2]),
        loss=rng.choice([0.0, 0.01, 0.05]),
        duplicate=rng.choice([0.0, 0.02, 0.1]),
        stale=rng.choice([0.0, 0.05]),
        burst_loss=rng.choice([0.0, 0.02]),
        shuffle=rng.choice([0.3, 0.8]),
    )
    timeout_choices = rng.choice([[0], [1], [0, 1, 3], [2, 10, 40], [5, 30, 200]])
    overrides = dict(STYLES[style])
    timeout_choices = overrides.pop("timeouts", timeout_choices)
    if overrides.get("window") == "wide":
        overrides["window"] = 2 * depth + 2
    settings.update(overrides)
    producer_pattern = dict(duty=rng.choice([0.3, 0.7, 1.0]), burst=rng.choice([0, 16]),
                            idle=rng.choice([8, 32]))
    consumer_pattern = dict(duty=rng.choice([0.3, 0.7, 1.0]), burst=rng.choice([0, 16]), idle=8)
    timeouts = TimeoutSchedule(random.Random(rng.getrandbits(64)), timeout_choices,
                               period=rng.choice([0, 400]))
    sequences = reordered_sequences(random.Random(rng.getrandbits(64)), **settings)
    producer = SequenceProducer(random.Random(rng.getrandbits(64)), sequences, payload_width,
                                **producer_pattern)
    consumer = Consumer(random.Random(rng.getrandbits(64)), **consumer_pattern)
    settings.update(style=style, timeouts=timeout_choices, producer=producer_pattern,
                    consumer=consumer_pattern)
    return ReorderTraffic(producer, consumer, timeouts, settings)


# --- the scoreboard ------------------------------------------------------------------------------

@dataclass
class ReorderResult:
    """What the gateware did, as observed on its ports (counters as the scoreboard saw them).

    Attributes
    ----------
    traffic_cycles : int
        Cycles of traffic (until the input stopped).
    drain_cycles : int
        Cycles from the end of traffic to an empty block.
    gap_skips : int
        ``GAP_SKIPPED`` events seen on ``trace``.
    traces : dict of str to int
        Trace events by reason name.
    sequences, events : list
        When recorded: the delivered sequences in order, and the trace events as
        ``(reason name, tag)``.
    """

    cycles: int = 0
    offered: int = 0
    delivered: int = 0
    dropped_duplicate: int = 0
    dropped_evicted: int = 0
    gaps_skipped: int = 0
    gap_skips: int = 0
    high_water: int = 0
    traffic_cycles: int = 0
    drain_cycles: int = 0
    first_delivered: int | None = None
    last_delivered: int | None = None
    traces: dict = field(default_factory=dict)
    sequences: list = field(default_factory=list)
    events: list = field(default_factory=list)

    def as_dict(self):
        return dict(self.__dict__)


def drain_bound(depth, timeout):
    """Cycles within which a reorder block whose input stopped and whose output is always ready
    empties (the documented bound, ``depth * (timeout + 1)``, plus the output register and the
    cycle that sees it empty, plus one for a beat still offered when the input stopped)."""
    return depth * (timeout + 1) + 3


async def run_reorder_lockstep(ports, model, traffic, *, cycles, hint, record=False):
    """Run up to ``cycles`` cycles of ``traffic`` (less if its sequences run out), then drain;
    compare every output with ``model`` every cycle, check conservation every cycle, and check
    the order, payload, liveness and sequence accounting of the delivered beats.

    Parameters
    ----------
    ports : port adapter
        As for :func:`slique.sim.lockstep.run_lockstep`.
    model : SidelineReorder
    traffic : ReorderTraffic
    cycles : int
    hint : str
        Seed and replay command, carried by every failure.
    record : bool
        Keep the delivered sequences and the trace events (:class:`ReorderResult`).
    """
    result = ReorderResult()
    producer, consumer = traffic.producer, traffic.consumer
    offered_sequences = set()
    drain_start = None
    bound = drain_bound(model.depth, traffic.timeout.maximum)
    cycle = 0
    while True:
        if drain_start is None and (cycle >= cycles or producer.exhausted):
            producer.stop()
            consumer.drain()
            drain_start = cycle
        valid, payload = producer.drive()
        ready = consumer.drive()
        inputs = dict(i_stream__valid=valid, i_stream__payload=payload, o_stream__ready=ready,
                      gap_timeout=traffic.timeout(cycle))
        ports.drive(**inputs)
        await ports.settle()
        observed = _compare(cycle, model.step(**inputs), ports, hint)
        _check_cycle(cycle, result, observed, hint, record=record)
        if drain_start is not None and producer.exhausted and not observed["level"] \
                and not observed["o_stream__valid"]:
            break
        if drain_start is not None and cycle - drain_start > bound:
            raise Mismatch(f"liveness: {observed['level']} entries still held {bound} cycles "
                           f"after the input stopped (gap_timeout at most "
                           f"{traffic.timeout.maximum}); {hint}")
        taken = bool(valid and observed["i_stream__ready"])
        if taken:
            result.offered += 1
            offered_sequences.add(producer.sequence)
        if ready and observed["o_stream__valid"]:
            _check_delivery(cycle, result, observed["o_stream__payload"], offered_sequences,
                            producer.payload_width, hint, record=record)
        producer.advance(taken)
        await ports.tick()
        cycle += 1
    result.cycles = cycle + 1
    result.traffic_cycles = drain_start
    result.drain_cycles = cycle - drain_start
    _finish(result, observed, hint)
    return result


def _check_cycle(cycle, result, observed, hint, *, record):
    """Conservation and the counters, on the gateware's own observations of this cycle."""
    for name in ("offered", "delivered"):
        if observed[name] != min(getattr(result, name), _COUNTER_MAX):
            raise Mismatch(f"cycle {cycle}: {name} counter is {observed[name]} but "
                           f"{getattr(result, name)} beats were seen; {hint}")
    held = observed["level"] + observed["o_stream__valid"]
    dropped = observed["dropped_duplicate"] + observed["dropped_evicted"]
    if result.offered != result.delivered + dropped + held:
        raise Mismatch(f"cycle {cycle}: conservation broken: offered {result.offered} != "
                       f"delivered {result.delivered} + dropped {dropped} + held {held}; {hint}")
    if observed["trace__valid"]:
        reason, _queue, tag = unpack_trace(observed["trace__payload"])
        result.traces[reason.name] = result.traces.get(reason.name, 0) + 1
        if record:
            result.events.append((reason.name, tag))
    result.high_water = max(result.high_water, observed["level"])


def _check_delivery(cycle, result, bits, offered_sequences, payload_width, hint, *, record):
    """A delivered beat: offered before, its own payload, strictly after the previous one."""
    sequence, payload = unpack_beat(bits)
    if sequence not in offered_sequences:
        raise Mismatch(f"cycle {cycle}: delivered sequence {sequence:#x} was never offered; {hint}")
    if payload != payload_of(sequence, payload_width):
        raise Mismatch(f"cycle {cycle}: sequence {sequence:#x} delivered with payload "
                       f"{payload:#x}, not its own; {hint}")
    # Strictly after: 1 to 2**31 past the previous one (2**31 only when a skip jumped to a beat
    # held the farthest ahead, 2**31 - 1 past `expected`, which RFC 1982 leaves incomparable).
    if result.last_delivered is not None and \
            not 1 <= (sequence - result.last_delivered) & _SEQUENCE_MASK <= _HALF:
        raise Mismatch(f"cycle {cycle}: order broken: {sequence:#x} delivered after "
                       f"{result.last_delivered:#x}; {hint}")
    if result.first_delivered is None:
        result.first_delivered = sequence
    result.last_delivered = sequence
    result.delivered += 1
    if record:
        result.sequences.append(sequence)


def _finish(result, observed, hint):
    """Once drained: every beat delivered or dropped, every drop traced, every sequence from the
    first delivered to the last either delivered or skipped."""
    for name in ("dropped_duplicate", "dropped_evicted", "gaps_skipped"):
        setattr(result, name, observed[name])
    result.gap_skips = result.traces.get("GAP_SKIPPED", 0)
    if result.offered != result.delivered + result.dropped_duplicate + result.dropped_evicted:
        raise Mismatch(f"conservation broken: offered {result.offered} != delivered "
                       f"{result.delivered} + dropped {result.dropped_duplicate} duplicate + "
                       f"{result.dropped_evicted} evicted; {hint}")
    for reason, counted in [("PACKET_DUPLICATE", result.dropped_duplicate),
                            ("SIDELINE_EVICTED", result.dropped_evicted)]:
        if result.traces.get(reason, 0) != counted:
            raise Mismatch(f"{result.traces.get(reason, 0)} {reason} trace events for "
                           f"{counted} counted; {hint}")
    if (result.gap_skips == 0) != (result.gaps_skipped == 0):
        raise Mismatch(f"{result.gap_skips} GAP_SKIPPED events but {result.gaps_skipped} "
                       f"sequences skipped; {hint}")
    if result.delivered and result.gaps_skipped < _COUNTER_MAX:
        span = (result.last_delivered - result.first_delivered + 1) & _SEQUENCE_MASK
        if span != (result.delivered + result.gaps_skipped) & _SEQUENCE_MASK:
            raise Mismatch(f"sequences {result.first_delivered:#x}..{result.last_delivered:#x} "
                           f"({span}) are not the {result.delivered} delivered plus the "
                           f"{result.gaps_skipped} skipped; {hint}")


def reorder_in_amaranth(component, model, traffic, *, cycles, hint, record=False):
    """Run :func:`run_reorder_lockstep` on ``component`` in the Amaranth simulator."""
    from amaranth.sim import Simulator

    outcome = {}

    async def testbench(ctx):
        outcome["result"] = await run_reorder_lockstep(AmaranthPorts(ctx, component), model,
                                                       traffic, cycles=cycles, hint=hint,
                                                       record=record)

    simulator = Simulator(component)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outcome["result"]


def golden_reorder_run(model, reference, traffic, *, cycles, hint, record=False):
    """Run ``model`` alone through the scoreboard (``reference``, a second instance of the same
    model, on the other side): the golden side of a comparison, and the model's own checks."""
    import asyncio

    return asyncio.run(run_reorder_lockstep(ModelPorts(model), reference, traffic, cycles=cycles,
                                            hint=hint, record=record))


# --- the Verilog top and the run description -----------------------------------------------------

def run_parameters(*, payload_shape="unsigned8", depth=4, queue=0, timeout_width=16, seed=1,
                   cycles=2000, style="random", replay=""):
    """A JSON-able description of a reorder run (``payload_shape`` names a shape of
    :data:`slique.sim.sliques.SHAPES`)."""
    from .sliques import SHAPES

    check_reorder_parameters(SHAPES[payload_shape], depth, queue, timeout_width)
    return dict(design="sideline_reorder", payload_shape=payload_shape,
                payload_width=Shape.cast(SHAPES[payload_shape]).width, depth=depth, queue=queue,
                timeout_width=timeout_width, seed=seed, cycles=cycles, style=style, replay=replay)


def _construct(cls, run):
    from .sliques import SHAPES

    return cls(SHAPES[run["payload_shape"]], run["depth"], queue=run["queue"],
               timeout_width=run["timeout_width"])


def gateware(run):
    """The :class:`slique.hdl.SidelineReorder` the run describes."""
    from slique.hdl.sideline_reorder import SidelineReorder as Gateware

    return _construct(Gateware, run)


def golden_model(run):
    """The golden model the run describes."""
    return _construct(SidelineReorder, run)


def traffic(run):
    """The seeded traffic of the run."""
    return make_reorder_traffic(run["seed"], depth=run["depth"], payload_width=run["payload_width"],
                                style=run.get("style", "random"))


def run_hint(run):
    """Seed and replay command of a run, for its failure messages."""
    return replay_hint(run["seed"], run.get("replay") or repr(run))
