"""Golden model of :class:`slique.hdl.SystolicStorage`."""

from collections import deque


__all__ = ["SystolicStorage"]


class SystolicStorage:
    """Cycle-accurate model of the systolic chain: every entry held is in order, the oldest on
    ``o_stream``; a write is visible at the output one cycle later.

    Parameters
    ----------
    depth : int
        Number of cells.
    """

    def __init__(self, depth):
        self.depth = depth
        self.entries = deque()

    @property
    def o_valid(self):
        return bool(self.entries)

    @property
    def o_payload(self):
        return self.entries[0] if self.entries else None

    def __len__(self):
        return len(self.entries)

    def clock(self, *, read, write, w_data):
        """The clock edge: the consumer took the oldest entry (``read``), ``w_data`` came in."""
        if read:
            self.entries.popleft()
        if write:
            self.entries.append(w_data)
