"""UART receiver: 8 data bits, no parity, one stop bit, a fixed number of clocks per bit."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


__all__ = ["UartRx", "RX_BYTE_LAYOUT", "check_divisor"]


#: A received byte: its 8 data bits, and whether its stop bit was low (a framing error, which
#: a break, the line held low, also is).
RX_BYTE_LAYOUT = data.StructLayout({"data": unsigned(8), "framing_error": unsigned(1)})


def check_divisor(divisor):
    """Return ``divisor`` (clocks per bit) if it is an integer >= 4, else raise saying why."""
    if isinstance(divisor, bool) or not isinstance(divisor, int):
        raise TypeError(f"The UART divisor (clocks per bit) must be an integer, not {divisor!r}")
    if divisor < 4:
        raise ValueError(f"The UART divisor (clocks per bit) must be at least 4, not {divisor}: "
                         f"the receiver finds the middle of a bit to within one clock")
    return divisor


class UartRx(wiring.Component):
    """Receives 8N1 UART bytes at ``divisor`` clocks per bit.

    The line goes through a two-flip-flop synchronizer. A falling edge starts a byte; the start
    bit is checked ``divisor // 2`` clocks later (a low pulse shorter than that is a glitch and
    ignored), and each data bit and the stop bit are sampled ``divisor`` clocks after the one
    before, least significant bit first: the samples fall between 50 % and 50 % + 1 clock into
    each bit. With ``divisor = 4`` (3 Mbaud at 12 MHz) that leaves the sender a clock error of
    about ±2.5 % over the ten bits of a byte; the FT2232H's 3 Mbaud (12 MHz / 4) and a crystal
    are within 0.01 %.

    A byte whose stop bit is low is delivered with ``framing_error`` set; if the line is still
    low (a break), the receiver waits for it to go high before looking for the next start bit,
    so a break is one framing error, not a stream of zero bytes.

    ``o_stream`` has no back-pressure upstream (the line does not wait): a byte that completes
    while the previous one is still not taken is dropped, and ``overrun`` is high for one
    cycle. So ``bytes on the line == bytes delivered + overruns``.

    Parameters
    ----------
    divisor : int
        Clocks per bit, at least 4.

    Attributes
    ----------
    rx : ``In(1)``
        The line (idle high), asynchronous.
    o_stream : ``Out(stream.Signature(RX_BYTE_LAYOUT))``
        Received bytes, each held until taken.
    overrun : ``Out(1)``
        High for one cycle when a byte is dropped because ``o_stream`` still held the previous.
    """

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({
            "rx": In(1, init=1),
            "o_stream": Out(stream.Signature(RX_BYTE_LAYOUT)),
            "overrun": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.synchronizer = FFSynchronizer(self.rx, line, init=1)

        countdown = Signal(range(self.divisor))
        bits_left = Signal(range(9))
        shift = Signal(8)

        with m.If(self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)
        m.d.sync += self.overrun.eq(0)

        with m.If(countdown != 0):
            m.d.sync += countdown.eq(countdown - 1)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += countdown.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(countdown == 0):
                    with m.If(line):
                        m.next = "IDLE"  # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [countdown.eq(self.divisor - 1), bits_left.eq(8)]
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(countdown == 0):
                    m.d.sync += [shift.eq(Cat(shift[1:], line)), bits_left.eq(bits_left - 1),
                                 countdown.eq(self.divisor - 1)]
                    with m.If(bits_left == 1):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(countdown == 0):
                    with m.If(self.o_stream.valid & ~self.o_stream.ready):
                        m.d.sync += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [
                            self.o_stream.payload.data.eq(shift),
                            self.o_stream.payload.framing_error.eq(~line),
                            self.o_stream.valid.eq(1),
                        ]
                    with m.If(line):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "BREAK"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"
        return m
