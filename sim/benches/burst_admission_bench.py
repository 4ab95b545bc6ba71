"""cocotb bench: a BurstAdmission in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see
:func:`slique.sim.burst_admission.run_parameters`): the traffic and the run-time configuration
schedule are drawn from its seed. The bench writes its
:class:`~slique.sim.burst_admission.AdmissionResult` (or the error) as JSON to
``$SLIQUE_REPORT``.
"""

import json
import os

import cocotb
from cocotb.clock import Clock

from slique.sim.burst_admission import golden_model, parameters_hint, run_lockstep, schedule_of
from slique.sim.traffic import make_traffic

from .ports import CocotbPorts
from .slique_bench import _reset, _write_report


@cocotb.test()
async def lockstep(dut):
    """Seeded random traffic and configuration changes; every output compared every cycle."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = parameters_hint(parameters)
    producer, consumer = make_traffic(parameters["seed"], parameters["width"],
                                      parameters["pattern"])
    Clock(dut.clk, 10, unit="ns").start()
    await _reset(dut)
    try:
        result = await run_lockstep(CocotbPorts(dut, dut.clk), golden_model(parameters),
                                    producer, consumer, schedule_of(parameters),
                                    cycles=parameters["cycles"], hint=hint,
                                    record=parameters.get("record", False))
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result.as_dict(), "parameters": parameters})
