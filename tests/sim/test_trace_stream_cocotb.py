"""TraceStream on Verilator (or $SIM) against its golden model, cycle by cycle, via cocotb."""

import pytest

from slique.sim.benches.trace_stream_bench import bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.trace_stream_bench"


@pytest.mark.parametrize("storage, depth", [("systolic", 4), ("ring", 16)])
def test_trace_stream(tmp_path, storage, depth, seed, replay, cycles):
    run = bench_parameters(storage=storage, depth=depth, seed=seed, cycles=cycles(4000),
                           events=dict(duty=0.5, burst=12, idle=60),
                           consumer=dict(duty=0.4, burst=40, idle=30), replay=replay)
    result = run_bench(gateware(run), BENCH, parameters=run, name="trace-stream",
                       results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["offered"] == outcome["delivered"] + outcome["dropped"]["lost"]
    assert outcome["dropped"]["lost"] > 0 and outcome["delivered"] > 0
    assert outcome["high_water"] == depth
