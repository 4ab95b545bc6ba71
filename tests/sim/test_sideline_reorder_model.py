"""The golden model of the sideline reorder buffer on its own: serial arithmetic, the bit layouts,
hypothesis properties (order, conservation, liveness, lossless repair of bounded reordering),
its traffic, and a scoreboard that catches broken models."""

import random

import pytest
from amaranth.lib import data
from hypothesis import given, settings
from hypothesis import strategies as st

from slique.hdl.sideline_reorder import reorder_beat
from slique.hdl.trace_event import TraceEvent, TraceReason
from slique.sim import sideline_reorder as reorder
from slique.sim.lockstep import Mismatch


HALF = 1 << 31
W = (1 << 32) - 1
S = 0xFFFFFFF0
NEVER = (1 << 16) - 1
PROPERTY = settings(max_examples=150, deadline=None, derandomize=True)


def _run(arrivals, *, depth, timeout, record=True, model=reorder.SidelineReorder, **duties):
    traffic = reorder.explicit_traffic(arrivals, payload_width=8, timeout=timeout, **duties)
    return reorder.golden_reorder_run(model(8, depth), reorder.SidelineReorder(8, depth), traffic,
                                      cycles=100_000, hint="the falsifying example above",
                                      record=record)


# --- serial-number arithmetic and bit layouts --------------------------------------------------

def test_serial_arithmetic_examples():
    assert reorder.serial_before(0, 1) and not reorder.serial_before(1, 0)
    assert reorder.serial_before(W, 0) and reorder.serial_difference(0, W) == 1
    assert reorder.serial_before(S, 5) and not reorder.serial_before(5, S)
    assert reorder.serial_difference(HALF - 1, 0) == HALF - 1
    # Half-way: undefined in RFC 1982; here each is "before" the other (the sign bit is set).
    assert reorder.serial_difference(HALF, 0) == reorder.serial_difference(0, HALF) == -HALF
    assert reorder.serial_before(HALF, 0) and reorder.serial_before(0, HALF)
    assert not reorder.serial_before(7, 7)


@given(a=st.integers(0, W), b=st.integers(0, W))
def test_serial_before_is_rfc_1982_where_it_is_defined(a, b):
    if (a - b) & W == HALF:
        return
    rfc_less = (a < b and b - a < HALF) or (a > b and a - b > HALF)
    assert reorder.serial_before(a, b) == rfc_less


@given(sequence=st.integers(0, W), payload=st.integers(0, (1 << 14) - 1))
def test_beat_bits_are_the_gateware_layout(sequence, payload):
    layout = data.Layout.cast(reorder_beat(14))
    bits = layout.const({"sequence": sequence, "payload": payload}).as_value().value
    assert reorder.pack_beat(sequence, payload) == bits
    assert reorder.unpack_beat(bits) == (sequence, payload)


@given(reason=st.sampled_from(list(TraceReason)), queue=st.integers(0, 255),
       tag=st.integers(0, W))
def test_trace_bits_are_the_gateware_layout(reason, queue, tag):
    bits = TraceEvent.const({"reason": reason, "queue": queue, "tag": tag}).as_value().value
    assert reorder.pack_trace(reason, queue, tag) == bits
    assert reorder.unpack_trace(bits) == (reason, queue, tag)


# --- properties ----------------------------------------------------------------------------------

_OFFSETS = st.one_of(st.integers(-6, 24),
                     st.sampled_from([HALF - 2, HALF - 1, HALF, HALF + 1, -HALF + 1, 1 - HALF]))


@PROPERTY
@given(depth=st.integers(1, 6), timeout=st.integers(0, 8), start=st.integers(-20, 20),
       offsets=st.lists(_OFFSETS, max_size=40),
       producer_duty=st.sampled_from([1.0, 0.6, 0.2]),
       consumer_duty=st.sampled_from([1.0, 0.5, 0.1]), seed=st.integers(0, 3))
def test_any_arrival_order_keeps_every_promise(depth, timeout, start, offsets, producer_duty,
                                               consumer_duty, seed):
    """Whatever arrives, in whatever order, at whatever pace: the scoreboard's checks hold
    (delivered strictly in order, each with its own payload, conservation every cycle, every drop
    traced, the sideline empty within the liveness bound, and every sequence between the first
    and the last delivered either delivered or counted as skipped)."""
    first = (S + start) & W
    arrivals = [(first + offset) & W for offset in [0, *offsets]]
    traffic = reorder.explicit_traffic(arrivals, payload_width=8, timeout=timeout, seed=seed,
                                       producer_duty=producer_duty, consumer_duty=consumer_duty)
    result = reorder.golden_reorder_run(reorder.SidelineReorder(8, depth),
                                        reorder.SidelineReorder(8, depth), traffic,
                                        cycles=100_000, hint="the falsifying example above")
    assert result.offered == len(arrivals)
    assert result.drain_cycles <= reorder.drain_bound(depth, timeout)


@st.composite
def _reordered_within(draw, depth):
    """A first beat, then consecutive blocks of at most ``depth + 1`` sequences, each permuted."""
    arrivals, following = [S], S + 1
    for _ in range(draw(st.integers(0, 8))):
        size = draw(st.integers(1, depth + 1))
        arrivals += draw(st.permutations([(following + k) & W for k in range(size)]))
        following += size
    return arrivals


@PROPERTY
@given(data=st.data(), depth=st.integers(1, 6))
def test_reordering_within_the_sideline_is_repaired_losslessly(data, depth):
    """Nothing lost, duplicated or stale, blocks no longer than ``depth + 1``, input and output
    at full rate, ``gap_timeout = depth``: every beat is delivered, in order, nothing skipped."""
    arrivals = data.draw(_reordered_within(depth))
    result = _run(arrivals, depth=depth, timeout=depth)
    assert result.sequences == [(S + k) & W for k in range(len(arrivals))]
    assert result.events == [] and result.gaps_skipped == 0


@PROPERTY
@given(depth=st.integers(1, 4), copies=st.integers(1, 30), timeout=st.integers(0, 3))
def test_all_duplicates_deliver_one(depth, copies, timeout):
    result = _run([S] * copies, depth=depth, timeout=timeout)
    assert result.sequences == [S]
    assert result.events == [("PACKET_DUPLICATE", S)] * (copies - 1)


@PROPERTY
@given(depth=st.integers(1, 6), length=st.integers(1, 20), timeout=st.integers(0, 10))
def test_reverse_order_keeps_the_highest_entries(depth, length, timeout):
    """After a first beat, ``length`` sequences in reverse: each newcomer is the lowest, so a full
    sideline evicts the newcomer itself; what was held is delivered once the gap is skipped."""
    arrivals = [S] + [(S + k) & W for k in range(length, 0, -1)]
    result = _run(arrivals, depth=depth, timeout=timeout)
    evicted = [tag for reason, tag in result.events if reason == "SIDELINE_EVICTED"]
    assert result.offered == result.delivered + len(evicted) + result.dropped_duplicate
    assert set(evicted).isdisjoint(result.sequences)
    if timeout >= length and length - 1 <= depth:
        assert result.sequences == [(S + k) & W for k in range(length + 1)]
    if timeout >= length:  # the gap waits for the last arrival: the highest `depth` are kept
        kept = [(S + k) & W for k in range(max(2, length - depth + 1), length + 1)]
        assert result.sequences == [S, (S + 1) & W] + kept


@pytest.mark.parametrize("depth, timeout", [(1, 0), (3, 7), (8, 30)])
def test_a_lost_sequence_costs_at_most_the_timeout(depth, timeout):
    """The first sequence after a loss leaves ``timeout + 1`` cycles after it became the head."""
    arrivals = [S] + [(S + k) & W for k in range(2, depth + 2)]
    result = _run(arrivals, depth=depth, timeout=timeout)
    assert result.sequences == [S] + arrivals[1:]
    assert result.events == [("GAP_SKIPPED", (S + 1) & W)] and result.gaps_skipped == 1
    assert result.traffic_cycles + result.drain_cycles <= depth + timeout + 6


@pytest.mark.parametrize("style", sorted(reorder.STYLES))
@pytest.mark.parametrize("depth", [1, 3, 8])
def test_traffic_styles_do_what_they_say(style, depth, seed, replay):
    run = reorder.run_parameters(depth=depth, seed=seed, cycles=2000, style=style, replay=replay)
    result = reorder.golden_reorder_run(reorder.golden_model(run), reorder.golden_model(run),
                                        reorder.traffic(run), cycles=run["cycles"],
                                        hint=reorder.run_hint(run))
    assert result.offered > 100
    assert result.first_delivered is not None
    if style == "in-order":
        assert result.delivered == result.offered and not result.traces
    if style == "overflow":
        assert result.dropped_evicted > 0 and result.high_water == depth
    if style == "lossy":
        assert result.gap_skips > 0
    if style == "duplicates":
        assert result.dropped_duplicate > 0


def test_traffic_is_replayed_by_its_seed():
    def beats(seed):
        traffic = reorder.make_reorder_traffic(seed, depth=4, payload_width=16)
        return [traffic.producer.drive() + (traffic.producer.advance(True),) for _ in range(300)]
    assert beats(5) == beats(5) and beats(5) != beats(6)
    traffic = reorder.make_reorder_traffic(5, depth=4, payload_width=16)
    assert 0xFFFFFFD0 <= traffic.settings["start"] <= 0xFFFFFFF8  # wraps early in every run


def test_unknown_style_says_which_exist():
    with pytest.raises(ValueError, match="in-order"):
        reorder.make_reorder_traffic(1, depth=4, payload_width=8, style="chaos")


# --- the scoreboard can fail ---------------------------------------------------------------------

class _EvictsTheHighest(reorder.SidelineReorder):
    def _hold(self, sequence, payload):
        event = super()._hold(sequence, payload)
        if event and event[0] == TraceReason.SIDELINE_EVICTED:  # undo: drop the highest instead
            self.cells.insert(0, (event[1], 0))
            return TraceReason.SIDELINE_EVICTED, self.cells.pop()[0]
        return event


class _NeverSkips(reorder.SidelineReorder):
    def step(self, **inputs):
        return super().step(**{**inputs, "gap_timeout": NEVER})


class _ForgetsDuplicates(reorder.SidelineReorder):
    def _hold(self, sequence, payload):
        event = super()._hold(sequence, payload)
        if event and event[0] == TraceReason.PACKET_DUPLICATE:
            self.dropped_duplicate -= 1
        return event


class _DeliversOutOfOrder(reorder.SidelineReorder):
    def _pop(self, head, head_is_expected):
        event = super()._pop(head, head_is_expected)
        if self.cells:
            self.cells.reverse()
        return event


@pytest.mark.parametrize("broken, depth, arrivals, message", [
    (_EvictsTheHighest, 2, [S, S + 2, S + 3, S + 4], "in the gateware but"),
    (_NeverSkips, 2, [S, S + 2], "liveness"),
    (_ForgetsDuplicates, 2, [S, S], "conservation"),
    (_DeliversOutOfOrder, 3, [S, S + 3, S + 2, S + 4, S + 1], "order broken"),
])
def test_the_scoreboard_catches_a_broken_model(broken, depth, arrivals, message):
    """Against the real model (a rule broken) or against itself (a promise broken)."""
    reference = reorder.SidelineReorder if broken is _EvictsTheHighest else broken
    traffic = reorder.explicit_traffic([a & W for a in arrivals], payload_width=8, timeout=4)
    with pytest.raises(Mismatch, match=message):
        reorder.golden_reorder_run(broken(8, depth), reference(8, depth), traffic, cycles=1000,
                                   hint="broken on purpose")


def test_a_failure_carries_the_replay_command():
    run = reorder.run_parameters(depth=2, seed=11, replay="SLIQUE_SEED=11 python -m pytest x")
    traffic = reorder.explicit_traffic([S, S, S], payload_width=8, timeout=0)
    with pytest.raises(Mismatch, match="seed=11; replay with: SLIQUE_SEED=11 python -m pytest x"):
        reorder.golden_reorder_run(_ForgetsDuplicates(8, 2), _ForgetsDuplicates(8, 2), traffic,
                                   cycles=100, hint=reorder.run_hint(run))


def test_random_traffic_exercises_every_outcome():
    """Over a few seeds of the default style, every kind of event happens somewhere."""
    seen = set()
    for seed in range(6):
        run = reorder.run_parameters(depth=3, seed=seed, cycles=1500)
        result = reorder.golden_reorder_run(reorder.golden_model(run), reorder.golden_model(run),
                                            reorder.traffic(run), cycles=run["cycles"],
                                            hint=reorder.run_hint(run))
        seen |= set(result.traces)
    assert seen == {"PACKET_DUPLICATE", "SIDELINE_EVICTED", "GAP_SKIPPED"}


def test_payload_of_is_a_fixed_function_of_the_sequence():
    rng = random.Random(3)
    for _ in range(50):
        sequence, width = rng.getrandbits(32), rng.randint(1, 80)
        assert reorder.payload_of(sequence, width) == reorder.payload_of(sequence, width)
        assert reorder.payload_of(sequence, width) < 1 << width
    assert len({reorder.payload_of(sequence, 16) for sequence in range(1000)}) > 900
