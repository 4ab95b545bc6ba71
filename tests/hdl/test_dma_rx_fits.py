# amaranth: UnusedElaboratable=no
"""RxQueue's fits_buffer (``length <= units * 1024`` without the wide compare) against Python's
compare: every buffer size, every length at and around each buffer boundary, random lengths."""

import random

from amaranth import *
from amaranth.sim import Simulator

from slique.hdl.dma.descriptors import MAX_FRAME_BYTES, SRRCTL_BSIZEPKT_UNIT
from slique.hdl.dma.rx_queue import fits_buffer


def test_fits_buffer_is_the_compare(seed, replay):
    rng = random.Random(seed)
    length, units, fits = Signal(14), Signal(7), Signal()
    m = Module()
    m.d.comb += fits.eq(fits_buffer(length, units))
    boundaries = {edge + delta for unit in range(17) for delta in (-1, 0, 1)
                  for edge in [unit * SRRCTL_BSIZEPKT_UNIT] if 0 <= edge + delta < 1 << 14}
    lengths = sorted(boundaries | {MAX_FRAME_BYTES, (1 << 14) - 1} |
                     {rng.randrange(1 << 14) for _ in range(60)})
    checked = []

    async def testbench(ctx):
        for size in range(128):
            ctx.set(units, size)
            for value in lengths:
                ctx.set(length, value)
                expected = value <= size * SRRCTL_BSIZEPKT_UNIT
                assert ctx.get(fits) == expected, f"length {value}, units {size}; {replay}"
                checked.append(expected)

    simulator = Simulator(m)
    simulator.add_testbench(testbench)
    simulator.run()
    assert True in checked and False in checked
