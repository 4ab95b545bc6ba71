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
