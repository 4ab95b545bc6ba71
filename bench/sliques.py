"""``slique bench sliques``: area, Fmax and full throughput of the sliques beside Amaranth's FIFOs.

Every design goes through the same :class:`~slique.bench.harness.StreamHarness` and the same
:func:`~slique.bench.synth.synthesize` flow, on iCE40 UP5K and ECP5-25F, in one run:

- ``ZeroSlique`` (32-bit);
- ``BoundedSlique`` with ``storage="systolic"``, ``"ring"`` and ``"auto"``, 32-bit payload,
  ``on_full="backpressure"``, at depths 4, 16, 64 and 512;
- the anchors :class:`amaranth.lib.fifo.SyncFIFO` and :class:`amaranth.lib.fifo.SyncFIFOBuffered`
  at the same depths.

LUT, FF and BRAM are those of the design under test alone (harness excluded); Fmax is that of
the whole placed design, median over three placement seeds. ``beats_per_cycle_full`` is measured
with the Amaranth simulator: the queue is filled with its consumer stalled, then input valid
and output ready are held high and the output transfers are counted.

The design's ``level`` output is observed for the queues that have one (so ``level`` costs are
included on both sides of the comparison); ``high_water`` and ``dropped`` are not used, and
their logic is removed as in any design that does not read them.

Run it as ``slique bench sliques`` or ``python -m slique.bench.sliques``; ``--help`` lists
the options.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from amaranth import ClockDomain, Module
from amaranth.lib import fifo
from amaranth.sim import Simulator

from .harness import StreamHarness, StreamPorts
from .synth import (DEVICES, add_synthesis_arguments, benchmark_main, run_measurement,
                    run_syntheses)


__all__ = [
    "DesignPoint", "design_points", "measure_beats_per_cycle_full", "collect", "checks",
    "add_arguments", "run", "main",
    "REQUIRED_KEYS", "EXTRA_KEYS",
]


WIDTH = 32
DEPTHS = (4, 16, 64, 512)
TARGETS = ("ice40", "ecp5")
STORAGES = ("systolic", "ring", "auto")
DESIGNS = ("ZeroSlique", "BoundedSlique", "SyncFIFO", "SyncFIFOBuffered")
ANCHORS = ("SyncFIFO", "SyncFIFOBuffered")

#: Keys of every record of the ``--json`` document.
REQUIRED_KEYS = ("design", "storage", "depth", "width", "target", "lut", "ff", "bram",
                 "fmax_mhz", "beats_per_cycle_full")
#: Further keys of every record: whether the design fits the device, why not, and which
#: storage ``"auto"`` chose (equal to ``storage`` otherwise; ``null`` for designs without).
EXTRA_KEYS = ("fits", "note", "resolved_storage")

#: Cycles with input valid and output ready held high when measuring full throughput.
FULL_THROUGHPUT_CYCLES = 64

#: Tolerance of the check that the systolic chain keeps its Fmax from depth 4 to depth 64.
SYSTOLIC_FMAX_TOLERANCE = 0.10


@dataclass(frozen=True)
class DesignPoint:
    """One design of the benchmark.

    Parameters
    ----------
    design : str
        One of :data:`DESIGNS`.
    storage : str or None
        For ``BoundedSlique``, one of :data:`STORAGES`; ``None`` for the others.
    depth : int
        Entries; 0 for ``ZeroSlique``.
    width : int
        Payload bits.
    """
    design: str
    storage: "str | None"
    depth: int
    width: int = WIDTH

    @property
    def label(self):
        """Short human-readable name, e.g. ``BoundedSlique/ring@16``."""
        name = self.design if self.storage is None else f"{self.design}/{self.storage}"
        return name if self.design == "ZeroSlique" else f"{name}@{self.depth}"

    @property
    def file_name(self):
        """Name for its files, e.g. ``boundedslique_ring_16``."""
        parts = [self.design.lower(), self.storage, str(self.depth)]
        return "_".join(part for part in parts if part)

    @property
    def cost_estimate(self):
        """Relative synthesis time, to start the longest jobs first."""
        if self.design == "BoundedSlique" and self.storage == "systolic":
            return 8 * self.depth
        if self.design == "SyncFIFO":
            return 2 * self.depth
        return self.depth

    def build(self):
        """A fresh design under test.

        Returns
        -------
        tuple of (Elaboratable, StreamPorts, StreamPorts, list of Value)
            The design, its input and output streams, and the status outputs to observe.
        """
        if self.design == "ZeroSlique":
            from slique.hdl import ZeroSlique
            dut = ZeroSlique(self.width)
            return dut, StreamPorts.cast(dut.i_stream), StreamPorts.cast(dut.o_stream), []
        if self.design == "BoundedSlique":
            from slique.hdl import BoundedSlique
            dut = BoundedSlique(self.width, self.depth, on_full="backpressure",
                                storage=self.storage)
            return (dut, StreamPorts.cast(dut.i_stream), StreamPorts.cast(dut.o_stream),
                    [dut.level])
        if self.design in ANCHORS:
            dut = getattr(fifo, self.design)(width=self.width, depth=self.depth)
            return (dut, StreamPorts.cast(dut.w_stream), StreamPorts.cast(dut.r_stream),
                    [dut.level])
        raise ValueError(f"Unknown design {self.design!r}; choose from {', '.join(DESIGNS)}")

    def harness(self):
        """The design under test inside a :class:`StreamHarness`."""
        dut, i_stream, o_stream, observe = self.build()
        return StreamHarness(dut, i_stream, o_stream, observe=observe)


def design_points(*, designs=DESIGNS, storages=STORAGES, depths=DEPTHS, width=WIDTH):
    """The design points of a run, ``ZeroSlique`` first, then by depth with the anchors last.

    Parameters
    ----------
    designs : iterable of str
        Designs to include, from :data:`DESIGNS`.
    storages : iterable of str
        ``BoundedSlique`` storages to include, from :data:`STORAGES`.
    depths : iterable of int
        Depths of the queues; ``ZeroSlique`` has none and is included whatever they are.
    """
    points = []
    if "ZeroSlique" in designs:
        points.append(DesignPoint("ZeroSlique", None, 0, width))
    for depth in depths:
        if "BoundedSlique" in designs:
            points += [DesignPoint("BoundedSlique", storage, depth, width) for storage in storages]
        points += [DesignPoint(anchor, None, depth, width) for anchor in ANCHORS
                   if anchor in designs]
    return points


def measure_beats_per_cycle_full(dut, i_stream, o_stream, *, depth,
                                 cycles=FULL_THROUGHPUT_CYCLES):
    """Beats per cycle that a full queue moves, measured with the Amaranth simulator.

    With the consumer stalled, beats are offered for ``depth + 16`` cycles, enough to fill any
    queue of ``depth`` entries whatever its latency. Then input valid and output ready are held
    high for ``cycles`` cycles, and the output transfers are counted.

    Parameters
    ----------
    dut : Elaboratable
        The queue, fresh (not yet elaborated).
    i_stream, o_stream : StreamPorts
        Its input and output streams.
    depth : int
        Its depth.
    cycles : int
        Cycles to count over.

    Returns
    -------
    float
        Output transfers divided by ``cycles``.
    """
    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dut = dut
    simulator = Simulator(top)
    simulator.add_clock(1e-8)
    transfers = []

    async def testbench(context):
        beat = 0
        context.set(i_stream.valid, 1)
        context.set(o_stream.ready, 0)
        for _ in range(depth + 16):
            context.set(i_stream.payload, beat)
            beat += context.get(i_stream.ready)
            await context.tick()
        context.set(o_stream.ready, 1)
        for _ in range(cycles):
            context.set(i_stream.payload, beat)
            beat += context.get(i_stream.ready)
            transfers.append(context.get(o_stream.valid))
            await context.tick()

    simulator.add_testbench(testbench)
    simulator.run()
    return sum(transfers) / cycles


def _measure_point(point):
    """Full throughput of ``point``, and the storage it uses (``"auto"`` resolved; ``None`` for
    designs without the option)."""
    dut, i_stream, o_stream, _observe = point.build()
    beats = measure_beats_per_cycle_full(dut, i_stream, o_stream, depth=point.depth)
    return beats, getattr(dut, "storage", None)


def collect(points, targets, *, jobs=2, workdir=None, seeds=(1, 2, 3), use_cache=True,
            progress=None):
    """Synthesize every point on every target and measure its full throughput.

    Parameters
    ----------
    points : list of DesignPoint
    targets : list of str
    jobs : int
        Synthesis processes run in parallel; 1 runs everything in this process.
    workdir : Path or None
        Where the tools write their files; a temporary directory if ``None``.
    seeds : tuple of int
        Placement seeds, see :func:`~slique.bench.synth.synthesize`.
    use_cache : bool
        Whether to use the synthesis cache.
    progress : callable or None
        Called as ``progress(description)`` after every finished job.

    Returns
    -------
    list of dict
        One record per point and target, with the keys :data:`REQUIRED_KEYS` and
        :data:`EXTRA_KEYS`, in the order of ``points`` then ``targets``.

    Raises
    ------
    SynthesisError
        If a tool failed for any point; the other points are finished (and cached) first.
    """
    progress = progress or (lambda description: None)
    syntheses = run_syntheses(points, targets, jobs=jobs, workdir=workdir, seeds=seeds,
                              use_cache=use_cache, progress=progress)

    measured = {}
    for point in points:
        measured[point] = _measure_point(point)
        progress(f"simulated {point.label}")

    records = []
    for point in points:
        beats, resolved_storage = measured[point]
        for target in targets:
            synthesis = syntheses[point, target]
            records.append({
                "design": point.design,
                "storage": point.storage,
                "depth": point.depth,
                "width": point.width,
                "target": target,
                "lut": synthesis["lut"],
                "ff": synthesis["ff"],
                "bram": synthesis["bram"],
                "fmax_mhz": synthesis["fmax_mhz"],
                "beats_per_cycle_full": beats,
                "fits": synthesis["fits"],
                "note": synthesis["note"],
                "resolved_storage": resolved_storage,
            })
    return records


@dataclass(frozen=True)
class Check:
    """One target of the issue, checked on the measured figures.

    Attributes
    ----------
    passed : bool
    description : str
        What is checked, with the figures.
    """
    passed: bool
    description: str

    def __str__(self):
        return f"{'PASS' if self.passed else 'FAIL'}  {self.description}"


def checks(records):
    """The issue's targets, checked on ``records`` (those whose figures are in the run):

    - at every depth and target, ``storage="auto"`` uses no more LUT+FF than SyncFIFOBuffered
      and has at least its Fmax;
    - on every target, the systolic chain's Fmax at depth 64 is within 10 % of depth 4;
    - ZeroSlique has no flip-flop;
    - every BoundedSlique moves one beat per cycle when full.

    Returns
    -------
    list of Check
    """
    found = {(record["design"], record["storage"], record["depth"], record["target"]): record
             for record in records}
    targets = list(dict.fromkeys(record["target"] for record in records))
    depths = sorted({record["depth"] for record in records if record["depth"]})
    results = []
    for target in targets:
        for depth in depths:
            auto = found.get(("BoundedSlique", "auto", depth, target))
            anchor = found.get(("SyncFIFOBuffered", None, depth, target))
            if auto and anchor:
                results += _check_auto_against_anchor(auto, anchor)
        systolic_4 = found.get(("BoundedSlique", "systolic", 4, target))
        systolic_64 = found.get(("BoundedSlique", "systolic", 64, target))
        if systolic_4 and systolic_64:
            results.append(_check_systolic_fmax(systolic_4, systolic_64))
        zero = found.get(("ZeroSlique", None, 0, target))
        if zero:
            results.append(Check(zero["ff"] == 0,
                                 f"ZeroSlique has no flip-flop on {target}: FF = {zero['ff']}"))
    results += _check_full_throughput(records)
    return results


def _check_auto_against_anchor(auto, anchor):
    where = f"on {auto['target']} at depth {auto['depth']}"
    auto_area = auto["lut"] + auto["ff"]
    anchor_area = anchor["lut"] + anchor["ff"]
    area = Check(auto["fits"] and auto_area <= anchor_area,
                 f"auto LUT+FF <= SyncFIFOBuffered's {where}: {auto_area} vs {anchor_area}")
    if not auto["fits"]:
        speed = Check(False, f"auto Fmax >= SyncFIFOBuffered's {where}: auto does not fit")
    elif not anchor["fits"]:
        speed = Check(True, f"auto Fmax >= SyncFIFOBuffered's {where}: "
                            f"{auto['fmax_mhz']:.1f} MHz, SyncFIFOBuffered does not fit")
    else:
        speed = Check(auto["fmax_mhz"] >= anchor["fmax_mhz"],
                      f"auto Fmax >= SyncFIFOBuffered's {where}: "
                      f"{auto['fmax_mhz']:.1f} vs {anchor['fmax_mhz']:.1f} MHz")
    return [area, speed]


def _check_systolic_fmax(shallow, deep):
    description = f"systolic Fmax at depth 64 within 10 % of depth 4 on {deep['target']}"
    if not (shallow["fits"] and deep["fits"]):
        return Check(False, f"{description}: depth {'4' if not shallow['fits'] else '64'} "
                            f"does not fit")
    ratio = deep["fmax_mhz"] / shallow["fmax_mhz"]
    return Check(ratio >= 1 - SYSTOLIC_FMAX_TOLERANCE,
                 f"{description}: {deep['fmax_mhz']:.1f} vs {shallow['fmax_mhz']:.1f} MHz "
                 f"({ratio - 1:+.0%})")


def _check_full_throughput(records):
    results = []
    by_storage = {}
    for record in records:
        if record["design"] == "BoundedSlique":
            by_storage.setdefault(record["storage"], {})[record["depth"]] = \
                record["beats_per_cycle_full"]
    for storage, beats_by_depth in by_storage.items():
        slow = {depth: beats for depth, beats in beats_by_depth.items() if beats < 1}
        depths = ", ".join(map(str, sorted(beats_by_depth)))
        detail = ("" if not slow else ": " + ", ".join(
            f"{beats:.2f} at depth {depth}" for depth, beats in sorted(slow.items())))
        results.append(Check(not slow, f"BoundedSlique/{storage} moves one beat per cycle when "
                                       f"full (depths {depths}){detail}"))
    return results


# Presentation.

_TABLE_COLUMNS = ("Design", "Depth", "Beats/cycle full")
_TARGET_COLUMNS = ("LUT", "FF", "BRAM", "Fmax MHz")


def _design_label(record):
    if record["storage"] is None:
        return record["design"]
    if record["storage"] == "auto" and record["resolved_storage"]:
        return f"{record['design']} auto ({record['resolved_storage']})"
    return f"{record['design']} {record['storage']}"


def _where(record):
    depth = "" if record["design"] == "ZeroSlique" else f" at depth {record['depth']}"
    return f"{_design_label(record)}{depth} on {record['target']}"


def _table_rows(records, targets):
    """Rows of the table, one per design point with the targets' figures side by side, as
    ``(is_anchor, cells)``."""
    by_point = {}
    for record in records:
        key = (record["design"], record["storage"], record["depth"])
        by_point.setdefault(key, {})[record["target"]] = record
    rows = []
    for (design, _storage, depth), by_target in by_point.items():
        first = next(iter(by_target.values()))
        cells = [_design_label(first), "-" if design == "ZeroSlique" else str(depth),
                 f"{first['beats_per_cycle_full']:.2f}"]
        for target in targets:
            record = by_target.get(target)
            if record is None:
                cells += ["", "", "", ""]
                continue
            fmax = f"{record['fmax_mhz']:.1f}" if record["fits"] else "no fit"
            cells += [str(record["lut"]), str(record["ff"]), str(record["bram"]), fmax]
        rows.append((design in ANCHORS, cells))
    return rows


def _devices(targets):
    return ", ".join(DEVICES[target].description for target in targets)


def _print_rich(records, targets, results, *, elapsed):
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console = Console(width=max(console.width, 60 + 40 * len(targets)))
    table = Table(box=box.SIMPLE_HEAD,
                  title=f"Sliques beside amaranth.lib.fifo, {WIDTH}-bit payload",
                  caption="LUT / FF / BRAM of the queue alone, harness excluded; Fmax of the "
                          "placed design, median of the placements; anchors dimmed")
    for column in _TABLE_COLUMNS:
        table.add_column(column.replace(" full", "\nwhen full"),
                         justify="left" if column == "Design" else "right", no_wrap=True)
    for target in targets:
        for index, column in enumerate(_TARGET_COLUMNS):
            table.add_column(f"{target if index == 0 else ''}\n{column}", justify="right",
                             no_wrap=True)
    previous_depth = None
    for is_anchor, cells in _table_rows(records, targets):
        if previous_depth is not None and cells[1] != previous_depth:
            table.add_section()
        previous_depth = cells[1]
        table.add_row(*cells, style="dim" if is_anchor else None)
    console.print(table)
    for record in records:
        if record["note"]:
            colour = "yellow" if not record["fits"] else "default"
            console.print(f"[{colour}]{_where(record)}: {record['note']}[/]", highlight=False)
    console.print()
    for check in results:
        colour = "green" if check.passed else "red"
        console.print(f"[{colour}]{'PASS' if check.passed else 'FAIL'}[/]  {check.description}",
                      highlight=False)
    console.print(f"\n{len(records)} results in {elapsed:.0f} s on {_devices(targets)}",
                  highlight=False)


def _print_markdown(records, targets, results):
    header = list(_TABLE_COLUMNS) + [f"{target} {column}" for target in targets
                                     for column in _TARGET_COLUMNS]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":---" if index == 0 else "---:" for index in range(len(header)))
             + "|"]
    for is_anchor, cells in _table_rows(records, targets):
        if is_anchor:
            cells = [f"*{cell}*" if cell else cell for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{WIDTH}-bit payload. LUT / FF / BRAM of the queue alone (harness excluded); Fmax of "
        f"the placed design, median of the placements; anchors (amaranth.lib.fifo) in italics. "
        f"Devices: {_devices(targets)}.",
        "",
    ]
    for record in records:
        if record["note"]:
            lines.append(f"- {_where(record)}: {record['note']}")
    lines += [f"- {'PASS' if check.passed else 'FAIL'}: {check.description}"
              for check in results]
    print("\n".join(lines))


# Command line.

def _comma_list(text):
    return [item.strip() for item in text.split(",") if item.strip()]


def _depth_list(text):
    try:
        depths = [int(item) for item in _comma_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"depths must be integers, not {text!r}") from None
    if any(depth < 1 for depth in depths):
        raise argparse.ArgumentTypeError("depths must be at least 1")
    return depths


def _target_list(text):
    targets = _comma_list(text)
    unknown = [target for target in targets if target not in DEVICES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown target {', '.join(unknown)}; choose from "
                                         f"{', '.join(DEVICES)}")
    return targets


def _design_filter(text):
    """``--designs``: names from :data:`DESIGNS`, ``BoundedSlique/<storage>`` or a storage alone."""
    designs, storages = set(), set()
    for item in _comma_list(text):
        design, _, storage = item.partition("/")
        if design in STORAGES and not storage:
            design, storage = "BoundedSlique", design
        matches = [name for name in DESIGNS if name.lower() == design.lower()]
        if not matches:
            raise argparse.ArgumentTypeError(
                f"unknown design {item!r}; choose from {', '.join(DESIGNS)}, "
                f"BoundedSlique/<storage> or a storage ({', '.join(STORAGES)})")
        if storage and (matches[0] != "BoundedSlique" or storage not in STORAGES):
            raise argparse.ArgumentTypeError(f"unknown storage in {item!r}; BoundedSlique has "
                                             f"{', '.join(STORAGES)}")
        designs.add(matches[0])
        if storage:
            storages.add(storage)
    return designs, storages


def add_arguments(parser):
    """Add the options of ``slique bench sliques`` to ``parser``."""
    parser.add_argument("--targets", type=_target_list, default=list(TARGETS),
                        help=f"devices, comma-separated (default: {','.join(TARGETS)})")
    parser.add_argument("--depths", type=_depth_list, default=list(DEPTHS),
                        help=f"queue depths, comma-separated (default: "
                             f"{','.join(map(str, DEPTHS))})")
    parser.add_argument("--designs", type=_design_filter, default=None,
                        help=f"designs to run, comma-separated, from {', '.join(DESIGNS)}; "
                             f"BoundedSlique/<storage> or a storage alone selects one storage "
                             f"(default: all)")
    add_synthesis_arguments(parser, json_help="print one JSON document {\"designs\": [...]} "
                                              "instead of the table")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if any check fails")


def run(args):
    """Run the benchmark with parsed ``args``; return the exit status."""
    from rich.console import Console

    if args.designs is None:
        designs, storages = set(DESIGNS), set()
    else:
        designs, storages = args.designs
    points = design_points(designs=designs, storages=[storage for storage in STORAGES
                                                      if not storages or storage in storages],
                           depths=args.depths)
    if not points:
        Console(stderr=True).print("[red]No design selected.[/]")
        return 2
    status, records, elapsed = run_measurement(
        args.targets, len(points) * len(args.targets) + len(points),
        lambda progress: collect(points, args.targets, jobs=args.jobs, workdir=args.workdir,
                                 seeds=tuple(range(1, args.seeds + 1)),
                                 use_cache=not args.no_cache, progress=progress))
    if status:
        return status

    results = checks(records)
    if args.json:
        print(json.dumps({"designs": records}, indent=1))
    elif args.markdown:
        _print_markdown(records, args.targets, results)
    else:
        _print_rich(records, args.targets, results, elapsed=elapsed)
    if args.check and not all(check.passed for check in results):
        return 1
    return 0


def main(argv=None):
    """Entry point of ``python -m slique.bench.sliques``."""
    return benchmark_main(sys.modules[__name__], "LUT / FF / BRAM, Fmax and full throughput of "
                          "the sliques beside amaranth.lib.fifo on iCE40 UP5K and ECP5-25F.", argv)


if __name__ == "__main__":
    sys.exit(main())
