# amaranth: UnusedElaboratable=no
"""MacRx in the Amaranth simulator: scapy-built bursts of every kind against the golden model,
frame by frame and counter by counter, with conservation; overflow and counter saturation."""

import random

import pytest
from amaranth.sim import Simulator

from slique.hdl.mac import MacRx, RxOutcome
from slique.sim import mac as golden
from slique.sim.mac.traffic import BURST_KINDS, random_bursts


def run_rx(bursts, *, rng, gaps=(1, 12), ready=lambda cycle: True, tail=4200, **parameters):
    """Drive ``bursts`` into a MacRx; returns (frames delivered, outcomes, counters)."""
    dut = MacRx(**parameters)
    simulator = Simulator(dut)
    simulator.add_clock(8e-9)
    frames, outcomes, counters = [], [], {}

    async def drive(ctx):
        for burst in bursts:
            errors = set(burst.errors)
            for index, byte in enumerate(burst.wire):
                ctx.set(dut.gmii, {"data": byte, "dv": 1, "er": int(index in errors)})
                await ctx.tick()
            ctx.set(dut.gmii, {"data": 0, "dv": 0, "er": 0})
            await ctx.tick().repeat(rng.randint(*gaps))
        await ctx.tick().repeat(tail)
        counters.update({outcome: ctx.get(getattr(dut.counters, outcome.name.lower()))
                         for outcome in RxOutcome})

    async def sink(ctx):
        frame, cycle = bytearray(), 0
        async for _clk, _rst, valid, ready_, payload, outcome_valid, outcome in \
                ctx.tick().sample(dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload,
                                  dut.outcome.valid, dut.outcome.payload):
            cycle += 1
            if outcome_valid:
                outcomes.append(RxOutcome(outcome))
            if valid and ready_:
                assert payload.first == (len(frame) == 0)
                frame.append(payload.data)
                if payload.last:
                    frames.append(bytes(frame))
                    frame.clear()
            ctx.set(dut.o_stream.ready, ready(cycle))

    simulator.add_testbench(drive)
    simulator.add_process(sink)
    simulator.run()
    return frames, outcomes, counters


def test_bursts_of_every_kind_match_the_golden_model(seed, replay, cycles):
    rng = random.Random(seed)
    bursts = random_bursts(rng, cycles(40), max_payload=120)
    bursts += [random_bursts(rng, 1, kinds=[kind], max_payload=120)[0] for kind in BURST_KINDS]
    model = golden.MacRx()
    expected = [model.receive(burst.wire, burst.errors) for burst in bursts]
    frames, outcomes, counters = run_rx(bursts, rng=rng)
    assert outcomes == [outcome for outcome, _ in expected], replay
    assert frames == [frame for _, frame in expected if frame is not None], replay
    assert counters == {outcome: model.counters[outcome] for outcome in RxOutcome}, replay
    # conservation: every burst offered is delivered or dropped for one counted reason
    assert len(bursts) == len(frames) + sum(count for outcome, count in counters.items()
                                            if outcome != RxOutcome.GOOD), replay
    assert {outcome for outcome in outcomes} >= set(RxOutcome) - {RxOutcome.OVERFLOW}, replay


def test_slow_consumer_overflow_is_counted_and_frames_stay_whole(seed, replay):
    rng = random.Random(seed)
    bursts = random_bursts(rng, 12, kinds=["good"], max_payload=200)
    model = golden.MacRx()
    verdicts = [model.receive(burst.wire) for burst in bursts]
    expected = [frame for _, frame in verdicts]
    # a 256-byte buffer and a consumer that wakes up late: some frames find no room
    frames, outcomes, counters = run_rx(bursts, rng=rng, gaps=(1, 3), buffer_depth=256,
                                        max_length=256, ready=lambda cycle: cycle > 900,
                                        tail=3000)
    assert counters[RxOutcome.OVERFLOW] > 0, replay
    for (verdict, _), outcome in zip(verdicts, outcomes, strict=True):
        assert outcome == verdict or (verdict, outcome) == (RxOutcome.GOOD, RxOutcome.OVERFLOW)
    assert len(bursts) == len(frames) + sum(count for outcome, count in counters.items()
                                            if outcome != RxOutcome.GOOD), (counters, replay)
    # the frames that got through are whole, in order, and the counter matches them
    assert counters[RxOutcome.GOOD] == len(frames)
    position = 0
    for frame in frames:
        position = expected.index(frame, position) + 1


def test_counters_saturate_and_clear():
    rng = random.Random(7)
    bursts = random_bursts(rng, 5, kinds=["runt"])
    _, outcomes, counters = run_rx(bursts, rng=rng, counter_width=2, tail=10)
    assert outcomes == [RxOutcome.RUNT] * 5
    assert counters[RxOutcome.RUNT] == 3 and counters[RxOutcome.GOOD] == 0


@pytest.mark.parametrize("max_length, buffer_depth", [(63, 4096), (2048, 1024), (1522, 3000)])
def test_bad_parameters_are_refused(max_length, buffer_depth):
    with pytest.raises(ValueError, match="must be"):
        MacRx(max_length=max_length, buffer_depth=buffer_depth)
