"""Seeded traffic for slique benches: producers that offer beats, consumers that take them.

Every generator draws from its own :class:`random.Random`, so one seed replays a whole run. A
producer holds a beat (``valid`` and ``payload``) until it is taken, as a well-behaved stream
source does; whether a beat was taken is told back through :meth:`Producer.advance`.
"""

import random


__all__ = ["PATTERNS", "OnOff", "Producer", "Consumer", "make_traffic"]


class OnOff:
    """A random on/off pattern: runs of "on" and "off" cycles, and a duty cycle inside "on" runs.

    Parameters
    ----------
    rng : random.Random
        Source of randomness.
    duty : float
        Probability of being active in a cycle of an "on" run.
    burst : int
        Mean length of "on" runs in cycles (0: one endless "on" run, just ``duty``).
    idle : int
        Mean length of "off" runs in cycles.
    """

    def __init__(self, rng, *, duty=0.5, burst=0, idle=0):
        self.rng = rng
        self._duty = duty
        self._burst = burst
        self._idle = idle
        self._run_left = 0
        self._on = False

    def active(self):
        """Whether this cycle is active; call once per cycle."""
        if self._burst and self._run_left == 0:
            self._on = not self._on
            mean = self._burst if self._on else self._idle
            self._run_left = max(1, int(self.rng.expovariate(1 / mean))) if mean else 1
        self._run_left -= 1
        return (self._on or not self._burst) and self.rng.random() < self._duty


class Producer:
    """Offers beats of random payload when its :class:`OnOff` pattern is active.

    Parameters
    ----------
    rng : random.Random
        Source of randomness.
    width : int
        Payload width in bits.
    **pattern
        ``duty``, ``burst``, ``idle`` of the :class:`OnOff` pattern.
    """

    def __init__(self, rng, width, **pattern):
        self._pattern = OnOff(rng, **pattern)
        self._width = width
        self.valid = 0
        self.payload = 0
        self.stopped = False

    def drive(self):
        """``(valid, payload)`` for this cycle."""
        if not self.valid and not self.stopped and self._pattern.active():
            self.valid, self.payload = 1, self._pattern.rng.getrandbits(self._width)
        return self.valid, self.payload

    def advance(self, taken):
        """The clock edge: ``taken`` tells whether the beat offered was accepted or dropped."""
        if taken:
            self.valid = 0

    def stop(self):
        """Offer nothing new (a beat already offered is still held until taken)."""
        self.stopped = True


class Consumer:
    """Takes beats when its :class:`OnOff` pattern is active, or always once :meth:`drain` is called."""

    def __init__(self, rng, **pattern):
        self._pattern = OnOff(rng, **pattern)
        self._draining = False

    def drive(self):
        """``ready`` for this cycle."""
        return int(self._draining or self._pattern.active())

    def drain(self):
        """Be ready every cycle from now on."""
        self._draining = True


#: Named traffic shapes: producer and consumer settings. ``random`` draws fresh settings per seed.
PATTERNS = {
    "smooth": (dict(duty=0.5), dict(duty=0.5)),
    "saturate": (dict(duty=1.0), dict(duty=1.0)),
    "slow-consumer": (dict(duty=0.9), dict(duty=0.3)),
    "bursty": (dict(duty=1.0, burst=24, idle=40), dict(duty=0.45)),
    "bursty-slow": (dict(duty=1.0, burst=32, idle=48), dict(duty=0.35)),
    "stalls": (dict(duty=0.8), dict(duty=0.9, burst=30, idle=20)),
}


def make_traffic(seed, width, pattern="random"):
    """A ``(producer, consumer)`` pair for ``pattern`` (a key of :data:`PATTERNS` or ``"random"``)."""
    rng = random.Random(seed)
    if pattern == "random":
        producer_settings = dict(duty=rng.choice([0.2, 0.5, 0.8, 1.0]),
                                 burst=rng.choice([0, 8, 32]), idle=rng.choice([4, 16, 64]))
        consumer_settings = dict(duty=rng.choice([0.2, 0.5, 0.8, 1.0]),
                                 burst=rng.choice([0, 8, 32]), idle=rng.choice([4, 16, 64]))
    elif pattern in PATTERNS:
        producer_settings, consumer_settings = PATTERNS[pattern]
    else:
        raise ValueError(f"Unknown traffic pattern {pattern!r}; choose one of "
                         f"{', '.join(['random', *PATTERNS])}")
    return (Producer(random.Random(rng.getrandbits(64)), width, **producer_settings),
            Consumer(random.Random(rng.getrandbits(64)), **consumer_settings))
