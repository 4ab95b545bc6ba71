"""``slique simulate`` and ``slique compare`` as a user meets them: the JSON document, every
block's conservation, the plot, pcap in and out, clear errors, and compare's exit code."""

import json
import subprocess
import sys

import pytest

from slique import cli, compare
from slique.sim.scenarios import SCENARIOS, scenario_frames, write_pcaps


def _conserved(document):
    """Every object with ``offered`` in the document satisfies conservation."""
    objects = [*document["queues"], *document["blocks"].values()]
    for item in objects:
        assert item["offered"] == item["delivered"] + sum(item["dropped"].values()), item
    return objects


def _simulate_json(capsys, *arguments):
    code = cli.main(["simulate", *arguments, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_help_lists_every_scenario_with_one_line():
    result = subprocess.run([sys.executable, "-m", "slique", "simulate", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name, scenario in SCENARIOS.items():
        line = next(line for line in result.stdout.splitlines()
                    if line.strip().startswith(name + " "))
        assert scenario.help[:30] in line
    assert set(SCENARIOS) == {"steady", "burst", "incast", "reorder", "rss-skew", "malformed"}
    assert "--through-dma" in result.stdout


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_json_document_conserves_in_every_block(scenario, tmp_path, capsys, seed):
    document = _simulate_json(capsys, "--scenario", scenario, "--packets", "8", "--seed",
                              str(seed % 1000), "--out", str(tmp_path))
    assert {"scenario", "backend", "seed", "queues", "blocks", "trace"} <= set(document)
    assert (document["scenario"], document["backend"], document["seed"]) == \
        (scenario, "golden", seed % 1000)
    assert [queue["queue"] for queue in document["queues"]] == [0, 1, 2, 3]
    assert {"demux", "admission0", "admission3", "trace", "rst"} <= set(document["blocks"])
    _conserved(document)
    assert document["blocks"]["demux"]["offered"] == 8
    assert set(document["trace"]) >= {"records", "lost"}
    # Each drop is one trace record (none lost in these short runs: the consumer is always ready).
    assert document["trace"]["records"] + document["trace"]["lost"] == \
        document["blocks"]["trace"]["offered"]
    with open(document["plot"], "rb") as plot:
        assert plot.read(8) == b"\x89PNG\r\n\x1a\n"


def test_scenarios_show_what_they_are_named_after(tmp_path, capsys):
    """The malformed scenario drops at the demux; incast drops at queue 0's admission only."""
    malformed = _simulate_json(capsys, "--scenario", "malformed", "--packets", "20", "--out",
                               str(tmp_path))
    dropped = malformed["blocks"]["demux"]["dropped"]
    assert dropped["TRUNCATED"] + dropped["MALFORMED"] > 0
    incast = _simulate_json(capsys, "--scenario", "incast", "--packets", "24", "--out",
                            str(tmp_path))
    assert incast["queues"][0]["offered"] == 24
    assert sum(incast["queues"][0]["dropped"].values()) > 0
    assert all(queue["offered"] == 0 for queue in incast["queues"][1:])


def test_pcap_round_trip(tmp_path, capsys, seed):
    frames = [frame for _gap, frame in scenario_frames("steady", seed=seed, packets=15)]
    source = write_pcaps([frames], tmp_path / "in")[0]
    document = _simulate_json(capsys, "--scenario", "steady", "--pcap-in", str(source),
                              "--packets", "0", "--pcap-out", str(tmp_path / "out"), "--out",
                              str(tmp_path))
    _conserved(document)
    assert document["blocks"]["demux"]["offered"] == len(frames)
    from slique.sim.scenarios import read_pcap
    delivered = []
    for queue, path in enumerate(document["pcaps"]):
        queue_frames = read_pcap(path) if document["queues"][queue]["delivered"] else []
        assert len(queue_frames) == document["queues"][queue]["delivered"]
        delivered += queue_frames
    # Steady traffic, fast consumers: every frame comes out, byte for byte.
    assert sorted(delivered) == sorted(frames)


@pytest.mark.parametrize("content, message", [
    (b"this is not a capture file at all", "not a readable pcap file"),
    (None, "no such pcap file"),
])
def test_bad_pcap_gives_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.pcap"
    if content is not None:
        path.write_bytes(content)
    result = subprocess.run([sys.executable, "-m", "slique", "simulate", "--scenario", "steady",
                             "--pcap-in", str(path), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert message in result.stderr and "bad.pcap" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_simulator_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no iverilog anywhere
    code = cli.main(["simulate", "--scenario", "steady", "--backend", "icarus", "--packets", "5",
                     "--out", str(tmp_path)])
    assert code == 2
    assert "iverilog" in capsys.readouterr().err


def test_compare_exits_non_zero_on_a_mismatch(tmp_path, monkeypatch, capsys):
    """A gateware run that differs from the golden model in one counter is a mismatch."""
    real = compare.run_scenario

    def fake(parameters, backend, **options):
        result = real(parameters, "golden", **options)
        if backend != "golden":
            result.counters["admission_delivered__0"] += 1
        return result

    monkeypatch.setattr(compare, "run_scenario", fake)
    code = cli.main(["compare", "--scenario", "steady", "incast", "--packets", "6", "--json",
                     "--out", str(tmp_path)])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert document["agree"] is False
    for name in ("steady", "incast"):
        assert any("admission_delivered__0" in item
                   for item in document["scenarios"][name]["mismatches"])


@pytest.mark.cocotb
def test_compare_runs_the_gateware_against_the_golden_model(tmp_path):
    result = subprocess.run([sys.executable, "-m", "slique", "compare", "--scenario", "incast",
                             "--packets", "10", "--json", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    document = json.loads(result.stdout)
    assert document["agree"] is True
    for name in ("incast",):
        outcome = document["scenarios"][name]
        assert outcome["mismatches"] == []
        assert outcome["gateware"]["backend"] == "verilator"
        _conserved(outcome["gateware"])
        for key in ("queues", "blocks", "trace"):
            assert outcome["gateware"][key] == outcome["golden"][key]


def _dma_checked(document):
    """The ``--through-dma`` figures: conserved, fed by the pipeline's queues, and in line
    with the engine's i225 counters."""
    _conserved(document)
    dma = document["dma"]
    queues = document["queues"]
    assert [item["queue"] for item in dma["queues"]] == [item["queue"] for item in queues]
    for pipeline, item in zip(queues, dma["queues"]):
        rx, tx = item["rx"], item["tx"]
        for figures in (rx, tx):
            assert figures["offered"] == figures["delivered"] + sum(figures["dropped"].values())
        # RX is offered what the queue delivered; TX sends what the driver received
        assert rx["offered"] == pipeline["delivered"]
        assert tx["offered"] == rx["delivered"]
    blocks, counters = document["blocks"], dma["counters"]
    assert counters["GPRC"] == blocks["dma_rx"]["delivered"]
    assert counters["GPTC"] == blocks["dma_tx"]["delivered"]
    assert counters["TPR"] == counters["GPRC"] + counters["MPC"] + counters["ROC"] + sum(
        value for name, value in counters.items() if name.startswith("RQDPC("))
    assert counters["TPT"] == counters["GPTC"] + counters["HTDPMC"]
    assert blocks["dma_rx"]["offered"] == sum(item["delivered"] for item in queues)
    return dma


@pytest.mark.parametrize("scenario", ["incast", "steady"])
def test_through_dma_on_the_golden_model(scenario, tmp_path, capsys, seed):
    """Each queue's frames into host memory (RX ring n) and back out (TX ring n): every frame
    arrives, the counters count them and their octets (the frames of --pcap-out)."""
    document = _simulate_json(capsys, "--scenario", scenario, "--packets", "12", "--seed",
                              str(seed % 1000), "--through-dma", "--pcap-out",
                              str(tmp_path / "pcaps"), "--out", str(tmp_path))
    assert {"scenario", "backend", "seed", "queues", "blocks", "trace", "dma"} <= set(document)
    dma = _dma_checked(document)
    assert dma["backend"] == "golden" and dma["cycles"] is None
    delivered = sum(queue["delivered"] for queue in document["queues"])
    assert delivered > 0
    assert document["blocks"]["dma_rx"]["delivered"] == delivered
    assert document["blocks"]["dma_tx"]["delivered"] == delivered
    from slique.sim.scenarios import read_pcap
    octets = sum(len(frame) for queue, path in enumerate(document["pcaps"])
                 if document["queues"][queue]["delivered"] for frame in read_pcap(path))
    assert dma["counters"]["GORCL"] == dma["counters"]["GOTCL"] == octets


def test_through_dma_prints_the_engine_figures(tmp_path):
    """Steady traffic, fast consumers: all six frames in and out of host memory."""
    result = subprocess.run([sys.executable, "-m", "slique", "simulate", "--scenario", "steady",
                             "--packets", "6", "--through-dma", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300,
                            env={**__import__("os").environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "DMA engine (golden)" in result.stdout
    assert "dma_rx" in result.stdout and "dma_tx" in result.stdout
    counters = next(line for line in result.stdout.splitlines()
                    if line.startswith("DMA counters:"))
    assert "GPRC 6" in counters and "GPTC 6" in counters and "MPC 0" in counters


def test_through_dma_reports_a_frame_the_engine_changed(tmp_path, monkeypatch, capsys):
    """A golden engine that corrupts one TX frame is caught (exit 1, the DMA named)."""
    from slique.sim.dma import engine

    real = engine.DmaEngine.pull_tx_frames

    def corrupting(self):
        frames = real(self)
        if frames:
            first = frames[0]
            frames[0] = engine.TxFrame(first.queue, bytes([first.data[0] ^ 0xFF])
                                       + first.data[1:])
        return frames

    monkeypatch.setattr(engine.DmaEngine, "pull_tx_frames", corrupting)
    code = cli.main(["simulate", "--scenario", "steady", "--packets", "4", "--through-dma",
                     "--out", str(tmp_path)])
    assert code == 1
    error = capsys.readouterr().err
    assert "DMA" in error and "differ" in error


@pytest.mark.cocotb
def test_through_dma_on_verilator(tmp_path, capsys, seed):
    """``slique simulate --backend verilator --through-dma``: the flow pipeline's gateware, then
    the DMA engine's (four queue pairs, 32-bit host bus) under the igc-style driver; the DMA
    bench checks every frame, write-back and counter against the golden engine (a difference
    fails the run), and the figures balance."""
    document = _simulate_json(capsys, "--scenario", "steady", "--packets", "6", "--seed",
                              str(seed % 1000), "--through-dma", "--backend", "verilator",
                              "--out", str(tmp_path))
    dma = _dma_checked(document)
    assert dma["backend"] == "verilator" and dma["cycles"] > 0
    # steady traffic, fast consumers: all six frames reach host memory and leave again
    assert document["blocks"]["dma_rx"]["delivered"] == 6
    assert document["blocks"]["dma_tx"]["delivered"] == 6
    assert dma["counters"]["GPRC"] == dma["counters"]["GPTC"] == 6
    assert dma["counters"]["GORCL"] == dma["counters"]["GOTCL"] > 6 * 60
