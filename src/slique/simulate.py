"""``slique simulate``: a named scenario through the flow pipeline (demux -> admission -> queues).

The scenario's frames (or a pcap file's) go through :class:`slique.hdl.FlowPipeline` on the chosen
backend: ``golden`` (the golden model alone), ``verilator`` or ``icarus`` (the gateware under
cocotb, compared with the golden model every cycle). It prints per-queue delivered and
dropped-by-reason, every block's counters and the trace counts, writes a PNG plot of queue
depths, tokens and admission decisions over time, and (``--pcap-out``) one pcap per queue.

With ``--through-dma`` the frames each queue delivered then go through the i225-style DMA
engine (:class:`slique.hdl.dma.engine.DmaEngine`, one queue pair per pipeline queue), driven
by the igc-style driver (:class:`slique.sim.dma.driver.IgcDriver`) on the same backend: RX
(streamed into the engine, written into the host-memory buffers the driver posted on RX ring
``n``, written back with DD, collected by the driver) and then TX (the driver posts the frames
it received on TX ring ``n``, the engine fetches them and streams them out), checked byte for
byte (:func:`slique.sim.dma.scenarios.echo_traffic`; on a simulator the bench also compares
frames, write-backs and counters with the golden engine). The DMA adds the blocks ``dma_rx``
and ``dma_tx`` and a ``dma`` section (per queue, and the engine's i225 counters).
"""

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from slique.sim import flow_pipeline
from slique.sim.lockstep import Mismatch
from slique.sim.runner import BenchFailed
from slique.sim.scenarios import (SCENARIO_PIPELINE, SCENARIOS, PcapError, read_pcap,
                                  sequence_report, write_pcaps)


__all__ = ["add_arguments", "run", "BACKENDS", "run_scenario", "scenario_parameters",
           "document", "dma_parameters", "run_dma", "dma_summary"]


BACKENDS = ("golden", "verilator", "icarus")

BENCH = "slique.sim.benches.flow_pipeline_bench"

DMA_BENCH = "slique.sim.benches.dma_bench"

#: The DMA engine of ``--through-dma``: a queue pair per pipeline queue, a host bus as wide as
#: the pipeline's beats, rings of 64 descriptors, 2 KB RX buffers.
DMA_SETTINGS = dict(data_width=SCENARIO_PIPELINE["data_width"], tx_ring_size=64,
                    rx_ring_size=64, rx_buffer_size=2048)

#: The DMA's drop reasons (its counters), by direction.
DMA_RX_DROPS = ("MPC", "ROC", "RQDPC")
DMA_TX_DROPS = ("HTDPMC",)


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
    parser.add_argument("--through-dma", action="store_true",
                        help="then run each queue's delivered frames through the i225-style "
                             "DMA engine on the same backend: RX into host-memory buffers "
                             "posted by the igc-style driver on RX ring N (DD write-back, "
                             "collected by the driver), then TX of what it received from TX "
                             "ring N (fetched by the engine, streamed out); checked byte for "
                             "byte; prints per-queue DMA figures and the engine's counters")
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


def dma_parameters(frames_by_queue, *, seed, directory, replay=""):
    """The :func:`slique.sim.benches.dma_bench.bench_parameters` of the ``"echo"`` run of
    ``frames_by_queue`` (a list per queue of bytes), whose frames go to
    ``directory/dma-frames.json``."""
    from slique.sim.benches import dma_bench

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "dma-frames.json"
    dma_bench.write_frames(path, frames_by_queue)
    return dma_bench.bench_parameters(
        scenario="echo", queues=len(frames_by_queue), seed=seed,
        frames=sum(map(len, frames_by_queue)), frames_file=path.resolve(), replay=replay,
        **DMA_SETTINGS)


def run_dma(parameters, backend, *, out, waves=False):
    """Run the DMA ``parameters`` on ``backend``; return ``(reports, cycles)``: the bench's
    report dicts (RX then TX for each queue) and the simulator's cycles (``None`` on the golden
    model, which has no clock). A golden report that is not ``ok`` (a frame lost or changed,
    a counter that disagrees) raises :class:`~slique.sim.lockstep.Mismatch`."""
    from slique.sim.benches import dma_bench

    if backend == "golden":
        reports, _log, _driver = dma_bench.golden_run(parameters, dma_bench.frames_of(parameters))
        for report in reports:
            if not report.ok:
                raise Mismatch(f"DMA {report.summary()}: {report.mismatches[:3]}; replay: "
                               f"{parameters['replay']}")
        return [dma_bench.report_dict(report) for report in reports], None
    from slique.sim.runner import run_bench, setup_simulator

    setup_simulator(backend)
    name = f"dma-{backend}"
    bench = run_bench(dma_bench.gateware(parameters), DMA_BENCH, parameters=parameters,
                      name=name, sim=backend, waves=waves, results_dir=Path(out) / name)
    return bench.report["reports"], bench.report["cycles"]


def _counter_name(key):
    """``"('RQDPC', 0)"`` -> ``"RQDPC(0)"``; other names as they are."""
    if key.startswith("("):
        name, index = key.strip("()").split(",")
        return f"{name.strip().strip(chr(39))}({int(index)})"
    return key


def dma_summary(reports, *, backend, cycles):
    """The ``--through-dma`` figures: ``blocks`` (``dma_rx``, ``dma_tx``: offered, delivered,
    dropped by counter) and ``dma`` (``backend``, ``cycles``, ``queues``: per queue its ``rx``
    and ``tx``, ``counters``: the engine's i225 counters over the run)."""
    blocks = {"dma_rx": dict(offered=0, delivered=0, dropped=dict.fromkeys(DMA_RX_DROPS, 0)),
              "dma_tx": dict(offered=0, delivered=0, dropped=dict.fromkeys(DMA_TX_DROPS, 0))}
    queues, counters = {}, {}
    for report in reports:
        direction = report["direction"]
        drops = DMA_RX_DROPS if direction == "rx" else DMA_TX_DROPS
        figures = dict(offered=report["offered"], delivered=report["delivered"],
                       dropped={reason: report["dropped"].get(reason, 0) for reason in drops})
        queues.setdefault(report["queue"], {"queue": report["queue"]})[direction] = figures
        block = blocks[f"dma_{direction}"]
        block["offered"] += figures["offered"]
        block["delivered"] += figures["delivered"]
        for reason, count in figures["dropped"].items():
            block["dropped"][reason] += count
        for key, value in report["counters"].items():
            name = _counter_name(key)
            counters[name] = counters.get(name, 0) + value
    return blocks, dict(backend=backend, cycles=cycles,
                        queues=[queues[queue] for queue in sorted(queues)],
                        counters=dict(sorted(counters.items())))


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


def _through_dma(args, frames, replay, console):
    """The ``--through-dma`` stage: ``(blocks, dma)`` of :func:`dma_summary`."""
    parameters = dma_parameters(frames, seed=args.seed, replay=replay,
                                directory=args.out / f"{args.scenario}-{args.backend}-dma")
    with _progress(console) as progress:
        progress.add_task(f"{args.scenario}: DMA engine RX + TX, {args.backend}", total=None)
        reports, cycles = run_dma(parameters, args.backend, out=args.out, waves=args.waves)
    return dma_summary(reports, backend=args.backend, cycles=cycles)


def _print_dma(console, output):
    dma = output["dma"]
    table = Table(title=f"DMA engine ({dma['backend']}), per queue: RX ring n, then TX ring n; "
                        f"dropped by {', '.join(DMA_RX_DROPS)} (RX) and "
                        f"{', '.join(DMA_TX_DROPS)} (TX)")
    columns = ["queue", "RX\noffered", "RX\ndelivered", *DMA_RX_DROPS, "TX\noffered",
               "TX\ndelivered", *DMA_TX_DROPS]
    for column in columns:
        table.add_column(column, justify="right")
    for queue in dma["queues"]:
        rx, tx = queue["rx"], queue["tx"]
        table.add_row(str(queue["queue"]), str(rx["offered"]), str(rx["delivered"]),
                      *(str(rx["dropped"][reason]) for reason in DMA_RX_DROPS),
                      str(tx["offered"]), str(tx["delivered"]),
                      *(str(tx["dropped"][reason]) for reason in DMA_TX_DROPS))
    console.print(table)
    counters = ", ".join(f"{name} {value}" for name, value in dma["counters"].items())
    cycles = "" if dma["cycles"] is None else f"; {dma['cycles']} cycles"
    console.print(f"DMA counters: {counters}{cycles}")


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
             f"--packets {args.packets}" + (f" --pcap-in {args.pcap_in}" if args.pcap_in else "") \
             + (" --through-dma" if args.through_dma else "")
    parameters = scenario_parameters(args.scenario, seed=args.seed, packets=args.packets,
                                     pcap=args.pcap_in, replay=replay)
    try:
        result = _simulate(args, parameters, console)
    except Mismatch as error:
        errors.print(f"slique: the golden model broke a check: {error}")
        return 1
    queues = SCENARIO_PIPELINE["queues"]
    args.out.mkdir(parents=True, exist_ok=True)
    frames = [[bytes.fromhex(frame) for frame in queue] for queue in result.frames]
    dma = None
    if args.through_dma:
        try:
            dma = _through_dma(args, frames, replay, console)
        except Mismatch as error:
            errors.print(f"slique: the DMA run broke a check: {error}")
            return 1
        except BenchFailed as error:
            errors.print(f"slique: the DMA engine's gateware run failed: {error}")
            return 1
    figure = args.out / f"{args.scenario}-{args.backend}.png"
    plot(result, figure, queues=queues,
         title=f"slique simulate --scenario {args.scenario} --backend {args.backend} "
               f"--seed {args.seed}")
    output = document(result, scenario=args.scenario, backend=args.backend, seed=args.seed,
                      queues=queues)
    if dma is not None:
        output["blocks"].update(dma[0])
        output["dma"] = dma[1]
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
    if "dma" in output:
        _print_dma(console, output)
    if "order" in output:
        console.print("TCP segments out of order / duplicated per queue: " + ", ".join(
            f"{item['out_of_order']}/{item['duplicates']}" for item in output["order"]))
    console.print(f"plot of queue depths, tokens and decisions: [bold]{figure}[/]")
    for path in output.get("pcaps", []):
        console.print(f"pcap: {path}")
    if "waveform" in output:
        console.print(f"waveform: {output['waveform']}")
    return 0
