"""Seeded traffic: replayable, held beats, draining consumers, duty cycles."""

import random

import pytest

from slique.sim.traffic import PATTERNS, Consumer, OnOff, Producer, make_traffic


ALL_PATTERNS = ["random", *PATTERNS]


def _trace(seed, pattern, *, width=16, cycles=400):
    """``(valid, payload, ready)`` per cycle of a producer/consumer pair talking directly."""
    producer, consumer = make_traffic(seed, width, pattern)
    trace = []
    for _ in range(cycles):
        valid, payload = producer.drive()
        ready = consumer.drive()
        trace.append((valid, payload, ready))
        producer.advance(valid and ready)
    return trace


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
def test_same_seed_same_traffic(pattern, seed):
    first = _trace(seed, pattern)
    assert first == _trace(seed, pattern)
    assert any(valid for valid, _, _ in first) and any(ready for _, _, ready in first)
    assert all(0 <= payload < 1 << 16 for _, payload, _ in first)


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
def test_different_seeds_differ(pattern, seed):
    assert _trace(seed, pattern) != _trace(seed + 1, pattern)


def test_random_pattern_draws_settings_from_the_seed(seed):
    """``random`` varies its duty cycles with the seed: the fraction of valid cycles differs."""
    fractions = {round(sum(valid for valid, _, _ in _trace(seed + offset, "random", cycles=2000))
                       / 2000, 1) for offset in range(8)}
    assert len(fractions) > 1


def test_unknown_pattern_lists_the_choices():
    with pytest.raises(ValueError, match="'trickle'") as error:
        make_traffic(1, 8, "trickle")
    for choice in ALL_PATTERNS:
        assert choice in str(error.value)


def test_producer_holds_its_beat_until_taken(seed):
    producer = Producer(random.Random(seed), 12, duty=0.5)
    while not producer.drive()[0]:
        producer.advance(False)
    held = producer.drive()
    for _ in range(200):  # not taken: the same beat, cycle after cycle
        producer.advance(False)
        assert producer.drive() == held
    payloads = set()
    for _ in range(200):  # taken every cycle: fresh beats
        valid, payload = producer.drive()
        if valid:
            payloads.add(payload)
        producer.advance(True)
    assert len(payloads) > 50


def test_stopped_producer_keeps_its_beat_then_offers_nothing(seed):
    producer = Producer(random.Random(seed), 8, duty=1.0)
    held = producer.drive()
    assert held[0] == 1
    producer.stop()
    producer.advance(False)
    assert producer.drive() == held  # still offered until taken
    producer.advance(True)
    for _ in range(100):
        assert producer.drive()[0] == 0
        producer.advance(False)


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
def test_consumer_drain_is_always_ready(pattern, seed):
    _, consumer = make_traffic(seed, 8, pattern)
    for _ in range(50):
        consumer.drive()
    consumer.drain()
    assert all(consumer.drive() == 1 for _ in range(2000))


def test_slow_consumer_is_not_always_ready(seed):
    """The control for the drain test: before draining, a slow consumer does stall."""
    consumer = Consumer(random.Random(seed), duty=0.3)
    readies = [consumer.drive() for _ in range(200)]
    assert 0 in readies and 1 in readies


@pytest.mark.parametrize("settings, expected, tolerance", [
    (dict(duty=0.3), 0.3, 0.02),
    (dict(duty=0.9), 0.9, 0.02),
    (dict(duty=1.0, burst=24, idle=40), 24 / 64, 0.05),    # on a fraction burst / (burst + idle)
    (dict(duty=0.5, burst=8, idle=16), 0.5 * 8 / 24, 0.05),
])
def test_on_off_duty_over_many_cycles(settings, expected, tolerance, seed):
    pattern = OnOff(random.Random(seed), **settings)
    cycles = 50000
    fraction = sum(pattern.active() for _ in range(cycles)) / cycles
    assert fraction == pytest.approx(expected, abs=tolerance)


def test_on_off_bursts_come_in_runs(seed):
    """With bursts, active cycles cluster: far fewer on/off switches than an i.i.d. pattern."""
    def switches(pattern, cycles=20000):
        states = [pattern.active() for _ in range(cycles)]
        return sum(a != b for a, b in zip(states, states[1:]))

    bursty = switches(OnOff(random.Random(seed), duty=1.0, burst=24, idle=40))
    smooth = switches(OnOff(random.Random(seed), duty=24 / 64))
    assert bursty * 5 < smooth
