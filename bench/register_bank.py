"""Benchmark of :class:`slique.hdl.RegisterBank`: resources, Fmax and accesses per cycle.

Design points: :data:`slique.sim.register_bank.SAMPLE_REGISTERS` (every access mode, 22
registers from 0x0000 to 0xC068) behind a classic bus answering ``ack`` to unmapped offsets,
behind a pipelined bus answering ``err``, and the same with ``latency=2`` (the decoder
registered). Each is synthesized in a
:class:`~slique.bench.harness.StreamHarness` (every input driven from the serial pin, every
output observed: :func:`component_harness`) on each target; ``decisions_per_cycle`` is bus
accesses per cycle, back to back, measured with the Amaranth simulator (classic 0.5 with
``latency=1``, pipelined 1.0).

``measure(targets)`` returns one record per design point and target.
"""

import tempfile
from pathlib import Path

from amaranth.hdl import Cat, Value
from amaranth.hdl._ir import PortDirection

from .harness import StreamHarness, StreamPorts
from .synth import synthesize


__all__ = ["POINTS", "measure", "component_harness", "accesses_per_cycle", "synthesize_points"]


#: ``(label, parameters of RegisterBank)``.
POINTS = (
    ("classic-ack", dict(pipelined=False, unmapped="ack", latency=1)),
    ("pipelined-err", dict(pipelined=True, unmapped="err", latency=1)),
    ("pipelined-err-latency2", dict(pipelined=True, unmapped="err", latency=2)),
)

#: Accesses measured back to back.
ACCESSES = 64


def component_harness(dut, *, valid, ready, out_valid, in_ready):
    """A :class:`StreamHarness` around a component whose ports are not one stream in and one
    out: the inputs ``valid`` and ``ready`` and the outputs ``out_valid`` and ``in_ready`` take
    the four handshake places; every other input is part of the driven payload, every other
    output of the observed one (constant members are left out)."""
    from slique.sim.runner import component_ports

    roles = {id(Value.cast(value)) for value in (valid, ready, out_valid, in_ready)}
    inputs, outputs = [], []
    for value, direction in component_ports(dut).values():
        if id(value) in roles:
            continue
        (inputs if direction == PortDirection.Input else outputs).append(value)
    return StreamHarness(dut, StreamPorts(Cat(*inputs), valid, in_ready),
                         StreamPorts(Cat(*outputs), out_valid, ready))


def _bank(parameters):
    from slique.hdl.register_bank import RegisterBank
    from slique.sim.register_bank import SAMPLE_REGISTERS
    return RegisterBank(SAMPLE_REGISTERS, **parameters)


def _harness(parameters):
    bank = _bank(parameters)
    return component_harness(bank, valid=bank.bus.stb, ready=bank.bus.cyc,
                             out_valid=bank.bus.ack, in_ready=bank.bus.dat_r)


def accesses_per_cycle(parameters, count=ACCESSES):
    """Bus accesses per cycle, back to back (alternating writes and reads of the RETA
    registers), in steady state, measured with the Amaranth simulator."""
    from slique.sim.lockstep import AmaranthPorts
    from slique.sim.register_bank import SAMPLE_REGISTERS, simulate
    from slique.sim.wishbone import WishboneAccess, WishboneMaster, transact

    dut = _bank(parameters)
    reta = SAMPLE_REGISTERS["RETA"]
    accesses = [WishboneAccess(reta.offset_of(index % reta.count), write=index % 2 == 0,
                               data=index) for index in range(count)]

    async def testbench(ctx):
        master = WishboneMaster(pipelined=parameters["pipelined"])
        return await transact(AmaranthPorts(ctx, dut), master, *accesses)

    results = simulate(dut, testbench)
    return (len(results) - 1) / (results[-1].accepted - results[0].accepted)


def synthesize_points(block, points, targets, *, prefix, workdir, seeds, use_cache, decision):
    """Synthesize ``points`` on ``targets``; one record per point and target.

    ``points``: ``(design label, harness factory, decisions per cycle, extra record keys)``;
    ``prefix`` names the top modules (``<prefix>_<label>``)."""
    records = []
    with tempfile.TemporaryDirectory(prefix="slique-bench-") as temporary:
        workdir = Path(workdir or temporary)
        for label, harness, rate, extra in points:
            name = f"{prefix}_{label}".replace("-", "_")
            for target in targets:
                result = synthesize(harness(), target=target, name=name,
                                    workdir=workdir / f"{name}-{target}", seeds=seeds,
                                    use_cache=use_cache)
                records.append({
                    "block": block, "design": label, **extra, "target": target,
                    "lut": result.lut, "ff": result.ff, "bram": result.bram,
                    "fmax_mhz": result.fmax_mhz, "decisions_per_cycle": rate,
                    "decision": decision, "fits": result.fits, "note": result.note,
                })
    return records


def measure(targets=("ice40", "ecp5"), *, workdir=None, seeds=(1, 2, 3), use_cache=True):
    """Resources, Fmax and accesses per cycle of every point on every target.

    Returns
    -------
    list of dict
        ``{"block": "RegisterBank", "design", "target", "lut", "ff", "bram", "fmax_mhz",
        "decisions_per_cycle", "decision": "bus access", "fits", "note"}``.
    """
    points = [(label, lambda parameters=parameters: _harness(parameters),
               accesses_per_cycle(parameters), {}) for label, parameters in POINTS]
    return synthesize_points("RegisterBank", points, targets, prefix="register_bank",
                             workdir=workdir, seeds=seeds, use_cache=use_cache,
                             decision="bus access")


if __name__ == "__main__":
    import json
    print(json.dumps(measure(), indent=1))
