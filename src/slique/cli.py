"""The ``slique`` command: ``slique demo``, ``slique bench sliques`` (``--help`` on each)."""

import argparse
import sys

from . import __version__


__all__ = ["main", "parser"]


def _bench_sliques():
    from slique.bench import sliques
    return sliques


def _bench_flow():
    from slique.bench import flow
    return flow


def _bench_dma():
    from slique.bench import dma
    return dma


def _demo():
    from slique import demo
    return demo


def _build():
    from slique.boards import build
    return build


def _board():
    from slique.boards import board_command
    return board_command


def _simulate():
    from slique import simulate
    return simulate


def _compare():
    from slique import compare
    return compare


def _run():
    from slique import run
    return run


def _bench_firmware():
    from slique.bench import firmware
    return firmware


def _cache():
    from slique import cache
    return cache


#: Subcommand -> (help, module loader). Modules are imported only when their command runs.
COMMANDS = {
    "demo": ("a bursty producer and a slow consumer through a BoundedSlique, gateware in "
             "Verilator against the golden model, with a table and a plot", _demo),
    "build": ("a board top to a bitstream with the YoWASP tools: resources, Fmax per clock "
              "against its constraint, --program to load it", _build),
    "board": ("talk to a board over its UART bridge: ping, read, write, run the flow top's "
              "generator, counters", _board),
    "simulate": ("a named scenario through the flow pipeline (demux -> admission -> queues) "
                 "on the golden model, Verilator or Icarus: figures, a plot, pcaps; "
                 "--through-dma then through the i225-style DMA engine (RX and TX)",
                 _simulate),
    "compare": ("every scenario on the gateware and on the golden model, side by side; "
                "exits non-zero on any mismatch", _compare),
    "run": ("a firmware application (echo, sendfile, reorder, rebalance) of re-routines on the "
            "golden models or the gateware: delivered, dropped, errors, memo use", _run),
    "cache": ("the simulator build cache: builds, bytes and bound ($SLIQUE_BUILD_CACHE_GB); "
              "--clear, or --max-gb to evict down to a size", _cache),
}

BENCHMARKS = {
    "firmware": ("re-routine steps/s and the cost of a re-run on CPython, and the same echo "
                 "loop as re-routines and as asyncio coroutines, ratio printed", _bench_firmware),
    "sliques": ("resources, Fmax and beats per cycle of the sliques on iCE40 UP5K and ECP5-25F, "
                "beside amaranth.lib.fifo's SyncFIFO and SyncFIFOBuffered", _bench_sliques),
    "flow": ("resources, Fmax and decisions per cycle of the flow blocks (admission, reorder, "
             "demux, trace stream, register bank, pipeline) on iCE40 UP5K and ECP5-25F, each "
             "beside its anchor", _bench_flow),
    "dma": ("cycles per frame and bus efficiency of the DMA engine (TX and RX; 64, 512 and "
            "1514 bytes; zero-wait and slow memory; 32- and 64-bit bus), resources and Fmax "
            "on ECP5-25F", _bench_dma),
}


def parser():
    top = argparse.ArgumentParser(
        prog="slique", description="Sliques in gateware: simulate, compare with the golden "
                                   "models, benchmark.")
    top.add_argument("--version", action="version", version=f"slique {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, load) in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary)
        load().add_arguments(command)
        command.set_defaults(load=load)
    bench = commands.add_parser("bench", help="benchmarks (synthesis and simulation figures)",
                                description="Benchmarks: figures beside their anchors.")
    benchmarks = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, (summary, load) in BENCHMARKS.items():
        benchmark = benchmarks.add_parser(name, help=summary, description=summary)
        load().add_arguments(benchmark)
        benchmark.set_defaults(load=load)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    from slique.sim.runner import BenchFailed, SimulatorMissing
    try:
        return args.load().run(args)
    except SimulatorMissing as error:
        print(f"slique: {error}", file=sys.stderr)
        return 2
    except BenchFailed as error:
        print(f"slique: the simulation failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
