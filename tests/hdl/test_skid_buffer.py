"""SkidBuffer in the Amaranth simulator against its golden model, beat by beat."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from slique.hdl.mac import SkidBuffer
from slique.sim import mac as golden
from slique.sim.lockstep import lockstep_in_amaranth
from slique.sim.traffic import PATTERNS


class _Observed(wiring.Component):
    """A SkidBuffer with its level, which its ports tell (``o_stream.valid`` and the skid
    register's flag, ``~i_stream.ready``), for the lockstep scoreboard's conservation check."""

    depth = 2

    def __init__(self, shape):
        self.shape = shape
        super().__init__({"i_stream": In(stream.Signature(shape)),
                          "o_stream": Out(stream.Signature(shape)),
                          "level": Out(range(self.depth + 1))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.skid = skid = SkidBuffer(self.shape)
        wiring.connect(m, wiring.flipped(self.i_stream), skid.i_stream)
        wiring.connect(m, skid.o_stream, wiring.flipped(self.o_stream))
        m.d.comb += self.level.eq(skid.o_stream.valid + ~skid.i_stream.ready)
        return m


@pytest.mark.parametrize("pattern", ["random", *PATTERNS])
def test_matches_golden_model(pattern, seed, replay, cycles):
    result = lockstep_in_amaranth(_Observed(16), golden.SkidBuffer(), seed=seed,
                                  cycles=cycles(600), pattern=pattern,
                                  hint=f"seed={seed}; replay with: {replay}")
    assert result.offered == result.delivered + result.dropped
    assert result.offered > 0 and result.dropped == 0
    if pattern == "slow-consumer":
        assert result.high_water == 2, "the skid register was never used"
