"""Golden model of :class:`slique.hdl.PacketGenerator`: the packets a seed and a length rule
make, and the idle cycles between them."""

from slique.hdl.packet_generator import lfsr_step


__all__ = ["PacketGenerator"]


class PacketGenerator:
    """The generator's packet sequence.

    Parameters
    ----------
    seed : int
        The loaded seed (0 acts as 1).
    min_length, length_mask : int
        The length rule: ``max(min_length, 1) + ((state >> 8) & length_mask)`` beats.
    gap, burst, burst_gap : int
        Idle cycles between packets, packets per burst (0: no bursts), extra idle cycles after
        a burst.
    """

    def __init__(self, seed, *, min_length=1, length_mask=0, gap=0, burst=0, burst_gap=0):
        self.state = seed or 1
        self.min_length = max(min_length, 1)
        self.length_mask = length_mask
        self.gap, self.burst, self.burst_gap = gap, burst, burst_gap
        self.sent = 0

    def next_packet(self):
        """The next packet's bytes, and the idle cycles the generator leaves after it."""
        length = self.min_length + ((self.state >> 8) & self.length_mask)
        data = bytearray()
        for _ in range(length):
            data.append(self.state & 0xFF)
            self.state = lfsr_step(self.state)
        self.sent += 1
        idle = self.gap
        if self.burst and self.sent % self.burst == 0:
            idle += self.burst_gap
        return bytes(data), idle

    def packets(self, count):
        """The next ``count`` packets' bytes."""
        return [self.next_packet()[0] for _ in range(count)]
