"""Golden model of :class:`slique.hdl.Toeplitz`, and the RSS hash as a plain function."""

from slique.hdl.packet import beat_bytes
from slique.hdl.toeplitz import HASH_WIDTH, RSS_KEY_BYTES, check_key_bytes


__all__ = ["Toeplitz", "toeplitz_hash", "MICROSOFT_KEY"]


#: The key of Microsoft's "Verifying the RSS Hash Calculation" (the key most drivers default to).
MICROSOFT_KEY = bytes.fromhex(
    "6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa")

_MASK = (1 << HASH_WIDTH) - 1


def toeplitz_hash(key, data):
    """The Toeplitz hash of ``data`` (bytes) under ``key`` (bytes), bit by bit as Microsoft's
    pseudocode has it: for each input bit from the left, XOR in the leftmost 32 key bits if the
    bit is 1, then shift the key left by one bit (zeros come in on the right)."""
    key_bits = len(key) * 8
    window = int.from_bytes(key, "big")
    result = 0
    for byte in data:
        for bit in range(7, -1, -1):
            if (byte >> bit) & 1:
                result ^= window >> (key_bits - HASH_WIDTH)
            window = (window << 1) & ((1 << key_bits) - 1)
    return result & _MASK


class Toeplitz:
    """Cycle-accurate model of the streaming Toeplitz hash, with the gateware's parameters.

    :meth:`step` takes one cycle's inputs and returns ``hash`` during that cycle, then applies the
    clock edge; :meth:`hash_of` hashes a whole input at once (a transaction).

    Parameters
    ----------
    key_bytes, data_width
        As for :class:`slique.hdl.Toeplitz`.
    """

    def __init__(self, key_bytes=RSS_KEY_BYTES, data_width=8):
        self.lanes = beat_bytes(data_width)
        self.key_bytes = check_key_bytes(key_bytes, data_width)
        self.hash = 0
        self._consumed = b""
        self._key = bytes(key_bytes)

    def step(self, *, key, start, valid, data):
        """``hash`` during this cycle; then the clock edge. ``key`` and ``data`` are integers as
        on the gateware's ports (key byte 0 most significant, data lane 0 least)."""
        output = self.hash
        if start:
            self._key = key.to_bytes(self.key_bytes, "big")
            self._consumed = b""
            self.hash = 0
        elif valid:
            self._consumed += data.to_bytes(self.lanes, "little")
            self.hash = toeplitz_hash(self._key, self._consumed)
        return output

    def hash_of(self, key, data):
        """The hash of ``data`` (bytes) under ``key`` (bytes), which must be ``key_bytes`` long."""
        if len(key) != self.key_bytes:
            raise ValueError(f"The key must be {self.key_bytes} bytes, not {len(key)}")
        return toeplitz_hash(key, data)
