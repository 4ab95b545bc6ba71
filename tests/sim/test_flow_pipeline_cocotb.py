"""The flow pipeline on Verilator (or $SIM) against its golden model, cycle by cycle, via cocotb:
seeded random frames of every kind, random consumers, random demux and admission configuration
changes. The design is the scenarios' pipeline, so this build also serves ``slique simulate``."""

import pytest

from slique.sim import flow_pipeline
from slique.sim.runner import run_bench
from slique.sim.scenarios import SCENARIO_PIPELINE


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.flow_pipeline_bench"


@pytest.mark.parametrize("handover", [False, True], ids=["direct", "handover"])
def test_flow_pipeline(tmp_path, seed, replay, cycles, handover):
    """``handover``: the skid buffers between the demux and the admissions (the Colorlight's)."""
    run = flow_pipeline.bench_parameters(pipeline=dict(SCENARIO_PIPELINE, handover=handover),
                                         seed=seed, cycles=cycles(1000), replay=replay)
    result = run_bench(flow_pipeline.gateware_pipeline(run), BENCH, parameters=run,
                       name="flow-pipeline", results_dir=tmp_path / "results")
    outcome = flow_pipeline.PipelineResult.from_dict(result.report["result"])
    summary = outcome.summary(SCENARIO_PIPELINE["queues"])
    for block in [*summary["blocks"].values(), *summary["queues"]]:
        assert block["offered"] == block["delivered"] + sum(block["dropped"].values()), block
    assert summary["blocks"]["demux"]["offered"] > 0
    assert sum(queue["delivered"] for queue in summary["queues"]) > 0
    assert summary["trace"]["records"] + summary["trace"]["lost"] == \
        summary["blocks"]["trace"]["offered"] > 0
