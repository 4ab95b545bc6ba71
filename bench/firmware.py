"""``slique bench firmware``: the re-routine scheduler on CPython, beside asyncio, in one run.

Three measurements, each repeated (``--repeat``) and reported as the best run:

- **echo loop**: ``--frames`` frames through the same echo loop, written twice: as re-routines
  (:func:`slique.firmware.apps.echo`'s shape: one routine per frame, a receive step then a
  transmit step, re-run from the top on each completion) on the
  :class:`~slique.firmware.reroutine.Scheduler`, and as asyncio coroutines (``await rx()``,
  ``await tx()``, one task per frame) on an asyncio event loop. Both drive the same device, a
  :class:`~slique.firmware.delay_line.DelayLine` whose operations complete a fixed number of
  cycles later, and the same loop (one device cycle, then everything that became ready);
  reported: frames/s, operations (steps) per second, and the time per frame of each, with the
  ratio re-routine / asyncio.
- **steps/s**: routines of ``--steps`` steps whose operations complete at once (no re-run):
  step calls per second, the memo check and bookkeeping alone.
- **re-run cost**: the same routines whose operations complete a cycle later, so that each step
  ends a run and the next run replays every earlier step from the memo; the extra time over the
  at-once case, per re-run.

Run it as ``slique bench firmware`` or ``python -m slique.bench.firmware``.
"""

import argparse
import asyncio
import json
import platform
import sys
import time


__all__ = ["add_arguments", "run", "main", "measure", "reroutine_echo", "asyncio_echo",
           "step_rate", "rerun_cost"]


def reroutine_echo(frames, *, delay=4, window=256):
    """Seconds for ``frames`` frames through the re-routine echo loop, and the scheduler."""
    from slique.firmware.delay_line import DelayLine
    from slique.firmware.reroutine import Scheduler, reroutine

    @reroutine
    def echo(rr, line, frame):
        received = rr.step(line.submit, frame)          # "receive": the frame comes back
        if received.error:
            return received
        return rr.step(line.submit, received.value)     # "transmit"

    line = DelayLine(0, delay=(delay, delay))
    scheduler = Scheduler(memos=window, steps=4, timeout=None)
    spawn, tick, step = scheduler.spawn, scheduler.tick, line.step
    started = time.perf_counter()
    offered = 0
    while offered < frames or not scheduler.idle:
        while offered < frames and scheduler.memo.free:
            spawn(echo, line, offered)
            offered += 1
        tick(*step())
    seconds = time.perf_counter() - started
    if scheduler.finished != frames or scheduler.errors:
        raise AssertionError(f"re-routine echo lost frames: {scheduler.stats}")
    return seconds, scheduler


def asyncio_echo(frames, *, delay=4, window=256):
    """Seconds for ``frames`` frames through the same echo loop as asyncio coroutines."""
    from slique.firmware.delay_line import DelayLine

    async def main():
        loop = asyncio.get_running_loop()
        line = DelayLine(0, delay=(delay, delay))
        futures = {}
        finished = 0
        next_tag = 0

        def operation(value):
            nonlocal next_tag
            next_tag += 1
            future = loop.create_future()
            futures[next_tag] = future
            line.submit(next_tag, value)
            return future

        async def echo(frame):
            nonlocal finished
            received = await operation(frame)
            await operation(received.value)
            finished += 1

        tasks = set()
        started = time.perf_counter()
        offered = 0
        while offered < frames or tasks:
            while offered < frames and len(tasks) < window:
                task = loop.create_task(echo(offered))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                offered += 1
            for tag, result in line.advance():
                futures.pop(tag).set_result(result)
            await asyncio.sleep(0)                      # run everything that became ready
        seconds = time.perf_counter() - started
        if finished != frames:
            raise AssertionError(f"asyncio echo lost frames: {finished} of {frames}")
        return seconds

    return asyncio.run(main())


def _stepper(answer_later):
    from slique.firmware.errors import Result
    from slique.firmware.reroutine import Scheduler, reroutine

    pending = []

    def at_once(tag, value):
        return Result(value)

    def later(tag, value):
        pending.append((tag, Result(value)))
        return True

    submit = later if answer_later else at_once

    @reroutine
    def chain(rr, steps):
        value = 0
        for _ in range(steps):
            value = rr.step(submit, value + 1).value
        return value

    return chain, pending, Scheduler


def _run_chains(routines, steps, *, answer_later):
    chain, pending, Scheduler = _stepper(answer_later)
    scheduler = Scheduler(memos=256, steps=max(steps, 1), timeout=None)
    started = time.perf_counter()
    done = 0
    cycle = 0
    while done < routines or not scheduler.idle:
        while done < routines and scheduler.memo.free:
            scheduler.spawn(chain, steps)
            done += 1
        cycle += 1
        completions = pending[:]
        pending.clear()
        scheduler.tick(cycle, completions)
    return time.perf_counter() - started, scheduler


def step_rate(routines, steps):
    """Step calls per second when every operation answers at once (one run per routine)."""
    seconds, scheduler = _run_chains(routines, steps, answer_later=False)
    return routines * steps / seconds, seconds


def rerun_cost(routines, steps, *, repeat=1):
    """Microseconds per re-run: routines whose every step completes later (``steps`` re-runs
    each, replaying 0, 1, ..., ``steps - 1`` memoized steps), minus the same routines answered
    at once, per re-run; each of the two timings is the best of ``repeat`` runs (a difference
    of noisy timings taken run by run would be biased low, even negative)."""
    at_once = min(_run_chains(routines, steps, answer_later=False)[0] for _ in range(repeat))
    runs = [_run_chains(routines, steps, answer_later=True) for _ in range(repeat)]
    later, scheduler = min(runs, key=lambda run: run[0])
    reruns = scheduler.reruns
    return (later - at_once) / reruns * 1e6, reruns, later


def measure(*, frames=50_000, routines=20_000, steps=8, repeat=3):
    """Every figure, best of ``repeat`` runs (a dict)."""
    rr_best = min(reroutine_echo(frames)[0] for _ in range(repeat))
    aio_best = min(asyncio_echo(frames) for _ in range(repeat))
    rate = max(step_rate(routines, steps)[0] for _ in range(repeat))
    cost = rerun_cost(routines, steps, repeat=repeat)[0]
    return {
        "python": platform.python_implementation() + " " + platform.python_version(),
        "frames": frames,
        "reroutine_echo_frames_per_s": frames / rr_best,
        "reroutine_echo_ops_per_s": 2 * frames / rr_best,
        "reroutine_echo_us_per_frame": rr_best / frames * 1e6,
        "asyncio_echo_frames_per_s": frames / aio_best,
        "asyncio_echo_us_per_frame": aio_best / frames * 1e6,
        "ratio_reroutine_over_asyncio": rr_best / aio_best,
        "steps_per_s": rate,
        "steps_per_routine": steps,
        "rerun_cost_us": cost,
    }


def add_arguments(parser):
    parser.add_argument("--frames", type=int, default=50_000,
                        help="frames through each echo loop (default 50000)")
    parser.add_argument("--routines", type=int, default=20_000,
                        help="routines for the steps/s and re-run figures (default 20000)")
    parser.add_argument("--steps", type=int, default=8,
                        help="steps per routine for those figures (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args):
    from rich.console import Console
    from rich.table import Table

    figures = measure(frames=args.frames, routines=args.routines, steps=args.steps,
                      repeat=args.repeat)
    if args.json:
        print(json.dumps(figures))
        return 0
    table = Table(title=f"re-routines on {figures['python']}, beside asyncio (best of "
                        f"{args.repeat})")
    table.add_column("measurement")
    table.add_column("re-routines", justify="right")
    table.add_column("asyncio", justify="right")
    table.add_row(f"echo loop, {figures['frames']} frames: frames/s",
                  f"{figures['reroutine_echo_frames_per_s']:,.0f}",
                  f"{figures['asyncio_echo_frames_per_s']:,.0f}")
    table.add_row("echo loop: µs per frame (2 operations)",
                  f"{figures['reroutine_echo_us_per_frame']:.2f}",
                  f"{figures['asyncio_echo_us_per_frame']:.2f}")
    table.add_row("echo loop: operations/s", f"{figures['reroutine_echo_ops_per_s']:,.0f}", "")
    table.add_row(f"steps/s ({figures['steps_per_routine']} steps, answered at once)",
                  f"{figures['steps_per_s']:,.0f}", "")
    table.add_row("cost of a re-run (µs, replay included)", f"{figures['rerun_cost_us']:.2f}",
                  "")
    console = Console()
    console.print(table)
    console.print(f"ratio re-routine / asyncio, time per echoed frame: "
                  f"{figures['ratio_reroutine_over_asyncio']:.2f}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="slique bench firmware", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
