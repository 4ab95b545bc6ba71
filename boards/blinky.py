"""The smallest board top: a counter on the first LED, to check a board's flow and programming."""

from amaranth import *
from amaranth.lib import io


__all__ = ["Blinky"]


class Blinky(Elaboratable):
    """Blinks ``led`` 0 of any amaranth-boards platform at about 1 Hz.

    Parameters
    ----------
    clock_hz : int or None
        Frequency of the default clock; ``None`` reads it from the platform.
    """

    def __init__(self, clock_hz=None):
        self.clock_hz = clock_hz

    def elaborate(self, platform):
        m = Module()
        clock_hz = self.clock_hz
        if clock_hz is None:
            clock_hz = int(platform.default_clk_frequency)
        half_period = max(1, clock_hz // 2)
        counter = Signal(range(half_period))
        lit = Signal()
        with m.If(counter == half_period - 1):
            m.d.sync += [counter.eq(0), lit.eq(~lit)]
        with m.Else():
            m.d.sync += counter.eq(counter + 1)
        if platform is not None:
            m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
            m.d.comb += led.o.eq(lit)
        return m
