"""GMII-style byte interfaces between the RGMII pin adapters and the MAC, and Ethernet framing
constants shared by the gateware and the golden models.

A GMII receive beat is one byte per clock with its ``dv`` (data valid) and ``er`` (receive
error) flags; a transmit beat is one byte with ``en`` (transmit enable) and ``er`` (transmit
error). At 1 Gbit/s the RGMII clock carries one such beat per 125 MHz cycle.
"""

from amaranth.lib import data
from amaranth.lib.crc import catalog


__all__ = ["GMII_RX_LAYOUT", "GMII_TX_LAYOUT", "PREAMBLE_BYTE", "SFD_BYTE", "PREAMBLE_LENGTH",
           "MIN_FRAME_LENGTH", "MAX_FRAME_LENGTH", "FCS_LENGTH", "INTER_FRAME_GAP", "FCS_CRC",
           "outcome_counters_layout", "count_outcomes"]


#: One received byte: ``data``, ``dv`` (the PHY's RX_DV) and ``er`` (RX_ER).
GMII_RX_LAYOUT = data.StructLayout({"data": 8, "dv": 1, "er": 1})

#: One transmitted byte: ``data``, ``en`` (TX_EN) and ``er`` (TX_ER).
GMII_TX_LAYOUT = data.StructLayout({"data": 8, "en": 1, "er": 1})

#: Preamble byte (``10101010`` on the wire, least significant bit first).
PREAMBLE_BYTE = 0x55
#: Start-of-frame delimiter.
SFD_BYTE = 0xD5
#: Preamble bytes the transmitter sends before the SFD.
PREAMBLE_LENGTH = 7
#: Bytes of the frame check sequence.
FCS_LENGTH = 4
#: Shortest legal frame, FCS included (IEEE 802.3 clause 4.4.2): shorter ones are runts, and
#: the transmitter pads shorter frames with zeros to ``MIN_FRAME_LENGTH - FCS_LENGTH`` bytes.
MIN_FRAME_LENGTH = 64
#: Longest frame the receiver accepts by default, FCS included (1518 + a 802.1Q tag).
MAX_FRAME_LENGTH = 1522
#: Idle byte times between two transmitted frames (96 bit times).
INTER_FRAME_GAP = 12

#: The frame check sequence: CRC-32 as Ethernet defines it (reflected, inverted), one byte a
#: clock; its value is sent least significant byte first, so a frame followed by its FCS leaves
#: the CRC's residue.
FCS_CRC = catalog.CRC32_ETHERNET(8)


def outcome_counters_layout(outcomes, width):
    """One ``width``-bit counter per member of the enum ``outcomes``, named after it in lower
    case."""
    return data.StructLayout({outcome.name.lower(): width for outcome in outcomes})


def count_outcomes(m, outcomes, outcome, counters, clear):
    """Add to ``m`` the saturating counters of ``outcome`` (an always-ready stream of the enum
    ``outcomes``) in the view ``counters``; ``clear`` zeroes them all."""
    for member in outcomes:
        counter = getattr(counters, member.name.lower())
        with m.If(clear):
            m.d.sync += counter.eq(0)
        with m.Elif(outcome.valid & (outcome.payload == member) & ~counter.all()):
            m.d.sync += counter.eq(counter + 1)
