"""The DMA engine on Verilator (or $SIM): the igc-style driver's scenarios, checked against the
golden model transaction by transaction (frames, write-backs, counters)."""

import pytest

from slique.sim.benches.dma_bench import bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.dma_bench"


def _run(tmp_path, **keywords):
    run = bench_parameters(**keywords)
    result = run_bench(gateware(run), BENCH, parameters=run, name="dma",
                       results_dir=tmp_path / "results")
    return run, result.report


@pytest.mark.parametrize("memory", ["zero-wait", "slow"])
def test_tx(tmp_path, memory, seed, replay, cycles):
    run, report = _run(tmp_path, scenario="tx", memory=memory, seed=seed, replay=replay,
                       frames=cycles(60))
    outcome, = report["reports"]
    assert outcome["offered"] == run["frames"]
    assert outcome["offered"] == outcome["delivered"] + sum(outcome["dropped"].values())
    assert outcome["delivered"] == run["frames"] and outcome["wraps"] >= 1
    assert report["write_backs"] >= run["frames"]


def test_rx(tmp_path, seed, replay, cycles):
    run, report = _run(tmp_path, scenario="rx", seed=seed, replay=replay, frames=cycles(40),
                       rx_buffer_size=1024)
    outcome, = report["reports"]
    assert outcome["offered"] == run["frames"]
    assert outcome["offered"] == outcome["delivered"] + sum(outcome["dropped"].values())
    assert outcome["delivered"] == run["frames"]
    # frames longer than a buffer span several descriptors, each written back
    assert report["write_backs"] > run["frames"]
