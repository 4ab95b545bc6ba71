# amaranth: UnusedElaboratable=no
"""PacketGenerator in the Amaranth simulator against its golden model: content, lengths, gaps,
bursts, the packet count, reseeding between packets and back-pressure."""

import random

import pytest
from amaranth.sim import Simulator

from slique.hdl.packet_generator import PacketGenerator
from slique.sim.packet_generator import PacketGenerator as GoldenGenerator


def _run(config, cycles, *, ready=lambda cycle: True, during=None):
    """Simulate; return the packets (bytes, first-beat cycle) seen at the output, and ``sent``."""
    dut = PacketGenerator()
    packets = []
    result = {}

    async def bench(ctx):
        for name, value in config.items():
            ctx.set(getattr(dut, name), value)
        ctx.set(dut.seed_load, 1)
        await ctx.tick()
        ctx.set(dut.seed_load, 0)
        ctx.set(dut.enable, 1)
        current, start = bytearray(), None
        for cycle in range(cycles):
            if during is not None:
                during(ctx, dut, cycle)
            ctx.set(dut.o_stream.ready, ready(cycle))
            if ctx.get(dut.o_stream.valid) and ctx.get(dut.o_stream.ready):
                beat = ctx.get(dut.o_stream.payload)
                assert beat.first == (len(current) == 0)
                if not current:
                    start = cycle
                current.append(beat.data)
                if beat.last:
                    packets.append((bytes(current), start))
                    current = bytearray()
            await ctx.tick()
        result["sent"] = ctx.get(dut.sent)
        result["open"] = len(current)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return packets, result


def test_packets_match_the_golden_model(seed):
    rng = random.Random(seed)
    config = dict(seed=rng.getrandbits(32), min_length=3, length_mask=7, gap=2)
    packets, result = _run(config, 400)
    golden = GoldenGenerator(config["seed"], min_length=3, length_mask=7, gap=2)
    expected = golden.packets(len(packets))
    assert [data for data, _ in packets] == expected, f"seed={seed}"
    assert len(packets) >= 20 and result["sent"] == len(packets)
    assert {len(data) for data in expected} <= set(range(3, 11))
    # Back to back: each packet starts `gap` idle cycles after the previous one ended.
    for (previous, start), (_, next_start) in zip(packets, packets[1:]):
        assert next_start - start == len(previous) + 2


def test_bursts_count_and_back_pressure(seed):
    config = dict(seed=seed | 1, min_length=2, length_mask=3, gap=1, burst=4, burst_gap=30,
                  count=10)
    rng = random.Random(seed)
    ready = [rng.random() < 0.6 for _ in range(600)]
    packets, result = _run(config, 600, ready=lambda cycle: ready[cycle])
    golden = GoldenGenerator(config["seed"], min_length=2, length_mask=3)
    assert [data for data, _ in packets] == golden.packets(10), f"seed={seed}"
    assert result["sent"] == 10 and result["open"] == 0  # stops at the count, never mid-packet
    starts = [start for _, start in packets]
    assert starts[4] - starts[3] > 30 and starts[8] - starts[7] > 30


def test_reseeding_replays_and_never_cuts_a_packet():
    def reseed(ctx, dut, cycle):
        ctx.set(dut.seed_load, int(cycle in (13, 14)))
    config = dict(seed=0xACE1, min_length=5, length_mask=0)
    packets, _ = _run(config, 60, during=reseed)
    assert all(len(data) == 5 for data, _ in packets)
    golden = GoldenGenerator(0xACE1, min_length=5).packets(3)
    datas = [data for data, _ in packets]
    # The reload lands between packets: the sequence starts over from the seed.
    restart = datas.index(golden[0], 1)
    assert datas[:restart] == golden[:restart] and datas[restart:restart + 3] == golden


def test_only_eight_bit_beats():
    with pytest.raises(ValueError, match="8-bit"):
        PacketGenerator(32)
