"""Benchmark of :class:`slique.hdl.BurstAdmission`: resources, Fmax and decisions per cycle.

Each design point goes through :class:`~slique.bench.harness.StreamHarness` and
:func:`~slique.bench.synth.synthesize` like the sliques (LUT / FF / BRAM of the admission alone,
its slique included, harness excluded; Fmax of the placed design, median over the placement
seeds). The harness drives the configuration ports from its stimulus register as well (they are
registers of the register bank in a real design), and observes every output: ``level``,
``tokens``, ``token_fraction``, ``decision``, the five counters and ``trace``.

``decisions_per_cycle`` is measured with the Amaranth simulator: a beat is offered every cycle
while the configuration walks through every regime (below ``S``, tokens, no tokens, hard limit)
and the consumer stalls now and then; it is the number of decisions reported (``decision`` not
``NONE``) divided by the cycles. The issue's target is one decision per cycle at 125 MHz or
more on ECP5, at 8- and 32-bit widths.

``measure(targets)`` returns one record per point and target; ``python -m
slique.bench.burst_admission [--targets ecp5,ice40]`` prints them as JSON.
"""

import json
import sys
from dataclasses import dataclass

from amaranth import Cat
from amaranth.sim import Simulator

from slique.hdl.bounded_slique import choose_storage

from .harness import StreamHarness, StreamPorts
from .synth import run_syntheses


__all__ = ["AdmissionPoint", "POINTS", "TARGET_MHZ", "measure", "measure_decisions_per_cycle",
           "main"]


#: The issue's target: one decision per cycle at this clock on ECP5 (Gigabit RGMII).
TARGET_MHZ = 125.0
TARGET_DEVICE = "ecp5"

TARGETS = ("ice40", "ecp5")

#: Cycles of the decision-rate simulation.
RATE_CYCLES = 512


@dataclass(frozen=True)
class AdmissionPoint:
    """One design point: payload width, slique depth and storage, bucket widths."""
    width: int
    depth: int
    storage: str = "auto"
    fraction_bits: int = 16
    token_bits: int = 16

    @property
    def label(self):
        return f"BurstAdmission/{self.width}-bit@{self.depth}"

    @property
    def file_name(self):
        return f"burstadmission_{self.width}_{self.depth}_{self.storage}"

    @property
    def cost_estimate(self):
        return self.depth + self.width

    def build(self):
        from slique.hdl.burst_admission import BurstAdmission
        return BurstAdmission(self.width, self.depth, storage=self.storage,
                              fraction_bits=self.fraction_bits, token_bits=self.token_bits)

    def harness(self):
        """The admission inside a :class:`StreamHarness` that drives its configuration too."""
        dut = self.build()
        config = [dut.steady_depth, dut.burst_depth, dut.bucket_capacity, dut.refill_rate,
                  dut.refill_denominator]
        i_stream = StreamPorts(Cat(dut.i_stream.payload, *config), dut.i_stream.valid,
                               dut.i_stream.ready)
        observe = [dut.level, dut.tokens, dut.token_fraction, dut.decision, dut.offered,
                   dut.accepted, dut.delivered, dut.dropped_burst_exhausted,
                   dut.dropped_hard_limit, dut.trace.valid, dut.trace.payload]
        return StreamHarness(dut, i_stream, dut.o_stream, observe=observe)


#: The issue's widths, a register-sized and a block-RAM-sized slique.
POINTS = (AdmissionPoint(8, 16), AdmissionPoint(32, 16), AdmissionPoint(32, 512))


def measure_decisions_per_cycle(dut, *, cycles=RATE_CYCLES):
    """Decisions per cycle of a fresh :class:`~slique.hdl.BurstAdmission` offered a beat every
    cycle, through every regime of the rule (see the module docstring)."""
    from slique.hdl.burst_admission import Decision

    depth = dut.depth
    phases = [  # (steady, burst, capacity, rate): steady, tokens, exhausted, hard limit
        (depth, depth, 0, 0), (0, depth, 4, 1 << (dut.fraction_bits - 2)),
        (0, depth, 0, 0), (0, 0, 0, 0)]
    decisions = []

    async def testbench(ctx):
        ctx.set(dut.i_stream.valid, 1)
        for cycle in range(cycles + 1):
            steady, burst, capacity, rate = phases[cycle * len(phases) // (cycles + 1)]
            ctx.set(dut.steady_depth, steady)
            ctx.set(dut.burst_depth, burst)
            ctx.set(dut.bucket_capacity, capacity)
            ctx.set(dut.refill_rate, rate)
            ctx.set(dut.i_stream.payload, cycle)
            ctx.set(dut.o_stream.ready, cycle % 3 != 0)
            if cycle:  # the decision of the previous cycle
                decisions.append(ctx.get(dut.decision))
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return sum(decision != Decision.NONE for decision in decisions) / cycles


def measure(targets=TARGETS, *, points=POINTS, seeds=(1, 2, 3), jobs=2, workdir=None,
            use_cache=True, progress=None):
    """Resources, Fmax and decisions per cycle of every point on every target.

    Parameters
    ----------
    targets : iterable of str
        ``"ice40"``, ``"ecp5"``.
    points : iterable of AdmissionPoint
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
        One record per point and target: ``design``, ``width``, ``depth``, ``storage``,
        ``resolved_storage``, ``target``, ``lut``, ``ff``, ``bram``, ``fmax_mhz``,
        ``decisions_per_cycle``, ``meets_target`` (one decision per cycle at
        :data:`TARGET_MHZ` or more; ``None`` on targets other than ECP5, where the issue sets
        none), ``fits``, ``note``.
    """
    progress = progress or (lambda description: None)
    points, targets = list(points), list(targets)
    syntheses = run_syntheses(points, targets, jobs=jobs, workdir=workdir, seeds=seeds,
                              use_cache=use_cache, progress=progress)
    records = []
    for point in points:
        dut = point.build()
        rate = measure_decisions_per_cycle(dut)
        resolved = (choose_storage(point.width, point.depth) if point.storage == "auto"
                    else point.storage)
        progress(f"simulated {point.label}")
        for target in targets:
            synthesis = syntheses[point, target]
            fmax = synthesis["fmax_mhz"]
            records.append({
                "design": "BurstAdmission", "width": point.width, "depth": point.depth,
                "storage": point.storage, "resolved_storage": resolved, "target": target,
                "lut": synthesis["lut"], "ff": synthesis["ff"], "bram": synthesis["bram"],
                "fmax_mhz": fmax, "decisions_per_cycle": rate,
                "meets_target": (bool(synthesis["fits"] and fmax is not None
                                      and fmax >= TARGET_MHZ and rate == 1.0)
                                 if target == TARGET_DEVICE else None),
                "fits": synthesis["fits"], "note": synthesis["note"],
            })
    return records


def main(argv=None):
    """``python -m slique.bench.burst_admission [--targets ecp5,ice40]``: the records as JSON."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m slique.bench.burst_admission",
        description="Resources, Fmax and decisions per cycle of BurstAdmission (JSON).")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help="devices, comma-separated (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="synthesis processes in parallel (default: %(default)s)")
    args = parser.parse_args(argv)
    targets = [target for target in args.targets.split(",") if target]
    print(json.dumps({"designs": measure(targets, jobs=args.jobs)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
