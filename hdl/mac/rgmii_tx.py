"""GMII transmit beats to RGMII transmit pins."""

from amaranth import *
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from .gmii import GMII_TX_LAYOUT


__all__ = ["RgmiiTx"]


class RgmiiTx(wiring.Component):
    """Drives the double data rate RGMII transmit pins from one GMII beat a clock (1 Gbit/s).

    The low nibble and TX_EN go out on the rising edge of ``tx_clk``, the high nibble and
    TX_EN XOR TX_ER on the falling edge. The component runs in the ``sync`` domain (the 125 MHz
    transmit clock); ``tx_clk`` is that clock sent out through an output DDR register driven
    with ``(1, 0)``, so it is edge-aligned with the data: the PHY must add the RGMII-ID
    transmit delay (the B50612D of the Colorlight 5A-75B does by default, as LiteX's
    ``tx_delay=0`` build for this board relies on).

    **With a platform** (``pins`` given, requested with ``dir="-"``), ``tx_clk``, ``tx_ctl``
    and ``tx_data`` go through :class:`amaranth.lib.io.DDRBuffer` (``ODDRX1F`` on the ECP5).

    **In simulation** (``pins`` is ``None``) the signature has plain ``tx_clk``, ``tx_ctl``
    and ``tx_data`` outputs, and the DDR output is modelled with single data rate flip-flops:
    the rising halves are registered on the rising edge of ``sync``, the falling halves on its
    falling edge (a local ``rgmii_tx_fall`` domain), and a multiplexer on the clock picks the
    half: the pins show the rising half (low nibble, TX_EN) while the clock is high and the
    falling half while it is low. They change at the edges of ``tx_clk`` (the ``sync`` clock),
    as the pins of an ``ODDRX1F`` do, so a sink must sample them with a clock 90 degrees behind,
    the delay the PHY adds on the board: the benches clock cocotbext-eth's ``RgmiiSink`` with a
    copy of the clock shifted by a quarter period.

    Parameters
    ----------
    pins : resource or None
        The ``eth_rgmii`` resource (``tx_clk``, ``tx_ctl``, ``tx_data`` used), or ``None``.

    Attributes
    ----------
    gmii : ``In(GMII_TX_LAYOUT)``
        The byte to send with ``en`` and ``er``, one a clock.
    tx_clk, tx_ctl : ``Out(1)`` (simulation only)
    tx_data : ``Out(4)`` (simulation only)
    """

    def __init__(self, pins=None):
        self._pins = pins
        members = {"gmii": In(GMII_TX_LAYOUT)}
        if pins is None:
            members.update({"tx_clk": Out(1), "tx_ctl": Out(1), "tx_data": Out(4)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        rise_ctl = self.gmii.en
        fall_ctl = self.gmii.en ^ self.gmii.er
        low, high = self.gmii.data[:4], self.gmii.data[4:]
        if self._pins is not None:
            m.submodules.clk_buffer = clk_buffer = io.DDRBuffer("o", self._pins.tx_clk)
            m.submodules.ctl_buffer = ctl_buffer = io.DDRBuffer("o", self._pins.tx_ctl)
            m.submodules.data_buffer = data_buffer = io.DDRBuffer("o", self._pins.tx_data)
            m.d.comb += [
                clk_buffer.o[0].eq(1), clk_buffer.o[1].eq(0),
                ctl_buffer.o[0].eq(rise_ctl), ctl_buffer.o[1].eq(fall_ctl),
                data_buffer.o[0].eq(low), data_buffer.o[1].eq(high),
            ]
        else:
            m.domains.rgmii_tx_fall = ClockDomain("rgmii_tx_fall", local=True, clk_edge="neg",
                                                  reset_less=True)
            m.d.comb += ClockSignal("rgmii_tx_fall").eq(ClockSignal("sync"))
            rise = Signal(5)
            held_fall = Signal(5)
            fall = Signal(5)
            m.d.sync += [rise.eq(Cat(low, rise_ctl)), held_fall.eq(Cat(high, fall_ctl))]
            m.d.rgmii_tx_fall += fall.eq(held_fall)
            pins = Mux(ClockSignal("sync"), rise, fall)
            m.d.comb += [
                self.tx_clk.eq(ClockSignal("sync")),
                self.tx_data.eq(pins[:4]),
                self.tx_ctl.eq(pins[4]),
            ]
        return m
