"""Golden model of :class:`slique.hdl.mac.PhyReset`, one clock at a time."""

__all__ = ["PhyReset"]


class PhyReset:
    """``step(request) -> (phy_reset, ready)`` for the clock, before its edge."""

    def __init__(self, *, reset_cycles=1_250_000, settle_cycles=1_250_000):
        self.reset_cycles = reset_cycles
        self.settle_cycles = settle_cycles
        self._age = 0    # clocks since the last reset or request

    def step(self, request=False):
        age = self._age
        outputs = (age < self.reset_cycles, age >= self.reset_cycles + self.settle_cycles)
        self._age = 0 if request else age + 1
        return outputs
