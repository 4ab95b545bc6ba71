"""The DMA window check: the narrow compares give the verdict of the full-width one."""

import random

from amaranth import *
from amaranth.sim import Simulator

from slique.hdl.dma.ring import buffer_end, inside_window, window_layout


def _expected(enable, base, limit, address, length, addr_width):
    end = address + length
    return end <= 1 << addr_width and (not enable or (base <= address and end <= limit))


def _edge_value(rng, addr_width, bits=64):
    """Values near the places a narrow compare could go wrong: 0, the reach, its double,
    the top, and random ones."""
    reach = 1 << addr_width
    choice = rng.randrange(6)
    if choice == 0:
        return rng.choice([0, 1, reach - 1, reach, reach + 1, 2 * reach - 1, 2 * reach,
                           2 * reach + 1, (1 << bits) - 1])
    if choice == 1:
        return (reach + rng.randint(-3000, 3000)) % (1 << bits)
    if choice == 2:
        return rng.getrandbits(bits)
    return rng.getrandbits(addr_width + 1)


def test_window_check_matches_full_width_compares(seed, replay, cycles):
    rng = random.Random(seed)
    addr_width = 32
    window = Signal(window_layout())
    address = Signal(64)
    length = Signal(16)
    verdict = Signal()
    m = Module()
    m.d.comb += verdict.eq(inside_window(window, address, length, addr_width))
    cases = []
    for _ in range(cycles(4000)):
        base = _edge_value(rng, addr_width)
        limit = _edge_value(rng, addr_width)
        address_value = _edge_value(rng, addr_width)
        length_value = rng.choice([0, 1, 2, rng.getrandbits(16)])
        cases.append((rng.random() < 0.8, base, limit, address_value, length_value))

    async def testbench(ctx):
        for enable, base, limit, address_value, length_value in cases:
            ctx.set(window.enable, enable)
            ctx.set(window.base, base)
            ctx.set(window.limit, limit)
            ctx.set(address, address_value)
            ctx.set(length, length_value)
            await ctx.delay(1e-9)
            expected = _expected(enable, base, limit, address_value, length_value, addr_width)
            assert ctx.get(verdict) == expected, (
                f"seed={seed}; replay with: {replay}; enable={enable} base={base:#x} "
                f"limit={limit:#x} address={address_value:#x} length={length_value}")

    simulator = Simulator(m)
    simulator.add_testbench(testbench)
    simulator.run()
    # both verdicts occur
    verdicts = {_expected(*case, addr_width) for case in cases}
    assert verdicts == {True, False}
