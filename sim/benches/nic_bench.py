"""cocotb bench of the NIC top: a firmware application on :class:`slique.firmware.cocotb_nic.CocotbNIC`.

The DUT is :class:`slique.hdl.nic.Nic`. The test :func:`firmware_app` starts the clock, resets
the DUT, makes a CocotbNIC on it and runs the application (``slique.firmware.apps``) in a thread
started by cocotb's ``bridge`` (the firmware is synchronous; the NIC's :meth:`step` blocks it on
one clock edge). Parameters arrive as JSON in ``$SLIQUE_BENCH`` (:func:`bench_parameters`); the
report (``$SLIQUE_REPORT``) is the application's summary (:meth:`AppResult.as_json` plus
``routines``, ``cycles``, ``extra``) and, to find where two backends part, the delivered frames
(SHA-256 each, in order) and the NIC's trace records without their cycle.

On the host side, :func:`run_app` builds the top (one Verilator build per set of parameters,
cached by :func:`slique.sim.runner.run_bench`), runs the bench and answers the report;
:func:`app_result` turns it back into an :class:`~slique.firmware.apps.common.AppResult`.
"""

import hashlib
import json
import os

import cocotb
from amaranth.lib.wiring import In
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

from slique.firmware.cocotb_nic import CocotbNIC, nic_parameters

from .slique_bench import _write_report


__all__ = ["bench_parameters", "gateware", "Recorder", "run_app", "app_result"]


def bench_parameters(*, app="echo", seed=1, packets=20, **nic):
    """The JSON-able parameters of a run: the application, its seed and packets, and the NIC's
    parameters (:func:`~slique.firmware.cocotb_nic.nic_parameters`)."""
    return dict(app=app, seed=seed, packets=packets, nic=nic_parameters(**nic))


def gateware(parameters):
    """The :class:`slique.hdl.nic.Nic` the parameters describe."""
    from slique.hdl.nic import Nic
    return Nic(**parameters["nic"])


class Recorder:
    """Keeps what a NIC hands the firmware (frames sent on the wire, trace records), so that two
    backends' runs can be compared item by item: ``frames`` (SHA-256 of each, in order),
    ``records`` (untimed), and ``events`` (``[cycle, "rx" or "tx", queue, frame digest]``: each
    receive's completion and each frame taken from the TX wire, to see where timing differs)."""

    def __init__(self, nic):
        from slique.firmware.apps.common import untimed

        self.frames = []
        self.records = []
        self.events = []
        take, read, step = nic.take_transmitted, nic.read_trace, nic.step

        def logged_step():
            cycle, completions = step()
            for _, result in completions:
                value = getattr(result, "value", None)
                if isinstance(value, tuple):
                    queue, frame = value
                    self.events.append([cycle, "rx", queue,
                                        hashlib.sha256(frame).hexdigest()[:12]])
            return cycle, completions

        def take_transmitted():
            sent = take()
            self.frames += [[queue, hashlib.sha256(frame).hexdigest()] for queue, frame in sent]
            self.events += [[nic.cycle, "tx", queue, hashlib.sha256(frame).hexdigest()[:12]]
                            for queue, frame in sent]
            return sent

        def read_trace():
            records = read()
            self.records += [list(untimed(record)) for record in records]
            return records

        nic.take_transmitted, nic.read_trace, nic.step = take_transmitted, read_trace, logged_step


def port_inits(nic):
    """``{name: init}`` of the plain input ports of ``nic`` (a :class:`slique.hdl.nic.Nic`)
    whose reset value is not 0."""
    return {name: int(member.init) for name, member in nic.signature.members.items()
            if not member.is_signature and member.flow == In and not member.dimensions
            and member.init}


def record_bus(host):
    """Log ``(cycle, write, byte address)`` of every request ``host`` (a
    :class:`~slique.sim.benches.dma_bench.HostBus`) takes; answers the log (a list)."""
    log = []
    request = host._request

    def logged():
        dut = host.dut
        log.append((host.cycle, int(dut.host__we.value),
                    dut.host__adr.value.to_unsigned() * host.lanes))
        request()

    host._request = logged
    return log


def bus_commands(log, setup_cycle, data_width):
    """The bus commands after set-up in a :func:`record_bus` log, as ``[cycle of the first
    request - setup_cycle, beats]``: consecutive requests of one kind at consecutive addresses
    are one burst (as :attr:`slique.firmware.dma_timing.DmaTiming.commands` counts them)."""
    lanes = data_width // 8
    runs = []
    for cycle, write, address in log:
        if setup_cycle is None or cycle <= setup_cycle:
            continue
        last = runs[-1] if runs else None
        if last and last[1] == write and last[2] + 1 == cycle and last[3] + lanes == address:
            last[2], last[3], last[4] = cycle, address, last[4] + 1
        else:
            runs.append([cycle, write, cycle, address, 1])
    return [[first - setup_cycle, beats] for first, _, _, _, beats in runs]


async def reset(dut):
    dut.rst.value = 1
    for name in ("host__ack", "host__err", "host__stall", "host__dat_r", "csr__cyc", "csr__stb",
                 "csr__we", "rx_wire__valid", "tx_wire__ready", "loopback"):
        getattr(dut, name).value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


@cocotb.test()
async def firmware_app(dut):
    """The application runs on CocotbNIC; the report is its summary and what it delivered."""
    from cocotb._bridge import bridge

    from slique.firmware.apps import load

    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    nic_options = parameters["nic"]
    Clock(dut.clk, 8, unit="ns").start()
    await reset(dut)
    nic = CocotbNIC(dut, queues=nic_options["queues"], data_width=nic_options["data_width"],
                    inputs=port_inits(gateware(parameters)))
    recorder = Recorder(nic)
    bus = record_bus(nic.host)
    app = load(parameters["app"])

    def body():
        nic.setup()
        return app.run(nic, seed=parameters["seed"], packets=parameters["packets"],
                       backend="verilator")

    try:
        result = await bridge(body)()
        result.check()
    except Exception as error:
        _write_report({"error": f"{type(error).__name__}: {error}", "parameters": parameters})
        raise
    document = dict(result.as_json(), routines=result.routines, cycles=result.cycles,
                    extra=result.extra, frames=recorder.frames, records=recorder.records,
                    events=recorder.events, setup_cycle=nic.setup_cycle,
                    wire_cycles=nic.wire_cycles,
                    bus=bus_commands(bus, nic.setup_cycle, nic.data_width),
                    tx_unmatched=nic.tx_unmatched)
    _write_report(json.loads(json.dumps(document, default=str)))


def run_app(app, *, seed, packets, name=None, results_dir=None, **nic):
    """Run ``app`` on the gateware (Verilator); answer the bench's report (a dict)."""
    from slique.sim.runner import run_bench

    parameters = bench_parameters(app=app, seed=seed, packets=packets, **nic)
    result = run_bench(gateware(parameters), "slique.sim.benches.nic_bench",
                       parameters=parameters, name=name or f"nic-{app}-{seed}",
                       results_dir=results_dir)
    return result.report


def app_result(report):
    """The :class:`~slique.firmware.apps.common.AppResult` of a :func:`run_app` report."""
    from slique.firmware.apps.common import AppResult

    return AppResult(app=report["app"], backend=report["backend"], seed=report["seed"],
                     offered=report["offered"], delivered=report["delivered"],
                     dropped=report["dropped"], errors=report["errors"],
                     memo_high_water=report["memo_high_water"], reruns=report["reruns"],
                     digest=report["digest"], routines=report["routines"],
                     cycles=report["cycles"], extra=report["extra"])
