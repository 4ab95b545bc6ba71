"""The golden model of BurstAdmission: its rule, its bucket against an independent
implementation of RFC 2697 (srTCM), exactness of the fractional refill, configuration changes,
counters, trace events, schedules and the scoreboard (without a simulator)."""

import asyncio
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slique.hdl.burst_admission import Decision
from slique.hdl.trace_event import TraceReason
from slique.sim.burst_admission import (CONFIG_PORTS, BurstAdmission, ConfigSchedule,
                                        TaggedBeat, pack_trace_event, run_lockstep,
                                        unpack_trace_event)
from slique.sim.lockstep import Mismatch, ModelPorts
from slique.sim.traffic import make_traffic


ONE = 1 << 16
IDLE = dict(i_stream__valid=0, i_stream__payload=0, o_stream__ready=1)


class CommittedBucket:
    """RFC 2697 (srTCM) metering, colour-blind, with EBS = 0, written from the RFC's text:

    "The token buckets C and E are initially (at time 0) full, i.e., the token count Tc(0) =
    CBS and the token count Te(0) = EBS. Thereafter, the token counts Tc and Te are updated CIR
    times per second as follows: If Tc is less than CBS, Tc is incremented by one, else if Te is
    less than EBS, Te is incremented by one, else neither Tc nor Te is incremented."

    "When a packet of size B bytes arrives at time t, the following happens if the srTCM is
    configured to operate in the Color-Blind mode: If Tc(t)-B >= 0, the packet is green and Tc
    is decremented by B down to the minimum value of 0, else if Te(t)-B >= 0, the packets is
    yellow and Te is decremented by B down to the minimum value of 0, else the packet is red
    and neither Tc nor Te is decremented."

    Time is in cycles; the updates happen at the instants ``first + k / cir``, k = 0, 1, ...
    """

    def __init__(self, *, cir, cbs, first):
        self.cir, self.cbs, self.first = Fraction(cir), cbs, first
        self.tc, self.te, self.ebs = cbs, 0, 0
        self.updates = 0

    def advance_to(self, t):
        """Apply every update due at or before time ``t``."""
        due = math.floor((t - self.first) * self.cir) + 1 if t >= self.first else 0
        if self.cir == 0:
            due = 0
        while self.updates < due:
            self.updates += 1
            if self.tc < self.cbs:
                self.tc += 1
            elif self.te < self.ebs:
                self.te += 1

    def meter(self, size=1):
        if self.tc - size >= 0:
            self.tc -= size
            return "green"
        if self.te - size >= 0:
            self.te -= size
            return "yellow"
        return "red"


@st.composite
def rates(draw):
    """(refill_rate, refill_denominator, rate) with the rate at least 1/8 token per cycle (so
    that the warm-up that fills the bucket stays short)."""
    denominator = draw(st.integers(1, 64))
    integer = draw(st.integers(0, 2))
    low = 0 if integer else math.ceil(denominator / 8)
    fraction = draw(st.integers(min(low, denominator - 1), denominator - 1))
    rate = Fraction(integer) + Fraction(fraction, denominator)
    if rate == 0:
        integer = 1
        rate = Fraction(1)
    return (integer << 16) | fraction, denominator & (ONE - 1), rate


@settings(max_examples=60, deadline=None)
@given(rate=rates(), capacity=st.integers(0, 16), load=st.floats(0.05, 1.0),
       traffic=st.integers(0, 2 ** 32 - 1))
def test_bucket_is_rfc_2697_committed_bucket(rate, capacity, load, traffic):
    """S = 0 and a slique that never fills to B: every offered beat is metered by the bucket.
    Admitted with a token == green, dropped with BURST_EXHAUSTED == red, tokens == Tc."""
    refill_rate, denominator, cir = rate
    config = dict(steady_depth=0, burst_depth=4, bucket_capacity=capacity,
                  refill_rate=refill_rate, refill_denominator=denominator)
    model = BurstAdmission(8, 4, storage="systolic")  # a beat is out in a few cycles: level < B
    # The refill of cycle n is credited at the end of cycle n + 1, from the configuration
    # sampled at the end of cycle 0: the first whole token is there at 2 + 1 / rate.
    reference = CommittedBucket(cir=cir, cbs=capacity, first=2 + 1 / cir)
    warm_up = 4 + math.ceil(capacity / cir)  # our bucket starts empty, RFC 2697's full
    rng = random.Random(traffic)
    colours = []
    for n in range(warm_up + 300):
        arrives = n >= warm_up and rng.random() < load
        out = model.step(i_stream__valid=int(arrives), i_stream__payload=n & 0xFF,
                         o_stream__ready=1, **config)
        reference.advance_to(n)
        if n >= warm_up:
            assert out.tokens == reference.tc, f"cycle {n}"
            if colours:
                expected = {"green": Decision.TOKEN, "red": Decision.BURST_EXHAUSTED}
                assert out.decision == expected[colours.pop()].value, f"cycle {n}"
            elif n > warm_up:
                assert out.decision == Decision.NONE.value
        if arrives:
            colours.append(reference.meter())
    assert model.dropped_hard_limit == 0 and model.level < config["burst_depth"]


@pytest.mark.parametrize("refill_rate, denominator, rate, cycles", [
    (3, 7, Fraction(3, 7), 21_000),
    (1, 1000, Fraction(1, 1000), 30_000),
    (0x2_0005, 7, Fraction(19, 7), 20_000),
    (0x6DB7, 0, Fraction(0x6DB7, ONE), 20_000),
    (0x0_8000, 0, Fraction(1, 2), 20_000),
])
def test_fractional_refill_is_exact_over_long_runs(refill_rate, denominator, rate, cycles):
    """No error accumulates: tokens == floor((n - 2) * rate) in every cycle n >= 2."""
    model = BurstAdmission(8, 4, token_bits=20)
    config = dict(bucket_capacity=(1 << 20) - 1, refill_rate=refill_rate,
                  refill_denominator=denominator)
    for n in range(cycles):
        out = model.step(**IDLE, **config)
        assert out.tokens == max(0, math.floor((n - 2) * rate)), f"cycle {n}"
        config = {}


def test_binary_fixed_point_is_not_three_sevenths():
    """Why the denominator exists: the nearest binary fraction to 3/7 (here 8.8, 110/256) is
    exact as a fixed-point number but drifts away from 3/7."""
    model = BurstAdmission(8, 4, fraction_bits=8)
    config = dict(bucket_capacity=(1 << 16) - 1, refill_rate=round(3 / 7 * 256))
    for _ in range(3002):
        model.step(**IDLE, **config)
        config = {}
    assert model.tokens == 3000 * 110 // 256
    assert model.tokens - 3000 * 3 // 7 == 4  # 1289 against 1285


def _config_value(name, depth):
    edges = {"steady_depth": [0, 1, depth - 1, depth, depth + 1, ONE - 1],
             "burst_depth": [0, 1, depth - 1, depth, depth + 1, ONE - 1],
             "bucket_capacity": [0, 1, 2, ONE - 1],
             "refill_rate": [0, 1, ONE // 7, ONE, ONE + ONE // 3, (1 << 32) - 1],
             "refill_denominator": [0, 1, 7, 1000, ONE - 1]}
    return st.sampled_from(edges[name]) | st.integers(0, (1 << 32) - 1)


@st.composite
def runs(draw, depth=3, cycles=160):
    """Per cycle: offered, ready, and the configuration ports (changed at random cycles)."""
    config = {name: draw(_config_value(name, depth)) for name in CONFIG_PORTS}
    traffic = draw(st.lists(st.tuples(st.booleans(), st.integers(0, 3)), min_size=cycles,
                            max_size=cycles))
    changes = {}
    for cycle, name in draw(st.lists(st.tuples(st.integers(0, cycles - 1),
                                               st.sampled_from(CONFIG_PORTS)), max_size=12)):
        changes.setdefault(cycle, {})[name] = draw(_config_value(name, depth))
    steps = []
    for cycle, (valid, ready) in enumerate(traffic):
        config = {**config, **changes.get(cycle, {})}
        steps.append((valid, ready == 0, config))
    return steps


@settings(max_examples=50, deadline=None)
@given(steps=runs())
def test_rule_invariants_and_reports(steps):
    """Every decision follows the rule, stated on what the ports show and the configuration of
    the previous cycle; tokens never exceed C after the clamp; the fraction stays below D;
    counters conserve; each drop is one trace event with its reason, queue and tag."""
    depth = 3
    model = BurstAdmission(TaggedBeat, depth, queue=17)
    ports = dict(steady_depth=depth, burst_depth=depth, bucket_capacity=0, refill_rate=0,
                 refill_denominator=0)  # the reset values
    expected_decision = Decision.NONE
    expected_trace = None
    for n, (valid, ready, config) in enumerate(steps):
        payload = (n * 0x9E3779B1) & ((1 << 26) - 1)
        out = model.step(i_stream__valid=int(valid), i_stream__payload=payload,
                         o_stream__ready=int(ready), **config)
        masked = {name: value & ((1 << width) - 1)
                  for (name, value), width in zip(config.items(), [16, 16, 16, 32, 16])}
        assert out.decision == expected_decision.value
        assert out.trace__payload == expected_trace
        assert out.i_stream__ready == 1
        dropped = out.dropped_burst_exhausted + out.dropped_hard_limit
        assert out.offered == out.delivered + dropped + out.level
        assert out.accepted == out.delivered + out.level
        denominator = ports["refill_denominator"] or ONE
        assert out.token_fraction < denominator or n == 0

        burst = min(ports["burst_depth"], depth)
        steady = min(ports["steady_depth"], burst)
        if not valid:
            expected_decision = Decision.NONE
        elif out.level < steady:
            expected_decision = Decision.STEADY
        elif out.level >= burst:
            expected_decision = Decision.HARD_LIMIT
        else:
            expected_decision = Decision.TOKEN if out.tokens else Decision.BURST_EXHAUSTED
        reasons = {Decision.HARD_LIMIT: TraceReason.HARD_LIMIT,
                   Decision.BURST_EXHAUSTED: TraceReason.BURST_EXHAUSTED}
        expected_trace = (pack_trace_event(reasons[expected_decision], 17, payload >> 10)
                          if expected_decision in reasons else None)
        assert model.tokens <= ports["bucket_capacity"]  # clamped at this edge
        if masked["refill_denominator"] != ports["refill_denominator"]:
            assert model.token_fraction == 0  # restarted
        ports = masked


def test_capacity_lowered_clamps_tokens_at_the_next_edge():
    model = BurstAdmission(8, 4)
    full = dict(bucket_capacity=9, refill_rate=(1 << 32) - 1)
    seen = [model.step(**IDLE, **full).tokens for _ in range(4)]
    seen += [model.step(**IDLE, bucket_capacity=4, refill_rate=0).tokens for _ in range(3)]
    assert seen == [0, 0, 0, 9, 9, 9, 4]


def test_counters_saturate():
    model = BurstAdmission(8, 1)
    for name in ("offered", "accepted", "delivered", "dropped_burst_exhausted",
                 "dropped_hard_limit"):
        setattr(model, name, (1 << 32) - 1)
    for n in range(6):
        out = model.step(i_stream__valid=1, i_stream__payload=n, o_stream__ready=n % 2,
                         steady_depth=0, burst_depth=1)
    assert {out.offered, out.accepted, out.delivered, out.dropped_burst_exhausted,
            out.dropped_hard_limit} == {(1 << 32) - 1}


def test_trace_events_pack_as_the_gateware_struct():
    from amaranth.hdl import Const
    from slique.hdl.trace_event import TraceEvent
    raw = pack_trace_event(TraceReason.HARD_LIMIT, 200, 0xDEADBEEF)
    struct = TraceEvent.const({"reason": TraceReason.HARD_LIMIT, "queue": 200, "tag": 0xDEADBEEF})
    assert raw == Const.cast(struct).value
    assert unpack_trace_event(raw) == (TraceReason.HARD_LIMIT, 200, 0xDEADBEEF)


def test_inputs_are_cut_to_the_port_widths_and_unknown_inputs_refused():
    model = BurstAdmission(8, 4, token_bits=4)
    model.step(**IDLE, bucket_capacity=0x1F, refill_rate=1 << 40, steady_depth=(1 << 16) + 2)
    assert model.ports["bucket_capacity"] == 0xF
    assert model.ports["refill_rate"] == 0 and model.ports["steady_depth"] == 2
    with pytest.raises(TypeError, match="no input 'capacity'"):
        model.step(**IDLE, capacity=3)


def test_schedules():
    one = ConfigSchedule.random(5, depth=8, cycles=500, changes=10)
    two = ConfigSchedule.random(5, depth=8, cycles=500, changes=10)
    assert (one.initial, one.changes) == (two.initial, two.changes)
    assert 1 <= len(one.changes) <= 10 and max(one.changes) < 500
    seen = [one.at(cycle) for cycle in range(500)]
    assert seen[0] == {**one.initial, **one.changes.get(0, {})}
    for cycle, change in one.changes.items():
        assert change.items() <= seen[cycle].items()
        if cycle:
            assert seen[cycle] != seen[cycle - 1] or change.items() <= seen[cycle - 1].items()
    with pytest.raises(ValueError, match="lacks refill_denominator"):
        ConfigSchedule({name: 0 for name in CONFIG_PORTS[:-1]})


def _model_lockstep(model, reference, *, seed, cycles=1500, pattern="bursty-slow"):
    producer, consumer = make_traffic(seed, 32, pattern)
    schedule = ConfigSchedule.random(seed, depth=reference.depth, cycles=cycles)
    return asyncio.run(run_lockstep(ModelPorts(model), reference, producer, consumer, schedule,
                                    cycles=cycles, hint=f"seed={seed}"))


def test_scoreboard_on_the_model_alone(seed):
    result = _model_lockstep(BurstAdmission(32, 6), BurstAdmission(32, 6), seed=seed)
    assert result.offered == result.delivered + sum(result.dropped.values())
    assert result.traces == result.dropped and result.offered > 0


def test_scoreboard_catches_a_lost_beat(seed):
    broken = BurstAdmission(32, 6)
    count = broken._slique.step

    def lose_every_hundredth(**inputs):
        if inputs["i_stream__valid"] and broken.offered % 100 == 99:
            inputs["i_stream__valid"] = 0  # admitted, counted, but never stored
        return count(**inputs)
    broken._slique.step = lose_every_hundredth
    with pytest.raises(Mismatch):
        _model_lockstep(broken, BurstAdmission(32, 6), seed=seed, pattern="saturate")
