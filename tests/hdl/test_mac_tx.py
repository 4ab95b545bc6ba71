# amaranth: UnusedElaboratable=no
"""MacTx in the Amaranth simulator: scapy-built frames (short ones padded) against the golden
model byte for byte, the inter-frame gap, underruns, and conservation."""

import random

from amaranth.sim import Simulator

from slique.hdl.mac import MacTx, TxOutcome
from slique.hdl.mac.gmii import INTER_FRAME_GAP
from slique.sim import mac as golden
from slique.sim.mac.traffic import scapy_frame


def run_tx(frames, *, stall=None, tail=200):
    """Send ``frames`` through a MacTx (``stall``: frame index -> byte index after which the
    source stops for 3 clocks). Returns (bursts: list of (bytes, error indices), gaps,
    counters, outcomes)."""
    dut = MacTx()
    simulator = Simulator(dut)
    simulator.add_clock(8e-9)
    stall = stall or {}
    bursts, gaps, outcomes, counters = [], [], [], {}

    async def source(ctx):
        for number, frame in enumerate(frames):
            for index, byte in enumerate(frame):
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(dut.i_stream.payload, {"data": byte, "first": index == 0,
                                               "last": index == len(frame) - 1})
                await ctx.tick().until(dut.i_stream.ready)
                if stall.get(number) == index:
                    ctx.set(dut.i_stream.valid, 0)
                    await ctx.tick().repeat(3)
            ctx.set(dut.i_stream.valid, 0)
        await ctx.tick().repeat(tail)
        counters.update({outcome: ctx.get(getattr(dut.counters, outcome.name.lower()))
                         for outcome in TxOutcome})

    async def wire(ctx):
        burst, errors, idle = bytearray(), [], None
        async for _clk, _rst, beat, outcome_valid, outcome in ctx.tick().sample(
                dut.gmii, dut.outcome.valid, dut.outcome.payload):
            if outcome_valid:
                outcomes.append(TxOutcome(outcome))
            if beat.en:
                if burst == b"" and idle is not None:
                    gaps.append(idle)
                if beat.er:
                    errors.append(len(burst))
                burst.append(beat.data)
                idle = None
            else:
                if burst:
                    bursts.append((bytes(burst), errors))
                    burst, errors, idle = bytearray(), [], 0
                if idle is not None:
                    idle += 1

    simulator.add_testbench(source)
    simulator.add_process(wire)
    simulator.run()
    return bursts, gaps, counters, outcomes


def test_frames_match_the_golden_model_with_padding_and_gap(seed, replay, cycles):
    rng = random.Random(seed)
    frames = [scapy_frame(rng, rng.randrange(0, 100)) for _ in range(cycles(12))]
    frames += [bytes([0x5A]), bytes(59), bytes(60), bytes(range(61))]
    model = golden.MacTx()
    bursts, gaps, counters, outcomes = run_tx(frames)
    assert [wire for wire, _ in bursts] == [model.transmit(frame) for frame in frames], replay
    assert all(errors == [] for _, errors in bursts)
    # back to back frames (the source never waits) leave exactly the minimum gap
    assert gaps == [INTER_FRAME_GAP] * (len(frames) - 1), replay
    assert outcomes == [TxOutcome.SENT] * len(frames)
    assert counters == {TxOutcome.SENT: len(frames), TxOutcome.UNDERRUN: 0}
    # the receive model accepts every transmitted frame, padded to 60 bytes
    receiver = golden.MacRx()
    for (wire, _), frame in zip(bursts, frames, strict=True):
        outcome, received = receiver.receive(wire)
        assert received[:len(frame)] == frame and len(received) == max(60, len(frame))


def test_underrun_cuts_the_frame_with_an_error_byte(seed, replay):
    rng = random.Random(seed)
    frames = [scapy_frame(rng, 40) for _ in range(4)]
    model = golden.MacTx()
    bursts, _, counters, outcomes = run_tx(frames, stall={1: 20, 3: 5})
    expected_head, error_at = model.underrun(frames[1], 21)
    assert bursts[1] == (expected_head + bytes([bursts[1][0][error_at]]), [error_at]), replay
    assert bursts[0][0] == model.transmit(frames[0]) and bursts[2][0] == model.transmit(frames[2])
    assert outcomes == [TxOutcome.SENT, TxOutcome.UNDERRUN, TxOutcome.SENT, TxOutcome.UNDERRUN]
    # conservation: frames offered == sent + underruns
    assert counters[TxOutcome.SENT] + counters[TxOutcome.UNDERRUN] == len(frames)
    assert len(bursts) == len(frames)
