"""The sliques on Verilator (or $SIM) against their golden models, cycle by cycle, via cocotb."""

import pytest

from slique.sim import sliques
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.slique_bench"


def _run(tmp_path, **parameters):
    run = sliques.run_parameters(**parameters)
    result = run_bench(sliques.gateware(run), BENCH, parameters=run, name="lockstep",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["offered"] == outcome["delivered"] + outcome["dropped"]
    assert outcome["offered"] > 0
    return outcome


@pytest.mark.parametrize("storage", ["systolic", "ring"])
@pytest.mark.parametrize("on_full", ["backpressure", "drop"])
@pytest.mark.parametrize("depth", [1, 2, 3, 16, 64, 257])
def test_bounded_slique(tmp_path, depth, on_full, storage, seed, replay, cycles):
    pattern = "slow-consumer" if depth <= 16 else "random"
    outcome = _run(tmp_path, depth=depth, on_full=on_full, storage=storage, seed=seed,
                   cycles=cycles(max(1500, 4 * depth)), pattern=pattern, replay=replay)
    if on_full == "backpressure":
        assert outcome["dropped"] == 0


@pytest.mark.parametrize("shape", ["bit", "signed12", "packet-beat"])
@pytest.mark.parametrize("storage", ["systolic", "ring"])
def test_bounded_slique_shapes(tmp_path, shape, storage, seed, replay, cycles):
    outcome = _run(tmp_path, shape=shape, depth=3, on_full="drop", storage=storage, seed=seed,
                   cycles=cycles(1500), pattern="bursty", replay=replay)
    assert outcome["dropped"] > 0


@pytest.mark.parametrize("shape", ["unsigned32", "packet-beat"])
def test_zero_slique(tmp_path, shape, seed, replay, cycles):
    outcome = _run(tmp_path, design="zero", shape=shape, seed=seed, cycles=cycles(1500),
                   replay=replay)
    assert outcome["dropped"] == 0
