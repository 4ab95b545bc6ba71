"""The flow demux on Verilator (or $SIM) against its golden model, cycle by cycle, via cocotb:
seeded random frames of every kind, random consumers, and configuration changes during the run
(or a fixed configuration, then also checked packet by packet against the reference)."""

import pytest

from slique.sim import flow_demux
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.flow_demux_bench"

#: One build per width: four queues, a four-entry flow table, buffers that cut long frames;
#: and the cycles of a run (an 8-bit frame takes four times the beats).
DESIGNS = {
    8: dict(queues=4, queue_depth=160, flow_entries=4, buffer_depth=200),
    32: dict(queues=4, queue_depth=48, flow_entries=4, buffer_depth=56),
}
CYCLES = {8: 8000, 32: 3000}


@pytest.mark.parametrize("changes", [True, False], ids=["changing", "fixed"])
@pytest.mark.parametrize("data_width", sorted(DESIGNS))
def test_flow_demux(tmp_path, data_width, changes, seed, replay, cycles):
    run = flow_demux.bench_parameters(data_width=data_width, **DESIGNS[data_width], seed=seed,
                                      cycles=cycles(CYCLES[data_width]), changes=changes, replay=replay)
    result = run_bench(flow_demux.gateware_demux(run), BENCH, parameters=run,
                       name="flow-demux", results_dir=tmp_path / "results")
    outcome = result.report["result"]
    assert outcome["offered"] == sum(outcome["delivered"]) + sum(outcome["dropped"].values())
    assert sum(outcome["delivered"]) > 0
    assert sum(outcome["dropped"].values()) > 0
    assert result.report["traces"] == sum(outcome["dropped"].values())
