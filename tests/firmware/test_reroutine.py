"""The re-routine scheduler: memo answers, M-ICCs, errors as values, the sweeper, the freelist."""

import random
import time

import pytest
from hypothesis import given, settings, strategies as st

from slique.firmware.delay_line import DelayLine
from slique.firmware.errors import (EAGAIN, ECONNRESET, EFAULT, ENOMEM, ETIMEDOUT, OK, Result,
                                    errno_name)
from slique.firmware.reroutine import (FirmwareReason, Scheduler, reroutine, tag_micc,
                                       tag_step)


@reroutine
def chain(rr, line, steps):
    """``steps`` operations one after the other, each fed the previous one's value."""
    value = 0
    for _ in range(steps):
        r = rr.step(line.submit, value)
        if r.error:
            return r
        value = r.value
    return value


def run(scheduler, line, *, limit=100_000):
    """Drive ``scheduler`` on ``line`` until nothing is in flight and nothing is due."""
    scheduler.run_ready()
    for _ in range(limit):
        if scheduler.idle and line.drained():
            return
        scheduler.tick(*line.step())
    raise AssertionError(f"not idle after {limit} cycles: {scheduler.stats}")


def check_conservation(scheduler, offered, results):
    """Every routine offered was refused (ENOMEM), or ended with a value or an errno."""
    ended_ok = sum(1 for value in results.values()
                   if not (isinstance(value, Result) and value.error))
    failed = sum(scheduler.errors.values()) - scheduler.rejected
    assert offered == scheduler.spawned + scheduler.rejected
    assert scheduler.spawned == scheduler.finished == len(results)
    assert offered == ended_ok + failed + scheduler.rejected
    assert scheduler.memo.in_use == 0
    scheduler.memo.check()


def test_memo_answers_done_steps_and_nothing_is_submitted_twice(seed):
    line = DelayLine(seed, delay=(1, 5), record_tags=True)
    scheduler = Scheduler(memos=8)
    results = {}
    micc = scheduler.spawn(chain, line, 5, on_done=results.__setitem__)
    run(scheduler, line)
    assert results == {micc: 5}
    assert line.submitted == 5 and line.duplicates == 0
    assert scheduler.runs == 6 and scheduler.reruns == 5      # one run per completion, + first
    assert {tag_micc(tag) for tag in line.tags} == {micc}
    assert sorted(tag_step(tag) for tag in line.tags) == [0, 1, 2, 3, 4]
    check_conservation(scheduler, 1, results)


def test_micc_grow_and_are_carried_by_every_operation(seed):
    line = DelayLine(seed, delay=(1, 9), record_tags=True)
    scheduler = Scheduler(memos=16)
    results = {}
    miccs = [scheduler.spawn(chain, line, 2, on_done=results.__setitem__) for _ in range(40)]
    miccs = [micc for micc in miccs if micc > 0]
    assert miccs == sorted(set(miccs)) and len(miccs) == 16     # 24 refused: ENOMEM
    run(scheduler, line)
    for _ in range(10):                                          # freed memos serve again
        miccs.append(scheduler.spawn(chain, line, 2, on_done=results.__setitem__))
    run(scheduler, line)
    assert miccs == sorted(set(miccs)) and min(miccs) > 0
    assert {tag_micc(tag) for tag in line.tags} == set(miccs)
    assert line.duplicates == 0
    check_conservation(scheduler, 50, results)


def test_enomem_when_the_freelist_is_empty():
    line = DelayLine(1, delay=(3, 3))
    scheduler = Scheduler(memos=4)
    results = {}
    miccs = [scheduler.spawn(chain, line, 1, on_done=results.__setitem__) for _ in range(5)]
    assert miccs[:4] == [1, 2, 3, 4] and miccs[4] == -ENOMEM
    assert scheduler.errors == {"ENOMEM": 1}
    assert [(record.reason, record.tag) for record in scheduler.trace] == \
        [(FirmwareReason.NO_MEMO, 5)]
    run(scheduler, line)
    assert scheduler.spawn(chain, line, 1, on_done=results.__setitem__) == 6
    run(scheduler, line)
    assert scheduler.memo.high_water == 4
    check_conservation(scheduler, 6, results)


def test_too_many_steps_fail_with_enomem():
    line = DelayLine(1)
    scheduler = Scheduler(memos=2, steps=3)
    results = {}
    scheduler.spawn(chain, line, 4, on_done=results.__setitem__)
    run(scheduler, line)
    assert list(results.values()) == [Result(error=ENOMEM)]
    assert line.submitted == 3
    assert [record.reason for record in scheduler.trace] == [FirmwareReason.TOO_MANY_STEPS]
    check_conservation(scheduler, 1, results)


def test_eagain_when_the_ring_is_full():
    line = DelayLine(1, delay=(4, 4), capacity=1)
    scheduler = Scheduler(memos=4)
    results = {}
    first = scheduler.spawn(chain, line, 1, on_done=results.__setitem__)
    second = scheduler.spawn(chain, line, 1, on_done=results.__setitem__)
    run(scheduler, line)
    assert results == {first: 1, second: Result(error=EAGAIN)}
    assert scheduler.errors == {"EAGAIN": 1} and line.submitted == 1
    check_conservation(scheduler, 2, results)


@reroutine
def retry(rr, line, attempts, backoff):
    """Retry on EAGAIN after a sleep: the memo keeps every attempt's answer."""
    for _ in range(attempts):
        r = rr.step(line.submit, 0)
        if r.error != EAGAIN:
            return r
        rr.sleep(backoff)
    return r


def test_retry_after_eagain_with_a_timer():
    line = DelayLine(1, delay=(10, 10), capacity=1, record_tags=True)
    scheduler = Scheduler(memos=4)
    results = {}
    scheduler.spawn(retry, line, 5, 4, on_done=results.__setitem__)
    scheduler.spawn(retry, line, 5, 4, on_done=results.__setitem__)
    run(scheduler, line)
    assert sorted(result.value for result in results.values()) == [1, 1]
    assert line.duplicates == 0 and line.submitted == 2
    assert scheduler.errors == {}
    check_conservation(scheduler, 2, results)


def test_etimedout_and_the_late_completion_is_dropped_and_traced():
    line = DelayLine(1, delay=(50, 50))
    scheduler = Scheduler(memos=4, timeout=20)
    results = {}
    micc = scheduler.spawn(chain, line, 2, on_done=results.__setitem__)
    run(scheduler, line)
    assert results == {micc: Result(error=ETIMEDOUT)}
    assert line.submitted == 1                                   # never re-submitted
    assert scheduler.expired == 1 and scheduler.late == 1
    records = [(record.reason, record.tag) for record in scheduler.trace]
    assert records == [(FirmwareReason.EXPIRED, micc), (FirmwareReason.LATE_COMPLETION, micc)]
    assert scheduler.trace[0].cycle == 20 and scheduler.trace[1].cycle == 50
    check_conservation(scheduler, 1, results)


def test_a_late_completion_never_reaches_the_memo_s_next_owner():
    line = DelayLine(1, delay=(50, 50))
    scheduler = Scheduler(memos=1, timeout=20)
    results = {}
    first = scheduler.spawn(chain, line, 1, on_done=results.__setitem__)
    scheduler.run_ready()
    while line.cycle < 40:
        scheduler.tick(*line.step())
    assert results == {first: Result(error=ETIMEDOUT)} and scheduler.late == 0
    line._low = 15                                        # the next operation takes 15 cycles
    second = scheduler.spawn(chain, line, 1, on_done=results.__setitem__)   # the same memo
    run(scheduler, line)                  # the first's answer arrives at 50, while it waits
    assert results[second] == 1 and scheduler.late == 1
    assert [record.tag for record in scheduler.trace] == [first, first]
    check_conservation(scheduler, 2, results)


def test_econnreset_is_a_value():
    line = DelayLine(1, error_rate=1.0, errors=(ECONNRESET,))
    scheduler = Scheduler(memos=2)
    results = {}
    micc = scheduler.spawn(chain, line, 3, on_done=results.__setitem__)
    run(scheduler, line)
    assert results == {micc: Result(error=ECONNRESET)} and line.submitted == 1
    assert scheduler.errors == {"ECONNRESET": 1}
    check_conservation(scheduler, 1, results)


@reroutine
def buggy(rr, line):
    rr.step(line.submit, 0)
    return 1 // 0


@reroutine
def swallows(rr, line):
    try:
        r = rr.step(line.submit, 0)
    except Exception:                    # must not swallow the scheduler's "incomplete"
        return "swallowed"
    return r.value


def test_exceptions_never_leave_the_scheduler():
    line = DelayLine(1)
    scheduler = Scheduler(memos=4)
    results = {}

    def submit_raises(tag):
        raise RuntimeError("backend bug")

    @reroutine
    def backend_bug(rr):
        return rr.step(submit_raises)

    def on_done_raises(micc, value):
        results[micc] = value
        raise ValueError("callback bug")

    scheduler.spawn(buggy, line, on_done=results.__setitem__)
    scheduler.spawn(swallows, line, on_done=results.__setitem__)
    scheduler.spawn(backend_bug, on_done=on_done_raises)
    run(scheduler, line)
    assert results == {1: Result(error=EFAULT), 2: 1, 3: Result(error=EFAULT)}
    assert scheduler.errors == {"EFAULT": 2}
    assert [type(error) for _, error in scheduler.exceptions] == \
        [RuntimeError, ValueError, ZeroDivisionError]
    check_conservation(scheduler, 3, results)


def test_reads_clock_and_spawns_are_memoized():
    line = DelayLine(1, delay=(3, 3))
    scheduler = Scheduler(memos=8)
    results = {}
    reads = []

    def sample():
        reads.append(line.cycle)
        return len(reads)

    @reroutine
    def parent(rr):
        started = rr.now()
        child = rr.spawn(chain, line, 2, on_done=results.__setitem__)
        sampled = rr.read(sample)
        rr.sleep(7)
        r = rr.step(line.submit, sampled.value)
        return (started, child.value, r.value, rr.now() - started)

    micc = scheduler.spawn(parent, on_done=results.__setitem__)
    run(scheduler, line)
    assert reads == [0] and scheduler.spawned == 2
    assert results[micc] == (0, micc + 1, 2, 10)        # 7 cycles asleep, 3 in flight
    assert results[micc + 1] == 2
    check_conservation(scheduler, 2, results)


def test_calling_a_reroutine_directly_says_how_to_start_it():
    with pytest.raises(TypeError, match="scheduler.spawn"):
        chain(None, None, 1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), memos=st.integers(1, 8), timeout=st.integers(1, 40),
       capacity=st.integers(1, 6), routines=st.integers(1, 60))
def test_random_schedules_keep_every_invariant(seed, memos, timeout, capacity, routines):
    rng = random.Random(seed)
    line = DelayLine(seed, delay=(1, 30), error_rate=0.2, errors=(ECONNRESET, EAGAIN),
                     loss_rate=0.1, late_rate=0.1, late_delay=45, capacity=capacity,
                     record_tags=True)
    scheduler = Scheduler(memos=memos, steps=4, timeout=timeout)
    results = {}
    offered = 0
    while offered < routines or not scheduler.idle or not line.drained():
        if offered < routines and rng.random() < 0.5:
            scheduler.spawn(chain, line, rng.randint(0, 4), on_done=results.__setitem__)
            offered += 1
        scheduler.tick(*line.step())
        assert scheduler.memo.in_use <= memos
    assert line.duplicates == 0
    assert scheduler.late + scheduler.completed == line.completed
    assert scheduler.expired == sum(1 for record in scheduler.trace
                                    if record.reason == FirmwareReason.EXPIRED)
    check_conservation(scheduler, offered, results)


@reroutine
def job(rr, line, steps):
    r = rr.step(line.submit, 0)
    if r.error or steps == 1:
        return r
    return rr.step(line.submit, r.value)


def test_a_million_routines_leak_no_memo(seed):
    """10^6 routines (one or two operations each) with random delays, injected errors, lost
    operations (timeouts) and late completions, through 1024 memos: every memo comes back."""
    line = DelayLine(seed, delay=(1, 24), error_rate=0.01, errors=(ECONNRESET,),
                     loss_rate=0.002, late_rate=0.002, late_delay=200, capacity=3000)
    scheduler = Scheduler(memos=1024, steps=4, timeout=64)
    ended = {"ok": 0}
    errors = {}

    def on_done(micc, value):
        if type(value) is Result and value.error:
            errors[value.error] = errors.get(value.error, 0) + 1
        else:
            ended["ok"] += 1

    total, batch = 10**6, 64
    spawn, tick, step = scheduler.spawn, scheduler.tick, line.step
    rng = random.Random(seed)
    started = time.process_time()
    offered = 0
    while offered < total:
        for steps in rng.choices((1, 2), (3, 1), k=batch):
            spawn(job, line, steps, on_done=on_done)
        offered += batch
        tick(*step())
    while not (scheduler.idle and line.drained()):
        tick(*step())
    seconds = time.process_time() - started
    print(f"10^6 routines: {seconds:.2f} s CPU, {scheduler.stats}, errors {dict(scheduler.errors)}")
    assert scheduler.memo.in_use == 0 and scheduler.memo.free == 1024
    scheduler.memo.check()
    assert scheduler.memo.allocations == scheduler.memo.releases == scheduler.spawned
    assert offered == ended["ok"] + sum(errors.values()) + scheduler.rejected
    assert {errno_name(number): count for number, count in errors.items()} == \
        {name: count for name, count in scheduler.errors.items() if name != "ENOMEM"}
    assert scheduler.errors["ENOMEM"] == scheduler.rejected
    # Every error path was taken, in numbers that random faults of these rates give.
    assert scheduler.rejected > 0 and scheduler.expired > 0 and scheduler.late > 0
    assert errors.get(ECONNRESET, 0) > 0 and errors.get(ETIMEDOUT, 0) > 0
    assert scheduler.late + scheduler.completed == line.completed
    assert scheduler.submitted == line.submitted
