"""The flow demux in the Amaranth simulator against its golden model, cycle by cycle (seeded
random frames, consumers and configuration changes; a transaction-level reference for runs with
a fixed configuration), directed scenarios (RSS by the published hashes, MRQC, RETA writes, flow
table, strict mode, full queues, RST requests, oversize frames), the decision rate, the flow table
on its own, and the parameter checks."""

import ipaddress
import random

import pytest
from amaranth import Module, Signal
from amaranth.sim import Simulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slique.bench.flow_demux import measure_beats_per_cycle, measure_decisions_per_cycle
from slique.hdl.flow_demux import (MRQC, NO_QUEUE, FlowDemux, TRACE_REASONS, DropReason,
                                   reta_init, saturating_count)
from slique.hdl.flow_table import FlowTable
from slique.sim import flow_demux as golden
from slique.sim.flow_table import FlowTable as GoldenFlowTable
from slique.sim.header_parser import FlowKey
from slique.sim.packet import beats_frame, frame_beats
from slique.sim.packets import (RSS_VERIFICATION_IPV4, RSS_VERIFICATION_IPV6, Flow, ethernet,
                                frame_strategy)
from slique.sim.toeplitz import MICROSOFT_KEY


def _lockstep(parameters, *, seed, replay, cycles, changes=True, **script):
    demux = dict(parameters)
    gateware, model = FlowDemux(**demux), golden.FlowDemux(**demux)
    traffic = golden.DemuxTraffic(seed, data_width=demux["data_width"], queues=demux["queues"],
                                  flow_entries=demux["flow_entries"],
                                  buffer_depth=model.buffer_depth, changes=changes, **script)
    hint = f"seed={seed}; replay with: {replay}"
    result = golden.demux_lockstep_in_amaranth(gateware, model, traffic, cycles=cycles,
                                               hint=hint)
    if not changes:
        golden.check_end_to_end(traffic, result, queues=demux["queues"],
                                flow_entries=demux["flow_entries"],
                                buffer_depth=model.buffer_depth, hint=hint)
    assert result.offered == sum(result.delivered) + sum(result.dropped.values())
    return traffic, result


CONFIGURATIONS = {
    "8-bit-3q": dict(data_width=8, queues=3, queue_depth=150, flow_entries=2, buffer_depth=200),
    "32-bit-4q": dict(data_width=32, queues=4, queue_depth=40, flow_entries=4, buffer_depth=48),
    "32-bit-1q-ring": dict(data_width=32, queues=1, queue_depth=24, flow_entries=1,
                           buffer_depth=30, storage="ring", rst_depth=1),
    "8-bit-2q-systolic": dict(data_width=8, queues=2, queue_depth=4, flow_entries=3,
                              buffer_depth=90, storage="systolic"),
    "64-bit-3q": dict(data_width=64, queues=3, queue_depth=24, flow_entries=3, buffer_depth=28),
}


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_matches_golden_model(name, seed, replay, cycles):
    """Random frames (every kind), consumers and run-time configuration changes."""
    _traffic, result = _lockstep(CONFIGURATIONS[name], seed=seed, replay=replay,
                                 cycles=cycles(1500))
    assert result.offered > 0


@pytest.mark.parametrize("name", ["8-bit-3q", "32-bit-4q", "64-bit-3q"])
def test_fixed_configuration_matches_the_reference(name, seed, replay, cycles):
    """Packet by packet: the queue the transaction-level reference steers to, bit for bit."""
    _traffic, result = _lockstep(CONFIGURATIONS[name], seed=seed, replay=replay,
                                 cycles=cycles(1500), changes=False)
    assert sum(result.delivered) > 0


class Churn(golden.DemuxTraffic):
    """Every setting changes every cycle and the tables are written every other cycle: the
    gateware and the model must sample each one in the same cycle."""

    def inputs(self):
        values = super().inputs()
        rng = self.rng
        values.update(key=rng.getrandbits(320), default_queue=rng.randrange(4),
                      mrqc=rng.choice([golden.MRQC_ALL, MRQC.RSS | (rng.getrandbits(8) << 16),
                                       0]),
                      strict=int(rng.random() < 0.3), reta_write=int(rng.random() < 0.5),
                      reta_index=rng.randrange(128), reta_value=rng.randrange(4))
        if rng.random() < 0.5:
            values.update(self._flow_write(rng.randrange(4)))
        return values


@pytest.mark.parametrize("data_width", [8, 32, 64])
def test_configuration_is_sampled_when_the_model_says(data_width, seed, replay):
    parameters = dict(data_width=data_width, queues=4, queue_depth=64, flow_entries=3,
                      buffer_depth=128 // (data_width // 8))
    gateware, model = FlowDemux(**parameters), golden.FlowDemux(**parameters)
    traffic = Churn(seed, data_width=data_width, queues=4, flow_entries=3,
                    buffer_depth=model.buffer_depth)
    result = golden.demux_lockstep_in_amaranth(gateware, model, traffic, cycles=800,
                                               hint=f"seed={seed}; replay with: {replay}")
    assert sum(result.delivered) > 0


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes=st.lists(frame_strategy(max_payload=40), min_size=1, max_size=10),
       data_width=st.sampled_from([8, 32, 64]), mrqc=st.sampled_from([golden.MRQC_ALL, 0]),
       strict=st.booleans(), ready=st.sampled_from([0, 1]))
def test_hypothesis_frames_through_the_demux(recipes, data_width, mrqc, strict, ready):
    """Hypothesis-drawn frames of every kind, back to back, consumers always or never ready:
    lockstep with the model and packet by packet with the reference."""
    parameters = dict(data_width=data_width, queues=3, queue_depth=200 // (data_width // 8),
                      flow_entries=2, buffer_depth=160 // (data_width // 8))
    _scripted([recipe.build() for recipe in recipes], parameters=parameters, ready=ready,
              settings=dict(mrqc=mrqc, strict=int(strict)),
              writes=[_table_write(0, recipes[0].flow, 2)])


# Directed scenarios.

VECTOR_FLOWS = [Flow(version, "tcp", ipaddress.ip_address(source).packed,
                     ipaddress.ip_address(destination).packed, src_port, dst_port)
                for version, table in ((4, RSS_VERIFICATION_IPV4), (6, RSS_VERIFICATION_IPV6))
                for destination, dst_port, source, src_port, _only, _ports in table]
VECTOR_HASHES = [(only, ports) for table in (RSS_VERIFICATION_IPV4, RSS_VERIFICATION_IPV6)
                 for _d, _dp, _s, _sp, only, ports in table]

SMALL = dict(data_width=32, queues=4, queue_depth=64, flow_entries=2, buffer_depth=64)


def _scripted(packets, *, settings, writes=(), ready=1, parameters=SMALL, seed=1,
              replay="directed"):
    """Run ``packets`` (frames or beat lists) through gateware and model in lockstep."""
    width = parameters["data_width"]
    beats = [frame_beats(packet, width) if isinstance(packet, bytes) else packet
             for packet in packets]
    settings = dict(dict(key=int.from_bytes(MICROSOFT_KEY, "big"), mrqc=golden.MRQC_ALL,
                         default_queue=0, strict=0), **settings)
    cycles = sum(len(packet) for packet in beats) + 40
    traffic, result = _lockstep(parameters, seed=seed, replay=replay, cycles=cycles,
                                changes=False, packets=beats, settings=settings,
                                writes=list(writes), ready=ready)
    assert traffic.script_done
    return traffic, result


def _delivered_frames(traffic, queue, width):
    return [beats_frame(beats, width) for beats in golden.split_packets(traffic.outputs[queue])]


@pytest.mark.parametrize("mrqc, column", [
    (golden.MRQC_ALL, "ports"),                                  # TCP hash
    (MRQC.RSS | (1 << MRQC.IPV4) | (1 << MRQC.IPV6), "only"),    # address hash only
])
def test_rss_steers_by_the_published_hashes(mrqc, column):
    """Each verification flow lands in RETA[hash & 127] (RETA after reset: entry % queues),
    the hash being the published one of the enabled type."""
    frames = [flow.frame(b"x") for flow in VECTOR_FLOWS]
    traffic, result = _scripted(frames, settings=dict(mrqc=mrqc))
    queues = SMALL["queues"]
    for flow, frame, (only, ports) in zip(VECTOR_FLOWS, frames, VECTOR_HASHES):
        wanted = reta_init(queues)[(ports if column == "ports" else only) & 0x7F]
        assert frame in _delivered_frames(traffic, wanted, SMALL["data_width"])
    assert sum(result.delivered) == len(frames)


def test_whole_last_beats_at_64_bits_steer_by_the_published_hashes():
    """Issue 4: frames of a multiple of 8 bytes (a full last beat, ``keep`` all ones) were
    MALFORMED at 64 bits, and the ports were missed (other queues than RSS's). Each verification
    flow at 56 / 192 bytes (IPv4) or 80 / 176 (IPv6), tagged or not, lands in RETA[hash]."""
    parameters = dict(SMALL, data_width=64, queue_depth=120, buffer_depth=32)
    frames, wanted = [], []
    for flow, (_only, ports) in zip(VECTOR_FLOWS, VECTOR_HASHES):
        lengths = (56, 192) if flow.version == 4 else (80, 176)
        for length, vlan in zip(lengths, (None, 7)):
            header = len(flow.frame(b"", vlan=vlan))
            frames.append(flow.frame(bytes(length - header), vlan=vlan))
            wanted.append(reta_init(4)[ports & 0x7F])
    assert {len(frame) % 8 for frame in frames} == {0}
    traffic, result = _scripted(frames, settings={}, parameters=parameters)
    assert result.dropped == {reason: 0 for reason in result.dropped}
    for frame, queue in zip(frames, wanted):
        assert frame in _delivered_frames(traffic, queue, 64)


@pytest.mark.parametrize("mrqc", [0, MRQC.RSS, 0b011 | (0xFF << 16)])
def test_no_rss_goes_to_the_default_queue(mrqc):
    """RSS disabled (or another MRQE mode), or no hash type enabled: the default queue."""
    frames = [flow.frame(b"x") for flow in VECTOR_FLOWS]
    traffic, result = _scripted(frames, settings=dict(mrqc=mrqc, default_queue=2))
    assert result.delivered == [0, 0, len(frames), 0]


def test_not_ip_goes_to_the_default_queue_also_in_strict_mode():
    frames = [ethernet(0x88A8, bytes(40)), ethernet(0x0806, bytes(28), vlan=5)]
    traffic, result = _scripted(frames, settings=dict(default_queue=3, strict=1))
    assert result.delivered == [0, 0, 0, 2]


def test_reta_writes_steer_from_the_next_packet():
    flow = VECTOR_FLOWS[0]
    entry = VECTOR_HASHES[0][1] & 0x7F
    first = flow.frame(b"before")
    frames = [first, flow.frame(b"after")]
    beats = [frame_beats(frame, 32) for frame in frames]
    wanted = (reta_init(4)[entry] + 1) % 4

    class Rewrite(golden.DemuxTraffic):
        """Rewrite the flow's RETA entry once the first packet is coming out of its queue (the
        second one is still on its way in)."""
        written = False

        def inputs(self):
            values = super().inputs()
            if any(self.outputs) and not self.written:
                values.update(reta_write=1, reta_index=entry, reta_value=wanted)
                self.written = True
            return values

    demux = dict(SMALL)
    gateware, model = FlowDemux(**demux), golden.FlowDemux(**demux)
    traffic = Rewrite(1, data_width=32, queues=4, flow_entries=2, buffer_depth=64,
                      changes=False, packets=beats, writes=[], ready=1,
                      settings=dict(key=int.from_bytes(MICROSOFT_KEY, "big"),
                                    mrqc=golden.MRQC_ALL, default_queue=0, strict=0))
    golden.demux_lockstep_in_amaranth(gateware, model, traffic, cycles=80, hint="directed")
    assert _delivered_frames(traffic, reta_init(4)[entry], 32) == [first]
    assert _delivered_frames(traffic, wanted, 32) == [frames[1]]


def _table_write(index, flow, queue, valid=1):
    return dict(flow_write=1, flow_index=index, flow_key=flow.key().pack(), flow_queue=queue,
                flow_valid=valid)


def test_flow_table_overrides_rss_and_strict_mode_drops_unknown_flows():
    known, unknown = VECTOR_FLOWS[1], VECTOR_FLOWS[2]
    rss_queue = reta_init(4)[VECTOR_HASHES[2][1] & 0x7F]
    frames = [known.frame(b"a"), unknown.frame(b"b"), known.frame(b"c", vlan=7)]
    traffic, result = _scripted(frames, settings=dict(strict=1),
                                writes=[_table_write(1, known, 3),
                                        _table_write(0, unknown, 2, valid=0)])
    assert _delivered_frames(traffic, 3, 32) == [frames[0], frames[2]]
    assert result.dropped["UNKNOWN_FLOW"] == 1
    assert traffic.traces == [dict(reason=TRACE_REASONS[DropReason.UNKNOWN_FLOW].value,
                                   queue=rss_queue, tag=1)]
    assert traffic.rst_requests == [unknown.key()]


def test_full_queues_drop_whole_packets_and_request_rsts():
    """Consumers never ready: the first packets fill the queue, the rest are QUEUE_FULL (each
    with a trace event and an RST request; the RST slique keeps one, the others are lost)."""
    parameters = dict(SMALL, queue_depth=12, rst_depth=1)
    flow = VECTOR_FLOWS[0]
    frames = [flow.frame(bytes(6)) for _ in range(5)]       # 15 beats each
    traffic, result = _scripted(frames, settings=dict(mrqc=0, default_queue=1), ready=0,
                                parameters=parameters)
    assert result.delivered == [0, 0, 0, 0]
    assert result.queue_full == [0, 5, 0, 0]
    assert [event["tag"] for event in traffic.traces] == [0, 1, 2, 3, 4]
    assert {event["queue"] for event in traffic.traces} == {1}
    assert result.rst_lost + len(traffic.rst_requests) == 5

    frames = [flow.frame(bytes(2)) for _ in range(5)]       # 14 beats: fits once
    fits = dict(parameters, queue_depth=28)
    traffic, result = _scripted(frames, settings=dict(mrqc=0, default_queue=1), ready=0,
                                parameters=fits)
    assert result.delivered == [0, 2, 0, 0] and result.queue_full == [0, 3, 0, 0]


def test_frames_longer_than_the_buffer_are_dropped_whole():
    parameters = dict(SMALL, buffer_depth=20)
    flow = VECTOR_FLOWS[0]
    exact = flow.frame(bytes(80 - 54))       # 80 bytes: exactly 20 beats
    frames = [exact, flow.frame(bytes(81 - 54)), flow.frame(bytes(200)), exact]
    traffic, result = _scripted(frames, settings=dict(mrqc=0), parameters=parameters)
    assert len(exact) == 80
    assert _delivered_frames(traffic, 0, 32) == [exact, exact]
    assert result.dropped["OVERSIZE"] == 2
    assert [(event["tag"], event["queue"]) for event in traffic.traces] == \
        [(1, NO_QUEUE), (2, NO_QUEUE)]


@pytest.mark.parametrize("data_width", [8, 32, 64])
def test_one_decision_per_cycle(data_width):
    """Runts back to back: a decision (a trace event) every cycle; minimum frames: a beat every
    cycle."""
    dut = FlowDemux(data_width, 4, 64, 4, buffer_depth=256 // (data_width // 8))
    assert measure_decisions_per_cycle(dut) == 1.0
    dut = FlowDemux(data_width, 4, 64, 4, buffer_depth=256 // (data_width // 8))
    assert measure_beats_per_cycle(dut) == 1.0


# The flow table alone.

@pytest.mark.parametrize("entries", [1, 3, 4])
def test_flow_table_matches_golden_model(entries, seed, replay):
    rng = random.Random(seed)
    flows = [Flow(rng.choice([4, 6]), rng.choice(["tcp", "udp", 1]), rng.randbytes(16)[:4],
                  rng.randbytes(16)[:4], rng.randrange(9), rng.randrange(9)) for _ in range(6)]
    keys = [flow.key() for flow in flows] + [FlowKey()]
    dut, model = FlowTable(entries, 5), GoldenFlowTable(entries, 5)
    hits = []

    async def testbench(ctx):
        for cycle in range(400):
            key = rng.choice(keys)
            write = dict(w_en=int(rng.random() < 0.2), w_index=rng.randrange(4),
                         w_key=rng.choice(keys), w_queue=rng.randrange(8),
                         w_valid=int(rng.random() < 0.8))
            ctx.set(dut.key.as_value(), key.pack())
            for name, value in write.items():
                ctx.set(getattr(dut, name).as_value() if name == "w_key"
                        else getattr(dut, name), value.pack() if name == "w_key" else value)
            expected = model.step(key=key, **write)
            observed = (ctx.get(dut.hit), ctx.get(dut.index), ctx.get(dut.queue))
            assert observed == tuple(expected), f"cycle {cycle}; replay with: {replay}"
            hits.append(expected.hit)
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    assert any(hits)


def test_counters_saturate():
    m = Module()
    counter, event = Signal(3), Signal()
    saturating_count(m, counter, event)
    values = []

    async def testbench(ctx):
        ctx.set(event, 1)
        for _ in range(12):
            await ctx.tick()
            values.append(ctx.get(counter))

    simulator = Simulator(m)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    assert values == [1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7]


# Parameters.

@pytest.mark.parametrize("arguments, keywords, error, message", [
    ((16, 4, 8, 2), {}, ValueError, "data_width must be one of"),
    ((8, 0, 8, 2), {}, ValueError, "queues must be at least 1"),
    ((8, 255, 8, 2), {}, ValueError, "at most 254"),
    ((8, 4, 0, 2), {}, ValueError, "ZeroSlique"),
    ((8, 4, 8, 0), {}, ValueError, "flow_entries"),
    ((8, 4, 8, 2), dict(buffer_depth=0), ValueError, "buffer_depth"),
    ((8, 4, 8, 2), dict(rst_depth=1.5), TypeError, "rst_depth"),
    ((8, 4, 8, 2), dict(storage="bram"), ValueError, "storage must be one of"),
])
def test_bad_parameters_raise_with_what_is_allowed(arguments, keywords, error, message):
    with pytest.raises(error, match=message):
        FlowDemux(*arguments, **keywords)
    with pytest.raises(error, match=message):
        golden.FlowDemux(*arguments, **keywords)

