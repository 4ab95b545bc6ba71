"""cocotb bench: a TraceStream in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see :func:`bench_parameters`): the sources (by
:class:`~slique.hdl.trace_event.TraceBlock` name), depth, storage, seed, cycles, and optionally
the event and consumer settings (else drawn from the seed). Random simultaneous events on every
source, a consumer that stalls; every output compared with
:class:`slique.sim.trace_stream.TraceStream` every cycle and
``events == delivered + lost + held`` checked every cycle. The result (or the error) goes to
``$SLIQUE_REPORT`` as JSON.
"""

import json
import os

import cocotb
from cocotb.clock import Clock

from slique.hdl.trace_event import TraceBlock
from slique.sim.lockstep import replay_hint
from slique.sim.trace_stream import TraceStream, make_trace_traffic, run_trace_lockstep

from .ports import CocotbPorts
from .register_bank_bench import reset
from .slique_bench import _write_report


__all__ = ["bench_parameters", "gateware"]


def bench_parameters(*, sources=("ADMISSION", "REORDER", "DEMUX", "SLIQUE"), depth=8,
                     storage="auto", seed=1, cycles=3000, events=None, consumer=None,
                     replay=""):
    """The JSON-able parameters of a run."""
    return dict(sources=list(sources), depth=depth, storage=storage, seed=seed, cycles=cycles,
                events=events, consumer=consumer, replay=replay)


def _construct(cls, parameters):
    return cls([TraceBlock[name] for name in parameters["sources"]], parameters["depth"],
               storage=parameters["storage"])


def gateware(parameters):
    """The :class:`slique.hdl.TraceStream` the parameters describe."""
    from slique.hdl.trace_stream import TraceStream as GatewareTraceStream
    return _construct(GatewareTraceStream, parameters)


@cocotb.test()
async def lockstep(dut):
    """Random simultaneous events and a stalling consumer against the golden model."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))
    model = _construct(TraceStream, parameters)
    traffic, consumer = make_trace_traffic(parameters["seed"], len(model.sources),
                                           events=parameters["events"],
                                           consumer=parameters["consumer"])
    inputs = [f"i_trace__{index}__valid" for index in range(len(model.sources))]
    Clock(dut.clk, 10, unit="ns").start()
    try:
        await reset(dut, [*inputs, "o_stream__ready"])
        result = await run_trace_lockstep(CocotbPorts(dut, dut.clk), model, traffic, consumer,
                                          cycles=parameters["cycles"], hint=hint)
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result.as_dict(), "parameters": parameters})
