"""``slique demo``: a bursty producer and a slow consumer through a BoundedSlique.

The same seeded traffic runs through the gateware (in Verilator, or ``--sim icarus``), compared
with the golden model every cycle, and through the golden model alone, once with
``on_full="backpressure"`` and once with ``on_full="drop"``. It ends with a side-by-side table and
a PNG plot of the level over time.
"""

import json
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from slique.sim import sliques
from slique.sim.lockstep import golden_run
from slique.sim.runner import run_bench


__all__ = ["add_arguments", "run"]


MODES = ("backpressure", "drop")
ROWS = ("offered", "delivered", "dropped", "high_water", "cycles")


def add_arguments(parser):
    parser.add_argument("--depth", type=int, default=16, help="slique depth (default 16)")
    parser.add_argument("--storage", default="auto", choices=["auto", "systolic", "ring"])
    parser.add_argument("--cycles", type=int, default=800, help="cycles of traffic (default 800)")
    parser.add_argument("--seed", type=int, default=2026, help="traffic seed (default 2026)")
    parser.add_argument("--pattern", default="bursty-slow",
                        help="traffic pattern (default bursty-slow: bursts of 32 at full rate, "
                             "a consumer ready 35%% of cycles)")
    parser.add_argument("--sim", default=None, help="simulator: verilator (default) or icarus")
    parser.add_argument("--waves", action="store_true", help="record a VCD per run")
    parser.add_argument("--out", type=Path, default=Path("slique-demo"),
                        help="directory for the plot, results and waveforms (default ./slique-demo)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")


def _runs(args):
    for mode in MODES:
        yield mode, sliques.run_parameters(
            "bounded", shape="unsigned32", depth=args.depth, on_full=mode, storage=args.storage,
            seed=args.seed, cycles=args.cycles, pattern=args.pattern, record=True,
            replay=f"slique demo --depth {args.depth} --storage {args.storage} "
                   f"--cycles {args.cycles} --seed {args.seed} --pattern {args.pattern}")


def _simulate(args, console):
    outcomes = {}
    runs = list(_runs(args))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=2 * len(runs))
        for mode, parameters in runs:
            progress.update(task, description=f"gateware, {mode} (build + run)")
            gateware = run_bench(sliques.gateware(parameters), "slique.sim.benches.slique_bench",
                                 parameters=parameters, name=mode, sim=args.sim,
                                 waves=args.waves, results_dir=args.out / mode)
            progress.advance(task)
            progress.update(task, description=f"golden model, {mode}")
            golden = golden_run(sliques.golden_model(parameters), sliques.golden_model(parameters),
                                seed=args.seed, width=parameters["width"], cycles=args.cycles,
                                depth=args.depth, pattern=args.pattern, record=True)
            progress.advance(task)
            outcomes[mode] = {"gateware": gateware.report["result"], "golden": golden.as_dict(),
                              "waveform": str(gateware.waveform) if gateware.waveform else None}
    return outcomes


def _table(outcomes, args):
    table = Table(title=f"BoundedSlique(32, depth={args.depth}, storage={args.storage!r}), "
                        f"{args.pattern} traffic, seed {args.seed}")
    table.add_column("")
    for mode in MODES:
        table.add_column(f"{mode}\ngateware", justify="right")
        table.add_column(f"{mode}\ngolden", justify="right")
    for row in ROWS:
        cells = []
        for mode in MODES:
            cells += [str(outcomes[mode]["gateware"][row]), str(outcomes[mode]["golden"][row])]
        table.add_row(row, *cells)
    agree = []
    for mode in MODES:
        same = outcomes[mode]["gateware"]["levels"] == outcomes[mode]["golden"]["levels"]
        agree += ["[green]yes[/]" if same else "[red]NO[/]"] * 2
    table.add_row("level series equal", *agree)
    return table


def _plot(outcomes, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(MODES), 1, sharex=True, figsize=(10, 6))
    for axis, mode in zip(axes, MODES):
        gateware = outcomes[mode]["gateware"]
        axis.plot(gateware["levels"], label="gateware (simulated)", linewidth=1.6)
        axis.plot(outcomes[mode]["golden"]["levels"], "--", label="golden model", linewidth=1.0)
        axis.axhline(args.depth, color="grey", linestyle=":", label=f"depth {args.depth}")
        axis.set_ylabel("level")
        axis.set_title(f'on_full="{mode}": offered {gateware["offered"]}, delivered '
                       f'{gateware["delivered"]}, dropped {gateware["dropped"]}')
    axes[-1].set_xlabel("cycle")
    figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3)
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def run(args):
    console = Console(stderr=args.json)
    args.out.mkdir(parents=True, exist_ok=True)
    outcomes = _simulate(args, console)
    plot = args.out / "levels.png"
    _plot(outcomes, args, plot)
    mismatches = [mode for mode in MODES
                  if outcomes[mode]["gateware"]["levels"] != outcomes[mode]["golden"]["levels"]]
    if args.json:
        document = {mode: {side: {row: outcomes[mode][side][row] for row in ROWS}
                           for side in ("gateware", "golden")} for mode in MODES}
        print(json.dumps({"runs": document, "plot": str(plot), "agree": not mismatches}))
    else:
        console.print(_table(outcomes, args))
        console.print(f"plot of level over time: [bold]{plot}[/]")
        for mode in MODES:
            if outcomes[mode]["waveform"]:
                console.print(f"waveform ({mode}): {outcomes[mode]['waveform']}")
    if mismatches:
        console.print(f"[red]gateware and golden model disagree in: {', '.join(mismatches)}[/]")
        return 1
    return 0
