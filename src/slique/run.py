"""``slique run APP``: a firmware application on a backend, with a summary (or ``--json``).

The applications (``slique.firmware.apps``) are re-routine firmware written once against
NICOps; ``--backend golden`` runs them on the golden models (GoldenNIC), ``--backend verilator``
on the gateware in co-simulation (CocotbNIC), ``--backend board --port PORT`` on an iCEBreaker
running the flow top, over its UART bridge (BoardNIC). ``--json`` prints one document::

    {"app", "backend", "seed", "offered", "delivered", "dropped": {reason: count},
     "errors": {errno name: count}, "memo_high_water", "reruns", "digest"}

where ``digest`` is the SHA-256 of the delivered data and of the trace records without their
cycle stamps, so that two backends can be compared by a script.
"""

import json
import sys


__all__ = ["add_arguments", "run", "APPS", "DEFAULT_PACKETS"]

#: The applications (kept here so that ``--help`` needs no import of the firmware).
APPS = ("echo", "sendfile", "reorder", "rebalance")

DEFAULT_PACKETS = 200


def add_arguments(parser):
    parser.add_argument("app", choices=APPS, help="the application: " + ", ".join(APPS))
    parser.add_argument("--backend", choices=["golden", "verilator", "board"], default="golden",
                        help="golden models (default), the gateware in Verilator, or an "
                             "iCEBreaker running the flow top (--port)")
    parser.add_argument("--port", default="/dev/ttyUSB1",
                        help="--backend board: the board's serial port (default /dev/ttyUSB1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the traffic (default 1)")
    parser.add_argument("--packets", type=int, default=DEFAULT_PACKETS,
                        help=f"packets (blocks, for sendfile) offered (default "
                             f"{DEFAULT_PACKETS})")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--data-width", type=int, choices=[32, 64], default=64,
                        help="width of the NIC's packet streams, on either backend (default 64)")
    parser.add_argument("--plot", metavar="PNG", default=None,
                        help="rebalance only: run without and with the daemon and plot every "
                             "queue's depth over time into PNG")


def _backend(name, data_width=64, port=None):
    from slique.firmware import backend
    if name == "board":
        return backend(name, port=port)
    return backend(name, **({"data_width": data_width} if name == "golden" else {}))


def run(args):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from slique.firmware.apps import load
    from slique.firmware.apps.common import LoopStalled
    from slique.firmware.board_nic import BoardNICError
    from slique.firmware.cocotb_nic import GatewareNotReady

    console = Console(stderr=True)
    if args.packets < 1:
        console.print("slique run: --packets must be at least 1")
        return 2
    if args.plot and args.app != "rebalance":
        console.print("slique run: --plot is for the rebalance application")
        return 2
    if args.backend == "verilator":
        return _run_verilator(args, console)
    app = load(args.app)
    try:
        nic = _backend(args.backend, args.data_width, getattr(args, "port", None))
    except (GatewareNotReady, BoardNICError) as error:
        console.print(f"slique run: {error}")
        return 2
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} packets"),
                      console=console, transient=True, disable=args.json) as progress:
            task = progress.add_task(f"{args.app} on {args.backend}", total=args.packets)

            def report(done, total):
                progress.update(task, completed=done, total=total)

            result = app.run(nic, seed=args.seed, packets=args.packets, backend=args.backend,
                             progress=report)
            if args.plot:
                from slique.firmware.apps.rebalance import plot_before_after
                progress.update(task, description="rebalance: without and with the daemon")
                without, _ = plot_before_after(lambda: _backend(args.backend, args.data_width), seed=args.seed,
                                               packets=args.packets, path=args.plot)
    except LoopStalled as error:
        console.print(f"slique run: the firmware hung: {error}")
        return 1
    except BoardNICError as error:
        console.print(f"slique run: {error}")
        return 2
    result.check()
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    _print_summary(Console(), result)
    if args.plot:
        Console().print(f"plot: {args.plot} (without the daemon: peak depth "
                        f"{without.extra['peak_depth']}, imbalance "
                        f"{without.extra['imbalance']:.2f}, "
                        f"{sum(without.dropped.values())} dropped; with it: peak depth "
                        f"{result.extra['peak_depth']}, imbalance "
                        f"{result.extra['imbalance']:.2f}, "
                        f"{sum(result.dropped.values())} dropped)")
    return 0


def _run_verilator(args, console):
    """The application on the gateware: the NIC top in Verilator under the cocotb bench
    (:mod:`slique.sim.benches.nic_bench`), which runs the firmware on CocotbNIC."""
    from rich.console import Console

    from slique.sim.runner import BenchFailed, SimulatorMissing

    if args.plot:
        console.print("slique run: --plot runs on the golden backend only")
        return 2
    from slique.sim.benches.nic_bench import app_result, run_app

    console.print(f"{args.app} on verilator: building and simulating the NIC top ...")
    try:
        result = app_result(run_app(args.app, seed=args.seed, packets=args.packets,
                                     data_width=args.data_width))
    except SimulatorMissing as error:
        console.print(f"slique run: {error}")
        return 2
    except BenchFailed as error:
        console.print(f"slique run: the gateware run failed: {error}")
        return 1
    result.check()
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        _print_summary(Console(), result)
    return 0


def _print_summary(console, result):
    from rich.table import Table

    table = Table(title=f"slique run {result.app} --backend {result.backend} "
                        f"--seed {result.seed}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("offered", str(result.offered))
    table.add_row("delivered", str(result.delivered))
    for reason, count in result.dropped.items():
        table.add_row(f"dropped: {reason}", str(count))
    for name, count in result.errors.items():
        table.add_row(f"errors: {name}", str(count))
    table.add_row("routines", str(result.routines))
    table.add_row("memo high-water", str(result.memo_high_water))
    table.add_row("re-runs per routine",
                  f"{result.reruns / result.routines:.2f}" if result.routines else "-")
    table.add_row("cycles", str(result.cycles))
    for name, value in result.extra.items():
        if isinstance(value, (int, float)):
            table.add_row(name, f"{value:.2f}" if isinstance(value, float) else str(value))
        elif name == "moves":
            table.add_row("RETA moves", str(len(value)))
    table.add_row("digest", result.digest[:16] + "...")
    console.print(table)
