"""The Ethernet MAC in loopback on Verilator (or $SIM), between cocotbext-eth's RGMII source and
sink: every burst, frame and counter against the golden models (one build, a few dozen
bursts)."""

import pytest

from slique.sim.benches.mac_bench import bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb


def test_mac_loopback_against_the_golden_model(tmp_path, seed, replay):
    parameters = bench_parameters(seed=seed, replay=replay)
    result = run_bench(gateware(parameters), "slique.sim.benches.mac_bench",
                       parameters=parameters, name="mac-loopback",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["bursts"] == parameters["count"]
    assert outcome["tx"]["SENT"] == outcome["rx"]["GOOD"] > 0
    assert sum(outcome["rx"].values()) == outcome["bursts"]
