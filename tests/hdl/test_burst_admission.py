# amaranth: UnusedElaboratable=no
"""BurstAdmission in the Amaranth simulator: lockstep with its golden model over random traffic
and random run-time configuration, hypothesis edge cases, the bucket's exactness, counters."""

import math

import pytest
from amaranth.sim import Simulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slique.bench.burst_admission import measure_decisions_per_cycle
from slique.hdl.burst_admission import BurstAdmission, Decision
from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.sim import burst_admission as golden
from slique.sim.burst_admission import CONFIG_PORTS, ConfigSchedule, TaggedBeat
from slique.sim.lockstep import Mismatch


COUNTER_MAX = (1 << COUNTER_WIDTH) - 1


def _lockstep(shape, depth, schedule, *, seed, replay, cycles, pattern, model=None, **options):
    return golden.lockstep_in_amaranth(
        BurstAdmission(shape, depth, **options),
        model or golden.BurstAdmission(shape, depth, **options),
        schedule, seed=seed, cycles=cycles, pattern=pattern,
        hint=f"seed={seed}; replay with: {replay}")


def _check_outcome(result):
    dropped = result.dropped_burst_exhausted + result.dropped_hard_limit
    assert result.offered == result.delivered + dropped
    assert result.accepted == result.delivered
    assert result.traces == result.dropped
    assert result.offered > 0


@pytest.mark.parametrize("pattern", ["random", "bursty-slow", "stalls"])
@pytest.mark.parametrize("storage, depth, register_stage", [
    ("systolic", 1, True), ("systolic", 3, True), ("ring", 2, True), ("ring", 16, True),
    ("systolic", 1, False), ("ring", 16, False)])
def test_matches_golden_model(depth, storage, register_stage, pattern, seed, replay, cycles):
    n = cycles(1000)
    schedule = ConfigSchedule.random(seed, depth=depth, cycles=n, changes=16)
    result = _lockstep(32, depth, schedule, storage=storage, register_stage=register_stage,
                       seed=seed, replay=replay, cycles=n, pattern=pattern)
    _check_outcome(result)


@pytest.mark.parametrize("fraction_bits, token_bits", [(1, 1), (2, 3), (8, 8)])
def test_narrow_bucket_and_tagged_payload(fraction_bits, token_bits, seed, replay, cycles):
    """Small widths reach every saturation; the trace events carry the payload's tag."""
    n = cycles(1000)
    schedule = ConfigSchedule.random(seed, depth=4, fraction_bits=fraction_bits,
                                     token_bits=token_bits, cycles=n, changes=24)
    result = _lockstep(TaggedBeat, 4, schedule, fraction_bits=fraction_bits,
                       token_bits=token_bits, queue=201, seed=seed, replay=replay, cycles=n,
                       pattern="bursty-slow")
    _check_outcome(result)


def _phases(depth, length):
    """Every regime in turn: steady only, tokens, tokens exhausted, hard limit, then B > depth."""
    quarter = 1 << 14
    base = dict(steady_depth=depth, burst_depth=depth, bucket_capacity=0, refill_rate=0,
                refill_denominator=0)
    changes = {
        length: dict(steady_depth=0, bucket_capacity=6, refill_rate=quarter),
        2 * length: dict(refill_rate=0),
        3 * length: dict(burst_depth=0),
        4 * length: dict(burst_depth=depth + 5, steady_depth=1, refill_rate=3,
                         refill_denominator=7, bucket_capacity=2),
    }
    return ConfigSchedule(base, changes)


@pytest.mark.parametrize("storage", ["systolic", "ring"])
def test_every_decision_and_trace_event(storage, seed, replay):
    result = _lockstep(TaggedBeat, 5, _phases(5, 200), storage=storage, queue=3, seed=seed,
                       replay=replay, cycles=1000, pattern="slow-consumer")
    _check_outcome(result)
    assert all(count > 0 for count in result.decisions.values()), result.decisions
    assert result.high_water == 5


CONFIG_DEPTH = 4


def _config_value(name, *, depth=CONFIG_DEPTH, fraction_bits=4, token_bits=4):
    one = 1 << fraction_bits
    largest_rate = (1 << (fraction_bits + token_bits)) - 1
    edges = {
        "steady_depth": [0, 1, depth - 1, depth, depth + 1, (1 << 16) - 1],
        "burst_depth": [0, 1, depth - 1, depth, depth + 1, (1 << 16) - 1],
        "bucket_capacity": [0, 1, (1 << token_bits) - 1],
        "refill_rate": [0, 1, 3, one - 1, one, largest_rate],
        "refill_denominator": [0, 1, 3, 7, one - 1],
    }
    ranges = {"steady_depth": 2 * depth + 2, "burst_depth": 2 * depth + 2,
              "bucket_capacity": (1 << token_bits) - 1, "refill_rate": largest_rate,
              "refill_denominator": one - 1}
    return st.sampled_from(edges[name]) | st.integers(0, ranges[name])


@st.composite
def schedules(draw, cycles):
    """Edge-case configurations (S = 0, S = B, B > depth, C = 0, r = 0, r at its largest, D
    changes) and changes at any cycle, mid-burst included."""
    initial = {name: draw(_config_value(name)) for name in CONFIG_PORTS}
    changes = {}
    for _ in range(draw(st.integers(0, 8))):
        cycle = draw(st.integers(0, cycles - 1))
        names = draw(st.lists(st.sampled_from(CONFIG_PORTS), min_size=1, unique=True))
        changes.setdefault(cycle, {}).update({name: draw(_config_value(name))
                                              for name in names})
    if draw(st.booleans()):
        same = draw(_config_value("steady_depth"))
        initial.update(steady_depth=same, burst_depth=same)  # S = B
    return ConfigSchedule(initial, changes)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedule=schedules(cycles=240), traffic=st.integers(0, 2 ** 32 - 1),
       pattern=st.sampled_from(["saturate", "bursty-slow", "slow-consumer", "stalls"]))
def test_edge_cases_match_golden_model(schedule, traffic, pattern):
    result = golden.lockstep_in_amaranth(
        BurstAdmission(TaggedBeat, CONFIG_DEPTH, fraction_bits=4, token_bits=4),
        golden.BurstAdmission(TaggedBeat, CONFIG_DEPTH, fraction_bits=4, token_bits=4),
        schedule, seed=traffic, cycles=240, pattern=pattern,
        hint=f"traffic seed {traffic}, schedule {schedule.initial} {schedule.changes}")
    _check_outcome(result)


def test_a_wrong_model_is_caught(seed, replay):
    """The scoreboard fails when gateware and model differ (here: a model whose bucket holds
    one token more than it should)."""
    model = golden.BurstAdmission(32, 8)
    refill = model._refill

    def one_token_too_many(take):
        refill(take)
        if model.tokens == 2:
            model.tokens = 3
    model._refill = one_token_too_many
    schedule = ConfigSchedule(dict(steady_depth=8, burst_depth=8, bucket_capacity=5,
                                   refill_rate=1 << 13, refill_denominator=0))
    with pytest.raises(Mismatch, match="tokens is 2 in the gateware but 3"):
        _lockstep(32, 8, schedule, model=model, seed=seed, replay=replay, cycles=400,
                  pattern="saturate")


def _run(dut, testbench):
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()


@pytest.mark.parametrize("rate, denominator, exact, cycles", [
    (3, 7, (3, 7), 7 * 400),                          # 3/7 per cycle
    (1, 1000, (1, 1000), 4000),                       # 1/1000 per cycle
    ((2 << 16) | 5, 7, (19, 7), 1400),                # 2 + 5/7
    (0x6DB7, 0, (0x6DB7, 1 << 16), 3000),             # 16.16 binary fixed point near 3/7
    ((1 << 16) - 1, 0, ((1 << 16) - 1, 1 << 16), 2000),
])
def test_fractional_refill_is_exact(rate, denominator, exact, cycles):
    """From reset, with C large and no traffic, tokens == floor((n - 2) * rate) in cycle n:
    the fraction is never lost (checked every cycle, on the gateware alone)."""
    dut = BurstAdmission(8, 4)
    numerator, divisor = exact
    seen = []

    async def testbench(ctx):
        ctx.set(dut.bucket_capacity, (1 << 16) - 1)
        ctx.set(dut.refill_rate, rate)
        ctx.set(dut.refill_denominator, denominator)
        for n in range(cycles):
            seen.append((n, ctx.get(dut.tokens)))
            await ctx.tick()

    _run(dut, testbench)
    wrong = [(n, tokens) for n, tokens in seen
             if tokens != max(0, (n - 2) * numerator // divisor)]
    assert not wrong, f"first (cycle, tokens) off: {wrong[:3]}"
    assert seen[-1][1] == (cycles - 3) * numerator // divisor > 0


def test_tokens_saturate_and_clamp_when_capacity_is_lowered():
    dut = BurstAdmission(8, 4)
    trace = []

    async def testbench(ctx):
        ctx.set(dut.bucket_capacity, 5)
        ctx.set(dut.refill_rate, (1 << 32) - 1)  # the largest rate: 65535.99998 per cycle
        for _ in range(6):
            await ctx.tick()
        trace.append(ctx.get(dut.tokens))
        ctx.set(dut.bucket_capacity, 2)
        ctx.set(dut.refill_rate, 0)
        for _ in range(3):
            await ctx.tick()
            trace.append(ctx.get(dut.tokens))

    _run(dut, testbench)
    # C = 2 is sampled at the first edge, clamps tokens at the second.
    assert trace == [5, 5, 2, 2]


def test_counters_saturate():
    dut = BurstAdmission(8, 2)
    names = ["offered", "accepted", "delivered", "dropped_burst_exhausted",
             "dropped_hard_limit"]
    final = {}

    async def testbench(ctx):
        ctx.set(dut.steady_depth, 1)
        ctx.set(dut.burst_depth, 2)
        ctx.set(dut.bucket_capacity, 1)
        ctx.set(dut.refill_rate, 1 << 14)  # a token every 4 cycles
        await ctx.tick()
        for name in names:
            ctx.set(getattr(dut, name), COUNTER_MAX - 1)
        ctx.set(dut.i_stream.valid, 1)
        ctx.set(dut.o_stream.ready, 0)
        # accepted below S; exhausted until a token comes; accepted with it; the hard limit
        for _ in range(8):
            await ctx.tick()
        ctx.set(dut.o_stream.ready, 1)
        for _ in range(4):
            await ctx.tick()
        final.update({name: ctx.get(getattr(dut, name)) for name in names})

    _run(dut, testbench)
    assert final == {name: COUNTER_MAX for name in names}


def test_one_decision_per_cycle():
    assert measure_decisions_per_cycle(BurstAdmission(32, 16)) == 1.0
    assert measure_decisions_per_cycle(BurstAdmission(8, 1, storage="ring")) == 1.0


def test_ports():
    dut = BurstAdmission(TaggedBeat, 300, fraction_bits=12, token_bits=10, queue=4)
    assert (len(dut.steady_depth), len(dut.burst_depth)) == (16, 16)
    assert len(dut.refill_rate) == 22 and len(dut.refill_denominator) == 12
    assert len(dut.bucket_capacity) == len(dut.tokens) == 10
    assert len(dut.level) == math.ceil(math.log2(301))
    assert dut.decision.shape() is Decision
    assert dut.steady_depth.init == dut.burst_depth.init == 300
    assert len(BurstAdmission(8, 70000).burst_depth) == 17


@pytest.mark.parametrize("arguments, options, error, message", [
    ((8, 0), {}, ValueError, "ZeroSlique"),
    (("wide", 4), {}, TypeError, "shape-like"),
    ((8, 4), {"fraction_bits": 0}, ValueError, "fraction_bits must be from 1 to 32"),
    ((8, 4), {"token_bits": 33}, ValueError, "token_bits must be from 1 to 32"),
    ((8, 4), {"token_bits": 2.0}, TypeError, "token_bits must be an integer"),
    ((8, 4), {"queue": 256}, ValueError, "queue must be from 0 to 255"),
    ((8, 4), {"storage": "bram"}, ValueError, "must be one of"),
    ((8, 4), {"register_stage": 1}, TypeError, "register_stage must be True or False"),
])
def test_bad_parameters_raise_with_what_is_allowed(arguments, options, error, message):
    with pytest.raises(error, match=message):
        BurstAdmission(*arguments, **options)
    with pytest.raises(error, match=message):
        golden.BurstAdmission(*arguments, **options)
