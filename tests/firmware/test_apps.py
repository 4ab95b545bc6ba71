"""The applications on the golden backend: conservation, error paths, order, determinism."""

import pytest
from hypothesis import given, settings, strategies as st

from slique.firmware import backend
from slique.firmware.apps import APPS, load
from slique.firmware.apps.common import frame_sequence
from slique.firmware.apps.rebalance import Rebalancer


def run_app(name, seed, packets, **options):
    result = load(name).run(backend("golden"), seed=seed, packets=packets, **options)
    result.check()                             # offered == delivered + sum(dropped)
    assert result.as_json()["app"] == name
    assert result.memo_high_water > 0 and result.reruns > 0
    return result


def test_echo_sends_back_every_frame_but_resets_and_bad_ones(seed):
    result = run_app("echo", seed, 30)
    assert set(result.dropped) <= {"truncated", "malformed", "connection_reset", "hard_limit",
                                   "queue_full", "tx_ring_full", "tx_error"}
    assert result.errors.get("ECONNRESET", 0) == result.dropped.get("connection_reset", 0)
    assert result.delivered > 0


def test_echo_is_deterministic(seed):
    one, other = run_app("echo", seed, 12), run_app("echo", seed, 12)
    assert one.as_json() == other.as_json()
    assert run_app("echo", seed + 1, 12).digest != one.digest


def test_sendfile_chains_disk_reads_to_the_wire_in_block_order(seed):
    result = run_app("sendfile", seed, 24, files=2)
    assert set(result.dropped) <= {"read_error", "read_timeout", "tx_ring_full", "no_memo"}
    assert result.delivered + result.dropped.get("read_error", 0) + \
        result.dropped.get("read_timeout", 0) + result.dropped.get("tx_ring_full", 0) == 24
    assert result.errors.get("EIO", 0) <= result.dropped.get("read_error", 0)


def test_sendfile_read_timeouts_are_etimedout_and_late_answers_are_traced(seed):
    from slique.firmware.apps import sendfile
    from slique.firmware.block_device import BlockDevice

    original = BlockDevice.__init__

    def slow(self, seed, **options):
        original(self, seed, **dict(options, latency=(10, 40), slow_rate=0.3,
                                    slow_latency=900))

    BlockDevice.__init__ = slow
    try:
        result = run_app("sendfile", seed, 12, files=2)
    finally:
        BlockDevice.__init__ = original
    assert result.dropped.get("read_timeout", 0) > 0
    assert result.errors.get("ETIMEDOUT", 0) > 0


def test_reorder_hands_every_flow_on_in_order(seed):
    from slique.firmware.apps import reorder

    result = reorder.run(backend("golden"), seed=seed, packets=60, sideline=3)
    result.check()
    assert result.extra["out_of_order"] == 0
    assert result.delivered > 0 and result.dropped.get("duplicate", 0) > 0
    assert result.dropped.get("sideline_evicted", 0) > 0 and result.extra["skipped"] > 0


def test_resequencer_rules():
    from slique.firmware.apps.reorder import Resequencer

    out = []
    flow = Resequencer(2, out.append)
    flow.insert(1, "b", 0)
    flow.insert(2, "c", 1)
    flow.insert(3, "d", 2)                     # sideline full: the oldest ("b") is evicted
    assert flow.evicted == 1 and out == []
    flow.insert(0, "a", 3)
    assert out == ["a"] and flow.expected == 1
    assert flow.skip_gap(10, 100) == 0         # not stale yet
    assert flow.skip_gap(200, 100) == 1        # skip 1, deliver c and d
    assert out == ["a", "c", "d"] and flow.expected == 4
    flow.insert(1, "b", 201)                   # arrives after its gap was skipped
    flow.insert(2, "c", 202)                   # a duplicate
    assert (flow.late, flow.duplicates) == (1, 1)


def test_rebalance_moves_buckets_off_the_hot_queue_without_reordering(seed):
    """The daemon moves buckets off the skewed queue, never reorders a flow, and costs no
    drops and no deeper peak; the cycles per frame stay within 10 %. It does not claim a lower
    imbalance while the frames arrive: the daemon's first move (window of 8 periods, cooldown
    6) mostly comes after most of them have arrived, so the two runs' imbalance is equal on
    most seeds, and a timing change of a cycle tips the rest either way (seeds 1 to 5 and the
    test's own, at 120 and 400 packets, 2026-11-27; see the notes of issue 5). Nor does it
    claim the same cycles: where the last frames land moves the drain's end either way
    (with and without the daemon, at 04aa442: 0.94 to 1.08 on seeds 1 to 7 and the test's
    own, 1.046 on the latter; seeds 3 and 7 make no move at 120 packets)."""
    without = run_app("rebalance", seed, 120, rebalance=False)
    result = run_app("rebalance", seed, 120)
    assert result.extra["moves"], "the daemon never moved a bucket off the skewed queue"
    assert all(old != new for _, _, old, new in result.extra["moves"])
    assert result.extra["reordered"] == 0 and without.extra["reordered"] == 0
    assert sum(result.dropped.values()) <= sum(without.dropped.values())
    assert result.cycles / result.delivered <= 1.10 * without.cycles / without.delivered
    assert result.extra["peak_depth"] <= without.extra["peak_depth"]


def test_rebalancer_statistics_and_hysteresis():
    state = Rebalancer(4, window=4, cooldown=3)
    for bucket in (0, 4, 8):
        for _ in range(5):
            state.count(bucket)                # traffic on queue 0's buckets
    decisions = [state.observe(cycle, [40, 5, 5, 6]) for cycle in range(4)]
    assert decisions[:3] == [None, None, None]  # a window is needed first
    average, autocorrelation = state.statistics()
    assert list(average) == [40, 5, 5, 6] and autocorrelation[0] == 1.0
    bucket, hot, cold = decisions[3]
    assert (hot, cold) == (0, 1) and bucket in (0, 4, 8)
    state.moved(4, bucket, hot, cold)
    assert state.observe(5, [40, 5, 5, 6]) is None          # cooldown: no move yet
    # A passing burst (no persistence) does not move anything.
    calm = Rebalancer(4, window=4, cooldown=0)
    calm.count(0)
    for cycle, levels in enumerate(([40, 5, 5, 5], [0, 5, 5, 5], [40, 5, 5, 5], [0, 5, 5, 5])):
        decision = calm.observe(cycle, levels)
    assert decision is None


def test_every_app_is_listed():
    assert APPS == ("echo", "sendfile", "reorder", "rebalance")
    with pytest.raises(ValueError, match="there are echo"):
        load("nope")


@settings(max_examples=60, deadline=None)
@given(arrivals=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 30)), max_size=80),
       capacity=st.integers(1, 6), timeout=st.integers(1, 50))
def test_resequencer_accounts_for_every_frame(arrivals, capacity, timeout):
    """Any arrival order, duplicates and gaps: every frame is handed on in order, or dropped as
    a duplicate, a late arrival or an eviction; nothing is handed on twice."""
    from slique.firmware.apps.reorder import Resequencer

    out = []
    flow = Resequencer(capacity, out.append)
    for cycle, (sequence, pause) in enumerate(arrivals):
        flow.insert(sequence, sequence, cycle * 10)
        flow.skip_gap(cycle * 10 + pause, timeout)
    flow.skip_gap(10**9, timeout)               # the end: every gap is stale
    assert out == sorted(out) and len(out) == len(set(out))
    assert not flow.sideline
    assert len(arrivals) == len(out) + flow.duplicates + flow.late + flow.evicted
