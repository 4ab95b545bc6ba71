"""Benchmark of the sideline reorder buffer: resources and Fmax on iCE40 UP5K and ECP5-25F, and
beats decided per cycle.

:func:`measure` synthesizes :class:`slique.hdl.SidelineReorder` (32-bit payload, 16-bit
``gap_timeout``) at a few sideline depths inside the register-driven
:class:`~slique.bench.harness.StreamHarness` (``gap_timeout`` is driven from the stimulus
register like the input stream; every output is observed: ``trace``, ``level``, ``expected`` and
the five counters), and measures with the Amaranth simulator, checked cycle by cycle against the
golden model, how many input beats the block decides per cycle with the consumer always ready:

- ``decisions_per_cycle``: in-order traffic offered every cycle (one beat per cycle is the
  target: an in-order beat never waits);
- ``decisions_per_cycle_reordered``: traffic permuted in windows of ``depth + 1`` sequences (the
  most a sideline of ``depth`` entries repairs without loss), no
  loss, a timeout long enough never to skip; every beat released from the sideline takes the
  output for a cycle in which the input waits, so this is below one.

Run it as ``python -m slique.bench.sideline_reorder [--targets ice40,ecp5] [--depths 4,16]``.
"""

import argparse
import json
import random
import tempfile
from pathlib import Path

from amaranth.hdl import Cat

from slique.hdl.sideline_reorder import SidelineReorder
from slique.sim import sideline_reorder as model

from .harness import StreamHarness, StreamPorts
from .synth import synthesize


__all__ = ["measure", "harness", "decisions_per_cycle", "DEPTHS", "TARGETS", "RECORD_KEYS"]


TARGETS = ("ice40", "ecp5")
DEPTHS = (4, 16)
PAYLOAD_WIDTH = 32
TIMEOUT_WIDTH = 16

#: Keys of every record :func:`measure` returns.
RECORD_KEYS = ("design", "depth", "width", "target", "lut", "ff", "bram", "fmax_mhz",
               "decisions_per_cycle", "decisions_per_cycle_reordered", "fits", "note")

#: Cycles of traffic per throughput measurement.
MEASURE_CYCLES = 600


def _reorder(depth, payload_width=PAYLOAD_WIDTH):
    return SidelineReorder(payload_width, depth, timeout_width=TIMEOUT_WIDTH)


def harness(depth, payload_width=PAYLOAD_WIDTH):
    """A :class:`~slique.bench.harness.StreamHarness` around a fresh sideline of ``depth``."""
    dut = _reorder(depth, payload_width)
    i_stream = StreamPorts(Cat(dut.i_stream.payload, dut.gap_timeout), dut.i_stream.valid,
                           dut.i_stream.ready)
    observe = [dut.trace.valid, dut.trace.payload, dut.level, dut.expected, dut.offered,
               dut.delivered, dut.dropped_duplicate, dut.dropped_evicted, dut.gaps_skipped]
    return StreamHarness(dut, i_stream, dut.o_stream, observe=observe)


def decisions_per_cycle(depth, *, reordered, payload_width=PAYLOAD_WIDTH, cycles=MEASURE_CYCLES):
    """Input beats decided per cycle, consumer always ready, measured with the Amaranth simulator
    in lockstep with the golden model (see the module docstring for the two kinds of traffic)."""
    traffic = model.explicit_traffic(_windows(depth + 1 if reordered else 1),
                                     payload_width=payload_width,
                                     timeout=(1 << TIMEOUT_WIDTH) - 1)
    result = model.reorder_in_amaranth(
        _reorder(depth, payload_width), model.SidelineReorder(payload_width, depth,
                                                              timeout_width=TIMEOUT_WIDTH),
        traffic, cycles=cycles, hint=f"benchmark traffic (depth {depth})")
    return result.offered / result.traffic_cycles


def _windows(size, start=0xFFFFFF00):
    """A first beat, then windows of ``size`` consecutive sequences, each shuffled (endless)."""
    rng = random.Random(size)
    yield start
    following = start + 1
    while True:
        window = [(following + offset) & 0xFFFFFFFF for offset in range(size)]
        rng.shuffle(window)
        yield from window
        following += size


def measure(targets=TARGETS, *, depths=DEPTHS, seeds=(1, 2, 3), workdir=None, use_cache=True):
    """Resources, Fmax and decisions per cycle of the sideline at each depth on each target.

    Parameters
    ----------
    targets : iterable of str
        ``"ice40"`` and/or ``"ecp5"``.
    depths : iterable of int
        Sideline depths.
    seeds : tuple of int
        Placement seeds (Fmax is their median).
    workdir : Path or None
        Where the tools write their files; a temporary directory if ``None``.
    use_cache : bool
        Whether to use the synthesis cache.

    Returns
    -------
    list of dict
        One record per depth and target, with the keys :data:`RECORD_KEYS`.
    """
    records = []
    with tempfile.TemporaryDirectory(prefix="slique-reorder-") as temporary:
        root = Path(workdir) if workdir is not None else Path(temporary)
        for depth in depths:
            rates = (decisions_per_cycle(depth, reordered=False),
                     decisions_per_cycle(depth, reordered=True))
            for target in targets:
                name = f"sideline_reorder_{depth}"
                result = synthesize(harness(depth), target=target, name=name,
                                    workdir=root / f"{name}-{target}", seeds=seeds,
                                    use_cache=use_cache)
                records.append({
                    "design": "SidelineReorder", "depth": depth, "width": PAYLOAD_WIDTH,
                    "target": target, "lut": result.lut, "ff": result.ff, "bram": result.bram,
                    "fmax_mhz": result.fmax_mhz, "decisions_per_cycle": rates[0],
                    "decisions_per_cycle_reordered": round(rates[1], 3), "fits": result.fits,
                    "note": result.note,
                })
    return records


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help="devices, comma-separated (default: %(default)s)")
    parser.add_argument("--depths", default=",".join(map(str, DEPTHS)),
                        help="sideline depths, comma-separated (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3, help="placements per design")
    arguments = parser.parse_args(argv)
    records = measure([target for target in arguments.targets.split(",") if target],
                      depths=[int(depth) for depth in arguments.depths.split(",") if depth],
                      seeds=tuple(range(1, arguments.seeds + 1)))
    print(json.dumps(records, indent=1))


if __name__ == "__main__":
    main()
