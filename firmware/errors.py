"""Errors as values: the POSIX error numbers of the seed and the :class:`Result` every step returns.

A re-routine never sees an exception from the scheduler or a backend: a step answers a
:class:`Result` whose ``error`` is 0 or an ``errno`` number, as the seed's ``memo_get`` answers
``r.error``. The error numbers are those of Python's :mod:`errno` (the host's), named by
:func:`errno_name`.

=============  ============================================================================
``EAGAIN``     the operation was refused because a slique (a ring) was full: ``try_push`` false
``ETIMEDOUT``  the timeout sweeper expired the operation; a late completion is dropped and traced
``ECONNRESET`` a TCP RST arrived on the flow (the completed entry carries the error flag)
``ENOMEM``     the memo freelist was exhausted (the routine was not started), or a routine used
               more steps than a memo holds
``EFAULT``     the routine itself raised (a bug in it); the exception is kept for the report
``ECANCELED``  the firmware shut down while the operation was in flight
=============  ============================================================================
"""

import errno


__all__ = ["Result", "OK", "EAGAIN", "ETIMEDOUT", "ECONNRESET", "ENOMEM", "EFAULT", "ECANCELED",
           "errno_name", "failure"]


EAGAIN = errno.EAGAIN
ETIMEDOUT = errno.ETIMEDOUT
ECONNRESET = errno.ECONNRESET
ENOMEM = errno.ENOMEM
EFAULT = errno.EFAULT
ECANCELED = errno.ECANCELED


def errno_name(number):
    """``"EAGAIN"`` for ``errno.EAGAIN``; ``"E<number>"`` for a number the host does not name."""
    return errno.errorcode.get(number, f"E{number}")


class Result:
    """What a step (or a routine) answered: a ``value`` when ``error`` is 0, else an errno number.

    Results are compared by value, so that two runs can be compared step by step.
    """

    __slots__ = ("value", "error")

    def __init__(self, value=None, error=0):
        self.value = value
        self.error = error

    @property
    def ok(self):
        return not self.error

    def __eq__(self, other):
        return isinstance(other, Result) and self.value == other.value \
            and self.error == other.error

    def __hash__(self):
        return hash((self.value, self.error))

    def __repr__(self):
        if self.error:
            return f"Result(error={errno_name(self.error)})"
        return f"Result({self.value!r})"


#: A completed step with no value.
OK = Result()

_FAILURES = {number: Result(None, number) for number in (EAGAIN, ETIMEDOUT, ECONNRESET,
                                                         ENOMEM, EFAULT, ECANCELED)}


def failure(number):
    """The :class:`Result` of error ``number`` (shared instances for the usual ones)."""
    result = _FAILURES.get(number)
    return Result(None, number) if result is None else result
