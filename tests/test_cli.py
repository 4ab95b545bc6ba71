"""The ``slique`` command as a user meets it."""

import json
import subprocess
import sys

import pytest

from slique import cli


def _slique(*arguments, cwd=None):
    return subprocess.run([sys.executable, "-m", "slique", *arguments], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_help_lists_the_commands():
    result = _slique("--help")
    assert result.returncode == 0
    assert "demo" in result.stdout and "bench" in result.stdout


@pytest.mark.parametrize("command", [["demo"], ["bench", "sliques"]])
def test_every_command_has_help(command):
    result = _slique(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: slique" in result.stdout


def test_unknown_command_fails_with_usage():
    result = _slique("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.cocotb
def test_demo_runs_gateware_and_golden_model(tmp_path):
    result = _slique("demo", "--cycles", "300", "--out", str(tmp_path / "demo"), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["agree"] is True
    for mode in ("backpressure", "drop"):
        gateware, golden = document["runs"][mode]["gateware"], document["runs"][mode]["golden"]
        assert gateware == golden
        assert gateware["offered"] == gateware["delivered"] + gateware["dropped"]
        assert gateware["high_water"] == 16
    assert document["runs"]["drop"]["gateware"]["dropped"] > 0
    assert document["runs"]["backpressure"]["gateware"]["dropped"] == 0
    plot = tmp_path / "demo" / "levels.png"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_with_a_missing_simulator_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no iverilog anywhere
    code = cli.main(["demo", "--sim", "icarus", "--out", str(tmp_path / "demo")])
    assert code == 2


def test_demo_with_a_missing_simulator_prints_the_fix(tmp_path):
    result = subprocess.run([sys.executable, "-m", "slique", "demo", "--sim", "icarus", "--out",
                             str(tmp_path)], capture_output=True, text=True,
                            env={"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode == 2
    assert "apt-get install iverilog" in result.stderr
