"""The counter and code helpers of slique.hdl.storage, in the Amaranth simulator."""

import random

import pytest
from amaranth.hdl import Const, Module, Signal
from amaranth.sim import Simulator

from slique.hdl.storage import (count_up_down, count_up_down_gates, count_up_down_registered,
                                one_hot_to_binary)


@pytest.mark.parametrize("width", [1, 2, 3, 5])
def test_gate_and_registered_counters_count_like_the_adder(width, seed, replay, cycles):
    """count_up_down_gates, count_up_down_registered and count_up_down, fed the same random
    up / down strobes, hold the same value every cycle, and all count modulo 2 ** width
    (wrapping both ways)."""
    m = Module()
    up, down = Signal(), Signal()
    gates, adder, registered = Signal(width), Signal(width), Signal(width, name="registered")
    count_up_down_gates(m, gates, up=up, down=down)
    count_up_down(m, adder, up=up, down=down)
    count_up_down_registered(m, registered, up=up, down=down)
    rng = random.Random(seed)
    steps = cycles(1000)
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
            assert ctx.get(gates) == ctx.get(adder) == ctx.get(registered) == expected, \
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
