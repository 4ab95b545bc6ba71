"""Traffic scenarios of the DMA engine, written once over the driver and the backend protocol of
:mod:`slique.sim.dma.driver`, so the same scenario runs on the golden model (``run_sync``) and
on the gateware in cocotb (awaited), and checks the same things.

API
---
``random_frame(rng, low=60, high=9018) -> bytes`` and ``split_frame(rng, frame, most=4) ->
list[bytes]`` (random scatter-gather fragments).
``async tx_traffic(driver, backend, frames, *, queue=0, rng=None, most_fragments=4) ->
TrafficReport``: post every frame (split into fragments), reclaim, collect the TX stream,
compare byte for byte, in order.
``async rx_traffic(driver, backend, frames, *, queue=0, rss=False) -> TrafficReport``: offer
the frames in batches the ring can hold, collect them with the driver, compare byte for byte
(and the RSS hash written back when ``rss``: ``rss_hash_of(frame)``); frames longer than
``MAX_FRAME_BYTES`` are expected to be dropped (ROC), the others to arrive in order.
``async chain_traffic(driver, backend, frames, *, rx_queue=0, tx_queue=0) -> TrafficReport``:
DMA chaining: frames received are handed to TX without the CPU touching their payload (checked
when the driver's memory is a :class:`~slique.sim.dma.host_memory.CpuTrace`), and must leave
the TX stream unchanged.
``async echo_traffic(driver, backend, frames_by_queue, *, rng=None) -> list[TrafficReport]``:
queue by queue, receive that queue's frames on its RX ring (``rx_traffic``), then send the
frames the driver received back out through the same queue's TX ring (``tx_traffic``, copied
into fresh DMA buffers, scatter-gather); two reports per queue, RX then TX (what
``slique simulate --through-dma`` runs).
``TrafficReport``: ``direction``, ``queue``, ``offered``, ``delivered``, ``dropped``
(``Counter`` by reason: the counter names), ``mismatches`` (list of ``(index, what)``),
``counters`` (the counter deltas), ``wraps`` (times the ring wrapped),
``cpu_payload_accesses``, ``frames`` (RX: the frames received, as the CPU read them from
their buffers); ``conserved``
(``offered == delivered + sum(dropped)``) and ``ok`` (conserved, no mismatch, no CPU payload
access).
"""

import random
import zlib
from collections import Counter
from dataclasses import dataclass, field

from slique.hdl.dma.descriptors import MAX_FRAME_BYTES

from .host_memory import CpuTrace


__all__ = ["TrafficReport", "random_frame", "split_frame", "rss_hash_of", "tx_traffic",
           "rx_traffic", "chain_traffic", "echo_traffic", "TX_DROPS", "RX_DROPS"]

#: Drop reasons by direction: the counters that count dropped frames.
TX_DROPS = ("HTDPMC",)
RX_DROPS = ("MPC", "ROC", "RQDPC")


@dataclass
class TrafficReport:
    """What a scenario offered, what arrived, and what was dropped by reason."""
    direction: str
    offered: int = 0
    delivered: int = 0
    dropped: Counter = field(default_factory=Counter)
    mismatches: list = field(default_factory=list)
    counters: Counter = field(default_factory=Counter)
    wraps: int = 0
    cpu_payload_accesses: int = 0
    queue: int = 0
    frames: list = field(default_factory=list, repr=False)

    @property
    def conserved(self):
        return self.offered == self.delivered + sum(self.dropped.values())

    @property
    def ok(self):
        return self.conserved and not self.mismatches and not self.cpu_payload_accesses

    def summary(self):
        return (f"{self.direction}: offered {self.offered}, delivered {self.delivered}, dropped "
                f"{dict(self.dropped)}, {len(self.mismatches)} mismatch(es), ring wrapped "
                f"{self.wraps} time(s)")


def random_frame(rng, low=60, high=9018):
    """A frame of random bytes, its length uniform in ``[low, high]``."""
    return rng.randbytes(rng.randint(low, high))


def split_frame(rng, frame, most=4):
    """``frame`` cut into 1 to ``most`` non-empty fragments at random places."""
    pieces = rng.randint(1, min(most, len(frame)))
    cuts = sorted(rng.sample(range(1, len(frame)), pieces - 1))
    bounds = [0, *cuts, len(frame)]
    return [frame[start:end] for start, end in zip(bounds, bounds[1:])]


def rss_hash_of(frame):
    """The RSS hash the scenarios attach to a frame (a stand-in for the Toeplitz hash)."""
    return zlib.crc32(frame)


async def _counter_deltas(driver, before):
    totals = await driver.read_counters()
    return Counter({key: totals[key] - before.get(key, 0) for key in totals})


def _drops(counters, names, queues):
    dropped = Counter()
    for name in names:
        if name == "RQDPC":
            value = sum(counters.get(("RQDPC", queue), 0) for queue in queues)
        else:
            value = counters.get(name, 0)
        if value:
            dropped[name] = value
    return dropped


def _compare(report, expected, actual):
    if len(actual) != len(expected):
        report.mismatches.append((None, f"{len(actual)} frame(s) arrived, {len(expected)} "
                                        f"expected"))
    for index, (want, got) in enumerate(zip(expected, actual)):
        if want != got:
            report.mismatches.append((index, f"{len(got)} bytes differ from the {len(want)} "
                                             f"offered"))


async def _collect_tx(driver, backend, count, sink):
    """Collect TX frames until ``count`` are in ``sink`` (polling, bounded)."""
    for _ in range(driver.poll_limit):
        sink += await backend.transmitted()
        if len(sink) >= count:
            return
        await backend.wait(driver.poll_cycles)


async def _post(driver, backend, post, queue, sink):
    """Run ``post()`` until it succeeds, reclaiming TX descriptors between tries."""
    for _ in range(driver.poll_limit):
        if await post():
            return
        await driver.clean_tx(queue)
        sink += await backend.transmitted()
        await backend.wait(driver.poll_cycles)
    raise TimeoutError(f"TX queue {queue}: no room in the ring after {driver.poll_limit} polls")


async def tx_traffic(driver, backend, frames, *, queue=0, rng=None, most_fragments=4):
    """Send ``frames`` through TX ``queue`` (see the module documentation)."""
    rng = rng or random.Random(0)
    before = Counter(await driver.read_counters())
    report = TrafficReport("tx", offered=len(frames), queue=queue)
    ring = driver.tx[queue]
    used = 0
    sent = []
    for frame in frames:
        fragments = split_frame(rng, frame, most_fragments)
        used += len(fragments)
        await _post(driver, backend, lambda: driver.transmit(fragments, queue), queue, sent)
    await driver.wait_tx_idle(queue)
    await _collect_tx(driver, backend, len(frames), sent)
    report.wraps = used // ring.count
    good = [frame.data for frame in sent]
    report.delivered = len(good)
    _compare(report, frames, good)
    report.counters = await _counter_deltas(driver, before)
    report.dropped = _drops(report.counters, TX_DROPS, [queue])
    if report.counters.get("GPTC", 0) != report.delivered:
        report.mismatches.append((None, f"GPTC counted {report.counters.get('GPTC', 0)}, "
                                        f"{report.delivered} good frame(s) left"))
    return report


async def _receive_batches(driver, backend, frames, queue, rss, report, before, on_frames):
    """Offer ``frames`` in batches the RX ring holds; hand each batch's arrivals to
    ``on_frames`` (until offered == arrived + dropped for the batch)."""
    ring = driver.rx[queue]
    per_frame = -(-min(MAX_FRAME_BYTES, max(map(len, frames), default=1))
                  // driver.rx_buffer_size)
    batch = max(1, (ring.count - 1) // per_frame)
    arrived = 0
    for start in range(0, len(frames), batch):
        chunk = frames[start:start + batch]
        for frame in chunk:
            await backend.receive(frame, queue, rss_hash_of(frame) if rss else 0, 0)
        target = start + len(chunk)
        for _ in range(driver.poll_limit):
            got = await driver.clean_rx(queue)
            arrived += len(got)
            await on_frames(got)
            counters = await _counter_deltas(driver, before)
            if arrived + sum(_drops(counters, RX_DROPS, [queue]).values()) >= target:
                break
            await backend.wait(driver.poll_cycles)
        else:
            raise TimeoutError(f"RX queue {queue}: {arrived} of {target} frame(s) after "
                               f"{driver.poll_limit} polls")
    report.counters = await _counter_deltas(driver, before)
    report.dropped = _drops(report.counters, RX_DROPS, [queue])
    if report.counters.get("GPRC", 0) != arrived:
        report.mismatches.append((None, f"GPRC counted {report.counters.get('GPRC', 0)}, "
                                        f"{arrived} frame(s) arrived"))
    return arrived


async def rx_traffic(driver, backend, frames, *, queue=0, rss=False):
    """Receive ``frames`` on RX ``queue`` (see the module documentation)."""
    before = Counter(await driver.read_counters())
    report = TrafficReport("rx", offered=len(frames), queue=queue)
    received, descriptors = report.frames, [0]

    async def keep(got):
        for frame in got:
            data = driver.frame_data(frame)
            received.append(data)
            descriptors[0] += len(frame.buffers)
            if rss and frame.rss_hash != rss_hash_of(data):
                report.mismatches.append((len(received) - 1, "RSS hash differs"))
            driver.recycle(frame)

    report.delivered = await _receive_batches(driver, backend, frames, queue, rss, report,
                                              before, keep)
    report.wraps = descriptors[0] // driver.rx[queue].count
    _compare(report, [frame for frame in frames if len(frame) <= MAX_FRAME_BYTES], received)
    return report


async def chain_traffic(driver, backend, frames, *, rx_queue=0, tx_queue=0):
    """Receive ``frames`` and forward them to TX without touching their payload."""
    before = Counter(await driver.read_counters())
    report = TrafficReport("chain", offered=len(frames))
    trace = driver.memory if isinstance(driver.memory, CpuTrace) else None
    mark = trace.mark() if trace is not None else None
    sent, payload = [], []
    descriptors = [0]

    async def forward(got):
        for frame in got:
            payload.extend((address, address + length) for address, length in frame.buffers)
            descriptors[0] += len(frame.buffers)
            await _post(driver, backend, lambda: driver.forward(frame, tx_queue), tx_queue,
                        sent)

    arrived = await _receive_batches(driver, backend, frames, rx_queue, False, report, before,
                                     forward)
    await driver.wait_tx_idle(tx_queue)
    await _collect_tx(driver, backend, arrived, sent)
    good = [frame.data for frame in sent]
    report.delivered = len(good)
    _compare(report, [frame for frame in frames if len(frame) <= MAX_FRAME_BYTES], good)
    counters = await _counter_deltas(driver, before)
    report.counters = counters
    report.dropped = _drops(counters, RX_DROPS, [rx_queue]) + _drops(counters, TX_DROPS,
                                                                      [tx_queue])
    if trace is not None:
        report.cpu_payload_accesses = len(trace.touched(payload, since=mark))
    report.wraps = descriptors[0] // driver.rx[rx_queue].count
    return report


async def echo_traffic(driver, backend, frames_by_queue, *, rng=None):
    """Each queue's frames in through its RX ring, then back out through its TX ring (see the
    module documentation)."""
    rng = rng or random.Random(0)
    reports = []
    for queue, frames in enumerate(frames_by_queue):
        received = await rx_traffic(driver, backend, frames, queue=queue)
        sent = await tx_traffic(driver, backend, received.frames, queue=queue, rng=rng)
        reports += [received, sent]
    return reports
