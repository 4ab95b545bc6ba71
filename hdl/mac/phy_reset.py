"""PHY reset sequencing: hold the PHY in reset, release it, wait until it is ready."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


__all__ = ["PhyReset"]


class PhyReset(wiring.Component):
    """Holds ``phy_reset`` high for ``reset_cycles`` clocks after the design's reset (and after
    every ``request``), then low, and raises ``ready`` ``settle_cycles`` clocks after the
    release, when the PHY's registers and clocks can be trusted (the B50612D wants its reset
    held for at least 2 ms with the clocks running, and its MII registers are usable 5 ms
    after; the defaults are 10 ms and 10 ms at 125 MHz).

    ``phy_reset`` is active high: the Colorlight 5A-75B's ``eth_rgmii`` resource declares its
    ``rst`` pin inverted (``PinsN``), so the platform turns it into the PHY's active-low
    RESET_N. Both PHYs of the board share that pin, so one ``PhyReset`` serves both.

    Parameters
    ----------
    reset_cycles : int
    settle_cycles : int

    Attributes
    ----------
    request : ``In(1)``
        Starts the sequence again (a PHY reset during traffic).
    phy_reset : ``Out(1)``
    ready : ``Out(1)``
    """

    def __init__(self, *, reset_cycles=1_250_000, settle_cycles=1_250_000):
        if reset_cycles < 1 or settle_cycles < 0:
            raise ValueError(f"reset_cycles must be >= 1 and settle_cycles >= 0, not "
                             f"{reset_cycles} and {settle_cycles}")
        self.reset_cycles = reset_cycles
        self.settle_cycles = settle_cycles
        super().__init__({"request": In(1), "phy_reset": Out(1), "ready": Out(1)})

    def elaborate(self, platform):
        m = Module()
        remaining = Signal(range(max(self.reset_cycles, self.settle_cycles, 1)),
                           init=self.reset_cycles - 1)
        releasing = Signal()     # reset over, settling (ready once remaining runs out)
        done = Signal()
        m.d.comb += [self.phy_reset.eq(~releasing & ~done), self.ready.eq(done)]
        with m.If(self.request):
            m.d.sync += [remaining.eq(self.reset_cycles - 1), releasing.eq(0), done.eq(0)]
        with m.Elif(~done):
            m.d.sync += remaining.eq(remaining - 1)
            with m.If(remaining == 0):
                with m.If(releasing | (self.settle_cycles == 0)):
                    m.d.sync += [releasing.eq(0), done.eq(1)]
                with m.Else():
                    m.d.sync += [releasing.eq(1),
                                 remaining.eq(max(self.settle_cycles - 1, 0))]
        return m
