"""cocotb bench: a slique in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see :func:`slique.sim.sliques.run_parameters`);
the bench writes its :class:`~slique.sim.lockstep.LockstepResult` (or the error) as JSON to
``$SLIQUE_REPORT``.
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from slique.sim.lockstep import run_lockstep
from slique.sim.sliques import golden_model, parameters_hint
from slique.sim.traffic import make_traffic

from .ports import CocotbPorts


async def _reset(dut):
    dut.rst.value = 1
    dut.i_stream__valid.value = 0
    dut.o_stream__ready.value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


def _write_report(document):
    path = os.environ.get("SLIQUE_REPORT")
    if path:
        with open(path, "w") as file:
            json.dump(document, file)


@cocotb.test()
async def lockstep(dut):
    """Seeded random valid/ready traffic; every output compared with the golden model."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = parameters_hint(parameters)
    model = golden_model(parameters)
    producer, consumer = make_traffic(parameters["seed"], parameters["width"], parameters["pattern"])
    clock = dut.clk if hasattr(dut, "clk") else None  # ZeroSlique has no clock
    if clock is not None:
        Clock(clock, 10, unit="ns").start()
        await _reset(dut)
    try:
        result = await run_lockstep(CocotbPorts(dut, clock), model, producer, consumer,
                                    cycles=parameters["cycles"], depth=parameters.get("depth", 0),
                                    hint=hint, record=parameters.get("record", False))
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result.as_dict(), "parameters": parameters})
