"""SidelineReorder on Verilator (or $SIM) against its golden model, cycle by cycle, via cocotb."""

import pytest

from slique.sim import sideline_reorder as reorder
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.sideline_reorder_bench"


@pytest.mark.parametrize("payload_shape, depth, queue, timeout_width, style", [
    ("unsigned8", 4, 0, 16, "random"),
    ("unsigned8", 4, 0, 16, "overflow"),
    ("packet-beat", 16, 5, 8, "random"),
])
def test_sideline_reorder(tmp_path, payload_shape, depth, queue, timeout_width, style, seed,
                          replay, cycles):
    run = reorder.run_parameters(payload_shape=payload_shape, depth=depth, queue=queue,
                                 timeout_width=timeout_width, seed=seed, cycles=cycles(3000),
                                 style=style, replay=replay)
    result = run_bench(reorder.gateware(run), BENCH, parameters=run,
                       name="reorder", results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["offered"] == (outcome["delivered"] + outcome["dropped_duplicate"]
                                  + outcome["dropped_evicted"])
    assert outcome["offered"] > 100 and outcome["delivered"] > 0
    if style == "overflow":
        assert outcome["dropped_evicted"] > 0 and outcome["high_water"] == depth
