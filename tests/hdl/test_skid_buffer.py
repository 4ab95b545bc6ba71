"""SkidBuffer in the Amaranth simulator against its golden model, beat by beat."""

import pytest

from slique.hdl.mac import SkidBuffer
from slique.sim import mac as golden
from slique.sim.lockstep import lockstep_in_amaranth
from slique.sim.traffic import PATTERNS


@pytest.mark.parametrize("pattern", ["random", *PATTERNS])
def test_matches_golden_model(pattern, seed, replay, cycles):
    result = lockstep_in_amaranth(SkidBuffer(16), golden.SkidBuffer(), seed=seed,
                                  cycles=cycles(600), pattern=pattern,
                                  hint=f"seed={seed}; replay with: {replay}")
    assert result.offered == result.delivered + result.dropped
    assert result.offered > 0 and result.dropped == 0
    if pattern == "slow-consumer":
        assert result.high_water == 2, "the skid register was never used"
