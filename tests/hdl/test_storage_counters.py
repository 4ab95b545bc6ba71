"""The counter and code helpers of slique.hdl.storage, in the Amaranth simulator."""

import random

import pytest
from amaranth.hdl import Const, Module, Signal
from amaranth.sim import Simulator

from slique.hdl.storage import count_up_down, count_up_down_gates, one_hot_to_binary


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_gate_counter_counts_like_the_adder(width, seed, replay, cycles):
    """count_up_down_gates and count_up_down, fed the same random up / down strobes, hold the
    same value every cycle, and both count modulo 2 ** width (wrapping both ways)."""
    m = Module()
    up, down = Signal(), Signal()
    gates, adder = Signal(width), Signal(width)
    count_up_down_gates(m, gates, up=up, down=down)
    count_up_down(m, adder, up=up, down=down)
    rng = random.Random(seed)
    steps = cycles(300)
    seen = set()

    async def testbench(ctx):
        expected = 0
        for cycle in range(steps):
            strobe_up, strobe_down = rng.random() < 0.55, rng.random() < 0.45
            ctx.set(up, strobe_up)
            ctx.set(down, strobe_down)
            await ctx.tick()
            expected = (expected + strobe_up - strobe_down) % (1 << width)
            seen.add(expected)
            assert ctx.get(gates) == ctx.get(adder) == expected, \
                f"cycle {cycle}, seed={seed}; {replay}"

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    assert len(seen) == 1 << width, "the run did not reach every value; lengthen it"


@pytest.mark.parametrize("flags", [1, 2, 3, 4, 7])
def test_one_hot_to_binary_gives_the_index(flags):
    code = Signal(flags)
    index = Signal(range(flags))
    m = Module()
    m.d.comb += index.eq(one_hot_to_binary(code))

    async def testbench(ctx):
        for position in range(flags):
            ctx.set(code, Const(1 << position, flags))
            assert ctx.get(index) == position

    sim = Simulator(m)
    sim.add_testbench(testbench)
    sim.run()
