"""Golden model of :class:`slique.hdl.mac.MacRx`: an RX_DV burst to an outcome and a frame."""

import zlib
from collections import Counter

from slique.hdl.mac.gmii import (FCS_LENGTH, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, PREAMBLE_BYTE,
                                 SFD_BYTE)
from slique.hdl.mac.mac_rx import RxOutcome


__all__ = ["MacRx"]


class MacRx:
    """The receive MAC, one RX_DV burst at a time, written from :class:`RxOutcome`'s rules.

    The model has no buffer: it never reports ``OVERFLOW`` (the gateware does only when its
    consumer is slower than the wire, which the benches that compare with it avoid).

    Parameters
    ----------
    max_length : int
        Longest frame accepted, FCS included.

    Attributes
    ----------
    counters : Counter of RxOutcome
    """

    def __init__(self, *, max_length=MAX_FRAME_LENGTH):
        self.max_length = max_length
        self.counters = Counter()

    @property
    def offered(self):
        return sum(self.counters.values())

    def receive(self, burst, errors=()):
        """One burst: ``burst`` the bytes with RX_DV high (preamble and SFD included),
        ``errors`` the indices of bytes with RX_ER high. Returns ``(outcome, frame)``, ``frame``
        the delivered bytes (FCS stripped) or ``None``."""
        outcome, frame = self._classify(bytes(burst), set(errors))
        self.counters[outcome] += 1
        return outcome, frame

    def _classify(self, burst, errors):
        start = 0
        while start < len(burst) and burst[start] == PREAMBLE_BYTE:
            start += 1
        if start == len(burst) or burst[start] != SFD_BYTE:
            return RxOutcome.NO_SFD, None
        if errors:
            return RxOutcome.PHY_ERROR, None
        body = burst[start + 1:]
        if len(body) > self.max_length:
            return RxOutcome.OVERSIZE, None
        if len(body) < MIN_FRAME_LENGTH:
            return RxOutcome.RUNT, None
        frame, check = body[:-FCS_LENGTH], body[-FCS_LENGTH:]
        if zlib.crc32(frame).to_bytes(FCS_LENGTH, "little") != check:
            return RxOutcome.BAD_FCS, None
        return RxOutcome.GOOD, frame
