"""ZeroSlique in the Amaranth simulator against its golden model; zero storage."""

import pytest
from amaranth.back import rtlil

from slique import hdl, sim
from slique.sim.lockstep import lockstep_in_amaranth
from slique.sim.sliques import SHAPES


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_matches_golden_model(shape, seed, replay, cycles):
    result = lockstep_in_amaranth(hdl.ZeroSlique(SHAPES[shape]), sim.ZeroSlique(SHAPES[shape]),
                                  seed=seed, cycles=cycles(500), hint=f"seed={seed}; {replay}")
    assert result.offered == result.delivered > 0
    assert result.dropped == 0


def test_has_no_storage():
    """No flip-flop anywhere: the design has no clock domain at all."""
    text = rtlil.convert(hdl.ZeroSlique(SHAPES["packet-beat"]))
    assert "$dff" not in text and "$adff" not in text and "$mem" not in text


def test_bad_shape_raises():
    with pytest.raises(TypeError, match="shape-like"):
        hdl.ZeroSlique("eight")
