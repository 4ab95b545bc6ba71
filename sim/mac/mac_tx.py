"""Golden model of :class:`slique.hdl.mac.MacTx`: a frame to the bytes on the wire."""

import zlib
from collections import Counter

from slique.hdl.mac.gmii import (FCS_LENGTH, INTER_FRAME_GAP, MIN_FRAME_LENGTH, PREAMBLE_BYTE,
                                 PREAMBLE_LENGTH, SFD_BYTE)
from slique.hdl.mac.mac_tx import TxOutcome


__all__ = ["MacTx", "fcs"]


def fcs(frame):
    """The four FCS bytes of ``frame`` as sent (CRC-32, least significant byte first); computed
    with :func:`zlib.crc32`, independently of :mod:`amaranth.lib.crc`."""
    return zlib.crc32(bytes(frame)).to_bytes(FCS_LENGTH, "little")


class MacTx:
    """The transmit MAC, one frame at a time.

    Attributes
    ----------
    counters : Counter of TxOutcome
    """

    #: Idle byte times between frames.
    inter_frame_gap = INTER_FRAME_GAP

    def __init__(self):
        self.counters = Counter()

    @staticmethod
    def padded(frame):
        """``frame`` padded with zeros to 60 bytes, FCS appended."""
        frame = bytes(frame) + bytes(max(0, MIN_FRAME_LENGTH - FCS_LENGTH - len(frame)))
        return frame + fcs(frame)

    def transmit(self, frame):
        """The bytes with TX_EN high for ``frame``: preamble, SFD, padded frame, FCS."""
        self.counters[TxOutcome.SENT] += 1
        return bytes([PREAMBLE_BYTE] * PREAMBLE_LENGTH + [SFD_BYTE]) + self.padded(frame)

    def underrun(self, frame, sent):
        """``frame`` cut after ``sent`` bytes: the bytes on the wire before the byte sent with
        TX_ER, and that byte's index."""
        self.counters[TxOutcome.UNDERRUN] += 1
        head = bytes([PREAMBLE_BYTE] * PREAMBLE_LENGTH + [SFD_BYTE]) + bytes(frame[:sent])
        return head, len(head)
