"""The Toeplitz hash of Microsoft RSS and the Intel i225, computed as the input streams in."""

from functools import reduce
from operator import xor

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .packet import beat_bytes


__all__ = ["Toeplitz", "HASH_WIDTH", "RSS_KEY_BYTES", "check_key_bytes"]


#: Bits of an RSS hash.
HASH_WIDTH = 32

#: Bytes of the RSS key (RSSRK0..9 on the i225; the key Microsoft RSS specifies).
RSS_KEY_BYTES = 40


def check_key_bytes(key_bytes, data_width):
    """Return ``key_bytes`` if it is an integer key length that leaves a full hash window behind
    one unit of input (``4 + data_width // 8`` bytes at least); else raise saying so."""
    lanes = beat_bytes(data_width)
    if isinstance(key_bytes, bool) or not isinstance(key_bytes, int):
        raise TypeError(f"key_bytes must be an integer, not {key_bytes!r}")
    if key_bytes < HASH_WIDTH // 8 + lanes:
        raise ValueError(f"key_bytes must be at least {HASH_WIDTH // 8 + lanes} for "
                         f"{data_width}-bit input, not {key_bytes}")
    return key_bytes


class Toeplitz(wiring.Component):
    """Toeplitz hash over a byte stream, ``data_width // 8`` bytes per cycle.

    The function of Microsoft's "RSS Hashing Functions" and of the Intel i210 / i225 data
    sheets: for every input bit, leftmost (most significant bit of the first byte) first, XOR the
    leftmost 32 bits of the key into the result if the bit is 1, then shift the key left by one
    bit. Here the key window (``8 * key_bytes`` bits, loaded from ``key``) moves by a whole unit of
    ``data_width`` bits per ``valid`` cycle, and that unit's contribution (the XOR of the 32-bit
    windows selected by its set bits) is folded into ``hash`` in the same cycle: the hash costs no
    pass of its own beside a parser that feeds it the header units it hashes. Bits beyond the end
    of the key are zeros.

    Cycle behaviour (``hash`` is a register):

    - ``start``: the window is reloaded from ``key`` and ``hash`` restarts from 0 (from the next
      cycle); a unit offered in the same cycle is not hashed (``start`` wins);
    - ``valid``: ``data`` is the next unit of input; ``hash`` shows it from the next cycle.

    Keeping the two apart keeps the key multiplexer out of the XOR tree: the tree reads the
    window register alone.

    Parameters
    ----------
    key_bytes : int
        Key length in bytes (40 for RSS; at least ``4 + data_width // 8``).
    data_width : 8, 32 or 64
        Bits of input per cycle; byte lane 0 (``data[0:8]``) is the earliest byte.

    Attributes
    ----------
    key : ``In(8 * key_bytes)``
        The key, its first byte (RSSRK0 bits 7:0 on the i225) in the most significant bits.
    start : ``In(1)``
        Begin a new input (from the next cycle).
    valid : ``In(1)``
        ``data`` holds a unit of input.
    data : ``In(data_width)``
        The unit.
    hash : ``Out(32)``
        The hash of every unit since the last ``start``.
    """

    def __init__(self, key_bytes=RSS_KEY_BYTES, data_width=8):
        self._lanes = beat_bytes(data_width)
        self._key_bytes = check_key_bytes(key_bytes, data_width)
        super().__init__({
            "key": In(8 * key_bytes),
            "start": In(1),
            "valid": In(1),
            "data": In(data_width),
            "hash": Out(HASH_WIDTH),
        })

    key_bytes = property(lambda self: self._key_bytes, doc="Key length in bytes.")
    data_width = property(lambda self: 8 * self._lanes, doc="Bits of input per cycle.")

    def elaborate(self, platform):
        m = Module()

        key_width = 8 * self._key_bytes
        unit_width = 8 * self._lanes
        window = Signal(key_width)

        with m.If(self.start):
            m.d.sync += [
                self.hash.eq(0),
                window.eq(self.key),
            ]
        with m.Elif(self.valid):
            m.d.sync += [
                self.hash.eq(self.hash ^ self.contribution(window, self.data)),
                window.eq(Cat(C(0, unit_width), window[:-unit_width])),
            ]
        return m

    def contribution(self, window, data):
        """The XOR of the 32-bit windows that the set bits of ``data`` select (an expression)."""
        key_width = len(window)
        terms = []
        for index in range(8 * self._lanes):
            lane, bit = divmod(index, 8)
            top = key_width - index
            selected = window[top - HASH_WIDTH:top]
            terms.append(selected & data[8 * lane + 7 - bit].replicate(HASH_WIDTH))
        return reduce(xor, terms)
