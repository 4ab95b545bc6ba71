"""Benchmark of :class:`slique.hdl.FlowDemux`: resources, Fmax and decisions per cycle.

Each design point goes through :class:`~slique.bench.harness.StreamHarness` and
:func:`~slique.bench.synth.synthesize` like the sliques: LUT / FF / BRAM of the demux alone (its
parser, Toeplitz hash, flow table, RETA, input buffer and queues included, harness excluded), Fmax
of the placed design (median over the placement seeds). The harness drives every input from its
stimulus register, the configuration included (key, MRQC, default queue, strict bit, the RETA and
flow-table write ports: registers of the register bank in a real design), and observes every
output: all queue streams, ``trace``, ``rst_stream``, every counter and level.

Two rates are measured with the Amaranth simulator:

- ``decisions_per_cycle``: one-beat runts offered back to back (each one a decision: a drop
  with a trace event); trace events per cycle once the pipeline is full. This is the decision
  stage's rate; the issue's target is 1 at 125 MHz or more on ECP5, at 8- and 32-bit widths.
- ``beats_per_cycle``: minimum-size TCP frames (60 bytes) offered back to back with every
  consumer ready, RSS spreading them over the queues; beats accepted per cycle.

``measure(targets)`` returns one record per point and target; ``python -m
slique.bench.flow_demux`` prints them as JSON.
"""

import json
import sys
from dataclasses import dataclass

from amaranth import Cat, Value
from amaranth.sim import Simulator

from .harness import StreamHarness, StreamPorts
from .synth import run_syntheses


__all__ = ["DemuxPoint", "POINTS", "TARGET_MHZ", "measure", "measure_decisions_per_cycle",
           "measure_beats_per_cycle", "main"]


#: The issue's target: one decision per cycle at this clock on ECP5 (Gigabit RGMII).
TARGET_MHZ = 125.0

TARGETS = ("ice40", "ecp5")

#: Cycles over which the rates are counted (after the pipeline has filled).
RATE_CYCLES = 256


@dataclass(frozen=True)
class DemuxPoint:
    """One design point of the demux."""
    data_width: int
    queues: int = 4
    queue_depth: int = 64
    flow_entries: int = 4
    buffer_depth: "int | None" = None
    rst_depth: int = 4

    @property
    def label(self):
        return (f"FlowDemux/{self.data_width}-bit/{self.queues}q@{self.queue_depth}"
                f"/{self.flow_entries}flows")

    @property
    def file_name(self):
        return (f"flowdemux_{self.data_width}_{self.queues}_{self.queue_depth}_"
                f"{self.flow_entries}_{self.buffer_depth or 'default'}_{self.rst_depth}")

    @property
    def cost_estimate(self):
        return 1000 + self.flow_entries * 100 + self.data_width

    def parameters(self):
        """The demux's :class:`~slique.hdl.flow_demux.DemuxParameters` (defaults resolved)."""
        from slique.hdl.flow_demux import demux_parameters
        return demux_parameters(self.data_width, self.queues, self.queue_depth,
                                self.flow_entries, buffer_depth=self.buffer_depth,
                                rst_depth=self.rst_depth)

    def build(self):
        from slique.hdl.flow_demux import FlowDemux
        return FlowDemux(self.data_width, self.queues, self.queue_depth, self.flow_entries,
                         buffer_depth=self.buffer_depth, rst_depth=self.rst_depth)

    def harness(self):
        """The demux inside a :class:`StreamHarness` that drives and observes every port."""
        dut = self.build()
        config = [dut.key, dut.mrqc, dut.default_queue, dut.strict, dut.reta_index,
                  dut.reta_value, dut.reta_write, dut.flow_index, dut.flow_key, dut.flow_queue,
                  dut.flow_valid, dut.flow_write]
        i_stream = StreamPorts(Cat(dut.i_stream.payload, *config), dut.i_stream.valid,
                               dut.i_stream.ready)
        outputs = list(dut.o_streams) + [dut.rst_stream]
        o_stream = StreamPorts(Cat(*(stream.payload for stream in outputs)),
                               Cat(*(stream.valid for stream in outputs)),
                               Cat(*(stream.ready for stream in outputs)))
        observe = [dut.trace.valid, dut.trace.payload, dut.offered, dut.rst_lost,
                   *dut.delivered, *dut.queue_full, *dut.levels,
                   *(dut.dropped(reason) for reason in _reasons())]
        return StreamHarness(dut, i_stream, o_stream, observe=observe)


def _reasons():
    from slique.hdl.flow_demux import DropReason
    return [reason for reason in DropReason if reason != DropReason.NONE]


#: The issue's widths (four queues of 64 beats, four flow-table entries, a 2 KB input buffer),
#: and a small 8-bit demux that has a chance on the iCE40 UP5K (two queues, one flow entry).
POINTS = (DemuxPoint(8), DemuxPoint(32),
          DemuxPoint(8, queues=2, queue_depth=32, flow_entries=1, buffer_depth=512, rst_depth=1))


def _simulate(dut, frames, count):
    """Offer ``frames`` (byte strings, cycled) back to back with every consumer ready; return
    ``(accepted beats, trace events)`` counted over the last ``count`` cycles."""
    from slique.sim.flow_demux import MRQC_ALL
    from slique.sim.packet import frame_beats, pack_beat
    from slique.sim.toeplitz import MICROSOFT_KEY

    beats = [pack_beat(beat, dut.data_width) for frame in frames
             for beat in frame_beats(frame, dut.data_width)]
    warm_up = 64
    counts = {"beats": 0, "decisions": 0}

    async def testbench(ctx):
        ctx.set(dut.key, int.from_bytes(MICROSOFT_KEY, "big"))
        ctx.set(dut.mrqc, MRQC_ALL)
        for stream in [*dut.o_streams, dut.rst_stream]:
            ctx.set(stream.ready, 1)
        index = 0
        ctx.set(dut.i_stream.valid, 1)
        for cycle in range(warm_up + count):
            ctx.set(Value.cast(dut.i_stream.payload), beats[index % len(beats)])
            taken = ctx.get(dut.i_stream.ready)
            if cycle >= warm_up:
                counts["beats"] += taken
                counts["decisions"] += ctx.get(dut.trace.valid)
            index += taken
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return counts["beats"], counts["decisions"]


def measure_decisions_per_cycle(dut, *, cycles=RATE_CYCLES):
    """Decisions per cycle of a fresh demux offered one-beat runts back to back (each is
    dropped as TRUNCATED with a trace event): trace events per cycle, pipeline full."""
    runt = bytes(range(dut.data_width // 8))
    _beats, decisions = _simulate(dut, [runt], cycles)
    return decisions / cycles


def measure_beats_per_cycle(dut, *, cycles=RATE_CYCLES):
    """Beats per cycle a fresh demux accepts from back-to-back 60-byte TCP frames of 16 flows,
    every consumer ready (a line-rate check of the store-and-forward copy)."""
    import random

    from slique.sim.packets import Flow

    rng = random.Random(1)
    frames = [Flow(4, "tcp", rng.randbytes(4), rng.randbytes(4), rng.randrange(1 << 16),
                   rng.randrange(1 << 16)).frame(bytes(6)) for _ in range(16)]
    beats, _decisions = _simulate(dut, frames, cycles)
    return beats / cycles


def measure(targets=TARGETS, *, points=POINTS, seeds=(1, 2, 3), jobs=2, workdir=None,
            use_cache=True, progress=None):
    """Resources, Fmax and rates of every point on every target.

    Parameters
    ----------
    targets : iterable of str
        ``"ice40"``, ``"ecp5"``.
    points : iterable of DemuxPoint
    seeds : tuple of int
        Placement seeds (Fmax is their median).
    jobs : int
        Synthesis processes in parallel.
    workdir : Path or None
        Where the tools write; a temporary directory if ``None``.
    use_cache : bool
        Whether to use the synthesis cache.
    progress : callable or None
        Called with a description after every finished job.

    Returns
    -------
    list of dict
        One record per point and target: ``design``, ``width``, ``queues``, ``queue_depth``,
        ``flow_entries``, ``buffer_depth``, ``rst_depth``, ``target``, ``lut``, ``ff``, ``bram``, ``fmax_mhz``,
        ``decisions_per_cycle``, ``beats_per_cycle``, ``meets_target`` (one decision per cycle
        at :data:`TARGET_MHZ` or more), ``fits``, ``note``.
    """
    progress = progress or (lambda description: None)
    points, targets = list(points), list(targets)
    syntheses = run_syntheses(points, targets, jobs=jobs, workdir=workdir, seeds=seeds,
                              use_cache=use_cache, progress=progress)
    records = []
    for point in points:
        decisions = measure_decisions_per_cycle(point.build())
        beats = measure_beats_per_cycle(point.build())
        progress(f"simulated {point.label}")
        for target in targets:
            synthesis = syntheses[point, target]
            fmax = synthesis["fmax_mhz"]
            records.append({
                "design": "FlowDemux", "width": point.data_width, "queues": point.queues,
                "queue_depth": point.queue_depth, "flow_entries": point.flow_entries,
                "buffer_depth": point.parameters().buffer_depth, "rst_depth": point.rst_depth,
                "target": target,
                "lut": synthesis["lut"], "ff": synthesis["ff"], "bram": synthesis["bram"],
                "fmax_mhz": fmax, "decisions_per_cycle": decisions, "beats_per_cycle": beats,
                "meets_target": bool(synthesis["fits"] and fmax is not None
                                     and fmax >= TARGET_MHZ and decisions == 1.0),
                "fits": synthesis["fits"], "note": synthesis["note"],
            })
    return records


def main(argv=None):
    """``python -m slique.bench.flow_demux [TARGET,...]``: the records as JSON."""
    argv = sys.argv[1:] if argv is None else argv
    targets = argv[0].split(",") if argv else TARGETS
    print(json.dumps({"designs": measure(targets)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
