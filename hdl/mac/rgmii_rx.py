"""RGMII receive pins to GMII receive beats."""

from amaranth import *
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from .gmii import GMII_RX_LAYOUT


__all__ = ["RgmiiRx"]


class RgmiiRx(wiring.Component):
    """Turns the double data rate RGMII receive pins into one GMII beat a clock (1 Gbit/s).

    RGMII carries a byte per clock on four data pins and one control pin: the low nibble and
    RX_DV on the rising edge, the high nibble and RX_DV XOR RX_ER on the falling edge. The
    component runs in the ``sync`` domain, which must be clocked by the PHY's ``rx_clk``
    (rename it with :class:`~amaranth.hdl.DomainRenamer`).

    **With a platform** (``pins`` given, the ``eth_rgmii`` resource requested with
    ``dir="-"``), the pins go through :class:`amaranth.lib.io.DDRBuffer`, which the ECP5
    platform lowers to ``IDDRX1F`` primitives.

    **In simulation** (``pins`` is ``None``), the signature has the plain pins ``rx_ctl`` and
    ``rx_data``, and the DDR capture is modelled with single data rate flip-flops: one set
    clocked by the rising edge of ``sync`` (the ``sync`` domain itself), one by its falling
    edge (a ``rgmii_rx_fall`` domain on the inverted ``sync`` clock, local to this component).
    Both halves are registered again on the next rising edge, as ``IDDRX1F`` does, so the
    simulated and the synthesized adapter have the same latency: a byte whose rising half is on
    the pins at edge ``n`` is on :attr:`gmii` after edge ``n + 2``. A bench drives the pins
    with cocotbext-eth's ``RgmiiSource`` (or any driver that changes them between edges).

    Parameters
    ----------
    pins : resource or None
        The ``eth_rgmii`` resource (``rx_ctl``, ``rx_data`` used), or ``None`` for simulation.

    Attributes
    ----------
    rx_ctl : ``In(1)`` (simulation only)
    rx_data : ``In(4)`` (simulation only)
    gmii : ``Out(GMII_RX_LAYOUT)``
        The received byte with ``dv`` and ``er``, one a clock.
    """

    def __init__(self, pins=None):
        self._pins = pins
        members = {"gmii": Out(GMII_RX_LAYOUT)}
        if pins is None:
            members.update({"rx_ctl": In(1), "rx_data": In(4)})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        ctl = Signal(2)    # rising, falling half
        low = Signal(4)
        high = Signal(4)
        if self._pins is not None:
            m.submodules.ctl_buffer = ctl_buffer = io.DDRBuffer("i", self._pins.rx_ctl)
            m.submodules.data_buffer = data_buffer = io.DDRBuffer("i", self._pins.rx_data)
            m.d.comb += [ctl.eq(Cat(ctl_buffer.i[0], ctl_buffer.i[1])),
                         low.eq(data_buffer.i[0]), high.eq(data_buffer.i[1])]
        else:
            m.domains.rgmii_rx_fall = ClockDomain("rgmii_rx_fall", local=True, clk_edge="neg",
                                                  reset_less=True)
            m.d.comb += ClockSignal("rgmii_rx_fall").eq(ClockSignal("sync"))
            rise_ctl, rise_data = Signal(), Signal(4)
            fall_ctl, fall_data = Signal(), Signal(4)
            m.d.sync += [rise_ctl.eq(self.rx_ctl), rise_data.eq(self.rx_data)]
            m.d.rgmii_rx_fall += [fall_ctl.eq(self.rx_ctl), fall_data.eq(self.rx_data)]
            m.d.sync += [ctl.eq(Cat(rise_ctl, fall_ctl)), low.eq(rise_data),
                         high.eq(fall_data)]
        m.d.sync += [
            self.gmii.data.eq(Cat(low, high)),
            self.gmii.dv.eq(ctl[0]),
            self.gmii.er.eq(ctl[0] ^ ctl[1]),
        ]
        return m
