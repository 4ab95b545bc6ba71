# amaranth: UnusedElaboratable=no
"""MacTx -> RgmiiTx -> pins -> RgmiiRx -> MacRx in the Amaranth simulator, with the simulation
(SDR) model of the DDR pins: the receive side is clocked a quarter period after the transmit
side, the skew the PHY's RGMII delay gives on the board. Every frame comes back padded; the
counters of both ends add up. Also PhyReset against its golden model."""

import random

from amaranth import ClockDomain, DomainRenamer, Module
from amaranth.sim import Simulator

from slique.hdl.mac import MacRx, MacTx, PhyReset, RgmiiRx, RgmiiTx, RxOutcome, TxOutcome
from slique.sim import mac as golden
from slique.sim.mac.traffic import scapy_frame

PERIOD = 8e-9


def test_frames_cross_the_rgmii_pins(seed, replay, cycles):
    rng = random.Random(seed)
    frames = [scapy_frame(rng, rng.randrange(0, 300)) for _ in range(cycles(10))]
    m = Module()
    m.domains.rx = ClockDomain()
    m.submodules.mac_tx = mac_tx = MacTx()
    m.submodules.rgmii_tx = rgmii_tx = RgmiiTx()
    m.submodules.rgmii_rx = rgmii_rx = DomainRenamer("rx")(RgmiiRx())
    m.submodules.mac_rx = mac_rx = DomainRenamer("rx")(MacRx())
    m.d.comb += [rgmii_tx.gmii.eq(mac_tx.gmii), rgmii_rx.rx_ctl.eq(rgmii_tx.tx_ctl),
                 rgmii_rx.rx_data.eq(rgmii_tx.tx_data), mac_rx.gmii.eq(rgmii_rx.gmii),
                 mac_rx.o_stream.ready.eq(1)]
    simulator = Simulator(m)
    simulator.add_clock(PERIOD)
    # add_clock puts the first rising edge at half a period by default
    simulator.add_clock(PERIOD, domain="rx", phase=PERIOD / 2 + PERIOD / 4)
    received, counters = [], []

    async def source(ctx):
        for frame in frames:
            for index, byte in enumerate(frame):
                ctx.set(mac_tx.i_stream.valid, 1)
                ctx.set(mac_tx.i_stream.payload, {"data": byte, "first": index == 0,
                                                  "last": index == len(frame) - 1})
                await ctx.tick().until(mac_tx.i_stream.ready)
            ctx.set(mac_tx.i_stream.valid, 0)
        await ctx.tick().repeat(600)    # the last frame leaves the store-and-forward buffer
        counters.append({outcome: ctx.get(getattr(mac_rx.counters, outcome.name.lower()))
                         for outcome in RxOutcome})
        counters.append({outcome: ctx.get(getattr(mac_tx.counters, outcome.name.lower()))
                         for outcome in TxOutcome})

    async def sink(ctx):
        frame = bytearray()
        async for _clk, _rst, valid, payload in ctx.tick("rx").sample(
                mac_rx.o_stream.valid, mac_rx.o_stream.payload):
            if valid:
                frame.append(payload.data)
                if payload.last:
                    received.append(bytes(frame))
                    frame.clear()

    simulator.add_testbench(source)
    simulator.add_process(sink)
    simulator.run()
    (rx_counters, tx_counters), delivered = counters, received
    padded = [golden.MacTx.padded(frame)[:-4] for frame in frames]
    assert delivered == padded, replay
    assert tx_counters == {TxOutcome.SENT: len(frames), TxOutcome.UNDERRUN: 0}
    assert rx_counters[RxOutcome.GOOD] == len(frames) and sum(rx_counters.values()) == len(frames)


def test_phy_reset_follows_its_golden_model(seed, replay):
    rng = random.Random(seed)
    dut = PhyReset(reset_cycles=7, settle_cycles=5)
    model = golden.PhyReset(reset_cycles=7, settle_cycles=5)
    requests = [rng.random() < 0.04 for _ in range(200)]
    simulator = Simulator(dut)
    simulator.add_clock(PERIOD)
    seen = []

    async def bench(ctx):
        for request in requests:
            ctx.set(dut.request, request)
            seen.append((ctx.get(dut.phy_reset), ctx.get(dut.ready), model.step(request)))
            await ctx.tick()

    simulator.add_testbench(bench)
    simulator.run()
    for cycle, (phy_reset, ready, (want_reset, want_ready)) in enumerate(seen):
        assert (phy_reset, ready) == (want_reset, want_ready), (cycle, replay)
    assert any(ready for _, ready, _ in seen) and seen[0][:2] == (1, 0)


def test_frame_buffer_lets_whole_frames_out_without_gaps(seed, replay):
    from slique.hdl.mac import FrameBuffer

    rng = random.Random(seed)
    frames = [rng.randbytes(rng.randrange(1, 200)) for _ in range(8)]
    dut = FrameBuffer(depth=256)
    simulator = Simulator(dut)
    simulator.add_clock(PERIOD)
    received, gaps = [], []

    async def source(ctx):
        for frame in frames:
            for index, byte in enumerate(frame):
                ctx.set(dut.i_stream.valid, 0)
                for _ in range(rng.randrange(3)):   # a source with holes
                    await ctx.tick()
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(dut.i_stream.payload, {"data": byte, "first": index == 0,
                                               "last": index == len(frame) - 1})
                await ctx.tick().until(dut.i_stream.ready)
            ctx.set(dut.i_stream.valid, 0)
        await ctx.tick().repeat(300)

    async def sink(ctx):
        frame = None
        async for _clk, _rst, valid, payload in ctx.tick().sample(dut.o_stream.valid,
                                                                  dut.o_stream.payload):
            ctx.set(dut.o_stream.ready, 1)
            if frame is not None and not valid:
                gaps.append(len(received))
            if valid:
                if payload.first:
                    assert frame is None
                    frame = bytearray()
                frame.append(payload.data)
                if payload.last:
                    received.append(bytes(frame))
                    frame = None

    simulator.add_testbench(source)
    simulator.add_process(sink)
    simulator.run()
    assert received == frames, replay
    assert gaps == [], replay


def test_frame_buffer_discards_and_waits_when_full(seed, replay):
    """Frames written with holes, some forgotten with ``discard`` before their end, through a
    buffer too small for all of them and a consumer that stalls: the frames that were ended by
    ``last`` come out whole and in order, the others never; ``room`` holds the source back."""
    from slique.hdl.mac import FrameBuffer

    rng = random.Random(seed)
    frames = [(rng.randbytes(rng.randrange(1, 120)), rng.random() < 0.3) for _ in range(24)]
    dut = FrameBuffer(depth=128)
    simulator = Simulator(dut)
    simulator.add_clock(PERIOD)
    received, waits = [], []

    async def source(ctx):
        for frame, discarded in frames:
            for index, byte in enumerate(frame):
                if rng.random() < 0.5:  # a source with holes
                    ctx.set(dut.i_stream.valid, 0)
                    await ctx.tick()
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(dut.i_stream.payload, {"data": byte, "first": index == 0,
                                               "last": index == len(frame) - 1 and not discarded})
                if not ctx.get(dut.i_stream.ready):
                    waits.append(index)
                for _ in range(2000):   # the consumer drains at least one frame by then
                    _clk, _rst, ready = await ctx.tick().sample(dut.i_stream.ready)
                    if ready:
                        break
                else:
                    raise AssertionError(f"the buffer stays full: {replay}")
            ctx.set(dut.i_stream.valid, 0)
            if discarded:
                ctx.set(dut.discard, 1)
                await ctx.tick()
                ctx.set(dut.discard, 0)
        await ctx.tick().repeat(600)

    async def sink(ctx):
        frame = bytearray()
        async for _clk, _rst, valid, ready, payload in ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload):
            if valid and ready:
                assert payload.first == (len(frame) == 0)
                frame.append(payload.data)
                if payload.last:
                    received.append(bytes(frame))
                    frame = bytearray()
            ctx.set(dut.o_stream.ready, rng.random() < 0.4)

    simulator.add_testbench(source)
    simulator.add_process(sink)
    simulator.run()
    kept = [frame for frame, discarded in frames if not discarded]
    assert received == kept, replay
    # conservation: every frame offered is delivered or discarded
    assert len(frames) == len(received) + sum(discarded for _, discarded in frames), replay
    assert waits, "the buffer never filled: the test does not test back-pressure"


def test_skid_buffer_keeps_every_beat_and_flows_one_a_clock(seed, replay):
    from slique.hdl.mac import SkidBuffer

    rng = random.Random(seed)
    beats = [rng.randrange(256) for _ in range(300)]
    dut = SkidBuffer(8)
    simulator = Simulator(dut)
    simulator.add_clock(PERIOD)
    received, cycles_streaming = [], []

    async def source(ctx):
        for index, beat in enumerate(beats):
            streaming = index >= 200    # the last 100 beats with no holes on either side
            if not streaming and rng.random() < 0.3:
                ctx.set(dut.i_stream.valid, 0)
                await ctx.tick()
            ctx.set(dut.i_stream.valid, 1)
            ctx.set(dut.i_stream.payload, beat)
            await ctx.tick().until(dut.i_stream.ready)
        ctx.set(dut.i_stream.valid, 0)
        await ctx.tick().repeat(10)

    async def sink(ctx):
        cycle = 0
        async for _clk, _rst, valid, ready, payload in ctx.tick().sample(
                dut.o_stream.valid, dut.o_stream.ready, dut.o_stream.payload):
            cycle += 1
            if valid and ready:
                received.append(payload)
                if len(received) > 200:
                    cycles_streaming.append(cycle)
            ctx.set(dut.o_stream.ready, len(received) >= 200 or rng.random() < 0.5)

    simulator.add_testbench(source)
    simulator.add_process(sink)
    simulator.run()
    assert received == beats, replay
    # once both sides stream, one beat a clock
    assert cycles_streaming[-1] - cycles_streaming[0] == len(cycles_streaming) - 1, replay
