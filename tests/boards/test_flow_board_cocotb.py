"""The iCEBreaker flow top on Verilator, driven over its UART by the blocking host code
(BridgeClient + FlowBoardClient) through cocotbext-uart: see slique.sim.benches.flow_board_bench."""

import pytest

from slique.sim.benches.flow_board_bench import bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb


def test_flow_board_over_the_bridge(tmp_path, seed, replay):
    parameters = bench_parameters(seed=seed, packets=40, replay=replay)
    result = run_bench(gateware(parameters), "slique.sim.benches.flow_board_bench",
                       parameters=parameters, name="flow-board",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    queues = outcome["queues"]
    assert sum(queue["offered"] for queue in queues) == outcome["sent"] == 40
    for queue in queues:
        assert queue["offered"] == queue["delivered"] + queue["dropped_burst_exhausted"] + \
            queue["dropped_hard_limit"]
    drops = sum(q["dropped_burst_exhausted"] + q["dropped_hard_limit"] for q in queues)
    assert outcome["trace_records"] + outcome["trace_lost"] == drops > 0
