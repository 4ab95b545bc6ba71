"""RegisterBank on Verilator (or $SIM) against its golden model, cycle by cycle, via cocotb."""

import pytest

from slique.sim.benches.register_bank_bench import bench_parameters, gateware
from slique.sim.register_bank import load_description
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.register_bank_bench"


@pytest.mark.parametrize("pipelined, unmapped, latency", [(False, "ack", 1), (True, "err", 2)],
                         ids=["classic-ack-1", "pipelined-err-2"])
def test_register_bank(tmp_path, pipelined, unmapped, latency, seed, replay, cycles):
    run = bench_parameters(pipelined=pipelined, unmapped=unmapped, latency=latency, seed=seed,
                           accesses=cycles(1200) // 2, replay=replay)
    result = run_bench(gateware(run), BENCH, parameters=run, name="register-bank",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["offered"] == run["accesses"]
    assert outcome["offered"] == outcome["delivered"] + outcome["dropped"]["unmapped"]
    assert outcome["dropped"]["unmapped"] > 0 and outcome["cleared"] > 0
    for kind in ["rw/read", "rw/write", "r/read", "w/write", "rc/read", "w1c/write",
                 "w1s/write"]:
        assert outcome["by_access"].get(kind, 0) > 0, kind
    assert result.report["transactions"] == 2 * len(load_description(run["registers"])
                                                     .instances())
