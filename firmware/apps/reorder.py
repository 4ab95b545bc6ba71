"""``reorder``: a receiver that restores each flow's order under heavy reordering.

Traffic: a few flows of sequenced frames (:func:`~slique.firmware.apps.common.sequenced_frame`),
each frame displaced by up to ``window`` places on the wire, with duplicates. Firmware: receiver
re-routines on every queue hand each frame to the flow's :class:`Resequencer` (the seed's
``slique_insert_packet``: in order, deliver and drain the sideline; ahead, hold it in a sideline
of ``sideline`` entries, the oldest dropped when full; behind, a duplicate — or a frame whose
gap was already skipped, ``late`` — dropped), and a
gap-sweeper daemon (a re-routine that sleeps, skips the gaps older than ``gap_timeout`` cycles —
frames the pipeline or the sideline dropped — and spawns its next incarnation). Delivered: the
frames handed on in order.
"""

from slique.firmware.errors import ECONNRESET, Result
from slique.firmware.reroutine import reroutine

from .common import (Firmware, Receivers, flows, frame_sequence, pipeline_drops, seeded,
                     sequenced_frame)


__all__ = ["NAME", "SUMMARY", "run", "Resequencer", "receive_one", "gap_sweeper"]

NAME = "reorder"
SUMMARY = "a receiver under heavy reordering: per-flow resequencing with a bounded sideline"

_HEADER = 14 + 20 + 20       # Ethernet + IPv4 + TCP


class Resequencer:
    """One flow's resequencing: ``expected`` sequence, a bounded sideline, gap skipping.

    Parameters
    ----------
    capacity : int
        Sideline entries.
    deliver : callable
        ``deliver(frame)`` for each frame handed on in order.
    """

    def __init__(self, capacity, deliver):
        self.capacity = capacity
        self.deliver = deliver
        self.expected = 0
        self.sideline = {}           # sequence -> (frame, arrival cycle)
        self.duplicates = 0
        self.evicted = 0
        self.skipped = 0             # sequence numbers given up (never arrived in time)
        self.late = 0                # frames that arrived after their gap was skipped
        self.delivered = 0
        self._gaps = set()

    def insert(self, sequence, frame, cycle):
        if sequence in self._gaps:
            self._gaps.discard(sequence)
            self.late += 1
        elif sequence < self.expected or sequence in self.sideline:
            self.duplicates += 1
        elif sequence == self.expected:
            self._hand_on(frame)
            self._drain()
        else:
            if len(self.sideline) >= self.capacity:
                oldest = min(self.sideline, key=lambda held: self.sideline[held][1])
                del self.sideline[oldest]
                self.evicted += 1
            self.sideline[sequence] = (frame, cycle)

    def skip_gap(self, cycle, timeout):
        """While a held frame has waited ``timeout`` cycles or more, skip the gap before the
        first held sequence and hand on what follows; answers how many numbers were skipped."""
        skipped = 0
        while self.sideline and \
                cycle - min(arrival for _, arrival in self.sideline.values()) >= timeout:
            first = min(self.sideline)
            skipped += first - self.expected
            self._gaps.update(range(self.expected, first))
            self.expected = first
            self._drain()
        self.skipped += skipped
        return skipped

    def _hand_on(self, frame):
        self.deliver(frame)
        self.delivered += 1
        self.expected += 1

    def _drain(self):
        while self.expected in self.sideline:
            frame, _ = self.sideline.pop(self.expected)
            self._hand_on(frame)


@reroutine
def receive_one(rr, nic, queue):
    """Receive one frame on ``queue``; answers ``Result((queue, frame))``."""
    return rr.wait(nic.post_rx, queue)


@reroutine
def gap_sweeper(rr, app, period, timeout):
    """Sleep ``period`` cycles, skip the flows' stale gaps once, then hand over to the next
    incarnation (a daemon whose memo never grows); stops when ``app.finished``."""
    rr.sleep(period)
    rr.read(app.skip_gaps, rr.now(), timeout)
    if not rr.read(lambda: app.finished).value:
        for _ in range(8):                      # the next incarnation needs a memo
            if rr.spawn(gap_sweeper, app, period, timeout).ok:
                break
            rr.sleep(period)
    return 0


def reorder_traffic(seed, packets, *, flow_count=4, window=40, duplicate_rate=0.03):
    """``(pool, frames)``: sequenced frames of ``flow_count`` flows, displaced, duplicated."""
    rng = seeded(seed, "reorder")
    pool = flows(rng, flow_count)
    ordered = []
    for index in range(packets):
        number = index % flow_count
        ordered.append(sequenced_frame(pool[number], number, index // flow_count,
                                       rng.randrange(0, 96), rng))
    # Heavy reordering: sort by position + a random displacement of up to ``window`` places.
    keyed = sorted(range(len(ordered)), key=lambda index: index + rng.uniform(0, window))
    frames = []
    for index in keyed:
        frames.append(ordered[index])
        if rng.random() < duplicate_rate:
            frames.append(ordered[index])
    return pool, frames


class _App:
    def __init__(self, firmware, flow_count, sideline):
        self.firmware = firmware
        self.flows = [Resequencer(sideline, firmware.deliver) for _ in range(flow_count)]
        self.finished = False

    def skip_gaps(self, cycle, timeout):
        return sum(flow.skip_gap(cycle, timeout) for flow in self.flows)


def run(nic, *, seed, packets, backend="golden", receivers=8, sideline=8, gap_timeout=400,
        progress=None):
    pool, frames = reorder_traffic(seed, packets)
    firmware = Firmware(nic, memos=nic.queues * receivers + 8)
    scheduler = firmware.scheduler
    app = _App(firmware, len(pool), sideline)
    resets = [0]

    def on_done(queue, micc, value):
        if isinstance(value, Result) and value.error == ECONNRESET:
            resets[0] += 1
        elif isinstance(value, Result) and value.ok:
            _, frame = value.value
            number, sequence = frame_sequence(frame, _HEADER)
            app.flows[number].insert(sequence, frame, nic.cycle)

    supervise = Receivers(scheduler, nic, receive_one, receivers, on_done)

    for frame in frames:
        nic.offer(frame)
    scheduler.spawn(gap_sweeper, app, gap_timeout // 2, gap_timeout)

    def drops():
        return dict(pipeline_drops(nic.read_counters()),
                    duplicate=sum(flow.duplicates for flow in app.flows),
                    sideline_evicted=sum(flow.evicted for flow in app.flows),
                    late=sum(flow.late for flow in app.flows),
                    connection_reset=resets[0])

    def accounted():
        return len(firmware.delivered) + sum(drops().values()) == len(frames)

    firmware.cycle_limit = 20_000 + 1_000 * len(frames)
    firmware.run(accounted, every=supervise, progress=None if progress is None else
                 (lambda cycle: progress(len(firmware.delivered), len(frames))))
    app.finished = True
    firmware.shutdown()
    return firmware.result(NAME, backend, seed, offered=len(frames), dropped=drops(),
                           extra={"skipped": sum(flow.skipped for flow in app.flows),
                                  "out_of_order": out_of_order(firmware.delivered)})


def out_of_order(frames):
    """How many of ``frames`` (sequenced) came after a later frame of their flow."""
    last, count = {}, 0
    for frame in frames:
        number, sequence = frame_sequence(frame, _HEADER)
        count += sequence <= last.get(number, -1)
        last[number] = max(sequence, last.get(number, -1))
    return count
