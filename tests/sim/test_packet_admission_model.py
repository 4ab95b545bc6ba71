"""The PacketAdmission golden model on hypothesis-generated edge cases: packet lengths from one
beat to longer than the slique, idle and stalled cycles, configurations at their edges (S = 0,
S = B, B = 0, B beyond the depth, C = 0, no refill). Whole packets or nothing, one decision and
one token at most per packet, one trace event per drop tagged with the packet's number, and
``offered == delivered + dropped`` once drained."""

from hypothesis import given, settings
from hypothesis import strategies as st

from slique.hdl.burst_admission import Decision
from slique.sim.burst_admission import unpack_trace_event
from slique.sim.packet import Beat, pack_beat, split_packets, unpack_beat
from slique.sim.packet_admission import PacketAdmission


DEPTH = 6


@st.composite
def runs(draw):
    lengths = draw(st.lists(st.integers(1, DEPTH + 3), min_size=1, max_size=12))
    config = dict(
        steady_depth=draw(st.sampled_from([0, 1, 3, DEPTH, DEPTH + 1])),
        burst_depth=draw(st.sampled_from([0, 2, 4, DEPTH, 100])),
        bucket_capacity=draw(st.sampled_from([0, 1, 3])),
        refill_rate=draw(st.sampled_from([0, 1, 1 << 15, 1 << 16])),
        refill_denominator=0)
    # Patterns that are on at least once, so that every run ends.
    valid = draw(st.lists(st.booleans(), max_size=20)) + [True]
    ready = draw(st.lists(st.booleans(), max_size=20)) + [True]
    return lengths, config, valid, ready


@settings(max_examples=120, deadline=None)
@given(runs())
def test_whole_packets_conservation_and_trace(run):
    lengths, config, valid_pattern, ready_pattern = run
    packets = [[Beat(data=(number << 4) | index, first=int(index == 0),
                     last=int(index == length - 1)) for index in range(length)]
               for number, length in enumerate(lengths)]
    beats = [beat for packet in packets for beat in packet]
    model = PacketAdmission(8, DEPTH, queue=1)
    # The configuration is sampled into registers: give it a cycle before the first beat.
    model.step(i_stream__valid=0, i_stream__payload=0, o_stream__ready=0, **config)
    position, delivered, traces, decisions, cycle = 0, [], [], [], 0
    while position < len(beats) or model.level or model._trace is not None or cycle < 3:
        draining = position == len(beats)
        valid = int(not draining and valid_pattern[cycle % len(valid_pattern)])
        ready = int(draining or ready_pattern[cycle % len(ready_pattern)])
        ports = model.step(i_stream__valid=valid,
                           i_stream__payload=pack_beat(beats[position], 8) if valid else 0,
                           o_stream__ready=ready, **config)
        if valid and ports.i_stream__ready:
            position += 1
        if ready and ports.o_stream__valid:
            delivered.append(unpack_beat(ports.o_stream__payload, 8))
        if ports.trace__valid:
            traces.append(unpack_trace_event(ports.trace__payload))
        decisions.append(Decision(ports.decision))
        cycle += 1
        assert cycle < 40 * len(beats) + 50, "no progress"
    out = split_packets(delivered)
    # Whole packets, in order, unchanged.
    numbers = [packet[0].data >> 4 for packet in out]
    assert numbers == sorted(numbers)
    assert all(packet == packets[number] for packet, number in zip(out, numbers))
    dropped = model.dropped_burst_exhausted + model.dropped_hard_limit
    assert model.offered == len(packets) == model.delivered + dropped
    assert model.delivered == len(out) == model.accepted
    # One decision per packet; one trace event per drop, tagged with the packet's number.
    assert sum(decision != Decision.NONE for decision in decisions) == len(packets)
    assert len(traces) == dropped
    assert sorted(tag for _reason, _queue, tag in traces) == \
        sorted(set(range(len(packets))) - set(numbers))
    assert all(queue == 1 for _reason, queue, _tag in traces)
    tokens_taken = sum(decision == Decision.TOKEN for decision in decisions)
    assert tokens_taken <= len(out)
    if min(config["burst_depth"], DEPTH) == 0:
        assert not out
