"""Re-routines: straight-line Python routines that a scheduler re-runs from the top, with a memo.

The seed's ``read()`` in Python::

    @reroutine
    def read(rr, nic, queue):
        r = rr.step(nic.post_rx, queue)     # MEMO_CHECK(step) { submit; MEMO_INCOMPLETE }
        if r.error:                         # memo_get(...); errno as a value
            return r
        return r.value

:meth:`RoutineContext.step` is ``MEMO_CHECK`` + ``memo_get``: the first time a run reaches a
step, it submits the operation, tagged with the routine's M-ICC and the step's number, and
the run ends there ("incomplete"); when the completion arrives the scheduler runs the routine
again from the top, and every step already answered returns its memoized :class:`Result` at
once without submitting anything. A routine is therefore a deterministic function of its
arguments and its step answers: it must not read clocks, random numbers or mutable state
except through a step (:meth:`RoutineContext.read` memoizes a synchronous read).

Every invocation gets an M-ICC from a counter that only grows, unique for the life of the
scheduler; it is in the tag of every operation it submits (:func:`tag_micc`) and in every trace
record about it. A memo (:class:`slique.firmware.memo.MemoTable`) holds its answers from its
start to its end; nothing else is allocated per routine.

No threads and no blocking: a run either ends or stops at its first unanswered step, and the
scheduler moves on. Errors are values (:mod:`slique.firmware.errors`); nothing a routine or a
backend raises leaves the scheduler.
"""

import enum
import heapq
from collections import Counter, deque

from slique.hdl.trace_event import TraceBlock

from .errors import (EAGAIN, ECANCELED, EFAULT, ENOMEM, ETIMEDOUT, OK, Result, errno_name,
                     failure)
from .memo import FREE, PENDING, MemoTable


__all__ = ["reroutine", "ReRoutine", "RoutineContext", "Scheduler", "FirmwareReason",
           "FirmwareRecord", "tag_micc", "tag_step", "Incomplete"]


class FirmwareReason(enum.IntEnum):
    """Reasons of the firmware's own trace records (block :attr:`TraceBlock.FIRMWARE`).

    Numbered from 0x80, apart from :class:`slique.hdl.trace_event.TraceReason`'s."""
    #: The sweeper expired an operation; its routine got ETIMEDOUT.
    EXPIRED = 0x80
    #: A completion for an operation no routine waits for any more (expired, or its M-ICC gone).
    LATE_COMPLETION = 0x81
    #: A routine was not started: the memo freelist was empty (ENOMEM).
    NO_MEMO = 0x82
    #: A routine raised (a bug in it) and failed with EFAULT.
    RAISED = 0x83
    #: A routine took more steps than a memo holds and failed with ENOMEM.
    TOO_MANY_STEPS = 0x84


class FirmwareRecord(tuple):
    """A trace record ``(cycle, block, reason, queue, tag)`` as the gateware's
    :class:`~slique.hdl.trace_event.TraceRecord`; ``tag`` is the M-ICC."""
    __slots__ = ()

    def __new__(cls, cycle, reason, queue, tag):
        return tuple.__new__(cls, (cycle, TraceBlock.FIRMWARE, reason, queue, tag))

    cycle = property(lambda self: self[0])
    block = property(lambda self: self[1])
    reason = property(lambda self: self[2])
    queue = property(lambda self: self[3])
    tag = property(lambda self: self[4])


class Incomplete(BaseException):
    """Raised inside a routine to end a run at an unanswered step; the scheduler catches it.

    A :class:`BaseException`, so that a routine's own ``except Exception`` cannot swallow it."""


#: What a timer's submit answers: in flight, but not subject to the timeout sweeper.
_ARMED = object()

#: Bits of a tag below the M-ICC: the memo slot and the step number.
_STEP_BITS = 8
_SLOT_BITS = 24
_MICC_SHIFT = _STEP_BITS + _SLOT_BITS
_STEP_MASK = (1 << _STEP_BITS) - 1
_SLOT_MASK = (1 << _SLOT_BITS) - 1


def tag_micc(tag):
    """The M-ICC an operation's tag carries."""
    return tag >> _MICC_SHIFT


def tag_step(tag):
    """The step number an operation's tag carries."""
    return tag & _STEP_MASK


class ReRoutine:
    """A function made a re-routine by :func:`reroutine`; spawn it with :meth:`Scheduler.spawn`.

    Attributes
    ----------
    function : callable
        ``function(rr, *args)``, ``rr`` the :class:`RoutineContext`.
    name : str
    """

    def __init__(self, function, name=None):
        self.function = function
        self.name = name or function.__name__
        self.__doc__ = function.__doc__
        self.__wrapped__ = function

    def __call__(self, *args, **kwargs):
        raise TypeError(f"{self.name} is a re-routine: start it with scheduler.spawn("
                        f"{self.name}, ...) or, inside a routine, rr.spawn({self.name}, ...)")

    def __repr__(self):
        return f"<re-routine {self.name}>"


def reroutine(function=None, *, name=None):
    """Make ``function(rr, *args)`` a re-routine (``@reroutine`` or ``@reroutine(name=...)``)."""
    if function is None:
        return lambda inner: ReRoutine(inner, name)
    return ReRoutine(function, name)


class RoutineContext:
    """What a routine gets as ``rr``: its M-ICC and its steps. One per memo, reused.

    Attributes
    ----------
    micc : int
        This invocation's M-ICC.
    """

    __slots__ = ("micc", "_scheduler", "_slot", "_answers", "_next", "_base", "_steps",
                 "_waiting", "_timeout", "_deadlines")

    def __init__(self, scheduler, slot, answers, steps):
        self._scheduler = scheduler
        self._slot = slot
        self._answers = answers
        self._steps = steps
        self._waiting = scheduler.memo.waiting
        self._timeout = scheduler.timeout
        self._deadlines = scheduler._deadlines
        self.micc = FREE
        self._next = 0
        self._base = 0

    def step(self, submit, *args):
        """``MEMO_CHECK`` + ``memo_get``: the answer of this step, submitting it the first time.

        ``submit(tag, *args)`` submits an operation tagged ``tag`` and answers ``True`` (it
        will complete later: the run ends here and resumes from the top when it does),
        ``False`` (refused, a ring full: the step answers ``EAGAIN``) or a :class:`Result`
        (done at once). Returns the step's :class:`Result`.
        """
        index = self._next
        self._next = index + 1
        answers = self._answers
        if index < len(answers):
            answer = answers[index]
            if answer is PENDING:
                raise Incomplete
            return answer
        if index >= self._steps:
            return self._scheduler._too_many_steps(self)
        tag = self._base | index
        try:
            outcome = submit(tag, *args)
        except Exception as error:              # a backend bug: still a value for the routine
            self._scheduler._raised(self.micc, error)
            outcome = failure(EFAULT)
        if outcome is True:
            answers.append(PENDING)
            self._waiting[self._slot] = tag
            scheduler = self._scheduler
            scheduler.submitted += 1
            if self._timeout is not None:
                self._deadlines.append((scheduler.now + self._timeout, tag))
            raise Incomplete
        if outcome is _ARMED:
            answers.append(PENDING)
            raise Incomplete
        if outcome is False:
            outcome = failure(EAGAIN)
        answers.append(outcome)
        return outcome

    def wait(self, submit, *args):
        """:meth:`step` for an operation that has no deadline (a receive waits for a frame as
        long as it takes): the timeout sweeper leaves it alone."""
        index = self._next
        answers = self._answers
        if index < len(answers) or index >= self._steps:
            return self.step(submit, *args)
        self._next = index + 1
        tag = self._base | index
        try:
            outcome = submit(tag, *args)
        except Exception as error:
            self._scheduler._raised(self.micc, error)
            outcome = failure(EFAULT)
        if outcome is True:
            answers.append(PENDING)
            self._waiting[self._slot] = tag
            self._scheduler.submitted += 1
            raise Incomplete
        answers.append(failure(EAGAIN) if outcome is False else outcome)
        return answers[index]

    def read(self, function, *args):
        """A synchronous call (a register read, the clock) memoized as a step: ``function(*args)``
        runs once, on the first run that reaches it; its value comes back as a :class:`Result`."""
        return self.step(_immediate, function, args)

    def now(self):
        """The scheduler's cycle when this step was first reached (memoized)."""
        return self.read(self._scheduler._clock).value

    def sleep(self, cycles):
        """A step that completes ``cycles`` cycles after it is first reached (a timer)."""
        return self.step(self._scheduler._timer, cycles)

    def spawn(self, routine, *args, on_done=None):
        """Start another routine, once (memoized); answers its M-ICC, or ``ENOMEM``."""
        return self.step(self._scheduler._spawn_step, routine, args, on_done)

    @staticmethod
    def fail(number):
        """The :class:`Result` of error ``number``, to return from a routine."""
        return failure(number)


def _immediate(tag, function, args):
    return Result(function(*args))


class Scheduler:
    """Runs re-routines: memo table, ready queue, timeout sweeper, timers, trace records.

    Drive it from a loop: hand it the completions a backend reports with :meth:`complete`
    (or :meth:`tick`), tell it the time with :meth:`advance`, and let it run what is ready with
    :meth:`run_ready`. :meth:`tick` does the three.

    Parameters
    ----------
    memos : int
        Size of the memo table (routines in flight at once), fixed at start-up.
    steps : int
        Steps a routine may take (at most 256).
    timeout : int or None
        Cycles an operation may stay in flight before the sweeper answers it ``ETIMEDOUT``
        (``None``: never). Timers (:meth:`RoutineContext.sleep`) do not expire.
    trace_limit : int
        Trace records kept; beyond, records are counted in ``trace_lost``.

    Attributes
    ----------
    now : int
        The current cycle.
    memo : MemoTable
    trace : list of FirmwareRecord
    errors : collections.Counter
        Routines that ended with an error (or were refused), by errno name.
    spawned, rejected, finished, runs, submitted, completed, expired, late : int
        Counts (see :attr:`stats`).
    """

    def __init__(self, *, memos=256, steps=64, timeout=None, trace_limit=1 << 20):
        if not 1 <= steps <= _STEP_MASK + 1:
            raise ValueError(f"steps must be 1..{_STEP_MASK + 1}, not {steps}")
        if memos > _SLOT_MASK + 1:
            raise ValueError(f"at most {_SLOT_MASK + 1} memos, not {memos}")
        if timeout is not None and timeout < 1:
            raise ValueError(f"timeout must be at least one cycle, not {timeout}")
        self.memo = MemoTable(memos, steps)
        self.timeout = timeout
        self.trace_limit = trace_limit
        self.now = 0
        self.last_micc = 0
        self.trace = []
        self.trace_lost = 0
        self.errors = Counter()
        self.spawned = self.rejected = self.finished = self.runs = 0
        self.submitted = self.completed = self.expired = self.late = 0
        self.exceptions = []
        self._ready = deque()
        self._deadlines = deque()
        self._contexts = [RoutineContext(self, slot, self.memo.answers[slot], steps)
                          for slot in range(memos)]
        self._timers = []

    # Starting and ending routines.

    def spawn(self, routine, *args, on_done=None):
        """Start ``routine(rr, *args)``: answers its M-ICC (> 0), or ``-ENOMEM`` when the memo
        freelist is empty (traced; nothing is started). The routine runs at the next
        :meth:`run_ready`. ``on_done(micc, value)`` is called with what it returns."""
        micc = self.last_micc + 1
        self.last_micc = micc
        memo = self.memo
        free = memo._free
        if not free:
            self.rejected += 1
            self.errors["ENOMEM"] += 1
            self._record(FirmwareReason.NO_MEMO, 0, micc)
            return -ENOMEM
        slot = free.pop()                               # memo.allocate(), inlined
        memo.micc[slot] = micc
        memo.allocations += 1
        if memo.size - len(free) > memo.high_water:
            memo.high_water = memo.size - len(free)
        memo.routine[slot] = routine.function if type(routine) is ReRoutine else routine
        memo.args[slot] = args
        memo.on_done[slot] = on_done
        context = self._contexts[slot]
        context.micc = micc
        context._base = (micc << _MICC_SHIFT) | (slot << _STEP_BITS)
        self.spawned += 1
        self._ready.append(slot)
        return micc

    def _spawn_step(self, tag, routine, args, on_done):
        micc = self.spawn(routine, *args, on_done=on_done)
        return failure(-micc) if micc < 0 else Result(micc)

    def _raised(self, micc, error):
        self._record(FirmwareReason.RAISED, 0, micc)
        if len(self.exceptions) < 16:
            self.exceptions.append((micc, error))

    def _too_many_steps(self, context):
        self._record(FirmwareReason.TOO_MANY_STEPS, 0, context.micc)
        return failure(ENOMEM)

    # Operations in flight.

    def _timer(self, tag, cycles):
        if cycles <= 0:
            return OK
        heapq.heappush(self._timers, (self.now + cycles, tag))
        self.memo.waiting[(tag >> _STEP_BITS) & _SLOT_MASK] = tag
        return _ARMED

    def _clock(self):
        return self.now

    def complete(self, tag, result):
        """The operation tagged ``tag`` completed with ``result`` (a :class:`Result`). Its
        routine becomes ready; a completion nobody waits for (the operation expired, or its
        routine is gone) is dropped and traced as ``LATE_COMPLETION``."""
        slot = (tag >> _STEP_BITS) & _SLOT_MASK
        memo = self.memo
        if slot >= memo.size or memo.waiting[slot] != tag:
            self.late += 1
            self._record(FirmwareReason.LATE_COMPLETION, 0, tag >> _MICC_SHIFT)
            return False
        memo.waiting[slot] = 0
        memo.answers[slot][tag & _STEP_MASK] = result
        self.completed += 1
        self._ready.append(slot)
        return True

    def advance(self, now):
        """Move the clock to cycle ``now``: fire due timers, expire overdue operations."""
        self.now = now
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, tag = heapq.heappop(timers)
            slot = (tag >> _STEP_BITS) & _SLOT_MASK
            if self.memo.waiting[slot] == tag:
                self.memo.waiting[slot] = 0
                self.memo.answers[slot][tag & _STEP_MASK] = OK
                self._ready.append(slot)
        self.sweep()

    def sweep(self):
        """The timeout sweeper: every operation in flight for ``timeout`` cycles or more is
        answered ``ETIMEDOUT`` (traced as ``EXPIRED``) and its routine made ready."""
        deadlines = self._deadlines
        now = self.now
        memo = self.memo
        while deadlines and deadlines[0][0] <= now:
            _, tag = deadlines.popleft()
            slot = (tag >> _STEP_BITS) & _SLOT_MASK
            if memo.waiting[slot] != tag:
                continue                        # completed in time
            memo.waiting[slot] = 0
            memo.answers[slot][tag & _STEP_MASK] = failure(ETIMEDOUT)
            self.expired += 1
            self._record(FirmwareReason.EXPIRED, 0, tag >> _MICC_SHIFT)
            self._ready.append(slot)

    def run_ready(self):
        """Run every ready routine (those spawned, and those whose step was answered) until
        none is ready; answers how many runs that took."""
        ready = self._ready
        popleft = ready.popleft
        memo = self.memo
        routines, arguments, runs = memo.routine, memo.args, memo.runs
        micc, answers, done, free = memo.micc, memo.answers, memo.on_done, memo._free
        contexts = self._contexts
        count = ended = total_runs = 0
        while ready:
            slot = popleft()
            count += 1
            context = contexts[slot]
            context._next = 0
            runs[slot] += 1
            try:
                value = routines[slot](context, *arguments[slot])
            except Incomplete:
                continue
            except Exception as error:
                self._raised(context.micc, error)
                value = failure(EFAULT)
            # The routine ended: count it, give its memo back (memo.release(), inlined), tell.
            ended += 1
            total_runs += runs[slot]
            if type(value) is Result and value.error:
                self.errors[errno_name(value.error)] += 1
            on_done = done[slot]
            micc[slot] = FREE
            answers[slot].clear()
            routines[slot] = done[slot] = None
            arguments[slot] = ()
            runs[slot] = 0
            free.append(slot)
            if on_done is not None:
                try:
                    on_done(context.micc, value)
                except Exception as error:
                    self._raised(context.micc, error)
        self.finished += ended
        self.runs += total_runs
        memo.releases += ended
        return count

    def tick(self, now, completions=()):
        """One turn of the loop: the completions (``(tag, result)`` pairs), the clock, the
        ready routines."""
        self.now = now
        if completions:
            memo = self.memo
            waiting, answers, size = memo.waiting, memo.answers, memo.size
            ready = self._ready
            for tag, result in completions:         # complete(), inlined
                slot = (tag >> _STEP_BITS) & _SLOT_MASK
                if slot < size and waiting[slot] == tag:
                    waiting[slot] = 0
                    answers[slot][tag & _STEP_MASK] = result
                    self.completed += 1
                    ready.append(slot)
                else:
                    self.complete(tag, result)
        self.advance(now)
        return self.run_ready()

    def cancel_all(self, error=ECANCELED):
        """Answer every operation in flight with ``error`` and run the routines to their end
        (a shutdown: a routine waiting for a frame that will not come ends with ECANCELED);
        completions that arrive afterwards are late. Answers how many were cancelled."""
        memo = self.memo
        cancelled = 0
        for slot in range(memo.size):
            tag = memo.waiting[slot]
            if memo.micc[slot] != FREE and tag:
                memo.waiting[slot] = 0
                memo.answers[slot][tag & _STEP_MASK] = failure(error)
                self._ready.append(slot)
                cancelled += 1
        self._timers.clear()
        self.run_ready()
        return cancelled

    # State.

    @property
    def in_flight(self):
        """Routines started and not yet ended (memos in use)."""
        return self.memo.in_use

    @property
    def idle(self):
        return not self._ready and self.memo.in_use == 0

    @property
    def reruns(self):
        """Runs beyond the first, over all routines that ended."""
        return self.runs - self.finished

    @property
    def stats(self):
        """The counts, as a dict: ``spawned``, ``rejected`` (ENOMEM at spawn), ``finished``
        (with or without an error), ``runs`` (of the routines that ended), ``reruns``,
        ``submitted``, ``completed``, ``expired``, ``late``, ``in_flight``, ``memo_high_water``."""
        return dict(spawned=self.spawned, rejected=self.rejected, finished=self.finished,
                    runs=self.runs, reruns=self.reruns, submitted=self.submitted,
                    completed=self.completed, expired=self.expired, late=self.late,
                    in_flight=self.in_flight, memo_high_water=self.memo.high_water)

    def _record(self, reason, queue, micc):
        if len(self.trace) < self.trace_limit:
            self.trace.append(FirmwareRecord(self.now, reason, queue, micc))
        else:
            self.trace_lost += 1
