"""Benchmark of :class:`slique.hdl.TraceStream`: resources, Fmax and records per cycle.

Design points: four sources into a 16-record ring slique, and eight sources into a 4-record
systolic slique. Each is synthesized in a :class:`~slique.bench.harness.StreamHarness` (the
event ports driven from the serial pin, the record stream and the status observed) on each
target; ``decisions_per_cycle`` is records delivered per cycle with every source firing every
cycle and the consumer always ready, measured with the Amaranth simulator (1.0: the trace
stream never slows below one record a cycle, whatever the number of sources).

``measure(targets)`` returns one record per design point and target.
"""

from .register_bank import component_harness, synthesize_points


__all__ = ["POINTS", "measure", "records_per_cycle"]


#: ``(label, number of sources, depth, storage)``.
POINTS = (
    ("4-sources-ring-16", 4, 16, "ring"),
    ("8-sources-systolic-4", 8, 4, "systolic"),
)

#: Cycles counted when measuring records per cycle (after the first record).
CYCLES = 64


def _trace_stream(sources, depth, storage):
    from slique.hdl.trace_event import TraceBlock
    from slique.hdl.trace_stream import TraceStream
    blocks = list(TraceBlock)
    return TraceStream([blocks[index % len(blocks)] for index in range(sources)], depth,
                       storage=storage)


def _harness(sources, depth, storage):
    dut = _trace_stream(sources, depth, storage)
    return component_harness(dut, valid=dut.i_trace[0].valid, ready=dut.o_stream.ready,
                             out_valid=dut.o_stream.valid, in_ready=dut.lost)


def records_per_cycle(sources, depth, storage, cycles=CYCLES):
    """Records delivered per cycle with every source firing every cycle and the consumer
    always ready, counted over ``cycles`` cycles once the first record is out."""
    from slique.sim.register_bank import simulate

    dut = _trace_stream(sources, depth, storage)

    async def testbench(ctx):
        for port in dut.i_trace:
            ctx.set(port.valid, 1)
        ctx.set(dut.o_stream.ready, 1)
        while not ctx.get(dut.o_stream.valid):
            await ctx.tick()
        delivered = 0
        for _ in range(cycles):
            delivered += ctx.get(dut.o_stream.valid)
            await ctx.tick()
        return delivered / cycles

    return simulate(dut, testbench)


def measure(targets=("ice40", "ecp5"), *, workdir=None, seeds=(1, 2, 3), use_cache=True):
    """Resources, Fmax and records per cycle of every point on every target.

    Returns
    -------
    list of dict
        ``{"block": "TraceStream", "design", "sources", "depth", "storage", "target", "lut",
        "ff", "bram", "fmax_mhz", "decisions_per_cycle", "decision": "trace record", "fits",
        "note"}``.
    """
    points = [(label, lambda point=(sources, depth, storage): _harness(*point),
               records_per_cycle(sources, depth, storage),
               dict(sources=sources, depth=depth, storage=storage))
              for label, sources, depth, storage in POINTS]
    return synthesize_points("TraceStream", points, targets, prefix="trace_stream",
                             workdir=workdir, seeds=seeds, use_cache=use_cache,
                             decision="trace record")


if __name__ == "__main__":
    import json
    print(json.dumps(measure(), indent=1))
