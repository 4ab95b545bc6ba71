"""The UART bridge and register banks on Verilator (or $SIM), driven by the host-side client
through cocotbext-uart at 3 Mbaud and a 12 MHz clock."""

import pytest

from slique.sim.benches.uart_bridge_bench import bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb


def test_bridge_to_register_banks(tmp_path, seed, replay):
    parameters = bench_parameters(seed=seed, replay=replay)
    result = run_bench(gateware(parameters), "slique.sim.benches.uart_bridge_bench",
                       parameters=parameters, name="uart-bridge",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert sum(outcome["frames"].values()) == outcome["frames_sent"]
    assert outcome["frames"]["BAD_CRC"] == outcome["frames"]["TRUNCATED"] == 1
    assert outcome["stray"]["GARBAGE"] == 20
