"""cocotb bench: the flow demux in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see :func:`slique.sim.flow_demux.bench_parameters`):
the demux's parameters, ``seed``, ``cycles``, ``changes`` (configuration changes during the run)
and ``replay``. The design is :class:`slique.sim.flow_demux.VerilogTop` around
:class:`slique.hdl.FlowDemux`. Seeded random frames, consumers and configuration go into both;
every output is compared every cycle, conservation is checked every cycle and at the end, and a
run without configuration changes is also checked packet by packet against the
transaction-level reference (:func:`slique.sim.flow_demux.check_end_to_end`). The bench writes
the counters (or the error) as JSON to ``$SLIQUE_REPORT``.
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from slique.sim.flow_demux import (DemuxTraffic, check_end_to_end, golden_demux,
                                   run_demux_lockstep)
from slique.sim.lockstep import replay_hint

from .ports import CocotbPorts
from .slique_bench import _write_report


async def _reset(dut):
    dut.rst.value = 1
    dut.i_stream__valid.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def lockstep(dut):
    """Seeded random frames and configuration; every output compared with the golden model."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))
    model = golden_demux(parameters)
    demux = parameters["demux"]
    traffic = DemuxTraffic(parameters["seed"], data_width=demux["data_width"],
                           queues=demux["queues"], flow_entries=demux["flow_entries"],
                           buffer_depth=model.buffer_depth, changes=parameters["changes"])
    Clock(dut.clk, 10, unit="ns").start()
    await _reset(dut)
    try:
        result = await run_demux_lockstep(CocotbPorts(dut, dut.clk), model, traffic,
                                          cycles=parameters["cycles"], hint=hint)
        if not parameters["changes"]:
            check_end_to_end(traffic, result, queues=demux["queues"],
                             flow_entries=demux["flow_entries"],
                             buffer_depth=model.buffer_depth, hint=hint)
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result.as_dict(), "parameters": parameters,
                   "traces": len(traffic.traces), "rst_requests": len(traffic.rst_requests)})
