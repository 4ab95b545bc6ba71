"""The smallest backend: operations that complete after a random delay, with injected faults.

:class:`DelayLine` stands for a device whose operations take a while: each operation submitted
completes ``delay`` cycles later with its value (``value + 1``), or with an injected error, or
never (lost: only the scheduler's timeout sweeper ends it), and a bounded number may be in
flight (beyond, :meth:`submit` refuses: ``EAGAIN``). It drives the scheduler's stress test and
the firmware benchmark, where a golden model would cost more than the scheduler under test.
"""

import random

from .errors import ECONNRESET, Result, failure


__all__ = ["DelayLine"]


class DelayLine:
    """Operations that complete after a seeded random delay.

    Parameters
    ----------
    seed : int
    delay : (int, int)
        Smallest and largest delay in cycles (uniform).
    error_rate : float
        Chance that an operation completes with an error drawn from ``errors``.
    errors : tuple of int
        Error numbers to inject.
    loss_rate : float
        Chance that an operation never completes.
    late_rate : float
        Chance that an operation completes after ``late_delay`` cycles instead.
    late_delay : int
    capacity : int or None
        Operations in flight at most; :meth:`submit` answers ``False`` beyond.

    Attributes
    ----------
    cycle : int
    submitted, completed, lost : int
        ``submitted == completed + lost + in_flight`` always.
    tags : set or None
        Every tag submitted, when built with ``record_tags=True`` (to check that no operation is
        submitted twice).
    """

    def __init__(self, seed=0, *, delay=(1, 8), error_rate=0.0, errors=(ECONNRESET,),
                 loss_rate=0.0, late_rate=0.0, late_delay=1000, capacity=None,
                 record_tags=False):
        self.rng = random.Random(seed)
        self.delay = delay
        self.error_rate = error_rate
        self.errors = tuple(errors)
        self.loss_rate = loss_rate
        self.late_rate = late_rate
        self.late_delay = late_delay
        self.capacity = capacity
        self.cycle = 0
        self.submitted = 0
        self.completed = 0
        self.lost = 0
        self.duplicates = 0
        self.tags = set() if record_tags else None
        self._wheel = {}
        self._random = self.rng.random
        self._low, self._span = delay[0], delay[1] - delay[0] + 1

    @property
    def in_flight(self):
        return self.submitted - self.completed - self.lost

    def submit(self, tag, value=0):
        """Submit an operation tagged ``tag``; ``False`` when ``capacity`` are in flight."""
        if self.capacity is not None and \
                self.submitted - self.completed - self.lost >= self.capacity:
            return False
        if self.tags is not None:
            if tag in self.tags:
                self.duplicates += 1
            self.tags.add(tag)
        self.submitted += 1
        random = self._random
        chance = random()
        if chance < self.loss_rate:
            self.lost += 1
            return True
        chance -= self.loss_rate
        if chance < self.error_rate:
            result = failure(self.errors[int(chance / self.error_rate * len(self.errors))
                                         % len(self.errors)])
        else:
            result = Result(value + 1)
        due = self.cycle + (self.late_delay if random() < self.late_rate
                            else self._low + int(random() * self._span))
        wheel = self._wheel
        if due in wheel:
            wheel[due].append((tag, result))
        else:
            wheel[due] = [(tag, result)]
        return True

    def advance(self):
        """One cycle on: the completions due now, as ``(tag, result)`` pairs."""
        self.cycle += 1
        done = self._wheel.pop(self.cycle, ())
        self.completed += len(done)
        return done

    def step(self):
        """One cycle on: ``(cycle, completions)``, the arguments of
        :meth:`slique.firmware.reroutine.Scheduler.tick`."""
        completions = self.advance()
        return self.cycle, completions

    def drained(self):
        return not self._wheel
