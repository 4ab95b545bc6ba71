"""``slique simulate``: a named scenario through the flow pipeline (demux -> admission -> queues).

The scenario's frames (or a pcap file's) go through :class:`slique.hdl.FlowPipeline` on the chosen
backend: ``golden`` (the golden model alone), ``verilator`` or ``icarus`` (the gateware under
cocotb, compared with the golden model every cycle). It prints per-queue delivered and
dropped-by-reason, every block's counters and the trace counts, writes a PNG plot of queue
depths, tokens and admission decisions over time, and (``--pcap-out``) one pcap per queue.
"""

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from slique.sim import flow_pipeline
from slique.sim.lockstep import Mismatch
from slique.sim.scenarios import (SCENARIO_PIPELINE, SCENARIOS, PcapError, read_pcap,
                                  sequence_report, write_pcaps)


__all__ = ["add_arguments", "run", "BACKENDS", "run_scenario", "scenario_parameters",
           "document"]


BACKENDS = ("golden", "verilator", "icarus")

BENCH = "slique.sim.benches.flow_pipeline_bench"


def scenario_help():
    """One line per scenario, for ``--help``."""
    width = max(map(len, SCENARIOS))
    return "scenarios:\n" + "\n".join(f"  {name:<{width}}  {scenario.help}"
                                      for name, scenario in SCENARIOS.items())


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = scenario_help()
    parser.add_argument("--scenario", required=True, choices=list(SCENARIOS), metavar="NAME",
                        help="the scenario to run (listed below)")
    parser.add_argument("--backend", default="golden", choices=BACKENDS,
                        help="golden model alone (default), or the gateware on Verilator or "
                             "Icarus, compared with the golden model every cycle")
    parser.add_argument("--packets", type=int, default=200,
                        help="frames the scenario offers (default 200; with --pcap-in, at most "
                             "this many of the file's, 0 for all)")
    parser.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    parser.add_argument("--waves", action="store_true",
                        help="record a waveform (simulator backends)")
    parser.add_argument("--pcap-in", type=Path, metavar="F",
                        help="offer the frames of this pcap file (with the scenario's timing "
                             "and configuration)")
    parser.add_argument("--pcap-out", type=Path, metavar="DIR",
                        help="write the frames delivered on each queue to DIR/queue<N>.pcap")
    parser.add_argument("--out", type=Path, default=Path("slique-simulate"),
                        help="directory for the plot and the simulator's results "
                             "(default ./slique-simulate)")
    parser.add_argument("--json", action="store_true",
                        help="print the figures as one JSON document")


def scenario_parameters(scenario, *, seed, packets, pcap=None, replay=""):
    """The :func:`slique.sim.flow_pipeline.bench_parameters` of a scenario run."""
    return flow_pipeline.bench_parameters(
        pipeline=SCENARIO_PIPELINE, seed=seed, scenario=scenario, packets=packets,
        pcap=None if pcap is None else Path(pcap).resolve(), record=True, replay=replay)


def run_scenario(parameters, backend, *, out, waves=False, progress=None):
    """Run ``parameters`` on ``backend``; return a
    :class:`~slique.sim.flow_pipeline.PipelineResult`. ``progress(done, total)`` is told how far
    the golden model got (the simulators run in one piece)."""
    if backend == "golden":
        return flow_pipeline.golden_run(parameters, progress=progress)
    from slique.sim.runner import run_bench, setup_simulator

    setup_simulator(backend)  # a missing simulator is an error before anything is built
    name = f"{parameters['scenario']}-{backend}"
    bench = run_bench(flow_pipeline.gateware_pipeline(parameters), BENCH,
                      parameters=parameters, name=name, sim=backend, waves=waves,
                      results_dir=Path(out) / name)
    result = flow_pipeline.PipelineResult.from_dict(bench.report["result"])
    result.waveform = None if bench.waveform is None else str(bench.waveform)
    return result


def document(result, *, scenario, backend, seed, queues):
    """The JSON document of a run: ``scenario``, ``backend``, ``seed``, ``queues``, ``blocks``,
    ``trace`` (and ``cycles``)."""
    return {"scenario": scenario, "backend": backend, "seed": seed,
            **result.summary(queues)}


def _progress(console):
    return Progress(TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=console,
                    transient=True)


def _simulate(args, parameters, console):
    with _progress(console) as progress:
        if args.backend == "golden":
            task = progress.add_task(f"{args.scenario}: golden model", total=None)

            def advance(done, total):
                progress.update(task, completed=done, total=total)
        else:
            task = progress.add_task(f"{args.scenario}: {args.backend} build + lockstep run",
                                     total=None)
            advance = None
        return run_scenario(parameters, args.backend, out=args.out, waves=args.waves,
                            progress=advance)


def _tables(summary, args):
    queues = Table(title=f"scenario {args.scenario}, {args.backend}, seed {args.seed}: "
                         f"packets per queue")
    reasons = list(summary["queues"][0]["dropped"])
    for column in ["queue", "offered", "delivered", *(f"dropped\n{reason}" for reason in reasons)]:
        queues.add_column(column, justify="right")
    for queue in summary["queues"]:
        queues.add_row(str(queue["queue"]), str(queue["offered"]), str(queue["delivered"]),
                       *(str(queue["dropped"][reason]) for reason in reasons))
    blocks = Table(title="blocks (offered = delivered + dropped)")
    for column in ("block", "offered", "delivered", "dropped by reason"):
        blocks.add_column(column, justify="right" if column != "dropped by reason" else "left")
    for name, block in summary["blocks"].items():
        dropped = ", ".join(f"{reason} {count}" for reason, count in block["dropped"].items()
                            if count) or "-"
        blocks.add_row(name, str(block["offered"]), str(block["delivered"]), dropped)
    return queues, blocks


def plot(result, path, *, title, queues):
    """PNG of queue depths, tokens and admission decisions over time."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from slique.hdl.burst_admission import Decision

    series = result.series
    figure, (depths, tokens, decisions) = plt.subplots(3, 1, sharex=True, figsize=(11, 8))
    for queue in range(queues):
        depths.plot(series[f"levels{queue}"], label=f"queue {queue}", linewidth=1)
        tokens.plot(series[f"tokens{queue}"], label=f"queue {queue}", linewidth=1)
    depths.set_ylabel("slique level (beats)")
    tokens.set_ylabel("tokens")
    markers = {Decision.STEADY: ("tab:green", "."), Decision.TOKEN: ("tab:blue", "^"),
               Decision.BURST_EXHAUSTED: ("tab:orange", "x"), Decision.HARD_LIMIT: ("tab:red", "x")}
    for decision, (colour, marker) in markers.items():
        cycles, lanes = [], []
        for queue in range(queues):
            for cycle, value in enumerate(series[f"decisions{queue}"]):
                if value == decision.value:
                    cycles.append(cycle)
                    lanes.append(queue)
        decisions.scatter(cycles, lanes, s=10, c=colour, marker=marker,
                          label=f"{decision.name} ({len(cycles)})")
    decisions.set_ylabel("admission decisions\n(queue)")
    decisions.set_yticks(range(queues))
    decisions.set_xlabel("cycle")
    for axis in (depths, tokens, decisions):
        axis.legend(loc="upper right", fontsize="small", ncol=4)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def run(args):
    console = Console(stderr=args.json)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.packets < 0:
        errors.print("slique: --packets must be 0 or more")
        return 2
    if args.pcap_in is not None:
        try:
            read_pcap(args.pcap_in)
        except PcapError as error:
            errors.print(f"slique: {error}")
            return 2
    elif args.packets == 0:
        errors.print("slique: --packets 0 needs --pcap-in (all of its frames)")
        return 2
    replay = f"slique simulate --scenario {args.scenario} --seed {args.seed} " \
             f"--packets {args.packets}" + (f" --pcap-in {args.pcap_in}" if args.pcap_in else "")
    parameters = scenario_parameters(args.scenario, seed=args.seed, packets=args.packets,
                                     pcap=args.pcap_in, replay=replay)
    try:
        result = _simulate(args, parameters, console)
    except Mismatch as error:
        errors.print(f"slique: the golden model broke a check: {error}")
        return 1
    queues = SCENARIO_PIPELINE["queues"]
    args.out.mkdir(parents=True, exist_ok=True)
    figure = args.out / f"{args.scenario}-{args.backend}.png"
    plot(result, figure, queues=queues,
         title=f"slique simulate --scenario {args.scenario} --backend {args.backend} "
               f"--seed {args.seed}")
    frames = [[bytes.fromhex(frame) for frame in queue] for queue in result.frames]
    output = document(result, scenario=args.scenario, backend=args.backend, seed=args.seed,
                      queues=queues)
    output["plot"] = str(figure)
    if args.scenario == "reorder":
        output["order"] = sequence_report(frames)
    if args.pcap_out is not None:
        output["pcaps"] = [str(path) for path in write_pcaps(frames, args.pcap_out)]
    if getattr(result, "waveform", None):
        output["waveform"] = result.waveform
    if args.json:
        print(json.dumps(output))
        return 0
    for table in _tables(output, args):
        console.print(table)
    trace = output["trace"]
    by_reason = ", ".join(f"{reason} {count}" for reason, count in trace["by_reason"].items())
    console.print(f"trace: {trace['records']} records ({by_reason or 'none'}), "
                  f"{trace['lost']} lost; {output['cycles']} cycles")
    if "order" in output:
        console.print("TCP segments out of order / duplicated per queue: " + ", ".join(
            f"{item['out_of_order']}/{item['duplicates']}" for item in output["order"]))
    console.print(f"plot of queue depths, tokens and decisions: [bold]{figure}[/]")
    for path in output.get("pcaps", []):
        console.print(f"pcap: {path}")
    if "waveform" in output:
        console.print(f"waveform: {output['waveform']}")
    return 0
