"""A board top for a core with a UART: the core's ``rx`` / ``tx`` on the platform's ``uart`` 0."""

from amaranth import *
from amaranth.lib import io


__all__ = ["UartBoardTop"]


class UartBoardTop(Elaboratable):
    """Puts ``core`` (a component with ``rx`` ``In(1)`` and ``tx`` ``Out(1)``) on a board.

    The platform's ``uart`` 0 (on the iCEBreaker, the FT2232H's channel B: ``/dev/ttyUSB1``)
    is connected through plain I/O buffers (the core synchronizes ``rx`` itself); the first
    LED shows the line activity (lit while ``rx`` or ``tx`` is low, so a request blinks it).

    Parameters
    ----------
    core : wiring.Component
    """

    def __init__(self, core):
        self.core = core

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.rx_pin = rx_pin = io.Buffer("i", uart.rx)
        m.submodules.tx_pin = tx_pin = io.Buffer("o", uart.tx)
        m.d.comb += [core.rx.eq(rx_pin.i), tx_pin.o.eq(core.tx)]

        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        activity = Signal()
        m.d.sync += activity.eq(~rx_pin.i | ~core.tx)
        m.d.comb += led.o.eq(activity)
        return m
