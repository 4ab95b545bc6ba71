"""Benchmark of the DMA engine (``slique bench dma``): cycles per frame, bus efficiency,
resources and Fmax.

Throughput is measured on the gateware in Verilator with the bench
:mod:`slique.sim.benches.dma_bench` (``throughput``): for each bus width (32, 64 bits), memory
model (``zero-wait``: the memory answers each request in the next cycle and never stalls;
``slow``: 1 to 6 wait states per request and a stall in a quarter of the cycles), direction and
frame size (64, 512, 1514 bytes), the igc-style driver posts frames back to back (TX), or the RX
stream delivers them back to back (as many as the engine's RX FIFO holds, so that the host bus is
the limit and nothing is missed). After a warm-up of a quarter of the frames:

- ``cycles_per_frame``: cycles between the ends of consecutive frames (TX: the last beat on the
  TX stream; RX: the EOP write-back);
- ``bus_efficiency``: payload beats / all bus beats (payload + descriptor fetches +
  write-backs), the issue's definition;
- ``gbps_at_125mhz``: ``bytes * 8 / cycles_per_frame * 0.125``.

Resources and Fmax: the 64-bit engine with one queue pair, in the benchmark harness
(:class:`~slique.bench.harness.StreamHarness`: its inputs from a shift register, its outputs
folded into one pin), synthesized and placed on ECP5-25F (LUT / FF / BRAM of the engine alone,
Fmax the median of the placements).

Targets (the issue's): bus efficiency >= 0.90 for 1514-byte frames; 2.5 Gbit/s for 64-byte
frames at 125 MHz with a 64-bit bus and zero-wait memory (checked TX and RX).
"""

import json
import sys
from pathlib import Path

from amaranth import Cat, Const, Signal, Value
from amaranth.lib import wiring


__all__ = ["add_arguments", "run", "measure_throughput", "harness", "block_harness",
           "measure_resources", "checks", "main"]

SIZES = (64, 512, 1514)
MEMORIES = ("zero-wait", "slow")
WIDTHS = (32, 64)
TARGETS = ("ecp5",)

#: The issue's targets.
EFFICIENCY_TARGET = 0.90
LINE_RATE_GBPS = 2.5


def measure_throughput(widths=WIDTHS, *, memories=MEMORIES, sizes=SIZES, frames=32, seed=1,
                       progress=None):
    """The ``frames`` records of every point (see the module documentation)."""
    from slique.sim.benches.dma_bench import bench_parameters, gateware
    from slique.sim.runner import run_bench

    progress = progress or (lambda description: None)
    records = []
    for width in widths:
        run = bench_parameters(scenario="throughput", data_width=width, frames=frames,
                               seed=seed)
        run.update(memories=list(memories), directions=["tx", "rx"], sizes=list(sizes))
        result = run_bench(gateware(run), "slique.sim.benches.dma_bench", parameters=run,
                           name=f"dma-throughput-{width}")
        for record in result.report["frames"]:
            record.pop("dropped", None)
            records.append(record)
        progress(f"simulated the {width}-bit engine")
    return records


def harness(data_width=64):
    """The engine inside a :class:`~slique.bench.harness.StreamHarness`: every input from the
    stimulus register, every output observed."""
    from slique.hdl.dma.engine import DmaEngine
    from .harness import StreamHarness, StreamPorts

    dut = DmaEngine(data_width=data_width)
    csr, host, rx = dut.csr, dut.host, dut.rx_stream
    inputs = Cat(csr.adr, csr.dat_w, csr.sel, csr.cyc, csr.stb, csr.we, host.dat_r, host.ack,
                 host.err, host.stall, rx.payload)
    observe = [csr.dat_r, csr.ack, host.adr, host.dat_w, host.sel, host.cyc, host.stb, host.we,
               host.cti, host.bte, dut.irq]
    return StreamHarness(dut, StreamPorts(inputs, rx.valid, rx.ready), dut.tx_stream,
                         observe=observe)


def block_harness(component):
    """One DMA block (a :class:`~slique.hdl.dma.rx_queue.RxQueue`, a
    :class:`~slique.hdl.dma.tx_queue.TxQueue`, ...) inside a
    :class:`~slique.bench.harness.StreamHarness`, to measure it on its own: every input port of
    its signature (the streams' ``ready``, ``config``, ``window``, ...) from the stimulus
    register, every output port observed, so the block's paths run from flip-flops to
    flip-flops and nothing of it is removed. Its registers-to-registers paths are then the
    only long ones: :func:`~slique.bench.synth.synthesize`'s Fmax is the block's."""
    from .harness import StreamHarness, StreamPorts

    inputs, outputs = [], []
    for _, member, value in component.signature.flatten(component):
        value = Value.cast(value)
        if member.flow == wiring.Out:
            outputs.append(value)
        elif not isinstance(value, Const):  # an always-ready stream's ready: nothing to drive
            inputs.append(value)
    # the harness wants two streams: the block's ports are their payloads, and the streams'
    # own valid / ready are spare bits (driven and not used, or constant and observed)
    return StreamHarness(component,
                         StreamPorts(Cat(*inputs), Signal(name="spare_valid"), Const(0, 1)),
                         StreamPorts(Cat(*outputs), Const(0, 1), Signal(name="spare_ready")))


def measure_resources(targets=TARGETS, *, seeds=(1, 2, 3), workdir=None, use_cache=True,
                      progress=None):
    """``{target: {"lut", "ff", "bram", "fmax_mhz"}}`` of the 64-bit engine."""
    import tempfile
    from .synth import synthesize

    progress = progress or (lambda description: None)
    resources = {}
    with tempfile.TemporaryDirectory() as scratch:
        for target in targets:
            result = synthesize(harness(64), target=target, name="top",
                                workdir=Path(workdir or scratch) / f"dma-{target}",
                                seeds=seeds, use_cache=use_cache)
            resources[target] = {"lut": result.lut, "ff": result.ff, "bram": result.bram,
                                 "fmax_mhz": result.fmax_mhz}
            progress(f"synthesized for {target}")
    return resources


def checks(document):
    """``[(description, passed)]``: the issue's targets against the measured figures."""
    results = []
    for record in document["frames"]:
        if record["bytes"] == 1514:
            results.append((f"{record['direction'].upper()} 1514 bytes, {record['memory']}, "
                            f"{record['bus_bits']}-bit: bus efficiency "
                            f"{record['bus_efficiency']:.3f} >= {EFFICIENCY_TARGET}",
                            record["bus_efficiency"] >= EFFICIENCY_TARGET))
        if record["bytes"] == 64 and record["bus_bits"] == 64 and \
                record["memory"] == "zero-wait":
            results.append((f"{record['direction'].upper()} 64 bytes, zero-wait, 64-bit: "
                            f"{record['gbps_at_125mhz']:.2f} Gbit/s at 125 MHz >= "
                            f"{LINE_RATE_GBPS}", record["gbps_at_125mhz"] >= LINE_RATE_GBPS))
    for target, figures in document.get("resources", {}).items():
        fmax = figures.get("fmax_mhz")
        results.append((f"{target}: Fmax {fmax} MHz >= 125 MHz",
                         fmax is not None and fmax >= 125))
    return results


def add_arguments(parser):
    """Add the options of ``slique bench dma`` to ``parser``."""
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)),
                        help="host bus widths, comma-separated (default: %(default)s)")
    parser.add_argument("--frames", type=int, default=32,
                        help="frames per point (default: %(default)s)")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help="synthesis targets, comma-separated; empty for none "
                             "(default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="placements; Fmax is their median (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true",
                        help="synthesize again even if a cached result exists")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON document {"frames": [...], "resources": {...}}')
    parser.add_argument("--check", action="store_true",
                        help="exit with status 1 if a target is missed")


def run(args):
    """Run the benchmark with parsed ``args``; return the exit status."""
    from rich.console import Console
    from rich.table import Table
    from .synth import run_measurement

    widths = [int(width) for width in args.widths.split(",") if width]
    targets = [target for target in args.targets.split(",") if target]
    errors = Console(stderr=True)
    errors.print(f"simulating the engine ({', '.join(map(str, widths))}-bit) ...")
    frames = measure_throughput(widths, frames=args.frames)
    resources = {}
    if targets:
        status, resources, _ = run_measurement(
            targets, len(targets),
            lambda progress: measure_resources(targets, seeds=tuple(range(1, args.seeds + 1)),
                                               use_cache=not args.no_cache,
                                               progress=progress))
        if status:
            return status
    document = {"frames": frames, "resources": resources}
    results = checks(document)
    if args.json:
        print(json.dumps(document, indent=1))
    else:
        console = Console()
        table = Table(title="DMA engine: cycles per frame and bus efficiency")
        for column in ("direction", "bytes", "memory", "bus bits", "cycles / frame",
                       "bus efficiency", "Gbit/s at 125 MHz"):
            table.add_column(column, justify="right")
        for record in frames:
            table.add_row(record["direction"], str(record["bytes"]), record["memory"],
                          str(record["bus_bits"]), f"{record['cycles_per_frame']:.1f}",
                          f"{record['bus_efficiency']:.3f}",
                          f"{record['gbps_at_125mhz']:.2f}")
        console.print(table)
        for target, figures in resources.items():
            console.print(f"{target} (64-bit engine, one queue pair): {figures['lut']} LUT, "
                          f"{figures['ff']} FF, {figures['bram']} BRAM, Fmax "
                          f"{figures['fmax_mhz']} MHz")
        for description, passed in results:
            console.print(f"[{'green' if passed else 'red'}]"
                          f"{'met' if passed else 'MISSED'}[/]: {description}")
    if args.check and not all(passed for _, passed in results):
        return 1
    return 0


def main(argv=None):
    """Entry point of ``python -m slique.bench.dma``."""
    from .synth import benchmark_main

    return benchmark_main(sys.modules[__name__], "Cycles per frame, bus efficiency, resources "
                          "and Fmax of the DMA engine.", argv)


if __name__ == "__main__":
    sys.exit(main())
