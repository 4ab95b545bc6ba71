"""Golden model of :class:`slique.hdl.RingStorage`."""

from collections import deque


__all__ = ["RingStorage"]


class RingStorage:
    """Cycle-accurate model of the memory-backed ring: entries wait in the ring until the
    memory's read register (``o_stream``) is empty or being consumed; a write reaches the output
    two cycles later.

    Parameters
    ----------
    depth : int
        Most entries held (ring and output register together).
    """

    def __init__(self, depth):
        self.depth = depth
        self.ring = deque()
        self.o_valid = False
        self.o_payload = None

    def __len__(self):
        return len(self.ring) + self.o_valid

    def clock(self, *, read, write, w_data):
        """The clock edge: the consumer took ``o_payload`` (``read``), ``w_data`` came in."""
        if self.ring and (not self.o_valid or read):
            self.o_payload = self.ring.popleft()
            self.o_valid = True
        elif read:
            self.o_valid = False
            self.o_payload = None
        if write:
            self.ring.append(w_data)
