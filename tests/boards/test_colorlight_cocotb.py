"""The Colorlight 5A-75B core on Verilator (or $SIM): cocotbext-eth RGMII sources and sinks on
both ports, frames both ways through the MACs and the flow paths, every frame and MAC counter
against the golden models (one build, 16 bursts per port)."""

import pytest

from slique.sim.benches.colorlight_bench import bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb


def test_colorlight_core_both_ways(tmp_path, seed, replay):
    parameters = bench_parameters(seed=seed, replay=replay)
    result = run_bench(gateware(parameters), "slique.sim.benches.colorlight_bench",
                       parameters=parameters, name="colorlight",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    for port in range(2):
        counts = outcome[f"port{port}"]
        assert sum(counts["rx"].values()) == counts["bursts"] == parameters["count"]
        assert counts[f"tx_port{1 - port}"]["SENT"] == counts["rx"]["GOOD"]
