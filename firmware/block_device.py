"""A simulated block device for ``sendfile``: reads that complete after a seeded latency.

Reads are operations in the scheduler's submit convention (:meth:`BlockDevice.read` takes the
tag first); the device keeps time in the NIC's cycles (:meth:`poll` with the NIC's cycle) and
answers ``Result(data)``, ``EIO`` for a bad block, or, for a read caught in a slow spell, an
answer so late that the scheduler's sweeper has expired it (a late completion).
"""

import errno
import heapq
import random

from .errors import Result, failure


__all__ = ["BlockDevice", "EIO"]

EIO = errno.EIO


class BlockDevice:
    """``blocks`` blocks of ``block_size`` seeded bytes.

    Parameters
    ----------
    seed : int
    blocks, block_size : int
    latency : (int, int)
        Cycles a read takes (uniform).
    bad_rate : float
        Share of blocks that fail to read (``EIO``), fixed by the seed.
    slow_rate, slow_latency
        Share of reads that take ``slow_latency`` cycles instead.
    queue_depth : int
        Reads in flight at most; :meth:`read` answers ``False`` (``EAGAIN``) beyond.
    """

    def __init__(self, seed, *, blocks, block_size=128, latency=(20, 120), bad_rate=0.0,
                 slow_rate=0.0, slow_latency=10_000, queue_depth=32):
        rng = random.Random(f"{seed}:disk")
        self.block_size = block_size
        self.data = [rng.randbytes(block_size) for _ in range(blocks)]
        self.bad = {block for block in range(blocks) if rng.random() < bad_rate}
        self.latency = latency
        self.slow_rate = slow_rate
        self.slow_latency = slow_latency
        self.queue_depth = queue_depth
        self._rng = random.Random(f"{seed}:latency")
        self._pending = []
        self.cycle = 0
        self.reads = 0

    def read(self, tag, block):
        """Read ``block``; completes with its bytes (or ``EIO``) after the latency."""
        if len(self._pending) >= self.queue_depth:
            return False
        rng = self._rng
        delay = self.slow_latency if rng.random() < self.slow_rate else rng.randint(*self.latency)
        result = failure(EIO) if block in self.bad else Result(self.data[block])
        heapq.heappush(self._pending, (self.cycle + delay, self.reads, tag, result))
        self.reads += 1
        return True

    def poll(self, cycle):
        """The completions due by ``cycle``, as ``(tag, Result)``."""
        self.cycle = cycle
        done = []
        pending = self._pending
        while pending and pending[0][0] <= cycle:
            _, _, tag, result = heapq.heappop(pending)
            done.append((tag, result))
        return done

    @property
    def idle(self):
        return not self._pending
