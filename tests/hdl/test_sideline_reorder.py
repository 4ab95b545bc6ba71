"""SidelineReorder in the Amaranth simulator against its golden model: seeded random reordering
traffic, named edge cases with their exact outcomes, hypothesis-generated arrival orders, the
throughput, and the parameter checks."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slique.bench.sideline_reorder import decisions_per_cycle, harness
from slique.hdl.sideline_reorder import SidelineReorder
from slique.sim import sideline_reorder as reorder
from slique.sim.sliques import SHAPES


S = 0xFFFFFFF0  # a start near the wrap-around
HALF = 1 << 31
NEVER = (1 << 16) - 1


def _lockstep(traffic, *, depth, payload_shape=8, cycles, hint, **parameters):
    return reorder.reorder_in_amaranth(
        SidelineReorder(payload_shape, depth, **parameters),
        reorder.SidelineReorder(payload_shape, depth, **parameters),
        traffic, cycles=cycles, hint=hint, record=True)


def _conserved(result):
    return result.offered == result.delivered + result.dropped_duplicate + result.dropped_evicted


@pytest.mark.parametrize("depth", [1, 2, 4, 16])
@pytest.mark.parametrize("style", sorted(reorder.STYLES))
def test_matches_golden_model(depth, style, seed, replay, cycles):
    run = reorder.run_parameters(depth=depth, seed=seed, cycles=cycles(500), style=style,
                                 replay=replay)
    result = reorder.reorder_in_amaranth(reorder.gateware(run), reorder.golden_model(run),
                                         reorder.traffic(run), cycles=run["cycles"],
                                         hint=reorder.run_hint(run))
    assert result.offered > 0 and _conserved(result)
    drops = result.dropped_duplicate + result.dropped_evicted
    if style == "in-order":
        assert drops == 0 and result.gaps_skipped == 0 and result.delivered == result.offered
    elif style == "overflow":
        assert result.dropped_evicted > 0 and result.high_water == depth
    elif style == "lossy":
        assert result.gaps_skipped > 0 and result.gap_skips > 0
    elif style == "duplicates":
        assert result.dropped_duplicate > 0


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_payload_shapes(shape, seed, replay, cycles):
    run = reorder.run_parameters(payload_shape=shape, depth=3, queue=9, timeout_width=6,
                                 seed=seed, cycles=cycles(400), replay=replay)
    result = reorder.reorder_in_amaranth(reorder.gateware(run), reorder.golden_model(run),
                                         reorder.traffic(run), cycles=run["cycles"],
                                         hint=reorder.run_hint(run))
    assert result.offered > 0 and _conserved(result)


DUP, EVICT, GAP = "PACKET_DUPLICATE", "SIDELINE_EVICTED", "GAP_SKIPPED"
W = (1 << 32) - 1

# name: (depth, timeout, arrivals, delivered, trace events, sequences skipped)
EDGE_CASES = {
    "first-beat-sets-expected": (2, NEVER, [S + 5, S + 3, S + 6], [S + 5, S + 6],
                                 [(DUP, S + 3)], 0),
    "reverse-order-that-fits": (3, NEVER, [S, S + 4, S + 3, S + 2, S + 1],
                                [S, S + 1, S + 2, S + 3, S + 4], [], 0),
    "reverse-order-that-overflows": (1, 4, [S, S + 4, S + 3, S + 2, S + 1], [S, S + 1, S + 4],
                                     [(EVICT, S + 3), (EVICT, S + 2), (GAP, S + 2)], 2),
    "all-duplicates": (2, 0, [S] * 6, [S], [(DUP, S)] * 5, 0),
    "timeout-0-skips-at-once": (2, 0, [S, S + 2, S + 1], [S, S + 2],
                                [(GAP, S + 1), (DUP, S + 1)], 1),
    "timeout-1-waits-a-cycle": (2, 1, [S, S + 2, S + 1], [S, S + 1, S + 2], [], 0),
    "lost-packet-skipped": (2, 5, [S, S + 2, S + 3], [S, S + 2, S + 3], [(GAP, S + 1)], 1),
    "wrap-around": (2, NEVER, [W - 1, 0, W, 1], [W - 1, W, 0, 1], [], 0),
    # `expected` is S + 1 after S: S + 1 + 2**31 is half-way (behind), S + 2**31 the farthest ahead.
    "half-way-is-behind": (2, NEVER, [S, (S + 1 + HALF) & W], [S], [(DUP, (S + 1 + HALF) & W)],
                           0),
    "farthest-ahead-is-held": (2, 3, [S, (S + HALF) & W], [S, (S + HALF) & W],
                               [(GAP, (S + 1) & W)], HALF - 1),
    "eviction-drops-the-lowest": (2, 20, [S, S + 2, S + 3, S + 4], [S, S + 3, S + 4],
                                  [(EVICT, S + 2), (GAP, S + 1)], 2),
    "newcomer-lowest-is-evicted": (2, 20, [S, S + 3, S + 4, S + 2], [S, S + 3, S + 4],
                                   [(EVICT, S + 2), (GAP, S + 1)], 2),
    "gaps-skipped-saturates": (1, 0, [0, HALF - 1, 2 * HALF - 2, (3 * HALF - 3) & W],
                               [0, HALF - 1, 2 * HALF - 2, (3 * HALF - 3) & W],
                               [(GAP, 1), (GAP, HALF), (GAP, W)], W),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases(name, replay):
    depth, timeout, arrivals, delivered, events, skipped = EDGE_CASES[name]
    traffic = reorder.explicit_traffic([sequence & W for sequence in arrivals], payload_width=8,
                                       timeout=timeout)
    result = _lockstep(traffic, depth=depth, cycles=1000, hint=f"replay with: {replay}")
    assert result.sequences == [sequence & W for sequence in delivered]
    assert result.events == [(reason, tag & W) for reason, tag in events]
    assert result.gaps_skipped == skipped
    assert _conserved(result)


def test_trace_carries_the_queue_number():
    traffic = reorder.explicit_traffic([5, 4, 7, 9, 9], payload_width=8, timeout=2)
    result = _lockstep(traffic, depth=2, cycles=200, hint="queue 77", queue=77)
    assert result.events and _conserved(result)
    # The scoreboard compares the whole trace payload, queue included, with the model's.


def test_timeout_changes_at_run_time(seed):
    """A gap waits under a long timeout, then goes as soon as the timeout is lowered."""
    traffic = reorder.explicit_traffic([S, S + 2], payload_width=8, timeout=NEVER)
    traffic.timeout = _Lowered(at=40, value=3)
    result = _lockstep(traffic, depth=2, cycles=1000, hint=f"seed={seed}")
    assert result.sequences == [S, S + 2] and result.events == [(GAP, S + 1)]
    assert result.traffic_cycles + result.drain_cycles < 60


class _Lowered:
    """A ``gap_timeout`` of ``NEVER`` that drops to ``value`` at cycle ``at``."""

    def __init__(self, *, at, value):
        self.at, self.value, self.maximum = at, value, NEVER

    def __call__(self, cycle):
        return NEVER if cycle < self.at else self.value


_OFFSETS = st.one_of(st.integers(-4, 12), st.sampled_from([HALF - 1, HALF, HALF + 1, -HALF + 1]))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(1, 4), timeout=st.integers(0, 5), start=st.integers(-8, 8),
       offsets=st.lists(_OFFSETS, max_size=24),
       producer_duty=st.sampled_from([1.0, 0.5]), consumer_duty=st.sampled_from([1.0, 0.4]))
def test_arrival_orders_match_golden_model(depth, timeout, start, offsets, producer_duty,
                                           consumer_duty, replay):
    first = (S + start) & W
    traffic = reorder.explicit_traffic([(first + offset) & W for offset in [0, *offsets]],
                                       payload_width=8, timeout=timeout,
                                       producer_duty=producer_duty, consumer_duty=consumer_duty)
    result = _lockstep(traffic, depth=depth, cycles=2000, timeout_width=3,
                       hint=f"the falsifying example above; replay with: {replay}")
    assert result.offered == len(offsets) + 1 and _conserved(result)


@pytest.mark.parametrize("depth", [1, 4, 16])
def test_in_order_traffic_moves_one_beat_per_cycle(depth):
    assert decisions_per_cycle(depth, reordered=False, cycles=200) == 1.0


def test_swapped_pairs_cost_a_cycle_each(replay):
    """Pairs arriving swapped: the second passes, then the first leaves the sideline while the
    input waits: two beats in three cycles."""
    arrivals = [S] + [(S + k + offset) & W for k in range(1, 61, 2) for offset in (1, 0)]
    traffic = reorder.explicit_traffic(arrivals, payload_width=8, timeout=NEVER)
    result = _lockstep(traffic, depth=1, cycles=1000, hint=f"replay with: {replay}")
    assert result.sequences == sorted(arrivals, key=lambda sequence: (sequence - S) & W)
    assert result.traffic_cycles == 1 + 3 * 30


def test_reordered_windows_are_decided_below_one_per_cycle():
    rate = decisions_per_cycle(4, reordered=True, cycles=300)
    assert 5 / 9 <= rate < 1  # reversed windows of 5 are the worst case: 5 beats in 9 cycles


@pytest.mark.parametrize("arguments, keywords, error, message", [
    ((8, 0), {}, ValueError, "Sideline depth must be at least 1"),
    ((8, 2.5), {}, TypeError, "Sideline depth must be an integer"),
    ((8, True), {}, TypeError, "Sideline depth must be an integer"),
    (("wide", 4), {}, TypeError, "shape-like"),
    ((8, 4), {"queue": 256}, ValueError, "Trace queue must be from 0 to 255"),
    ((8, 4), {"timeout_width": 0}, ValueError, "Timeout width must be from 1 to 32"),
    ((8, 4), {"timeout_width": 33}, ValueError, "Timeout width must be from 1 to 32"),
])
def test_bad_parameters_raise_with_what_is_allowed(arguments, keywords, error, message):
    with pytest.raises(error, match=message):
        SidelineReorder(*arguments, **keywords)
    with pytest.raises(error, match=message):
        reorder.SidelineReorder(*arguments, **keywords)


def test_ports_and_properties():
    dut = SidelineReorder(SHAPES["packet-beat"], 5, queue=3, timeout_width=10)
    dut._MustUse__silence = True
    assert (dut.sideline_depth, dut.depth, dut.queue, dut.timeout_width) == (5, 5, 3, 10)
    assert len(dut.gap_timeout) == 10 and len(dut.level) == 3
    assert dut.i_stream.payload.shape() == dut.o_stream.payload.shape() == dut.shape
    assert dut.trace.signature.always_ready


def test_benchmark_harness_drives_every_input_and_observes_every_output():
    from amaranth.back import rtlil

    bench = harness(2, payload_width=8)
    dut = bench.dut
    assert bench.stimulus_width == len(dut.i_stream.payload.as_value()) + 1 + 1 + \
        len(dut.gap_timeout)
    assert bench.observed_width == (len(dut.o_stream.payload.as_value()) + 2 + 1 + 48
                                    + len(dut.level) + 32 * 6)
    assert "module" in rtlil.convert(bench)
