"""UART transmitter: 8 data bits, no parity, one stop bit, a fixed number of clocks per bit."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .uart_rx import check_divisor


__all__ = ["UartTx"]


class UartTx(wiring.Component):
    """Sends the bytes of ``i_stream`` as 8N1 UART frames at ``divisor`` clocks per bit.

    A byte taken from ``i_stream`` goes out as a start bit (low), its 8 data bits least
    significant first and a stop bit (high), each ``divisor`` clocks long, from a registered
    output. ``i_stream.ready`` is high while the transmitter is idle, so back-to-back bytes
    leave with no idle time between the stop bit and the next start bit (10 bits a byte).

    Parameters
    ----------
    divisor : int
        Clocks per bit, at least 4 (the receiver's limit; the same check).

    Attributes
    ----------
    i_stream : ``In(stream.Signature(8))``
        Bytes to send.
    tx : ``Out(1)``
        The line, idle high.
    """

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({
            "i_stream": In(stream.Signature(8)),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        frame = Signal(10, init=0x3FF)  # shifted out LSB first: start, 8 data bits, stop
        bits_left = Signal(range(11))
        countdown = Signal(range(self.divisor))

        m.d.comb += [
            self.i_stream.ready.eq(bits_left == 0),
            self.tx.eq(frame[0]),
        ]
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += [
                frame.eq(Cat(C(0, 1), self.i_stream.payload, C(1, 1))),
                bits_left.eq(10),
                countdown.eq(self.divisor - 1),
            ]
        with m.Elif(bits_left != 0):
            with m.If(countdown == 0):
                m.d.sync += [
                    frame.eq(Cat(frame[1:], C(1, 1))),
                    bits_left.eq(bits_left - 1),
                    countdown.eq(self.divisor - 1),
                ]
            with m.Else():
                m.d.sync += countdown.eq(countdown - 1)
        return m
