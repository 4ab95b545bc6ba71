"""cocotb bench: the Ethernet MAC in loopback between cocotbext-eth's RGMII source and sink.

::

    RgmiiSource --rx pins--> RgmiiRx -> MacRx --frames--> MacTx -> RgmiiTx --tx pins--> RgmiiSink

The design (:class:`MacLoopback`) is clocked by ``clk`` (125 MHz) on both sides; the sink
samples the transmit pins with ``sink_clk``, a copy of ``clk`` a quarter period later (the
skew the PHY's RGMII delay gives on a board, see :class:`slique.hdl.mac.RgmiiTx`). The source
sends seeded bursts of every kind (:mod:`slique.sim.mac.traffic`: scapy-built TCP / UDP /
802.1Q / IPv6 frames, padded short frames, bad FCS, runts, jumbo, a PHY quiet mid-frame, RX_ER,
no SFD) with cocotbext-eth's 12-byte gap; every burst's outcome, every frame on the transmit
pins (preamble, SFD, frame, FCS) and every counter is checked against the golden models
(:class:`slique.sim.mac.MacRx`, :class:`slique.sim.mac.MacTx`), and conservation:
``bursts == frames sent + sum(receive drops by reason)``.

Parameters (JSON in ``$SLIQUE_BENCH``): ``seed``, ``count`` (bursts), ``max_payload``,
``replay``. The report (``$SLIQUE_REPORT``) has the counters.
"""

import json
import logging
import os
import random

import cocotb
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Timer

from slique.hdl.mac import MacRx, MacTx, RgmiiRx, RgmiiTx, RxOutcome, TxOutcome
from slique.hdl.mac.mac_rx import rx_counters_layout
from slique.hdl.mac.mac_tx import tx_counters_layout

from .slique_bench import _write_report


__all__ = ["MacLoopback", "bench_parameters", "gateware", "CLOCK_PERIOD_PS"]


CLOCK_PERIOD_PS = 8_000


class MacLoopback(wiring.Component):
    """RGMII receive pins -> MacRx -> MacTx -> RGMII transmit pins, with both MACs' counters.
    ``sink_clk`` is not used by the design: the bench drives it for the RGMII sink."""

    def __init__(self):
        super().__init__({
            "rx_ctl": In(1), "rx_data": In(4),
            "tx_clk": Out(1), "tx_ctl": Out(1), "tx_data": Out(4),
            "sink_clk": In(1),
            "rx_counters": Out(rx_counters_layout()),
            "tx_counters": Out(tx_counters_layout()),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.rgmii_rx = rgmii_rx = RgmiiRx()
        m.submodules.mac_rx = mac_rx = MacRx()
        m.submodules.mac_tx = mac_tx = MacTx()
        m.submodules.rgmii_tx = rgmii_tx = RgmiiTx()
        wiring.connect(m, mac_rx.o_stream, mac_tx.i_stream)
        m.d.comb += [
            rgmii_rx.rx_ctl.eq(self.rx_ctl), rgmii_rx.rx_data.eq(self.rx_data),
            mac_rx.gmii.eq(rgmii_rx.gmii), rgmii_tx.gmii.eq(mac_tx.gmii),
            self.tx_clk.eq(rgmii_tx.tx_clk), self.tx_ctl.eq(rgmii_tx.tx_ctl),
            self.tx_data.eq(rgmii_tx.tx_data),
            self.rx_counters.eq(mac_rx.counters), self.tx_counters.eq(mac_tx.counters),
        ]
        return m


def bench_parameters(*, seed=1, count=30, max_payload=200, replay=""):
    return dict(seed=seed, count=count, max_payload=max_payload, replay=replay)


def gateware(parameters):
    return MacLoopback()


def _counters(dut, port, layout, outcomes):
    """The counters of the struct port ``port`` (one Verilog vector), by outcome name."""
    value = int(getattr(dut, port).value)
    return {outcome.name: value >> layout[outcome.name.lower()].offset &
            ((1 << layout[outcome.name.lower()].width) - 1) for outcome in outcomes}


@cocotb.test()
async def mac_loopback(dut):
    from cocotbext.eth import GmiiFrame, RgmiiSink, RgmiiSource

    from slique.sim import mac as golden
    from slique.sim.mac.traffic import BURST_KINDS, random_burst, random_bursts

    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = f"seed={parameters['seed']}; replay with: {parameters['replay']}"
    rng = random.Random(parameters["seed"])
    bursts = [random_burst(rng, kind, max_payload=parameters["max_payload"])
              for kind in BURST_KINDS]
    bursts += random_bursts(rng, parameters["count"] - len(bursts),
                            max_payload=parameters["max_payload"])
    rng.shuffle(bursts)

    Clock(dut.clk, CLOCK_PERIOD_PS, unit="ps").start()
    dut.rst.value = 1
    dut.rx_ctl.value = 0
    await Timer(CLOCK_PERIOD_PS // 4, unit="ps")
    Clock(dut.sink_clk, CLOCK_PERIOD_PS, unit="ps").start()
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    source = RgmiiSource(dut.rx_data, dut.rx_ctl, dut.clk)
    sink = RgmiiSink(dut.tx_data, dut.tx_ctl, dut.sink_clk)
    for end in (source, sink):
        end.log.setLevel(logging.WARNING)   # not every frame in the log

    receiver, transmitter = golden.MacRx(), golden.MacTx()
    expected = []
    for burst in bursts:
        errors = set(burst.errors)
        await source.send(GmiiFrame(bytearray(burst.wire),
                                    [int(i in errors) for i in range(len(burst.wire))]))
        outcome, frame = receiver.receive(burst.wire, burst.errors)
        if frame is not None:
            expected.append(transmitter.transmit(frame))
    try:
        for number, wire in enumerate(expected):
            frame = await sink.recv()
            assert bytes(frame.data) == wire, f"frame {number} differs; {hint}"
            assert not any(frame.error or ()), f"frame {number} sent with TX_ER; {hint}"
            assert frame.check_fcs(), hint
        await source.wait()
        await ClockCycles(dut.clk, 200)
        assert sink.empty(), f"more frames than the golden model delivered; {hint}"
        rx = _counters(dut, "rx_counters", rx_counters_layout(), RxOutcome)
        tx = _counters(dut, "tx_counters", tx_counters_layout(), TxOutcome)
        assert rx == {outcome.name: receiver.counters[outcome] for outcome in RxOutcome}, \
            (rx, hint)
        assert tx == {"SENT": len(expected), "UNDERRUN": 0}, (tx, hint)
        # conservation: every burst is a frame sent or a receive drop with its reason
        assert len(bursts) == tx["SENT"] + sum(v for k, v in rx.items() if k != "GOOD"), hint
    except AssertionError as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": {"bursts": len(bursts), "rx": rx, "tx": tx},
                   "parameters": parameters})
