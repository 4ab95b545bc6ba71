"""cocotb bench: a RegisterBank in the simulator against its golden model, cycle by cycle.

Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see :func:`bench_parameters`); the bench writes
its result (or the error) as JSON to ``$SLIQUE_REPORT``. Two phases, with a reset between:

1. lockstep: seeded random accesses (every register, unmapped offsets, partial byte selects,
   idle gaps) from :class:`~slique.sim.wishbone.WishboneMaster` and random block activity
   (counter events, cause bits, status), every output compared with
   :class:`slique.sim.register_bank.RegisterBank` every cycle, conservation checked every cycle;
2. transactions through :class:`~slique.sim.benches.wishbone.WishboneDriver`: every register
   read at reset, then written with random data and read back, against
   :class:`slique.sim.registers.RegisterFile`.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from slique.sim.lockstep import replay_hint
from slique.sim.register_bank import (BlockActivity, RegisterBank, load_description,
                                      random_accesses, run_register_lockstep)
from slique.sim.registers import RegisterFile
from slique.sim.wishbone import WishboneMaster

from .ports import CocotbPorts
from .slique_bench import _write_report
from .wishbone import WishboneDriver


__all__ = ["bench_parameters", "gateware", "reset"]


def bench_parameters(*, registers="slique.sim.register_bank:SAMPLE_REGISTERS", pipelined=False,
                     unmapped="ack", latency=1, seed=1, accesses=400, rate=0.3, replay=""):
    """The JSON-able parameters of a run (``registers``: ``"module:attribute"`` of a
    RegisterMap)."""
    return dict(registers=registers, pipelined=pipelined, unmapped=unmapped, latency=latency,
                seed=seed, accesses=accesses, rate=rate, replay=replay)


def gateware(parameters):
    """The :class:`slique.hdl.RegisterBank` the parameters describe."""
    from slique.hdl.register_bank import RegisterBank as GatewareBank
    return _construct(GatewareBank, parameters)


def _construct(cls, parameters):
    return cls(load_description(parameters["registers"]), pipelined=parameters["pipelined"],
               unmapped=parameters["unmapped"], latency=parameters["latency"])


async def reset(dut, inputs):
    """Hold reset for two cycles with every input in ``inputs`` at 0."""
    dut.rst.value = 1
    for name in inputs:
        getattr(dut, name).value = 0
    for _ in range(2):
        await RisingEdge(dut.clk)
    dut.rst.value = 0


async def _transactions(dut, registers, rng, hint):
    """Reset values, then random writes read back, against a RegisterFile (the block's
    inputs held at 0: status reads 0, no counter event)."""
    expected = RegisterFile(registers)
    bus = WishboneDriver(dut, dut.clk)
    checked = 0
    for instance in registers.instances():
        for phase in ("reset", "written"):
            if phase == "written":
                data = rng.getrandbits(32)
                await bus.write(instance.offset, data)
                expected.write(instance.offset, data)
            value = await bus.read(instance.offset)
            want = expected.read(instance.offset)
            if value != want:
                raise AssertionError(f"{instance.label} at {instance.offset:#x} reads {value:#x} "
                                     f"after {phase}, expected {want:#x}; {hint}")
            checked += 1
    return checked


@cocotb.test()
async def lockstep(dut):
    """Random accesses and block activity, every output compared with the golden model."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))
    model = _construct(RegisterBank, parameters)
    registers = model.registers
    rng = random.Random(parameters["seed"])
    master = WishboneMaster(pipelined=parameters["pipelined"])
    master.submit(*random_accesses(rng, registers, parameters["accesses"]))
    activity = BlockActivity(random.Random(rng.getrandbits(64)), registers,
                             rate=parameters["rate"])
    inputs, _outputs = model.port_names()
    Clock(dut.clk, 10, unit="ns").start()
    try:
        await reset(dut, inputs)
        result = await run_register_lockstep(CocotbPorts(dut, dut.clk), model, master, activity,
                                             hint=hint)
        await reset(dut, inputs)
        checked = await _transactions(dut, registers, rng, hint)
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result.as_dict(), "transactions": checked,
                   "parameters": parameters})
