"""The igc-style driver against the golden DMA engine: thousands of random frames of 60 to 9018
bytes checked byte for byte (TX with scatter-gather from misaligned buffers, RX across several
buffers, DMA chaining without the CPU touching the payload), rings wrapping many times, nothing
written outside what the driver gave, and conservation (offered == delivered + dropped by
reason) in every test. ``--slique-cycles N`` sets the number of frames per test."""

import asyncio
import random

import pytest

from slique.hdl.dma.descriptors import MAX_FRAME_BYTES
from slique.hdl.dma.registers import TxQueueError
from slique.sim.dma import (CpuTrace, DmaEngine, HostMemory, IgcDriver, ModelBackend,
                            RxOutcome, SyncDriver, run_sync)
from slique.sim.dma.scenarios import (chain_traffic, random_frame, rx_traffic, split_frame,
                                      tx_traffic)


def make(queues=1, ring=32, buffer=2048, trace=False, seed=0):
    memory = HostMemory(seed=seed)
    engine = DmaEngine(memory, queues=queues)
    backend = ModelBackend(engine)
    driver = IgcDriver(backend, CpuTrace(memory) if trace else memory, queues=queues,
                       tx_ring_size=ring, rx_ring_size=ring, rx_buffer_size=buffer,
                       misalign_tx=True, seed=seed)
    run_sync(driver.setup())
    return memory, engine, backend, driver


def frames_for(rng, count, low=60, high=9018):
    return [random_frame(rng, low, high) for _ in range(count)]


def check(report, replay, *, wraps=0):
    assert report.conserved, f"{report.summary()}\nreplay: {replay}"
    assert report.ok, f"{report.summary()} {report.mismatches[:5]}\nreplay: {replay}"
    assert report.wraps >= wraps, f"{report.summary()}\nreplay: {replay}"


def test_random_tx_frames_byte_for_byte(seed, replay, cycles):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(seed=seed)
    frames = frames_for(rng, cycles(1000))
    report = run_sync(tx_traffic(driver, backend, frames, rng=rng))
    check(report, replay, wraps=len(frames) // 32)
    assert report.delivered == len(frames) and not report.dropped
    assert report.counters["GOTCL"] == sum(map(len, frames))
    assert memory.writes_outside(driver.allowed_regions()) == []
    assert engine.totals["TPT"] == engine.totals["GPTC"] == len(frames)


@pytest.mark.parametrize("buffer", [1024, 2048, 4096])
def test_random_rx_frames_byte_for_byte(seed, replay, cycles, buffer):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(buffer=buffer, seed=seed)
    frames = frames_for(rng, cycles(600))
    report = run_sync(rx_traffic(driver, backend, frames, rss=True))
    check(report, replay, wraps=10)
    assert report.delivered == len(frames)
    assert report.counters["GORCL"] == sum(map(len, frames))
    assert memory.writes_outside(driver.allowed_regions()) == []


def test_chaining_hands_rx_buffers_to_tx_without_touching_payload(seed, replay, cycles):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(trace=True, seed=seed)
    frames = frames_for(rng, cycles(400))
    report = run_sync(chain_traffic(driver, backend, frames))
    check(report, replay, wraps=10)
    assert report.cpu_payload_accesses == 0
    assert memory.writes_outside(driver.allowed_regions()) == []
    # the check can fail: reading one received payload is seen
    mark = driver.memory.mark()
    run_sync(backend.receive(frames[0]))
    (frame,) = run_sync(driver.wait_rx(1))
    assert driver.frame_data(frame) == frames[0]
    assert driver.memory.touched(frame.buffers and [(a, a + n) for a, n in frame.buffers],
                                 since=mark)


def test_chaining_reuses_the_same_buffers(seed):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(ring=16, seed=seed)
    frame = random_frame(rng, 3000, 5000)
    engine.receive(frame)
    (received,) = run_sync(driver.clean_rx())
    rx_buffers = list(received.buffers)
    assert len(rx_buffers) >= 2
    run_sync(driver.disable_tx())                   # hold the descriptors in read format
    assert run_sync(driver.forward(received))
    ring = driver.tx[0]
    posted = [memory.read(ring.base + 16 * slot, 8) for slot in range(len(rx_buffers))]
    assert [int.from_bytes(raw, "little") for raw in posted] == [a for a, _ in rx_buffers]
    assert engine.pull_tx_frames() == []
    run_sync(backend.write32(driver.regs.TXDCTL(0), driver.regs.TXDCTL_ENABLE_MASK))
    assert [f.data for f in engine.pull_tx_frames()] == [frame]
    assert run_sync(driver.clean_tx()) == 1
    assert set(driver._rx_pool) >= {a for a, _ in rx_buffers}


def test_oversize_frames_are_dropped_and_counted(seed, replay):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(seed=seed)
    frames = frames_for(rng, 60, 60, 9018)
    for index in rng.sample(range(len(frames)), 7):
        frames[index] = random_frame(rng, MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES + 500)
    report = run_sync(rx_traffic(driver, backend, frames))
    check(report, replay)
    assert report.dropped == {"ROC": 7} and report.delivered == len(frames) - 7


def test_missed_frames_keep_conservation(seed, replay):
    """Frames offered faster than the driver cleans: the rest are missed (MPC), in order."""
    rng = random.Random(seed)
    memory, engine, backend, driver = make(ring=16, buffer=1024, seed=seed)
    frames = frames_for(rng, 200, 60, 3000)
    outcomes, received = [], []
    for index, frame in enumerate(frames):
        outcomes.append(engine.receive(frame))
        if index % 9 == 8:
            received += run_sync(driver.clean_rx())
    received += run_sync(driver.clean_rx())
    counters = run_sync(driver.read_counters())
    delivered = [frame for frame, outcome in zip(frames, outcomes)
                 if outcome == RxOutcome.DELIVERED]
    assert [driver.frame_data(frame) for frame in received] == delivered, replay
    assert counters["MPC"] > 0, replay
    assert len(frames) == len(received) + counters["MPC"], replay
    assert counters["TPR"] == len(frames) and counters["GPRC"] == len(received)


def test_several_queues_at_once(seed, replay, cycles):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(queues=4, ring=16, seed=seed)
    for queue in range(4):
        frames = frames_for(rng, cycles(100))
        check(run_sync(tx_traffic(driver, backend, frames, queue=queue, rng=rng)), replay)
        check(run_sync(rx_traffic(driver, backend, frames, queue=queue)), replay)
    assert memory.writes_outside(driver.allowed_regions()) == []


def test_scatter_gather_fragments(seed):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(ring=64, seed=seed)
    frame = random_frame(rng, 5000, 9018)
    for most in (1, 2, 7, 32):
        fragments = split_frame(rng, frame, most)
        assert b"".join(fragments) == frame and 1 <= len(fragments) <= most
        assert run_sync(driver.transmit(fragments))
        assert [f.data for f in engine.pull_tx_frames()] == [frame]
        assert run_sync(driver.clean_tx()) == 1
    with pytest.raises(ValueError):
        run_sync(driver.transmit([frame[:10], b""]))


def test_full_tx_ring_refuses_then_accepts_after_clean_up(seed):
    """A backend that holds TX descriptors: the ring fills, transmit says no, clean-up frees."""
    memory, engine, backend, driver = make(ring=8, seed=seed)
    run_sync(driver.disable_tx())                  # the engine stops taking descriptors
    ring = driver.tx[0]
    posted = 0
    while run_sync(driver.transmit([bytes(60)])):
        posted += 1
    assert posted == ring.count - 1                # igc keeps one slot free
    assert run_sync(driver.clean_tx()) == 0
    run_sync(driver.configure_tx_ring(0))
    assert run_sync(driver.transmit([bytes(60)]))
    assert run_sync(driver.clean_tx()) == 1


def test_wait_tx_idle_times_out_when_nothing_completes(seed):
    memory, engine, backend, driver = make(seed=seed)
    driver.poll_limit = 5
    run_sync(driver.disable_tx())
    assert run_sync(driver.transmit([bytes(64)]))
    with pytest.raises(TimeoutError, match="without DD"):
        run_sync(driver.wait_tx_idle())


def test_sync_driver_and_run_sync():
    memory = HostMemory()
    engine = DmaEngine(memory)
    driver = SyncDriver(IgcDriver(ModelBackend(engine), memory, tx_ring_size=8,
                                  rx_ring_size=8))
    driver.setup()
    assert driver.transmit([bytes(range(64))]) is True
    assert driver.clean_tx() == 1 and driver.queues == 1
    driver.poll_limit = 3
    assert driver.driver.poll_limit == 3

    async def suspends():
        await asyncio.sleep(0)

    with pytest.raises(RuntimeError, match="suspended"):
        run_sync(suspends())


def test_driver_refuses_bad_ring_sizes():
    memory = HostMemory()
    backend = ModelBackend(DmaEngine(memory))
    with pytest.raises(ValueError, match="multiple of 8"):
        IgcDriver(backend, memory, tx_ring_size=12)
    with pytest.raises(ValueError, match="multiple of 1024"):
        IgcDriver(backend, memory, rx_buffer_size=1500)


def test_interrupt_service_cleans_and_reports_errors(seed):
    rng = random.Random(seed)
    memory, engine, backend, driver = make(queues=2, ring=16, seed=seed)
    frames = frames_for(rng, 3, 60, 3000)
    for frame in frames:
        assert run_sync(driver.transmit([frame], queue=1))
        engine.receive(frame, 0)
    assert engine.irq
    service = run_sync(driver.service())
    assert service.tx_cleaned == {1: 3}
    assert [driver.frame_data(f) for f in service.rx_frames[0]] == frames
    assert not engine.irq and run_sync(driver.service()).tx_cleaned == {}
    run_sync(backend.write32(driver.regs.TDT(0), 16))          # tail beyond the ring
    service = run_sync(driver.service())
    assert service.tx_errors == {0: 1 << TxQueueError.TAIL} and engine.read32(driver.regs.TQERR(0)) == 0
    assert engine.totals["TPT"] == engine.totals["GPTC"] == 3
    assert engine.totals["TPR"] == engine.totals["GPRC"] == 3
