"""The memo table: a fixed number of memos, sized at start-up, handed out from a freelist.

A memo belongs to one routine invocation (one M-ICC) from its start to its end; it holds the
answers of the steps the routine has taken (:class:`slique.firmware.errors.Result`, or
:data:`PENDING` for the one operation in flight), the routine and its arguments, and what it
waits for. Nothing is allocated after start-up but the step answers themselves: the memos are
parallel lists indexed by slot, and the freelist is a stack of free slots.
"""

from .errors import ENOMEM


__all__ = ["MemoTable", "PENDING", "FREE"]


#: The answer of a step whose operation is in flight.
PENDING = object()

#: ``micc[slot]`` of a free memo (M-ICCs start at 1).
FREE = 0


class MemoTable:
    """``size`` memos of at most ``steps`` steps each, and their freelist.

    Parameters
    ----------
    size : int
        Memos, i.e. routines in flight at once; :meth:`allocate` answers ``ENOMEM`` beyond.
    steps : int
        Steps one routine may take (a power of two is not required).

    Attributes
    ----------
    micc : list of int
        The M-ICC each memo belongs to (:data:`FREE` when free).
    answers : list of list
        The step answers of each memo, in step order.
    routine, args, on_done : list
        What each memo runs, with which arguments, and whom it tells when it ends.
    waiting : list of int
        The tag of the operation each memo waits for (0: none).
    runs : list of int
        How often each memo's routine has run (1 after its first run).
    high_water : int
        Most memos in use at once.
    allocations, releases : int
        Totals; ``allocations - releases == in_use`` always.
    """

    def __init__(self, size, steps):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"The memo table needs at least one memo, not {size!r}")
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"A memo needs room for at least one step, not {steps!r}")
        self.size = size
        self.steps = steps
        self.micc = [FREE] * size
        self.answers = [[] for _ in range(size)]
        self.routine = [None] * size
        self.args = [()] * size
        self.on_done = [None] * size
        self.waiting = [0] * size
        self.runs = [0] * size
        self._free = list(range(size - 1, -1, -1))
        self.high_water = 0
        self.allocations = 0
        self.releases = 0

    @property
    def in_use(self):
        return self.size - len(self._free)

    @property
    def free(self):
        return len(self._free)

    def allocate(self, micc):
        """A free slot for ``micc``, or ``-ENOMEM`` when the freelist is empty."""
        free = self._free
        if not free:
            return -ENOMEM
        slot = free.pop()
        self.micc[slot] = micc
        self.allocations += 1
        used = self.size - len(free)
        if used > self.high_water:
            self.high_water = used
        return slot

    def release(self, slot):
        """Give ``slot`` back to the freelist, cleared."""
        if self.micc[slot] == FREE:
            raise RuntimeError(f"memo {slot} released twice")
        self.micc[slot] = FREE
        self.answers[slot].clear()
        self.routine[slot] = None
        self.args[slot] = ()
        self.on_done[slot] = None
        self.waiting[slot] = 0
        self.runs[slot] = 0
        self.releases += 1
        self._free.append(slot)

    def check(self):
        """Raise if the freelist and the memos disagree (a leak or a double release)."""
        free = set(self._free)
        if len(free) != len(self._free):
            raise AssertionError("a slot is on the freelist twice")
        used = {slot for slot in range(self.size) if self.micc[slot] != FREE}
        if free & used or len(free) + len(used) != self.size:
            raise AssertionError(f"memo table inconsistent: {len(free)} free, {len(used)} in "
                                 f"use, {self.size} memos")
        if self.allocations - self.releases != len(used):
            raise AssertionError(f"{self.allocations} allocations - {self.releases} releases "
                                 f"!= {len(used)} memos in use")
