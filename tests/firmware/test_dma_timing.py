"""DmaTiming (GoldenNIC's model of the gateware DMA engine's bus timing): every frame is
accounted for, in order per queue, one bus command at a time. That it matches the gateware cycle
for cycle is checked against Verilator in test_cocotb_nic.py (bus commands and events)."""

import random

import pytest

from slique.firmware.dma_timing import MAX_BEATS, DmaTiming


def _run(seed, data_width, *, rx_frames=40, tx_frames=30, rx_ring=24, queues=4):
    rng = random.Random(seed)
    timing = DmaTiming(queues=queues, data_width=data_width, tx_count=24, rx_count=rx_ring,
                       trace=True)
    for queue in range(queues):
        timing.rx_tail(queue, rx_ring - 1)
        timing.rx_prefetched(queue, rx_ring - 1, rx_ring - 1)
    arrivals = sorted((rng.randrange(2000), rng.randrange(queues), rng.randrange(14, 1515))
                      for _ in range(rx_frames))
    posts = sorted((rng.randrange(2000), rng.randrange(queues), rng.randrange(14, 1515))
                   for _ in range(tx_frames))
    tails = [0] * queues
    events = []
    offered = {"rx": [[] for _ in range(queues)], "tx": [[] for _ in range(queues)]}
    cycle = 0
    while arrivals or posts or timing.busy:
        while arrivals and arrivals[0][0] <= cycle:
            _, queue, length = arrivals.pop(0)
            token = (length, len(offered["rx"][queue]))
            offered["rx"][queue].append(token)
            timing.rx_frame(queue, length, token)
        while posts and posts[0][0] <= cycle:
            _, queue, length = posts.pop(0)
            tails[queue] = (tails[queue] + 1) % 24
            token = (length, len(offered["tx"][queue]))
            offered["tx"][queue].append(token)
            timing.tx_tail(queue, tails[queue], [(length, token)])
        events += [(cycle, *event) for event in timing.step()]
        cycle += 1
        assert cycle < 100_000, "the DMA timing never went idle"
    return timing, events, offered


@pytest.mark.parametrize("data_width", [32, 64])
def test_every_frame_once_in_order_and_one_command_at_a_time(seed, replay, data_width):
    timing, events, offered = _run(seed, data_width)
    where = f"seed {seed}; replay: {replay}"
    lanes = data_width // 8
    for queue in range(timing.queues):
        received = [token for _, kind, q, token in events if q == queue and kind == "rx"]
        sent = [token for _, kind, q, token in events if q == queue and kind == "tx"]
        assert received == offered["rx"][queue], where          # a ring of 23 never fills here
        assert sent == offered["tx"][queue], where
    # offered == delivered + dropped (nothing is missed while the rings have room)
    assert len(events) == sum(len(tokens) for kind in offered.values() for tokens in kind)
    # the bus: a command of n beats holds it n + 1 cycles; bursts of at most MAX_BEATS
    commands = timing.commands
    for (fired, _, _, beats), (next_fired, _, _, _) in zip(commands, commands[1:]):
        assert 1 <= beats <= MAX_BEATS and next_fired >= fired + beats + 1, where
    # the wire: one frame at a time, a beat a cycle
    sends = [(cycle, token) for cycle, kind, _, token in events if kind == "tx"]
    for (_, _), (cycle, token) in zip(sends, sends[1:]):
        beats = -(-token[0] // lanes)
        assert cycle - beats >= max(previous for previous, _ in sends
                                    if previous < cycle), where


def test_a_full_ring_misses_frames(seed, replay):
    """With one free descriptor per RX ring and none given back, every frame after the first
    of a queue is missed (the gateware drops it, i225's MPC) and drained."""
    timing, events, offered = _run(seed, 64, rx_frames=30, tx_frames=0, rx_ring=2)
    where = f"seed {seed}; replay: {replay}"
    for queue in range(timing.queues):
        kinds = [kind for _, kind, q, _ in events if q == queue]
        assert kinds == ["rx"] + ["missed"] * (len(offered["rx"][queue]) - 1) or \
            kinds == [] == offered["rx"][queue], where
    assert not timing.busy
