"""``rebalance``: the RSS rebalancer daemon (the seed's inference engine) on rss-skew traffic.

Traffic (rss-skew): a pool of flows whose RSS buckets (RETA entries) spread over the queues, and
a few elephant flows, all in buckets of queue 0, that carry most of the packets; frames arrive
at line rate, a load the queues together can take but queue 0 alone cannot. Consumers: ``receivers``
re-routines per queue, each takes one frame and spends ``service`` cycles on it.

The daemon is a re-routine that wakes every ``period`` cycles, reads every queue's depth (a
memoized read), and keeps a window of samples (numpy): the moving average of each queue's depth
and the lag-1 autocorrelation of its series (is the backlog persistent, or a passing burst?).
When one queue's average exceeds twice the average of all queues, its series is persistent, and
no move happened in the last ``cooldown`` periods (hysteresis; a bucket once moved stays put for
``4 * cooldown`` periods), it moves the bucket that brought that queue the most packets in the
window to the queue that received the fewest packets in the window (counted per bucket by the
firmware, summed through the RETA), provided that both end below the hot queue's load (no move
that would only move the hot spot), by rewriting that RETA entry. Then it spawns its next
incarnation (a daemon whose memo never grows).

No reordering inside a flow during a move: the RETA write completes in the cycle it takes
effect, and from then on the moved bucket's frames that arrive on the new queue are held. The
demux steers and copies every packet it already has within ``nic.steer_latency`` cycles (its
decision pipeline never stalls; the copier empties the input buffer); once that has passed and
the old queue's demux slique is empty, every packet the old entry steered has been handed to the
old queue's admission (``demux_delivered``). The firmware waits until that admission has decided
that many packets (accepted or dropped, in order), reads how many it accepted, and releases the
held frames once the old queue has given the firmware that many (they leave in order). Checked
on the sequence numbers every frame carries: ``extra["reordered"]`` must be 0.
"""

import numpy as np

from slique.firmware.errors import ECONNRESET, Result
from slique.firmware.reroutine import reroutine
from slique.sim.header_parser import HeaderParser

from .common import (Firmware, Receivers, flows, frame_sequence, pipeline_drops, seeded,
                     sequenced_frame)


__all__ = ["NAME", "SUMMARY", "run", "rebalancer", "Rebalancer", "rss_skew_traffic",
           "plot_before_after"]

NAME = "rebalance"
SUMMARY = "the RSS rebalancer daemon on rss-skew traffic: moves buckets off an overloaded queue"

_HEADER = 14 + 20 + 20
RETA_ENTRIES = 128


def bucket_of(parser, key, frame):
    """The RETA index of ``frame`` (the low 7 bits of its RSS hash, ports included)."""
    return parser.parse_frame(frame, key).hash_ports % RETA_ENTRIES


def rss_skew_traffic(seed, packets, nic, *, elephants=3, mice=12, elephant_share=0.6):
    """``(pool, frames)``: ``elephants`` flows whose buckets map to queue 0 in the reset RETA
    carry ``elephant_share`` of the ``packets`` frames; ``mice`` other flows the rest."""
    rng = seeded(seed, "rss-skew")
    parser = HeaderParser(nic.data_width)
    heavy, light = [], []
    while len(heavy) < elephants or len(light) < mice:
        flow, = flows(rng, 1)
        queue = bucket_of(parser, nic.key, flow.frame(bytes(8))) % nic.queues
        if queue == 0 and len(heavy) < elephants:
            heavy.append(flow)
        elif queue != 0 and len(light) < mice:
            light.append(flow)
    pool = heavy + light
    counts = [0] * len(pool)
    frames = []
    for _ in range(packets):
        number = rng.randrange(elephants) if rng.random() < elephant_share \
            else elephants + rng.randrange(mice)
        frames.append(sequenced_frame(pool[number], number, counts[number],
                                      rng.randrange(16, 64), rng))
        counts[number] += 1
    return pool, frames


class Rebalancer:
    """The daemon's state and the move protocol (plain Python, called through memoized reads).

    Parameters
    ----------
    queues : int
    window : int
        Samples in the moving window.
    cooldown : int
        Periods without a move after a move (hysteresis).
    ratio : float
        A queue is hot above ``ratio`` times the average depth.
    persistence : float
        Lag-1 autocorrelation above which a backlog counts as persistent.
    """

    def __init__(self, queues, *, window=8, cooldown=6, ratio=2.0, persistence=0.5):
        self.queues = queues
        self.window = window
        self.cooldown = cooldown
        self.ratio = ratio
        self.persistence = persistence
        self.samples = []                        # (cycle, levels)
        self.bucket_counts = np.zeros((window, RETA_ENTRIES), dtype=np.int64)
        self._period_counts = np.zeros(RETA_ENTRIES, dtype=np.int64)
        self.reta = [index % queues for index in range(RETA_ENTRIES)]
        self.moves = []                          # (cycle, bucket, old, new)
        self._since_move = cooldown
        self._pinned = {}                        # bucket -> periods left
        self.finished = False

    def count(self, bucket):
        """A frame of ``bucket`` arrived (for the choice of what to move)."""
        self._period_counts[bucket] += 1

    def statistics(self):
        """``(average, autocorrelation)`` per queue over the window (numpy arrays)."""
        series = np.array([levels for _, levels in self.samples[-self.window:]], dtype=float)
        average = series.mean(axis=0)
        if len(series) < 3:
            return average, np.zeros(self.queues)
        centred = series - average
        numerator = (centred[1:] * centred[:-1]).sum(axis=0)
        denominator = (centred ** 2).sum(axis=0)
        constant = denominator == 0
        autocorrelation = np.where(constant, (average > 0).astype(float),
                                   numerator / np.where(constant, 1, denominator))
        return average, autocorrelation

    def observe(self, cycle, levels):
        """One sample; answers the move to make, ``(bucket, old, new)``, or ``None``."""
        self.samples.append((cycle, list(levels)))
        self.bucket_counts = np.roll(self.bucket_counts, 1, axis=0)
        self.bucket_counts[0] = self._period_counts
        self._period_counts = np.zeros(RETA_ENTRIES, dtype=np.int64)
        self._since_move += 1
        self._pinned = {bucket: left - 1 for bucket, left in self._pinned.items() if left > 1}
        if len(self.samples) < self.window or self._since_move < self.cooldown:
            return None
        average, autocorrelation = self.statistics()
        hot = int(np.argmax(average))
        if not (average[hot] > self.ratio * average.mean()
                and autocorrelation[hot] > self.persistence):
            return None
        # Where to: the queue with the least traffic in the window (packets per bucket, summed
        # through the RETA), and only a move that leaves both queues below the hot one's load.
        traffic = self.bucket_counts.sum(axis=0)
        load = np.zeros(self.queues, dtype=np.int64)
        np.add.at(load, self.reta, traffic)
        cold = int(np.argmin(np.where(np.arange(self.queues) == hot, load.max() + 1, load)))
        candidates = [bucket for bucket in range(RETA_ENTRIES)
                      if self.reta[bucket] == hot and bucket not in self._pinned
                      and 0 < traffic[bucket] and load[cold] + traffic[bucket] < load[hot]]
        if not candidates:
            return None
        bucket = max(candidates, key=lambda candidate: (traffic[candidate], -candidate))
        return bucket, hot, cold

    def moved(self, cycle, bucket, old, new):
        self.reta[bucket] = new
        self.moves.append((cycle, bucket, old, new))
        self._since_move = 0
        self._pinned[bucket] = 4 * self.cooldown
        return len(self.moves)


@reroutine
def rebalancer(rr, nic, state, mover, period):
    """One period of the daemon: sample, decide, move (RETA write), hand over to the next."""
    rr.sleep(period)
    levels = rr.read(nic.queue_levels).value
    decision = rr.read(state.observe, rr.now(), levels).value
    if decision is not None:
        bucket, old, new = decision
        written = rr.step(nic.write_reta, bucket, new)
        if written.ok:
            rr.read(state.moved, rr.now(), bucket, old, new)
            rr.read(mover.start, bucket, old, new)
    if not rr.read(lambda: state.finished).value:
        for _ in range(8):                      # the next incarnation needs a memo
            if rr.spawn(rebalancer, nic, state, mover, period).ok:
                break
            rr.sleep(period)
    return decision


class _Mover:
    """The barriers of the moves in progress and the frames they hold (see the module doc)."""

    def __init__(self, nic, app):
        self.nic = nic
        self.app = app
        self.barriers = []                 # dicts: see start()

    def start(self, bucket, old, new):
        """A move took effect now: hold ``bucket``'s frames on ``new`` until ``old`` has
        given the firmware every packet the old entry steered there."""
        self.barriers.append(dict(bucket=bucket, old=old, new=new,
                                  steered_by=self.nic.cycle + self.nic.steer_latency,
                                  handed=None, accepted=None, held=[]))
        return len(self.barriers)

    def holds(self, bucket, queue):
        """The barrier that holds frames of ``bucket`` arriving on ``queue``, or None."""
        for barrier in self.barriers:
            if barrier["bucket"] == bucket and barrier["new"] == queue:
                return barrier
        return None

    def update(self):
        """Lift the barriers that are passed; answers the frames they release, in order."""
        if not self.barriers:
            return []
        counters = self.nic.read_counters()
        released = []
        waiting = set()                    # buckets with an earlier barrier still up
        for barrier in list(self.barriers):
            if barrier["bucket"] in waiting:
                continue                   # a bucket moved twice: lift in order
            waiting.add(barrier["bucket"])
            old = barrier["old"]
            if barrier["handed"] is None:
                # 1. Every packet the old entry steered is in the old queue's demux slique or
                # past it (``steer_latency`` after the write), and that slique is empty: all of
                # them have been handed to the old queue's admission ...
                if self.nic.cycle < barrier["steered_by"] or counters["demux_levels"][old]:
                    continue
                barrier["handed"] = counters["demux_delivered"][old]
            if barrier["accepted"] is None:
                # 2. ... the old queue's admission has decided every one of them ...
                decided = counters["admission_accepted"][old] + \
                    counters["admission_dropped_hard_limit"][old] + \
                    counters["admission_dropped_burst_exhausted"][old]
                if decided < barrier["handed"]:
                    continue
                barrier["accepted"] = counters["admission_accepted"][old]
            # 3. ... and the ones it accepted, which leave in order, reached the firmware.
            if self.app.received[old] >= barrier["accepted"]:
                self.barriers.remove(barrier)
                waiting.discard(barrier["bucket"])
                released.extend(barrier["held"])
        return released


class _App:
    def __init__(self, firmware, nic, state, flow_count):
        self.firmware = firmware
        self.nic = nic
        self.state = state
        self.parser = HeaderParser(nic.data_width)
        self.received = [0] * nic.queues
        self.last_sequence = [-1] * flow_count
        self.reordered = 0
        self.per_queue = [0] * nic.queues
        self.resets = 0

    def sink(self, frame):
        number, sequence = frame_sequence(frame, _HEADER)
        if sequence <= self.last_sequence[number]:
            self.reordered += 1
        self.last_sequence[number] = sequence
        self.firmware.deliver(frame)


@reroutine
def serve_one(rr, nic, queue, service):
    """Take one frame from ``queue`` and spend ``service`` cycles on it."""
    received = rr.wait(nic.post_rx, queue)
    if received.error:
        return received
    rr.sleep(service)
    return received


def run(nic, *, seed, packets, backend="golden", receivers=3, service=96, period=32,
        rebalance=True, progress=None):
    """Run rss-skew traffic through ``receivers`` consumers per queue, with the daemon (or,
    ``rebalance=False``, without it, for the comparison). ``extra`` holds the samples, the moves
    and ``reordered``."""
    pool, frames = rss_skew_traffic(seed, packets, nic)
    # Arrivals at line rate (back to back on the wire): with the defaults the four queues
    # together serve about twice what the wire brings, but queue 0 alone gets more than it
    # serves (the elephants); spread out, it fits.
    firmware = Firmware(nic, memos=nic.queues * receivers + 8, timeout=None)
    scheduler = firmware.scheduler
    state = Rebalancer(nic.queues)
    app = _App(firmware, nic, state, len(pool))
    mover = _Mover(nic, app)

    def on_done(queue, micc, value):
        if not isinstance(value, Result):
            return
        if value.error == ECONNRESET:
            app.resets += 1
        if not value.ok:
            return
        _, frame = value.value
        app.received[queue] += 1
        bucket = bucket_of(app.parser, nic.key, frame)
        state.count(bucket)
        barrier = mover.holds(bucket, queue)
        if barrier is not None:
            barrier["held"].append(frame)
        else:
            app.sink(frame)

    supervise = Receivers(scheduler, nic, serve_one, receivers, on_done, service)
    for frame in frames:
        nic.offer(frame)
    samples = []

    arrivals = [0]
    start = nic.cycle                       # cycles from here: the NIC's clock may not be at 0

    def every(cycle):
        for frame in mover.update():
            app.sink(frame)
        cycle -= start
        if nic.wire_pending:
            arrivals[0] = cycle
        supervise()
        if cycle % period == 0:
            samples.append((cycle, nic.queue_levels()))

    if rebalance:
        scheduler.spawn(rebalancer, nic, state, mover, period)

    def drops():
        return dict(pipeline_drops(nic.read_counters()), connection_reset=app.resets)

    def accounted():
        return not nic.wire_pending and not mover.barriers and \
            len(firmware.delivered) + sum(drops().values()) == len(frames)

    firmware.cycle_limit = 20_000 + 1_000 * len(frames)
    firmware.run(accounted, every=every, progress=None if progress is None else
                 (lambda cycle: progress(len(firmware.delivered), len(frames))))
    state.finished = True
    firmware.shutdown()
    extra = dict(reordered=app.reordered, moves=state.moves, samples=samples,
                 peak_depth=max((max(levels) for _, levels in samples), default=0),
                 imbalance=imbalance([sample for sample in samples if sample[0] <= arrivals[0]]))
    return firmware.result(NAME, backend, seed, offered=len(frames), dropped=drops(),
                           extra=extra)


def imbalance(samples):
    """The deepest queue's depth over the mean depth, both averaged over the samples: 1 when
    the queues hold the same, ``queues`` when one holds everything (``extra["imbalance"]``
    takes the samples while frames arrive)."""
    levels = np.array([levels for _, levels in samples], dtype=float)
    if not levels.size or not levels.sum():
        return 1.0
    return float(levels.max(axis=1).mean() / levels.mean())


def plot_before_after(nic_factory, *, seed, packets, path):
    """Run rss-skew without and with the daemon and plot every queue's depth over time, the
    moves marked; answers ``(without, with)`` results."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    without = run(nic_factory(), seed=seed, packets=packets, rebalance=False)
    with_daemon = run(nic_factory(), seed=seed, packets=packets, rebalance=True)
    figure, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, sharey=True)
    for axis, result, title in ((axes[0], without, "without the rebalancer"),
                                (axes[1], with_daemon, "with the rebalancer")):
        cycles = [cycle for cycle, _ in result.extra["samples"]]
        levels = np.array([levels for _, levels in result.extra["samples"]])
        for queue in range(levels.shape[1]):
            axis.plot(cycles, levels[:, queue], label=f"queue {queue}", linewidth=1)
        for cycle, bucket, old, new in result.extra.get("moves", []):
            axis.axvline(cycle, color="grey", linestyle=":", linewidth=0.8)
        dropped = sum(result.dropped.values())
        axis.set_title(f"rss-skew, {title}: peak depth {result.extra['peak_depth']}, "
                       f"max/mean {result.extra['imbalance']:.2f}, {dropped} dropped of "
                       f"{result.offered}, drained at cycle {result.cycles}", fontsize="medium")
        axis.set_ylabel("depth (beats)")
        axis.legend(loc="upper right", fontsize="small")
    axes[1].set_xlabel("cycle (dotted: a RETA move)")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return without, with_daemon
