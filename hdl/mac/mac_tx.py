"""Ethernet transmit MAC: frames in, GMII beats out with preamble, padding, FCS and gap."""

import enum

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.crc import Processor
from amaranth.lib.wiring import In, Out

from ..packet import packet_layout
from .gmii import (FCS_CRC, FCS_LENGTH, GMII_TX_LAYOUT, INTER_FRAME_GAP, MIN_FRAME_LENGTH,
                   PREAMBLE_BYTE, PREAMBLE_LENGTH, SFD_BYTE, count_outcomes,
                   outcome_counters_layout)


__all__ = ["MacTx", "TxOutcome", "tx_counters_layout"]


class TxOutcome(enum.IntEnum):
    """What became of a frame taken from ``i_stream``:

    - ``SENT``: on the wire with its FCS;
    - ``UNDERRUN``: ``i_stream`` ran dry before the frame's ``last`` beat; the frame is cut
      with a byte sent with TX_ER (the receiving PHY turns it into an error, so the partner
      drops the frame), and the rest of the frame is taken from ``i_stream`` and discarded.
    """
    SENT = 0
    UNDERRUN = 1


def tx_counters_layout(width=32):
    """One saturating ``width``-bit counter per :class:`TxOutcome` (``sent``, ``underrun``)."""
    return outcome_counters_layout(TxOutcome, width)


class MacTx(wiring.Component):
    """Sends the frames of ``i_stream`` as GMII beats (one byte a clock): seven preamble bytes
    and the SFD, the frame, zero padding up to 60 bytes, the FCS (CRC-32 Ethernet from
    :class:`amaranth.lib.crc.Processor`, least significant byte first), then at least twelve
    idle clocks of inter-frame gap before the next preamble.

    Frame boundaries are given by ``last`` alone (``first`` is not read). Once a frame has
    started the wire cannot wait: ``i_stream`` must give a byte every clock until ``last``
    (a store-and-forward buffer in front guarantees it); otherwise the outcome is
    ``UNDERRUN`` (see :class:`TxOutcome`). A frame is not cut for its length: the MAC sends
    what it is given (jumbo frames included).

    Parameters
    ----------
    counter_width : int
        Bits of each saturating counter.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packet_layout(8)))``
    gmii : ``Out(GMII_TX_LAYOUT)``
    outcome : ``Out(stream.Signature(TxOutcome, always_ready=True))``
        One per frame, when its last byte (FCS or error byte) is sent.
    counters : ``Out(tx_counters_layout(counter_width))``
    clear : ``In(1)``
    """

    def __init__(self, *, counter_width=32):
        self.counter_width = counter_width
        super().__init__({
            "i_stream": In(stream.Signature(packet_layout(8))),
            "gmii": Out(GMII_TX_LAYOUT),
            "outcome": Out(stream.Signature(TxOutcome, always_ready=True)),
            "counters": Out(tx_counters_layout(counter_width)),
            "clear": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.crc = crc = Processor(FCS_CRC)
        padded = MIN_FRAME_LENGTH - FCS_LENGTH
        count = Signal(range(max(PREAMBLE_LENGTH, INTER_FRAME_GAP, padded) + 1))
        beat = self.i_stream.payload
        out = Signal(GMII_TX_LAYOUT)    # registered onto gmii
        m.d.sync += [self.gmii.eq(out), self.outcome.valid.eq(0)]
        m.d.comb += crc.data.eq(out.data)

        def report(outcome):
            m.d.sync += [self.outcome.valid.eq(1), self.outcome.payload.eq(outcome)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += crc.start.eq(1)
                with m.If(self.i_stream.valid):
                    m.d.sync += count.eq(0)
                    m.next = "PREAMBLE"
            with m.State("PREAMBLE"):
                m.d.comb += [crc.start.eq(1), out.en.eq(1), out.data.eq(PREAMBLE_BYTE)]
                m.d.sync += count.eq(count + 1)
                with m.If(count == PREAMBLE_LENGTH - 1):
                    m.next = "SFD"
            with m.State("SFD"):
                m.d.comb += [crc.start.eq(1), out.en.eq(1), out.data.eq(SFD_BYTE)]
                m.d.sync += count.eq(0)
                m.next = "DATA"
            with m.State("DATA"):
                m.d.comb += self.i_stream.ready.eq(1)
                with m.If(self.i_stream.valid):
                    m.d.comb += [out.en.eq(1), out.data.eq(beat.data), crc.valid.eq(1)]
                    with m.If(count != padded):
                        m.d.sync += count.eq(count + 1)
                    with m.If(beat.last):
                        with m.If(count < padded - 1):
                            m.next = "PAD"
                        with m.Else():
                            m.d.sync += count.eq(0)
                            m.next = "FCS"
                with m.Else():
                    m.d.comb += [out.en.eq(1), out.er.eq(1)]
                    report(TxOutcome.UNDERRUN)
                    m.next = "DISCARD"
            with m.State("PAD"):
                m.d.comb += [out.en.eq(1), out.data.eq(0), crc.valid.eq(1)]
                m.d.sync += count.eq(count + 1)
                with m.If(count == padded - 1):
                    m.d.sync += count.eq(0)
                    m.next = "FCS"
            with m.State("FCS"):
                m.d.comb += [out.en.eq(1),
                             out.data.eq(crc.crc.word_select(count[:2], 8))]
                m.d.sync += count.eq(count + 1)
                with m.If(count == FCS_LENGTH - 1):
                    m.d.sync += count.eq(0)
                    report(TxOutcome.SENT)
                    m.next = "GAP"
            with m.State("DISCARD"):
                m.d.comb += self.i_stream.ready.eq(1)
                with m.If(self.i_stream.valid & beat.last):
                    m.d.sync += count.eq(0)
                    m.next = "GAP"
            with m.State("GAP"):
                m.d.sync += count.eq(count + 1)
                with m.If(count == INTER_FRAME_GAP - 2):  # IDLE is the gap's last clock
                    m.next = "IDLE"

        count_outcomes(m, TxOutcome, self.outcome, self.counters, self.clear)
        return m
