# amaranth: UnusedElaboratable=no
"""The flow pipeline and its packet admission in the Amaranth simulator against their golden
models, cycle by cycle: seeded random frames of every kind, random consumers, random demux and
admission configuration changes; whole packets only; conservation in every block."""

import random

import pytest
from amaranth.sim import Simulator

from slique.hdl.burst_admission import Decision
from slique.hdl.flow_pipeline import FlowPipeline
from slique.hdl.packet_admission import PacketAdmission
from slique.sim import flow_pipeline as golden
from slique.sim.burst_admission import CONFIG_PORTS, ConfigSchedule
from slique.sim.lockstep import AmaranthPorts, Mismatch
from slique.sim.packet import Beat, beats_frame, pack_beat, split_packets, unpack_beat
from slique.sim.packet_admission import PacketAdmission as GoldenPacketAdmission


PIPELINES = {
    "32-bit-2q": dict(data_width=32, queues=2, queue_depth=16, demux_depth=24, flow_entries=2,
                      buffer_depth=32),
    "8-bit-3q-systolic": dict(data_width=8, queues=3, queue_depth=12, demux_depth=120,
                              flow_entries=1, buffer_depth=120, trace_depth=2,
                              storage="systolic"),
    "8-bit-2q-handover": dict(data_width=8, queues=2, queue_depth=12, demux_depth=40,
                              flow_entries=1, buffer_depth=64, handover=True),
}


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_pipeline_matches_golden_model(name, seed, replay, cycles):
    """Every output every cycle; every block conserves packets every cycle and once drained."""
    run = golden.bench_parameters(pipeline=PIPELINES[name], seed=seed, cycles=cycles(1000),
                                  record=True, replay=replay)
    result = golden.pipeline_lockstep_in_amaranth(run)
    summary = result.summary(PIPELINES[name]["queues"])
    for block in [*summary["blocks"].values(), *summary["queues"]]:
        assert block["offered"] == block["delivered"] + sum(block["dropped"].values())
    assert summary["blocks"]["demux"]["offered"] > 0
    assert summary["trace"]["records"] + summary["trace"]["lost"] == \
        summary["blocks"]["trace"]["offered"]
    assert len(result.series["levels0"]) == result.cycles
    # Whole packets only: each queue delivers input frames, unchanged and in input order.
    offered = [beats_frame(beats, run["pipeline"]["data_width"])
               for beats in split_packets(result.traffic.inputs_log)]
    for queue in range(PIPELINES[name]["queues"]):
        remaining = iter(offered)
        delivered = [bytes.fromhex(frame) for frame in result.frames[queue]]
        assert all(any(frame == candidate for candidate in remaining) for frame in delivered), \
            f"queue {queue} delivered a frame that was not offered (or out of order); {replay}"


def test_golden_run_alone_agrees_with_the_lockstep(seed, replay):
    """The golden backend (model alone) reports what the lockstep against the gateware does."""
    run = golden.bench_parameters(pipeline=PIPELINES["32-bit-2q"], seed=seed, cycles=600,
                                  replay=replay)
    alone = golden.golden_run(run)
    assert alone.counters == golden.pipeline_lockstep_in_amaranth(run).counters
    assert alone.summary(2)["blocks"]["demux"]["offered"] > 0


# PacketAdmission on its own.

def _packets(rng, count, data_width):
    packets = []
    for _ in range(count):
        length = rng.choice([1, 1, 2, 3, 5, 9, 17])
        packets.append([Beat(data=rng.getrandbits(data_width), first=int(index == 0),
                             last=int(index == length - 1),
                             keep=0xF if data_width == 32 else 0)
                        for index in range(length)])
    return packets


def _admission_lockstep(seed, *, depth, data_width=32, count=120, model=None, storage="auto",
                        register_stage=True):
    """Random packets with gaps, a random consumer and random configuration into the gateware and
    the model; returns (offered packets, delivered beats, final counters)."""
    rng = random.Random(seed)
    dut = PacketAdmission(data_width, depth, storage=storage, queue=3,
                          register_stage=register_stage)
    model = model or GoldenPacketAdmission(data_width, depth, storage=storage, queue=3,
                                           register_stage=register_stage)
    packets = _packets(rng, count, data_width)
    beats = [beat for packet in packets for beat in packet]
    schedule = ConfigSchedule.random(seed, depth=depth, cycles=len(beats) * 2, changes=10)
    delivered, final = [], {}

    async def testbench(ctx):
        ports = AmaranthPorts(ctx, dut)
        position, cycle = 0, 0
        while position < len(beats) or model.level or model.held:
            valid = int(position < len(beats) and rng.random() < 0.8)
            ready = int(rng.random() < 0.6 or position == len(beats))
            inputs = dict(i_stream__valid=valid,
                          i_stream__payload=pack_beat(beats[position], data_width) if valid else 0,
                          o_stream__ready=ready, **schedule.at(cycle))
            ports.drive(**inputs)
            expected = model.step(**inputs).present()
            for name, value in expected.items():
                assert ports.sample(name) == value, f"cycle {cycle}: {name}; seed={seed}"
            assert expected["offered"] == expected["delivered"] + \
                expected["dropped_burst_exhausted"] + expected["dropped_hard_limit"] + \
                (expected["accepted"] - expected["delivered"])
            if valid and expected["i_stream__ready"]:
                position += 1
            if ready and expected["o_stream__valid"]:
                delivered.append(unpack_beat(expected["o_stream__payload"], data_width))
            await ctx.tick()
            cycle += 1
            assert cycle < 20 * len(beats), f"no drain; seed={seed}"
        for name in ("offered", "accepted", "delivered", "dropped_burst_exhausted",
                     "dropped_hard_limit"):
            final[name] = ctx.get(getattr(dut, name))

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return packets, delivered, final


@pytest.mark.parametrize("depth, storage, register_stage", [
    (4, "systolic", True), (24, "ring", True), (4, "systolic", False), (24, "ring", False)])
def test_packet_admission_keeps_or_drops_whole_packets(depth, storage, register_stage, seed,
                                                       replay):
    packets, delivered, final = _admission_lockstep(seed, depth=depth, storage=storage,
                                                    register_stage=register_stage)
    hint = f"seed={seed}; replay with: {replay}"
    out = split_packets(delivered)
    assert len(out) == final["delivered"] == final["accepted"], hint
    assert final["offered"] == len(packets), hint
    assert final["offered"] == final["delivered"] + final["dropped_burst_exhausted"] + \
        final["dropped_hard_limit"], hint
    # Every delivered packet is an offered one, whole and in order.
    remaining = iter(packets)
    assert all(any(packet == candidate for candidate in remaining) for packet in out), hint
    assert 0 < final["delivered"] < len(packets), hint


def test_a_wrong_packet_admission_model_is_caught(seed):
    class CutsPackets(GoldenPacketAdmission):
        def _written(self, valid, accept, room):
            return accept if self.start else valid and self.keeping and room and self.rng_cut()

        def rng_cut(self):
            self.cuts = getattr(self, "cuts", 0) + 1
            return self.cuts % 3 != 0

    with pytest.raises(AssertionError):
        _admission_lockstep(seed, depth=8, model=CutsPackets(32, 8, queue=3))


def test_one_decision_per_packet_and_none_mid_packet():
    """A decision only at first beats: a 3-beat packet gives one decision and two NONE."""
    dut = PacketAdmission(8, 8)
    decisions = []

    async def testbench(ctx):
        for index in range(6):
            ctx.set(dut.i_stream.valid, 1)
            ctx.set(dut.i_stream.payload.as_value(), pack_beat(Beat(data=index, first=int(index % 3 == 0),
                                                         last=int(index % 3 == 2)), 8))
            ctx.set(dut.o_stream.ready, 1)
            await ctx.tick()
            decisions.append(Decision(ctx.get(dut.decision)))
        ctx.set(dut.i_stream.valid, 0)
        await ctx.tick()
        assert ctx.get(dut.offered) == 2 and ctx.get(dut.accepted) == 2

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    assert decisions == [Decision.STEADY, Decision.NONE, Decision.NONE] * 2


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="data_width"):
        FlowPipeline(16, 2, queue_depth=8, demux_depth=8, flow_entries=1)
    with pytest.raises(ValueError):
        FlowPipeline(32, 0, queue_depth=8, demux_depth=8, flow_entries=1)
    with pytest.raises(ValueError):
        golden.FlowPipeline(32, 2, queue_depth=0, demux_depth=8, flow_entries=1)
