"""cocotb bench: the flow pipeline in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see
:func:`slique.sim.flow_pipeline.bench_parameters`): the pipeline's parameters and either seeded
random traffic and configuration, or a named scenario (:mod:`slique.sim.scenarios`, its frames
possibly from a pcap file). The design is :class:`slique.sim.flow_demux.VerilogTop` around
:class:`slique.hdl.FlowPipeline`. Every output is compared with the golden model every cycle,
every block's conservation is checked every cycle and once drained; the bench writes the
:class:`~slique.sim.flow_pipeline.PipelineResult` (or the error) as JSON to ``$SLIQUE_REPORT``.
"""

import json
import os

import cocotb
from cocotb.clock import Clock

from slique.sim.flow_pipeline import (golden_pipeline, hint_of, run_pipeline_lockstep,
                                      traffic_of)

from .flow_demux_bench import _reset
from .ports import CocotbPorts
from .slique_bench import _write_report


@cocotb.test()
async def lockstep(dut):
    """The run's traffic into the gateware and the golden model; every output compared."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    Clock(dut.clk, 10, unit="ns").start()
    await _reset(dut)
    try:
        result = await run_pipeline_lockstep(
            CocotbPorts(dut, dut.clk), golden_pipeline(parameters), traffic_of(parameters),
            cycles=parameters["cycles"], hint=hint_of(parameters), record=parameters["record"])
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result.as_dict(), "parameters": parameters})
