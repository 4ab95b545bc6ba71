"""``slique bench flow``: resources, Fmax and decisions per cycle of the flow blocks, each beside
its anchor, on iCE40 UP5K and ECP5-25F, in one run.

The blocks (each synthesized alone in a register harness, as in ``slique bench sliques``: LUT /
FF / BRAM of the block, harness excluded; Fmax of the placed design, median over the placement
seeds):

- :class:`~slique.hdl.BurstAdmission`, 8- and 32-bit payload, 16-entry slique;
- :class:`~slique.hdl.SidelineReorder`, 4 entries, 32-bit payload;
- :class:`~slique.hdl.FlowDemux`, 8- and 32-bit beats, four queues of 64 beats, four flow-table
  entries, a 2 KB input buffer;
- :class:`~slique.hdl.TraceStream`, four sources, 16-record ring;
- :class:`~slique.hdl.RegisterBank` of the burst admission's register map
  (:data:`~slique.hdl.block_registers.ADMISSION_REGISTERS`, 14 registers), pipelined,
  ``latency=2`` (the flow
  demux's map, 92 registers with the 128-entry RETA, does not fit the UP5K beside the benchmark's
  harness);
- the assembled :class:`~slique.hdl.flow_pipeline.FlowPipeline` (demux -> packet admission ->
  per-queue sliques, one trace stream), 8-bit, when ``slique.hdl.flow_pipeline`` is there (the
  run says so when it is not).

The anchor of each, synthesized and measured in the same run and shown under it: an
:class:`amaranth.lib.fifo.SyncFIFOBuffered` of the payload and depth of the slique inside the
block (the admission's slique, the sideline's entries with their sequence, a demux queue of
packet beats, the trace records), whose "decision" is a beat moved when full. The register
bank has none (nothing in Amaranth's library decodes a bus).

Decisions per cycle, measured with the Amaranth simulator: admission decisions with a beat
offered every cycle through every regime of the rule (:mod:`slique.bench.burst_admission`),
demux and pipeline packet decisions on back-to-back one-beat runts (each a drop with a trace
record; :mod:`slique.bench.flow_demux`), in-order sequences for the sideline, records for the
trace stream (every source firing every cycle), bus accesses for the bank. ``--check`` holds
the issue's target: one packet decision per cycle at 125 MHz or more on ECP5 for the admission
and the demux at 8 and 32 bits.
"""

import argparse
import importlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .burst_admission import AdmissionPoint
from .flow_demux import DemuxPoint
from .sliques import Check, DesignPoint, measure_beats_per_cycle_full
from .synth import (DEVICES, add_synthesis_arguments, benchmark_main, run_measurement,
                    run_syntheses)


__all__ = ["FlowPoint", "TARGET_MHZ", "TARGET_DEVICE", "TARGETED", "flow_points", "measure",
           "checks", "add_arguments", "run", "main", "PIPELINE_MISSING"]


#: The issue's target: one decision per cycle at this clock on ECP5 (Gigabit RGMII).
TARGET_MHZ = 125.0
TARGET_DEVICE = "ecp5"

TARGETS = ("ice40", "ecp5")

#: What ``--check`` requires to meet the target.
TARGETED = ("BurstAdmission 8-bit", "BurstAdmission 32-bit", "FlowDemux 8-bit",
            "FlowDemux 32-bit")

#: The line printed when the assembled pipeline cannot be measured.
PIPELINE_MISSING = ("slique.hdl.flow_pipeline is missing: the assembled pipeline is not "
                    "measured")

#: Blocks of a run, for ``--blocks``.
BLOCKS = ("BurstAdmission", "SidelineReorder", "FlowDemux", "TraceStream", "RegisterBank",
          "FlowPipeline")


def _layout_width(layout):
    from amaranth.lib import data
    return data.Layout.cast(layout).size


@dataclass(frozen=True)
class AnchorPoint(DesignPoint):
    """A :class:`~slique.bench.sliques.DesignPoint` of an anchor whose label and file name say
    its width (anchors of several widths share a run)."""

    @property
    def label(self):
        return f"{self.design} {self.width}x{self.depth}"

    @property
    def file_name(self):
        return f"{super().file_name}_{self.width}"


@dataclass(frozen=True)
class FlowPoint:
    """A design of this benchmark that has no point class of its own elsewhere: ``kind`` is
    ``"reorder"``, ``"trace"``, ``"bank"`` or ``"pipeline"``, ``parameters`` a tuple of
    ``(name, value)``."""
    kind: str
    label: str
    parameters: tuple = ()

    @property
    def file_name(self):
        return "flow_" + "".join(c if c.isalnum() else "_" for c in self.label).lower()

    @property
    def cost_estimate(self):
        return {"pipeline": 5000, "bank": 500}.get(self.kind, 100)

    @property
    def options(self):
        return dict(self.parameters)

    def build(self):
        options = self.options
        if self.kind == "reorder":
            from .sideline_reorder import _reorder
            return _reorder(options["depth"], options["width"])
        if self.kind == "trace":
            from .trace_stream import _trace_stream
            return _trace_stream(options["sources"], options["depth"], options["storage"])
        if self.kind == "bank":
            from slique.hdl import block_registers
            from slique.hdl.register_bank import RegisterBank
            return RegisterBank(getattr(block_registers, options["registers"]),
                                pipelined=options["pipelined"], latency=options["latency"])
        if self.kind == "pipeline":
            from slique.hdl.flow_pipeline import FlowPipeline
            return FlowPipeline(options["data_width"], options["queues"],
                                queue_depth=options["queue_depth"],
                                demux_depth=options["demux_depth"],
                                flow_entries=options["flow_entries"])
        raise ValueError(f"Unknown kind {self.kind!r}")

    def harness(self):
        from .register_bank import component_harness

        options = self.options
        if self.kind == "reorder":
            from .sideline_reorder import harness
            return harness(options["depth"], options["width"])
        if self.kind == "trace":
            from .trace_stream import _harness
            return _harness(options["sources"], options["depth"], options["storage"])
        dut = self.build()
        if self.kind == "bank":
            return component_harness(dut, valid=dut.bus.stb, ready=dut.bus.cyc,
                                     out_valid=dut.bus.ack, in_ready=dut.bus.dat_r)
        return component_harness(dut, valid=dut.i_stream.valid, ready=dut.o_streams[0].ready,
                                 out_valid=dut.o_streams[0].valid, in_ready=dut.i_stream.ready)

    def decisions_per_cycle(self):
        options = self.options
        if self.kind == "reorder":
            from .sideline_reorder import decisions_per_cycle
            return decisions_per_cycle(options["depth"], reordered=False,
                                       payload_width=options["width"])
        if self.kind == "trace":
            from .trace_stream import records_per_cycle
            return records_per_cycle(options["sources"], options["depth"], options["storage"])
        if self.kind == "bank":
            from .register_bank import accesses_per_cycle
            return accesses_per_cycle(dict(pipelined=options["pipelined"], unmapped="ack",
                                           latency=options["latency"]))
        return pipeline_decisions_per_cycle(self.build())


def pipeline_decisions_per_cycle(dut, *, cycles=256, warm_up=64):
    """Packet decisions per cycle of a fresh :class:`~slique.hdl.flow_pipeline.FlowPipeline`
    offered one-beat runts back to back (each dropped by the demux with a trace record): trace
    records delivered per cycle, the pipeline full."""
    from slique.sim.register_bank import simulate

    async def testbench(ctx):
        ctx.set(dut.trace_stream.ready, 1)
        for stream in [*dut.o_streams, dut.rst_stream]:
            ctx.set(stream.ready, 1)
        ctx.set(dut.i_stream.valid, 1)
        ctx.set(dut.i_stream.payload.first, 1)
        ctx.set(dut.i_stream.payload.last, 1)
        records = 0
        for cycle in range(warm_up + cycles):
            if cycle >= warm_up:
                records += ctx.get(dut.trace_stream.valid)
            await ctx.tick()
        return records / cycles

    return simulate(dut, testbench)


@dataclass(frozen=True)
class Entry:
    """A block of the run and its anchor (``None``: it has none)."""
    block: str
    design: str
    point: object
    anchor: "AnchorPoint | None"
    targeted: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def flow_points(blocks=BLOCKS):
    """The entries of a run (blocks from :data:`BLOCKS`), and the line saying the pipeline is
    missing (or ``None``)."""
    from slique.hdl.packet import packet_layout
    from slique.hdl.sideline_reorder import SEQUENCE_WIDTH
    from slique.hdl.trace_event import TraceRecord

    entries, missing = [], None

    def anchor(width, depth):
        return AnchorPoint("SyncFIFOBuffered", None, depth, width)

    if "BurstAdmission" in blocks:
        for width in (8, 32):
            entries.append(Entry("BurstAdmission", f"BurstAdmission {width}-bit",
                                 AdmissionPoint(width, 16), anchor(width, 16), targeted=True,
                                 extra=dict(width=width, depth=16)))
    if "SidelineReorder" in blocks:
        entries.append(Entry("SidelineReorder", "SidelineReorder M=4",
                             FlowPoint("reorder", "SidelineReorder/4",
                                       (("depth", 4), ("width", 32))),
                             anchor(SEQUENCE_WIDTH + 32, 4), extra=dict(width=32, depth=4)))
    if "FlowDemux" in blocks:
        for width in (8, 32):
            entries.append(Entry("FlowDemux", f"FlowDemux {width}-bit", DemuxPoint(width),
                                 anchor(_layout_width(packet_layout(width)), 64), targeted=True,
                                 extra=dict(width=width, queues=4, depth=64)))
    if "TraceStream" in blocks:
        entries.append(Entry("TraceStream", "TraceStream 4 sources",
                             FlowPoint("trace", "TraceStream/4/ring16",
                                       (("sources", 4), ("depth", 16), ("storage", "ring"))),
                             anchor(_layout_width(TraceRecord), 16),
                             extra=dict(width=_layout_width(TraceRecord), depth=16)))
    if "RegisterBank" in blocks:
        entries.append(Entry("RegisterBank", "RegisterBank admission map",
                             FlowPoint("bank", "RegisterBank/admission/pipelined/latency2",
                                       (("registers", "ADMISSION_REGISTERS"), ("pipelined", True),
                                        ("latency", 2))),
                             None, extra=dict(width=32)))
    if "FlowPipeline" in blocks:
        try:
            importlib.import_module("slique.hdl.flow_pipeline")
        except ImportError:
            missing = PIPELINE_MISSING
        else:
            entries.append(Entry("FlowPipeline", "FlowPipeline 8-bit",
                                 FlowPoint("pipeline", "FlowPipeline/8/4q",
                                           (("data_width", 8), ("queues", 4), ("queue_depth", 64),
                                            ("demux_depth", 64), ("flow_entries", 4))),
                                 anchor(_layout_width(packet_layout(8)), 64),
                                 extra=dict(width=8, queues=4, depth=64)))
    return entries, missing


def _decisions(entry):
    point = entry.point
    if isinstance(point, AdmissionPoint):
        from .burst_admission import measure_decisions_per_cycle
        return measure_decisions_per_cycle(point.build()), "admission decision"
    if isinstance(point, DemuxPoint):
        from .flow_demux import measure_decisions_per_cycle
        return measure_decisions_per_cycle(point.build()), "packet decision"
    decision = {"reorder": "beat in order", "trace": "trace record", "bank": "bus access",
                "pipeline": "packet decision"}[point.kind]
    return point.decisions_per_cycle(), decision


def _anchor_rate(anchor):
    dut, i_stream, o_stream, _observe = anchor.build()
    return measure_beats_per_cycle_full(dut, i_stream, o_stream, depth=anchor.depth)


def measure(targets=TARGETS, *, blocks=BLOCKS, seeds=(1, 2, 3), jobs=1, workdir=None,
            use_cache=True, progress=None):
    """Synthesize and simulate every block of ``blocks`` and its anchor on every target.

    Returns
    -------
    (list of dict, str or None)
        One record per design and target: ``block``, ``design``, ``role`` (``"block"`` or
        ``"anchor"``), ``anchor_of`` (the block's design, for an anchor), ``width`` and the
        other parameters, ``target``, ``lut``, ``ff``, ``bram``, ``fmax_mhz``,
        ``decisions_per_cycle``, ``decision`` (what is decided), ``meets_target`` (``None``
        where the issue sets no target), ``fits``, ``note``; and :data:`PIPELINE_MISSING`
        when the pipeline could not be measured.

    Raises
    ------
    SynthesisError
        If a tool failed (the other designs are finished and cached first).
    """
    progress = progress or (lambda description: None)
    entries, missing = flow_points(blocks)
    points = list(dict.fromkeys(
        [entry.point for entry in entries]
        + [entry.anchor for entry in entries if entry.anchor is not None]))
    syntheses = run_syntheses(points, targets, jobs=jobs, workdir=workdir, seeds=seeds,
                              use_cache=use_cache, progress=progress)
    records = []
    anchor_rates = {}
    for entry in entries:
        rate, decision = _decisions(entry)
        progress(f"simulated {entry.design}")
        rows = [(entry.point, "block", rate, decision)]
        if entry.anchor is not None:
            if entry.anchor not in anchor_rates:
                anchor_rates[entry.anchor] = _anchor_rate(entry.anchor)
            rows.append((entry.anchor, "anchor", anchor_rates[entry.anchor],
                         "beat (full)"))
        for point, role, rate, decision in rows:
            for target in targets:
                synthesis = syntheses[point, target]
                fmax = synthesis["fmax_mhz"]
                meets = None
                if role == "block" and entry.targeted and target == TARGET_DEVICE:
                    meets = bool(synthesis["fits"] and fmax is not None and fmax >= TARGET_MHZ
                                 and rate == 1.0)
                records.append({
                    "block": entry.block,
                    "design": entry.design if role == "block" else point.label,
                    "role": role, "anchor_of": entry.design if role == "anchor" else None,
                    **(entry.extra if role == "block"
                       else dict(width=point.width, depth=point.depth)),
                    "target": target, "lut": synthesis["lut"], "ff": synthesis["ff"],
                    "bram": synthesis["bram"], "fmax_mhz": fmax,
                    "decisions_per_cycle": rate, "decision": decision, "meets_target": meets,
                    "fits": synthesis["fits"], "note": synthesis["note"],
                })
    return records, missing


def checks(records):
    """The issue's targets: one decision per cycle at :data:`TARGET_MHZ` or more on ECP5 for
    each of :data:`TARGETED` (a design not measured on ECP5 fails, saying so)."""
    results = []
    for design in TARGETED:
        found = [record for record in records if record["design"] == design
                 and record["role"] == "block" and record["target"] == TARGET_DEVICE]
        if not found:
            results.append(Check(False, f"{design}: 1 decision/cycle at >= {TARGET_MHZ:.0f} MHz "
                                 f"on ECP5: not measured (select it with --blocks, and ecp5 "
                                 f"with --targets)"))
            continue
        record = found[0]
        fmax = record["fmax_mhz"]
        shown = "no fit" if not record["fits"] or fmax is None else f"{fmax:.1f} MHz"
        results.append(Check(bool(record["meets_target"]),
                             f"{design}: 1 decision/cycle at >= {TARGET_MHZ:.0f} MHz on ECP5: "
                             f"{record['decisions_per_cycle']:.2f}/cycle at {shown}"))
    return results


# Output.

_COLUMNS = ("Design", "Decisions/cycle", "Decision")
_TARGET_COLUMNS = ("LUT", "FF", "BRAM", "Fmax MHz")


def _rows(records, targets):
    """``(role, cells)`` per design, the targets side by side."""
    by_design = {}
    for record in records:
        by_design.setdefault((record["design"], record["role"], record["anchor_of"]),
                             {})[record["target"]] = record
    rows = []
    for (design, role, _anchor_of), by_target in by_design.items():
        first = next(iter(by_target.values()))
        name = f"  anchor: {design}" if role == "anchor" else design
        cells = [name, f"{first['decisions_per_cycle']:.2f}", first["decision"]]
        for target in targets:
            record = by_target.get(target)
            if record is None:
                cells += ["", "", "", ""]
                continue
            fmax = f"{record['fmax_mhz']:.1f}" if record["fits"] else "no fit"
            cells += [str(record["lut"]), str(record["ff"]), str(record["bram"]), fmax]
        rows.append((role, cells))
    return rows


def _notes(records):
    return [f"{record['design']} on {record['target']}: {record['note']}"
            for record in records if record["note"]]


def _devices(targets):
    return ", ".join(DEVICES[target].description for target in targets)


def _print_rich(records, targets, results, missing, *, elapsed):
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console = Console(width=max(console.width, 70 + 40 * len(targets)))
    table = Table(box=box.SIMPLE_HEAD, title="The flow blocks beside their anchors",
                  caption="LUT / FF / BRAM of the block alone, harness excluded; Fmax of the "
                          "placed design, median of the placements; anchors dimmed")
    for column in _COLUMNS:
        table.add_column(column, justify="right" if column == "Decisions/cycle" else "left",
                         no_wrap=True)
    for target in targets:
        for index, column in enumerate(_TARGET_COLUMNS):
            table.add_column(f"{target if index == 0 else ''}\n{column}", justify="right",
                             no_wrap=True)
    for role, cells in _rows(records, targets):
        if role == "block":
            table.add_section()
        table.add_row(*cells, style="dim" if role == "anchor" else None)
    console.print(table)
    for note in _notes(records):
        console.print(f"[yellow]{note}[/]", highlight=False)
    if missing:
        console.print(f"[yellow]{missing}[/]", highlight=False)
    console.print()
    for check in results:
        colour = "green" if check.passed else "red"
        console.print(f"[{colour}]{'PASS' if check.passed else 'FAIL'}[/]  {check.description}",
                      highlight=False)
    console.print(f"\n{len(records)} results in {elapsed:.0f} s on {_devices(targets)}",
                  highlight=False)


def _print_markdown(records, targets, results, missing):
    header = list(_COLUMNS) + [f"{target} {column}" for target in targets
                               for column in _TARGET_COLUMNS]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":---" if index in (0, 2) else "---:"
                            for index in range(len(header))) + "|"]
    for role, cells in _rows(records, targets):
        if role == "anchor":
            cells = [f"*{cell.strip()}*" if cell else cell for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"LUT / FF / BRAM of the block alone (harness excluded); Fmax of the placed "
                  f"design, median of the placements; anchors (amaranth.lib.fifo."
                  f"SyncFIFOBuffered of the slique inside) in italics. Devices: "
                  f"{_devices(targets)}.", ""]
    lines += [f"- {note}" for note in _notes(records)]
    if missing:
        lines.append(f"- {missing}")
    lines += [f"- {'PASS' if check.passed else 'FAIL'}: {check.description}"
              for check in results]
    print("\n".join(lines))


# Command line.

def _names(choices, what):
    def parse(text):
        names = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(unknown) or text!r}; "
                                             f"choose from {', '.join(choices)}")
        return names
    return parse


def add_arguments(parser):
    """Add the options of ``slique bench flow`` to ``parser``."""
    parser.add_argument("--targets", type=_names(tuple(DEVICES), "target"),
                        default=list(TARGETS),
                        help=f"devices, comma-separated (default: {','.join(TARGETS)})")
    parser.add_argument("--blocks", type=_names(BLOCKS, "block"), default=list(BLOCKS),
                        help=f"blocks, comma-separated (default: all: {','.join(BLOCKS)})")
    add_synthesis_arguments(parser, jobs=1, json_help="print one JSON document {\"designs\": "
                            "[...], \"checks\": [...]} instead of the table")
    parser.add_argument("--check", action="store_true",
                        help=f"exit with status 1 unless admission and demux (8 and 32 bits) "
                             f"make one decision per cycle at >= {TARGET_MHZ:.0f} MHz on ECP5")


def run(args):
    """Run the benchmark with parsed ``args``; return the exit status."""
    entries, _missing = flow_points(args.blocks)
    designs = len({entry.point for entry in entries}
                  | {entry.anchor for entry in entries if entry.anchor is not None})
    status, measured, elapsed = run_measurement(
        args.targets, designs * len(args.targets) + len(entries),
        lambda progress: measure(args.targets, blocks=args.blocks,
                                 seeds=tuple(range(1, args.seeds + 1)), jobs=args.jobs,
                                 workdir=args.workdir, use_cache=not args.no_cache,
                                 progress=progress))
    if status:
        return status
    records, missing = measured
    results = checks(records)
    if args.json:
        print(json.dumps({"designs": records, "pipeline_missing": missing,
                          "checks": [{"check": check.description, "passed": check.passed}
                                     for check in results]}, indent=1))
    elif args.markdown:
        _print_markdown(records, args.targets, results, missing)
    else:
        _print_rich(records, args.targets, results, missing, elapsed=elapsed)
    if args.check and not all(check.passed for check in results):
        return 1
    return 0


def main(argv=None):
    """Entry point of ``python -m slique.bench.flow``."""
    return benchmark_main(sys.modules[__name__], "Resources, Fmax and decisions per cycle of the "
                          "flow blocks beside their anchors on iCE40 UP5K and ECP5-25F.", argv)


if __name__ == "__main__":
    sys.exit(main())
