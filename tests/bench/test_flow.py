"""``slique bench flow`` without synthesis: its command line, its design points and anchors, the
target checks, the line for a missing pipeline, and the pipeline's decision rate."""

import sys

import pytest

from slique.bench import flow
from slique.cli import parser


def test_registered_as_a_benchmark():
    args = parser().parse_args(["bench", "flow", "--targets", "ecp5", "--blocks",
                                "FlowDemux,BurstAdmission", "--seeds", "1", "--check"])
    assert args.load() is flow
    assert (args.targets, args.blocks, args.seeds, args.check) == \
        (["ecp5"], ["FlowDemux", "BurstAdmission"], 1, True)
    with pytest.raises(SystemExit):
        parser().parse_args(["bench", "flow", "--blocks", "NoSuchBlock"])


def test_every_block_has_its_anchor_and_the_targets_are_marked():
    entries, missing = flow.flow_points()
    assert missing is None
    designs = {entry.design: entry for entry in entries}
    assert set(flow.TARGETED) <= set(designs)
    assert all(designs[design].targeted for design in flow.TARGETED)
    for entry in entries:
        assert (entry.anchor is None) == (entry.block == "RegisterBank"), entry
    # anchors of different widths are different designs with different files
    anchors = {entry.anchor for entry in entries if entry.anchor is not None}
    assert len({anchor.file_name for anchor in anchors}) == len(anchors)
    assert designs["FlowDemux 32-bit"].anchor.width == 38   # 32 data + keep + first + last


def test_a_missing_pipeline_is_said(monkeypatch):
    monkeypatch.setitem(sys.modules, "slique.hdl.flow_pipeline", None)
    entries, missing = flow.flow_points()
    assert missing == flow.PIPELINE_MISSING
    assert "FlowPipeline" not in {entry.block for entry in entries}


def _record(design, target, fmax, rate=1.0, fits=True):
    meets = fits and fmax >= flow.TARGET_MHZ and rate == 1.0 if target == "ecp5" else None
    return dict(design=design, role="block", target=target, fmax_mhz=fmax, fits=fits,
                decisions_per_cycle=rate, meets_target=meets)


def test_checks_hold_the_issue_targets():
    records = [_record(design, "ecp5", 130.0) for design in flow.TARGETED]
    assert all(check.passed for check in flow.checks(records))
    slow = [_record(design, "ecp5", 124.9 if design == "FlowDemux 8-bit" else 130.0)
            for design in flow.TARGETED]
    failed = [check for check in flow.checks(slow) if not check.passed]
    assert len(failed) == 1 and "124.9 MHz" in failed[0].description
    half = [_record(flow.TARGETED[0], "ecp5", 200.0, rate=0.5)] + records[1:]
    assert not flow.checks(half)[0].passed
    # not measured on ECP5: a failure that says so, never a silent pass
    ice40 = [_record(design, "ice40", 200.0) for design in flow.TARGETED]
    results = flow.checks(ice40)
    assert not any(check.passed for check in results)
    assert all("not measured" in check.description for check in results)


def test_pipeline_decides_one_packet_per_cycle():
    from slique.hdl.flow_pipeline import FlowPipeline

    dut = FlowPipeline(8, 2, queue_depth=8, demux_depth=8, flow_entries=1, buffer_depth=32)
    assert flow.pipeline_decisions_per_cycle(dut, cycles=64, warm_up=32) == 1.0
