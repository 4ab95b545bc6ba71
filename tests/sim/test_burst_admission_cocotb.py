"""BurstAdmission on Verilator (or $SIM) against its golden model, cycle by cycle, via cocotb:
seeded random traffic and seeded random run-time configuration changes, two builds."""

import pytest

from slique.sim import burst_admission as golden
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.burst_admission_bench"


@pytest.mark.parametrize(
    "shape, depth, storage, fraction_bits, token_bits, queue, pattern, register_stage", [
        ("unsigned32", 16, "auto", 16, 16, 0, "random", True),
        ("tagged-beat", 3, "systolic", 4, 5, 42, "bursty-slow", False),
    ])
def test_burst_admission(tmp_path, shape, depth, storage, fraction_bits, token_bits, queue,
                         pattern, register_stage, seed, replay, cycles):
    run = golden.run_parameters(shape=shape, depth=depth, storage=storage,
                                register_stage=register_stage,
                                fraction_bits=fraction_bits, token_bits=token_bits,
                                queue=queue, seed=seed, cycles=cycles(3000), changes=24,
                                pattern=pattern, replay=replay)
    result = run_bench(golden.gateware(run), BENCH, parameters=run,
                       name="burst-admission",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["offered"] == outcome["delivered"] + sum(outcome["dropped"].values())
    assert outcome["traces"] == outcome["dropped"]
    assert outcome["offered"] > 0 and outcome["decisions"]["STEADY"] > 0
