"""A state machine with one flip-flop per state, written like ``m.FSM()``."""

from contextlib import contextmanager

from amaranth import *


__all__ = ["OneHotFSM"]


class OneHotFSM:
    """A state machine whose states are one flip-flop each, for a machine on a critical path.

    Amaranth's ``with m.FSM():`` keeps the state as a binary number; Yosys does not re-encode
    it (its FSM pass leaves registers with an initial value alone), so every transition
    waits for a decode of the state and the state register's enable is the OR of every
    transition of every state: several LUT levels before a wide enable. Here each state is a
    flip-flop: a transition clears the current state's and sets the target's, so a state's
    flip-flop depends only on the transitions into and out of it.

    Use it like ``m.FSM()``: ``with fsm.state("NAME"):`` for the body of a state and
    ``fsm.next("OTHER")`` for ``m.next = "OTHER"``. At most one ``next`` may take effect in a
    cycle (the branches of one state's ``If`` / ``Elif`` / ``Else``, as in ``m.FSM()``, where
    a later ``m.next`` would override an earlier one; here both would be set).

    Parameters
    ----------
    m : Module
    states : sequence of str
        The states; the first is the initial one.
    domain : str
        Clock domain of the state flip-flops.
    name : str
        Prefix of the flip-flops' names (``name_idle``...).

    Attributes
    ----------
    flags : dict of str to Signal
        One flip-flop per state, high while the machine is in it.
    """

    def __init__(self, m, states, *, domain="sync", name="fsm"):
        if len(set(states)) != len(states) or not states:
            raise ValueError(f"states must be distinct and at least one, not {states!r}")
        self._m = m
        self._domain = domain
        self.flags = {state: Signal(name=f"{name}_{state.lower()}", init=index == 0)
                      for index, state in enumerate(states)}
        self._current = None

    def ongoing(self, state):
        """The machine is in ``state`` (its flip-flop)."""
        return self.flags[state]

    @contextmanager
    def state(self, state):
        """The body of ``state``: active while the machine is in it."""
        if self._current is not None:
            raise RuntimeError(f"state {state!r} inside state {self._current!r}")
        with self._m.If(self.flags[state]):
            self._current = state
            try:
                yield
            finally:
                self._current = None

    def next(self, state):
        """Move to ``state`` in the next cycle (inside a state's body)."""
        if self._current is None:
            raise RuntimeError("next() outside a state")
        if state not in self.flags:
            raise ValueError(f"unknown state {state!r}")
        if state != self._current:
            self._m.d[self._domain] += [self.flags[self._current].eq(0),
                                        self.flags[state].eq(1)]
