"""``slique run`` and ``slique bench firmware``."""

import json
import math

from slique.cli import main


KEYS = ["app", "backend", "seed", "offered", "delivered", "dropped", "errors",
        "memo_high_water", "reruns", "digest"]


def test_run_json_is_the_documented_document(capsys, seed):
    assert main(["run", "echo", "--backend", "golden", "--seed", str(seed), "--packets", "12",
                 "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == KEYS
    assert (document["app"], document["backend"], document["seed"]) == ("echo", "golden", seed)
    assert document["offered"] == 12
    assert document["offered"] == document["delivered"] + sum(document["dropped"].values())
    assert len(document["digest"]) == 64 and int(document["digest"], 16) >= 0
    assert all(name.startswith("E") for name in document["errors"])


def test_run_prints_a_summary_table(capsys):
    assert main(["run", "sendfile", "--packets", "6"]) == 0
    out = capsys.readouterr().out
    for row in ("offered", "delivered", "memo high-water", "re-runs per routine", "digest"):
        assert row in out


def test_run_plot_on_verilator_is_refused(capsys):
    assert main(["run", "rebalance", "--backend", "verilator", "--plot", "x.png"]) == 2
    assert "golden backend only" in capsys.readouterr().err


def test_run_rebalance_plot(tmp_path, capsys):
    plot = tmp_path / "rebalance.png"
    assert main(["run", "rebalance", "--packets", "24", "--plot", str(plot)]) == 0
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"
    assert "without the daemon: peak depth" in capsys.readouterr().out


def test_bench_firmware_prints_the_ratio(capsys):
    assert main(["bench", "firmware", "--frames", "400", "--routines", "200", "--repeat", "1",
                 "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["ratio_reroutine_over_asyncio"] > 0
    # A rate is positive; the re-run cost is a difference of two timings, only finite when the
    # run is this short (its sign is the benchmark's to show, not a test's to time).
    assert figures["steps_per_s"] > 0 and math.isfinite(figures["rerun_cost_us"])
    assert main(["bench", "firmware", "--frames", "400", "--routines", "200", "--repeat",
                 "1"]) == 0
    assert "ratio re-routine / asyncio" in capsys.readouterr().out
