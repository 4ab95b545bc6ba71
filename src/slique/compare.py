"""``slique compare``: every scenario on the gateware and on the golden model, side by side.

Each scenario runs twice: the gateware under cocotb (Verilator, or ``--sim icarus``), where the
bench already compares every output with the golden model every cycle, and the golden model
alone. A lockstep failure, or any difference between the two runs' counters, trace records or
delivered frames, is a mismatch; the command exits non-zero if there is any.
"""

import json
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from slique.sim.lockstep import Mismatch
from slique.sim.runner import BenchFailed
from slique.sim.scenarios import SCENARIO_PIPELINE, SCENARIOS

from .simulate import document, run_scenario, scenario_parameters


__all__ = ["add_arguments", "run", "differences"]


def add_arguments(parser):
    parser.add_argument("--scenario", nargs="+", choices=list(SCENARIOS), metavar="NAME",
                        default=list(SCENARIOS),
                        help=f"scenarios to run (default all: {', '.join(SCENARIOS)})")
    parser.add_argument("--packets", type=int, default=60,
                        help="frames per scenario (default 60)")
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"],
                        help="simulator of the gateware (default verilator)")
    parser.add_argument("--out", type=Path, default=Path("slique-compare"),
                        help="directory for the simulator's results (default ./slique-compare)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as one JSON document")


def differences(gateware, golden):
    """What differs between two :class:`~slique.sim.flow_pipeline.PipelineResult`: a list of
    sentences (empty when they agree)."""
    found = []
    for name in sorted(set(gateware.counters) | set(golden.counters)):
        ours, theirs = gateware.counters.get(name), golden.counters.get(name)
        if ours != theirs:
            found.append(f"{name}: gateware {ours}, golden {theirs}")
    if gateware.cycles != golden.cycles:
        found.append(f"cycles: gateware {gateware.cycles}, golden {golden.cycles}")
    if list(map(tuple, gateware.records)) != list(map(tuple, golden.records)):
        found.append(f"trace records differ ({len(gateware.records)} in the gateware, "
                     f"{len(golden.records)} in the golden model)")
    for queue, (ours, theirs) in enumerate(zip(gateware.frames, golden.frames)):
        if ours != theirs:
            found.append(f"queue {queue}: delivered frames differ ({len(ours)} in the gateware, "
                         f"{len(theirs)} in the golden model)")
    return found


def _compare(name, args):
    parameters = scenario_parameters(
        name, seed=args.seed, packets=args.packets,
        replay=f"slique simulate --scenario {name} --backend {args.sim} --seed {args.seed} "
               f"--packets {args.packets}")
    golden = run_scenario(parameters, "golden", out=args.out)
    try:
        gateware = run_scenario(parameters, args.sim, out=args.out)
    except (BenchFailed, Mismatch) as error:
        return None, golden, [f"lockstep: {error}"]
    return gateware, golden, differences(gateware, golden)


def _totals(summary):
    blocks = summary["blocks"]
    delivered = sum(queue["delivered"] for queue in summary["queues"])
    dropped = sum(sum(queue["dropped"].values()) for queue in summary["queues"]) + \
        sum(blocks["demux"]["dropped"][reason] for reason in blocks["demux"]["dropped"]
            if reason != "QUEUE_FULL")
    return blocks["demux"]["offered"], delivered, dropped


def run(args):
    console = Console(stderr=args.json)
    queues = SCENARIO_PIPELINE["queues"]
    outcomes = {}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("comparing", total=len(args.scenario))
        for name in args.scenario:
            progress.update(task, description=f"{name}: golden model, then {args.sim}")
            gateware, golden, mismatches = _compare(name, args)
            outcomes[name] = dict(
                golden=document(golden, scenario=name, backend="golden", seed=args.seed,
                                queues=queues),
                gateware=None if gateware is None else document(
                    gateware, scenario=name, backend=args.sim, seed=args.seed, queues=queues),
                mismatches=mismatches)
            progress.advance(task)
    agree = not any(outcome["mismatches"] for outcome in outcomes.values())
    if args.json:
        print(json.dumps({"seed": args.seed, "packets": args.packets, "sim": args.sim,
                          "scenarios": outcomes, "agree": agree}))
    else:
        table = Table(title=f"flow pipeline: {args.sim} gateware against the golden model, "
                            f"seed {args.seed}, {args.packets} frames per scenario")
        for column in ("scenario", "offered", "delivered", "dropped", "trace records", "cycles",
                       "agree"):
            table.add_column(column, justify="left" if column == "scenario" else "right")
        for name, outcome in outcomes.items():
            shown = outcome["gateware"] or outcome["golden"]
            offered, delivered, dropped = _totals(shown)
            table.add_row(name, str(offered), str(delivered), str(dropped),
                          str(shown["trace"]["records"]), str(shown["cycles"]),
                          "[red]NO[/]" if outcome["mismatches"] else "[green]yes[/]")
        console.print(table)
        for name, outcome in outcomes.items():
            for mismatch in outcome["mismatches"][:10]:
                console.print(f"[red]{name}[/]: {mismatch}", highlight=False)
    return 0 if agree else 1
