"""cocotb bench: the Colorlight 5A-75B core (both MACs, both flow paths, the bridge) with
cocotbext-eth's RGMII sources and sinks on both ports.

The design is :class:`slique.boards.colorlight.ColorlightCore` without pins (the simulation
model of the DDR pins), a short PHY reset. ``clk`` (``sync``, 125 MHz) runs the flow paths and
the transmitters; ``p0_rx_clk`` and ``p1_rx_clk`` (the PHYs' receive clocks) run a quarter
period later, so frames cross clock domains on the way, and ``p0_rx_clk`` also clocks the
sinks (the skew an RGMII receiver needs on the transmit pins). Each port's source sends seeded
bursts: scapy-built frames (TCP, UDP, 802.1Q, IPv6) and every kind the MAC drops (bad FCS,
runt, jumbo, a PHY quiet mid-frame, RX_ER, no SFD), both directions at once. With the reset
configuration (RSS off, admission open) the flow path passes every well-formed frame, so the
bench checks that every frame the golden :class:`slique.sim.mac.MacRx` accepts on one port
leaves the other, in order, byte for byte with its FCS, that nothing else does, and that each
MAC's counters equal the golden model's: per port, ``bursts == sum(RX counters)`` and
``RX GOOD == TX SENT`` of the other port (nothing lost in between).

Parameters (JSON in ``$SLIQUE_BENCH``): ``seed``, ``count`` (bursts per port),
``max_payload``, ``replay``.
"""

import json
import logging
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Combine, Timer

from slique.hdl.mac import RxOutcome, TxOutcome
from slique.hdl.mac.mac_rx import rx_counters_layout
from slique.hdl.mac.mac_tx import tx_counters_layout

from .mac_bench import CLOCK_PERIOD_PS, _counters
from .slique_bench import _write_report


__all__ = ["bench_parameters", "gateware", "BENCH_KINDS", "PHY_RESET_CYCLES"]


#: Bursts the bench sends: well-formed frames and what the MAC drops.
BENCH_KINDS = {"good": 10, "short-preamble": 1, "bad-fcs": 2, "runt": 2, "jumbo": 1,
               "quiet": 2, "phy-error": 1, "no-sfd": 1}

PHY_RESET_CYCLES = 16


def bench_parameters(*, seed=1, count=16, max_payload=150, replay=""):
    return dict(seed=seed, count=count, max_payload=max_payload, replay=replay)


def gateware(parameters):
    from slique.boards.colorlight import ColorlightCore
    return ColorlightCore(phy_reset_cycles=PHY_RESET_CYCLES)


async def _send(source, bursts):
    from cocotbext.eth import GmiiFrame
    for burst in bursts:
        errors = set(burst.errors)
        await source.send(GmiiFrame(bytearray(burst.wire),
                                    [int(i in errors) for i in range(len(burst.wire))]))
    await source.wait()


@cocotb.test()
async def colorlight_two_ports(dut):
    from cocotbext.eth import RgmiiSink, RgmiiSource

    from slique.sim import mac as golden
    from slique.sim.mac.traffic import random_bursts

    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = f"seed={parameters['seed']}; replay with: {parameters['replay']}"
    rng = random.Random(parameters["seed"])

    Clock(dut.clk, CLOCK_PERIOD_PS, unit="ps").start()
    dut.rst.value = 1
    dut.rx.value = 1
    for port in range(2):
        getattr(dut, f"p{port}_rx_ctl").value = 0
    await Timer(CLOCK_PERIOD_PS // 4, unit="ps")
    for port in range(2):
        Clock(getattr(dut, f"p{port}_rx_clk"), CLOCK_PERIOD_PS, unit="ps").start()
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2 * PHY_RESET_CYCLES + 8)
    assert int(dut.phy_reset.value) == 0, f"the PHYs are still in reset; {hint}"

    sources, sinks, bursts, expected, models = [], [], [], [], []
    for port in range(2):
        source = RgmiiSource(getattr(dut, f"p{port}_rx_data"), getattr(dut, f"p{port}_rx_ctl"),
                             getattr(dut, f"p{port}_rx_clk"))
        sink = RgmiiSink(getattr(dut, f"p{port}_tx_data"), getattr(dut, f"p{port}_tx_ctl"),
                         dut.p0_rx_clk)
        for end in (source, sink):
            end.log.setLevel(logging.WARNING)
        sources.append(source)
        sinks.append(sink)
        port_bursts = random_bursts(rng, parameters["count"], kinds=BENCH_KINDS,
                                    max_payload=parameters["max_payload"])
        receiver, transmitter = golden.MacRx(), golden.MacTx()
        wires = []
        for burst in port_bursts:
            _, frame = receiver.receive(burst.wire, burst.errors)
            if frame is not None:
                wires.append(transmitter.transmit(frame))
        bursts.append(port_bursts)
        expected.append(wires)       # what leaves the *other* port
        models.append(receiver)

    try:
        senders = [cocotb.start_soon(_send(sources[port], bursts[port])) for port in range(2)]
        for port in range(2):
            out = sinks[1 - port]
            for number, wire in enumerate(expected[port]):
                frame = await out.recv()
                assert bytes(frame.data) == wire, \
                    f"frame {number} from port {port} differs on port {1 - port}; {hint}"
                assert not any(frame.error or ()), hint
        await Combine(*senders)
        await ClockCycles(dut.clk, 400)
        assert sinks[0].empty() and sinks[1].empty(), f"frames nobody expected; {hint}"
        result = {}
        for port in range(2):
            rx = _counters(dut, f"p{port}_rx_counters", rx_counters_layout(), RxOutcome)
            tx = _counters(dut, f"p{1 - port}_tx_counters", tx_counters_layout(), TxOutcome)
            assert rx == {o.name: models[port].counters[o] for o in RxOutcome}, (port, rx, hint)
            assert sum(rx.values()) == len(bursts[port]), hint
            # conservation across the board: received good == sent on the other port
            assert tx == {"SENT": rx["GOOD"], "UNDERRUN": 0}, (port, tx, hint)
            result[f"port{port}"] = {"bursts": len(bursts[port]), "rx": rx,
                                     f"tx_port{1 - port}": tx}
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": result, "parameters": parameters})
