"""cocotb bench: a SidelineReorder in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see
:func:`slique.sim.sideline_reorder.run_parameters`); the bench writes its
:class:`~slique.sim.sideline_reorder.ReorderResult` (or the error) as JSON to
``$SLIQUE_REPORT``. The Verilog top's ports are the block's flattened port names
(:func:`slique.sim.runner.component_ports`).
"""

import json
import os

import cocotb
from cocotb.clock import Clock

from slique.sim import sideline_reorder as reorder

from .ports import CocotbPorts
from .slique_bench import _reset, _write_report


@cocotb.test()
async def lockstep(dut):
    """Seeded random reordering traffic; every output compared with the golden model."""
    run = json.loads(os.environ["SLIQUE_BENCH"])
    Clock(dut.clk, 10, unit="ns").start()
    dut.gap_timeout.value = 0
    await _reset(dut)
    try:
        result = await reorder.run_reorder_lockstep(
            CocotbPorts(dut, dut.clk), reorder.golden_model(run), reorder.traffic(run),
            cycles=run["cycles"], hint=reorder.run_hint(run))
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": run})
        raise
    _write_report({"result": result.as_dict(), "parameters": run})
