"""Golden model of :class:`slique.hdl.TraceStream`, trace records in Python, and its scoreboard.

:class:`TraceStream` mirrors the gateware cycle by cycle (``step(**inputs) -> outputs`` by the
gateware's flattened port names: ``i_trace__0__valid``, ``i_trace__0__payload``,
``o_stream__ready`` in; ``o_stream__valid``, ``o_stream__payload``, ``lost``, ``lose``,
``cycle``, ``pending``, ``level`` out), with the slique's own golden model inside.

Payloads are the raw bits of :class:`~slique.hdl.trace_event.TraceEvent` and
:class:`~slique.hdl.trace_event.TraceRecord`; :func:`pack_event`, :func:`pack_record` and
:func:`unpack_record` convert, using the layouts themselves (one source of truth).

:func:`run_trace_lockstep` is the scoreboard: random simultaneous events on every source (seeded
:class:`~slique.sim.traffic.OnOff` patterns), a consumer from :mod:`slique.sim.traffic`, every
output compared every cycle, and ``events == delivered + lost + popcount(lose) + held``
checked every cycle on the gateware's outputs, then again after a drain as
``events == delivered + lost``.
"""

import random
from collections import namedtuple
from dataclasses import dataclass, field as dataclass_field

from amaranth.lib import data

from slique.hdl._parameters import STORAGES, check_choice, check_depth
from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.hdl.trace_event import TraceBlock, TraceEvent, TraceReason, TraceRecord
from slique.hdl.trace_stream import CYCLE_WIDTH, check_sources

from .bounded_slique import BoundedSlique
from .lockstep import Mismatch
from .register_bank import compare_outputs, simulate
from .traffic import Consumer, OnOff


__all__ = ["TraceStream", "Record", "pack_event", "pack_record", "unpack_record",
           "TraceTraffic", "TraceLockstepResult", "run_trace_lockstep", "lockstep_in_amaranth",
           "make_trace_traffic"]


_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1

#: A trace record in Python: ``(cycle, block, reason, queue, tag)`` (ints; ``block`` and
#: ``reason`` as :class:`TraceBlock` / :class:`TraceReason` when the value is a member).
Record = namedtuple("Record", "cycle block reason queue tag")


def _pack(layout, values):
    layout = data.Layout.cast(layout)
    word = 0
    for name, field in layout:
        word |= (int(getattr(values[name], "value", values[name])) &
                 ((1 << field.width) - 1)) << field.offset
    return word


def _unpack(layout, word):
    layout = data.Layout.cast(layout)
    return {name: (word >> field.offset) & ((1 << field.width) - 1) for name, field in layout}


def pack_event(reason, queue, tag):
    """The bits of a :class:`TraceEvent`."""
    return _pack(TraceEvent, dict(reason=reason, queue=queue, tag=tag))


def pack_record(cycle, block, reason, queue, tag):
    """The bits of a :class:`TraceRecord`."""
    return _pack(TraceRecord, dict(cycle=cycle, block=block, reason=reason, queue=queue, tag=tag))


def _member(enum, value):
    try:
        return enum(value)
    except ValueError:
        return value


def unpack_record(word):
    """A :class:`Record` from the bits of a :class:`TraceRecord`."""
    fields = _unpack(TraceRecord, word)
    return Record(fields["cycle"], _member(TraceBlock, fields["block"]),
                  _member(TraceReason, fields["reason"]), fields["queue"], fields["tag"])


def unpack_event(word):
    """``(reason, queue, tag)`` from the bits of a :class:`TraceEvent`."""
    fields = _unpack(TraceEvent, word)
    return fields["reason"], fields["queue"], fields["tag"]


class TraceStream:
    """Cycle-accurate golden model of the trace stream, with the gateware's parameters.

    Beside the ports, the model counts ``events``, ``delivered`` and the records lost
    (``lost_total``, unsaturated and up to date), so that ``events == delivered + lost_total +
    held`` always.

    Parameters
    ----------
    sources, depth, storage
        As for :class:`slique.hdl.TraceStream`.
    """

    def __init__(self, sources, depth, *, storage="auto"):
        self.sources = check_sources(sources)
        self.depth = check_depth(depth)
        check_choice("storage", storage, STORAGES)
        self.slique = BoundedSlique(TraceRecord, depth, on_full="backpressure", storage=storage)
        self.cycle = 0
        self.lost = 0
        self.lose = 0
        self.lost_total = 0
        self.events = 0
        self.delivered = 0
        self._held = [None] * len(self.sources)  # a packed record, or None
        self._pointer = 0

    @property
    def pending(self):
        """Full holding registers, one bit per source."""
        return sum(1 << index for index, held in enumerate(self._held) if held is not None)

    @property
    def held(self):
        """Records held: holding registers plus the slique."""
        return bin(self.pending).count("1") + self.slique.level

    def _grant(self):
        count = len(self.sources)
        for index in [*range(self._pointer, count), *range(self._pointer)]:
            if self._held[index] is not None:
                return index
        return None

    def step(self, *, o_stream__ready=0, **inputs):
        """Outputs during one cycle with these inputs (``i_trace__<n>__valid`` and
        ``i_trace__<n>__payload`` for each source; missing ones are 0); then the clock edge."""
        grant = self._grant()
        outputs = {"lost": self.lost, "lose": self.lose, "cycle": self.cycle,
                   "pending": self.pending, "level": self.slique.level}
        slique = self.slique.step(
            i_stream__valid=int(grant is not None),
            i_stream__payload=self._held[grant] if grant is not None else 0,
            o_stream__ready=o_stream__ready)
        outputs["o_stream__valid"] = slique.o_stream__valid
        outputs["o_stream__payload"] = slique.o_stream__payload
        self.delivered += bool(slique.o_stream__valid and o_stream__ready)
        drained = grant if grant is not None and slique.i_stream__ready else None
        if drained is not None:
            self._held[drained] = None
            self._pointer = (drained + 1) % len(self.sources)
        self.lost = min(self.lost + bin(self.lose).count("1"), _COUNTER_MAX)
        lose = 0
        for index, block in enumerate(self.sources):
            if not inputs.get(f"i_trace__{index}__valid", 0):
                continue
            self.events += 1
            if self._held[index] is not None:
                lose |= 1 << index
                continue
            reason, queue, tag = unpack_event(inputs.get(f"i_trace__{index}__payload", 0))
            self._held[index] = pack_record(self.cycle, block, reason, queue, tag)
        self.lose = lose
        self.lost_total += bin(lose).count("1")
        self.cycle = (self.cycle + 1) % (1 << CYCLE_WIDTH)
        return outputs


class TraceTraffic:
    """Random trace events, seeded: one :class:`~slique.sim.traffic.OnOff` pattern per source,
    random reasons, queues and tags.

    Parameters
    ----------
    seed : int
    sources : int
        Number of sources.
    duty, burst, idle
        The :class:`OnOff` settings of every source (``burst=0``: no on/off runs).
    """

    def __init__(self, seed, sources, *, duty=0.3, burst=0, idle=0):
        rng = random.Random(seed)
        self._rng = random.Random(rng.getrandbits(64))
        self._patterns = [OnOff(random.Random(rng.getrandbits(64)), duty=duty, burst=burst,
                                idle=idle) for _ in range(sources)]
        self.stopped = False

    def drive(self):
        """This cycle's ``i_trace__<n>__valid`` / ``__payload`` inputs."""
        inputs = {}
        reasons = list(TraceReason)
        for index, pattern in enumerate(self._patterns):
            valid = pattern.active() and not self.stopped
            inputs[f"i_trace__{index}__valid"] = int(valid)
            inputs[f"i_trace__{index}__payload"] = pack_event(
                self._rng.choice(reasons), self._rng.getrandbits(8),
                self._rng.getrandbits(32)) if valid else 0
        return inputs

    def stop(self):
        self.stopped = True


@dataclass
class TraceLockstepResult:
    """What the trace stream did, as observed on its ports.

    Attributes
    ----------
    cycles : int
    offered : int
        Events driven into the sources.
    delivered : int
        Records taken from ``o_stream``.
    dropped : dict
        ``{"lost": n}``, the gateware's ``lost`` counter at the end.
    high_water : int
        Largest ``level`` seen.
    lost_counter : int
        The ``lost`` counter at the end (``dropped["lost"]`` is what it counted during the
        run).
    records : list of Record
        The records delivered, when recorded.
    """
    cycles: int = 0
    offered: int = 0
    delivered: int = 0
    dropped: dict = dataclass_field(default_factory=lambda: {"lost": 0})
    high_water: int = 0
    lost_counter: int = 0
    records: list = dataclass_field(default_factory=list)

    def as_dict(self):
        document = dict(self.__dict__)
        document["records"] = [list(map(int, record)) for record in self.records]
        return document


async def run_trace_lockstep(ports, model, traffic, consumer, *, cycles, hint, record=False):
    """Run ``cycles`` cycles of events, then drain; compare every output every cycle and check
    conservation every cycle (``lose``, the records lost but not yet in ``lost``, counted with
    the records held). Returns a :class:`TraceLockstepResult`.

    Records lost are counted from the ``lost`` counter's value in the first cycle (a test may
    start it near saturation); once it saturates, it is a lower bound and conservation is
    checked as ``events >= delivered + lost + held``."""
    result = TraceLockstepResult()
    drain_limit = cycles + 2 * (model.depth + len(model.sources)) + 16
    baseline = None
    for cycle in range(drain_limit):
        if cycle == cycles:
            traffic.stop()
            consumer.drain()
        inputs = {**traffic.drive(), "o_stream__ready": consumer.drive()}
        ports.drive(**inputs)
        await ports.settle()
        expected = model.step(**inputs)
        if not expected["o_stream__valid"]:
            expected["o_stream__payload"] = None
        observed = compare_outputs(cycle, expected, ports, hint)
        baseline = observed["lost"] if baseline is None else baseline
        held = bin(observed["pending"]).count("1") + observed["level"]
        counting = bin(observed["lose"]).count("1")  # lost, not yet in ``lost``
        _check_conservation(f"cycle {cycle}", result, observed["lost"], baseline,
                            held + counting, hint)
        taken = observed["o_stream__valid"] and inputs["o_stream__ready"]
        result.delivered += bool(taken)
        if taken and record:
            result.records.append(unpack_record(observed["o_stream__payload"]))
        result.offered += sum(value for name, value in inputs.items() if name.endswith("__valid"))
        result.high_water = max(result.high_water, observed["level"])
        await ports.tick()
        result.cycles = cycle + 1
        if cycle >= cycles and held + counting == 0:
            break
    await ports.settle()
    if ports.sample("pending") or ports.sample("level") or ports.sample("lose"):
        raise Mismatch(f"the trace stream did not drain after {result.cycles} cycles with the "
                       f"consumer always ready; {hint}")
    result.lost_counter = ports.sample("lost")
    result.dropped["lost"] = result.lost_counter - baseline
    _check_conservation("after the drain", result, result.lost_counter, baseline, 0, hint)
    return result


def _check_conservation(when, result, counter, baseline, held, hint):
    lost = counter - baseline
    saturated = counter == _COUNTER_MAX
    accounted = result.delivered + lost + held
    if result.offered != accounted and not (saturated and result.offered > accounted):
        raise Mismatch(f"{when}: conservation broken: events {result.offered} != delivered "
                       f"{result.delivered} + lost {lost} + held {held}; {hint}")


def lockstep_in_amaranth(sources, depth, *, seed, cycles, storage="auto", events=None,
                         consumer=None, hint="", record=False):
    """Run :func:`run_trace_lockstep` on a fresh gateware trace stream in the Amaranth
    simulator. ``events`` (a dict of :class:`TraceTraffic` settings) and ``consumer`` (of
    :class:`~slique.sim.traffic.Consumer` settings) default to a random mix drawn from
    ``seed``."""
    from slique.hdl.trace_stream import TraceStream as GatewareTraceStream

    from .lockstep import AmaranthPorts

    dut = GatewareTraceStream(sources, depth, storage=storage)
    model = TraceStream(sources, depth, storage=storage)
    traffic, consumer = make_trace_traffic(seed, len(dut.sources), events=events,
                                           consumer=consumer)
    return simulate(dut, lambda ctx: run_trace_lockstep(
        AmaranthPorts(ctx, dut), model, traffic, consumer, cycles=cycles,
        hint=hint or f"seed={seed}", record=record))


def make_trace_traffic(seed, sources, *, events=None, consumer=None):
    """A ``(TraceTraffic, Consumer)`` pair; settings not given are drawn from ``seed``."""
    rng = random.Random(seed)
    if events is None:
        events = dict(duty=rng.choice([0.05, 0.2, 0.5, 1.0]), burst=rng.choice([0, 8, 32]),
                      idle=rng.choice([4, 16, 64]))
    if consumer is None:
        consumer = dict(duty=rng.choice([0.1, 0.3, 0.7, 1.0]), burst=rng.choice([0, 16]),
                        idle=rng.choice([8, 32]))
    return (TraceTraffic(rng.getrandbits(64), sources, **events),
            Consumer(random.Random(rng.getrandbits(64)), **consumer))

