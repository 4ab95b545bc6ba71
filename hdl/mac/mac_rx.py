"""Ethernet receive MAC: GMII beats in, checked frames out (FCS stripped), every frame counted."""

import enum

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.crc import Processor
from amaranth.lib.wiring import In, Out

from ..packet import packet_layout
from .frame_buffer import FrameBuffer
from .gmii import (FCS_CRC, FCS_LENGTH, GMII_RX_LAYOUT, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH,
                   PREAMBLE_BYTE, SFD_BYTE, count_outcomes, outcome_counters_layout)


__all__ = ["MacRx", "RxOutcome", "rx_counters_layout"]


class RxOutcome(enum.IntEnum):
    """What became of a frame on the wire (an RX_DV burst), one outcome per burst, checked in
    this order (the first that applies counts):

    - ``NO_SFD``: the burst ended, or a byte other than the preamble's ``0x55`` came, before a
      start-of-frame delimiter;
    - ``PHY_ERROR``: RX_ER was high on a byte of the burst;
    - ``OVERSIZE``: more than ``max_length`` bytes after the SFD (FCS included);
    - ``RUNT``: fewer than 64 bytes after the SFD (FCS included);
    - ``BAD_FCS``: the last four bytes are not the CRC-32 of the others; a PHY that goes quiet
      mid-frame (RX_DV falls early) ends the frame there, so it is a ``BAD_FCS`` or a ``RUNT``;
    - ``OVERFLOW``: the receive buffer had no room for the frame (the consumer is slower than
      the wire);
    - ``GOOD``: delivered on ``o_stream``.
    """
    GOOD = 0
    BAD_FCS = 1
    RUNT = 2
    OVERSIZE = 3
    PHY_ERROR = 4
    NO_SFD = 5
    OVERFLOW = 6


def rx_counters_layout(width=32):
    """One saturating ``width``-bit counter per :class:`RxOutcome`, named after it in lower
    case (``good``, ``bad_fcs``, ...)."""
    return outcome_counters_layout(RxOutcome, width)


class MacRx(wiring.Component):
    """Receives Ethernet frames from GMII beats (one byte a clock), strips the preamble, the
    SFD and the FCS, checks the FCS with :class:`amaranth.lib.crc.Processor` (CRC-32 Ethernet)
    and the length, and delivers the good frames whole on ``o_stream``.

    Frames are stored as they arrive in a store-and-forward buffer
    (:class:`~slique.hdl.mac.FrameBuffer`), four bytes behind the wire (a five-byte delay line
    holds back the FCS and the frame's final byte, which carries ``last``); when RX_DV falls
    the frame's outcome is decided, and in the next clock the frame is committed if it is
    ``GOOD`` (its final byte written) and discarded otherwise, so nothing of a bad frame ever
    reaches ``o_stream``. The wire does not wait: a frame that
    finds the buffer full is undone and counted as ``OVERFLOW``; bytes beyond ``max_length``
    are not stored.

    Every RX_DV burst has exactly one outcome, reported on ``outcome`` in the clock after
    RX_DV falls and counted in ``counters``: ``bursts == sum(counters)``, and
    ``counters.good`` frames reach ``o_stream``. Outside a burst, RX_ER (false carrier,
    carrier extension) is ignored.

    Parameters
    ----------
    max_length : int
        Longest frame accepted, FCS included (1522: 1518 plus an 802.1Q tag).
    buffer_depth : int
        Bytes of the receive buffer, a power of two, at least ``max_length`` (a frame is
        stored without its FCS); 2048 by default, one ECP5 block RAM (two would put a
        multiplexer after the memory's output).
    counter_width : int
        Bits of each saturating counter.

    Attributes
    ----------
    gmii : ``In(GMII_RX_LAYOUT)``
    o_stream : ``Out(stream.Signature(packet_layout(8)))``
        Good frames, without FCS.
    outcome : ``Out(stream.Signature(RxOutcome, always_ready=True))``
        One outcome per burst.
    counters : ``Out(rx_counters_layout(counter_width))``
    clear : ``In(1)``
        Sets every counter to zero (an outcome in the same cycle is not counted).
    """

    def __init__(self, *, max_length=MAX_FRAME_LENGTH, buffer_depth=2048, counter_width=32):
        if not MIN_FRAME_LENGTH <= max_length:
            raise ValueError(f"max_length must be at least {MIN_FRAME_LENGTH}, not {max_length}")
        if buffer_depth < max_length or buffer_depth & (buffer_depth - 1):
            raise ValueError(f"buffer_depth must be a power of two >= max_length "
                             f"({max_length}), not {buffer_depth}")
        self.max_length = max_length
        self.buffer_depth = buffer_depth
        self.counter_width = counter_width
        super().__init__({
            "gmii": In(GMII_RX_LAYOUT),
            "o_stream": Out(stream.Signature(packet_layout(8))),
            "outcome": Out(stream.Signature(RxOutcome, always_ready=True)),
            "counters": Out(rx_counters_layout(counter_width)),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = Processor(FCS_CRC)
        m.submodules.buffer = buffer = FrameBuffer(depth=self.buffer_depth)
        beat = self.gmii
        delay = Signal(data.ArrayLayout(8, FCS_LENGTH + 1))  # [0] newest
        held = Signal(range(FCS_LENGTH + 2))
        count = Signal(range(self.max_length + 2))          # bytes after the SFD, saturating
        # comparisons of count, kept in registers (updated with it) for 125 MHz
        oversize = Signal()                     # count > max_length
        at_limit = Signal()                     # count >= max_length
        short = Signal()                        # count < MIN_FRAME_LENGTH
        phy_error = Signal()
        overflow = Signal()
        room = buffer.room  # for a byte in this clock, from a register

        word = buffer.i_stream.payload
        m.d.comb += [crc.data.eq(beat.data), word.data.eq(delay[FCS_LENGTH])]
        wiring.connect(m, wiring.flipped(self.o_stream), buffer.o_stream)
        m.d.sync += self.outcome.valid.eq(0)

        def finish(outcome):
            m.d.sync += [self.outcome.valid.eq(1), self.outcome.payload.eq(outcome)]
            m.next = "IDLE"

        # In the clock after RX_DV falls, from the outcome's register: a good frame's final
        # byte (still in the delay line) is written with ``last``, which commits the frame (a
        # word was free when the outcome was decided, and nothing was written since); any
        # other outcome discards what was written. No byte of the next burst is written yet:
        # the delay line must fill first.
        with m.If(self.outcome.valid):
            with m.If(self.outcome.payload == RxOutcome.GOOD):
                m.d.comb += [buffer.i_stream.valid.eq(1), word.last.eq(1)]
            with m.Else():
                m.d.comb += buffer.discard.eq(1)

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += crc.start.eq(1)
                m.d.sync += [phy_error.eq(beat.dv & beat.er), overflow.eq(0), count.eq(0),
                             oversize.eq(0), at_limit.eq(0), short.eq(1), held.eq(0)]
                with m.If(beat.dv):
                    with m.If(beat.data == SFD_BYTE):
                        m.next = "DATA"
                    with m.Elif(beat.data == PREAMBLE_BYTE):
                        m.next = "PREAMBLE"
                    with m.Else():
                        m.next = "NO_SFD"
            with m.State("PREAMBLE"):
                m.d.comb += crc.start.eq(1)
                m.d.sync += phy_error.eq(phy_error | beat.er)
                with m.If(~beat.dv):
                    finish(RxOutcome.NO_SFD)
                with m.Elif(beat.data == SFD_BYTE):
                    m.next = "DATA"
                with m.Elif(beat.data != PREAMBLE_BYTE):
                    m.next = "NO_SFD"
            with m.State("NO_SFD"):
                with m.If(~beat.dv):
                    finish(RxOutcome.NO_SFD)
            with m.State("DATA"):
                with m.If(beat.dv):
                    m.d.comb += crc.valid.eq(1)
                    m.d.sync += [
                        phy_error.eq(phy_error | beat.er),
                        delay.eq(Cat(beat.data, delay.as_value()[:-8])),
                        held.eq(Mux(held == FCS_LENGTH + 1, held, held + 1)),
                        count.eq(Mux(oversize, count, count + 1)),
                        # the comparisons of the count after this byte
                        oversize.eq(oversize | (count >= self.max_length)),
                        at_limit.eq(at_limit | (count >= self.max_length - 1)),
                        short.eq(count < MIN_FRAME_LENGTH - 1),
                    ]
                    with m.If((held == FCS_LENGTH + 1) & ~oversize & ~overflow & ~at_limit):
                        with m.If(room):
                            m.d.comb += buffer.i_stream.valid.eq(1)
                        with m.Else():
                            m.d.sync += overflow.eq(1)
                with m.Else():
                    with m.If(phy_error):
                        finish(RxOutcome.PHY_ERROR)
                    with m.Elif(oversize):
                        finish(RxOutcome.OVERSIZE)
                    with m.Elif(short):
                        finish(RxOutcome.RUNT)
                    with m.Elif(~crc.match_detected):
                        finish(RxOutcome.BAD_FCS)
                    with m.Elif(overflow | ~room):
                        finish(RxOutcome.OVERFLOW)
                    with m.Else():
                        finish(RxOutcome.GOOD)

        # counters
        count_outcomes(m, RxOutcome, self.outcome, self.counters, self.clear)
        return m
