"""``echo``: receive on every queue and send each frame back out of the queue it came in on.

Traffic: ``packets`` frames of a few TCP and UDP flows, random lengths, offered back to back on
the RX wire, with TCP RSTs (their receive completes with ``ECONNRESET``: not echoed) and
truncated frames (dropped by the parser) among them. Firmware: ``receivers`` re-routines per
queue, each posts an RX buffer, waits for its frame, swaps the MAC addresses and transmits it,
retrying after a short sleep while the TX ring is full (``EAGAIN``). Delivered: the frames on
the TX wire.
"""

from slique.firmware.block_device import EIO
from slique.firmware.errors import EAGAIN, ECONNRESET, Result
from slique.firmware.reroutine import reroutine

from .common import Firmware, Receivers, flows, pipeline_drops, seeded, tcp_reset_frame


__all__ = ["NAME", "SUMMARY", "run", "echo_one", "swap_macs"]

NAME = "echo"
SUMMARY = "an echo loop: every frame received is sent back out of its queue"

#: TX attempts before a frame is given up (``tx_ring_full``), and the sleep between them.
TX_ATTEMPTS = 8
TX_BACKOFF = 16


def swap_macs(frame):
    """``frame`` with its destination and source MAC addresses exchanged."""
    return frame[6:12] + frame[0:6] + frame[12:]


@reroutine
def echo_one(rr, nic, queue):
    """Receive one frame on ``queue`` and send it back; answers the TX result."""
    received = rr.wait(nic.post_rx, queue)
    if received.error:
        return received                       # ECONNRESET: a RST is not echoed
    _, frame = received.value
    reply = swap_macs(frame)
    for _ in range(TX_ATTEMPTS):
        sent = rr.step(nic.transmit, queue, reply)
        if sent.error != EAGAIN:
            return sent
        rr.sleep(TX_BACKOFF)
    return sent


def echo_traffic(seed, packets):
    """The frames offered, seeded: mostly frames of 6 flows, some RSTs, some truncated."""
    rng = seeded(seed, "echo")
    pool = flows(rng, 3, transport="tcp") + flows(rng, 3, transport="udp")
    frames = []
    for _ in range(packets):
        flow = rng.choice(pool)
        chance = rng.random()
        if chance < 0.04 and flow.transport == "tcp":
            frames.append(tcp_reset_frame(flow))
        elif chance < 0.08:
            frames.append(flow.frame(rng.randbytes(8))[:rng.randrange(14, 30)])
        else:
            frames.append(flow.frame(rng.randbytes(rng.randrange(0, 160))))
    return frames


def run(nic, *, seed, packets, backend="golden", receivers=8, progress=None):
    """Run the echo loop on ``nic`` over ``packets`` frames; an :class:`AppResult`."""
    firmware = Firmware(nic, memos=nic.queues * receivers + 8)
    scheduler = firmware.scheduler
    drops = {"connection_reset": 0, "tx_ring_full": 0, "tx_error": 0}

    def on_done(queue, micc, value):
        if isinstance(value, Result) and value.error == ECONNRESET:
            drops["connection_reset"] += 1
        elif isinstance(value, Result) and value.error == EAGAIN:
            drops["tx_ring_full"] += 1
        elif isinstance(value, Result) and value.error == EIO:
            drops["tx_error"] += 1            # the DMA did not send the frame

    supervise = Receivers(scheduler, nic, echo_one, receivers, on_done)
    offered = echo_traffic(seed, packets)
    for frame in offered:
        nic.offer(frame)

    def accounted():
        for _, frame in nic.take_transmitted():
            firmware.deliver(frame)
        dropped = sum(pipeline_drops(nic.read_counters()).values()) + sum(drops.values())
        return len(firmware.delivered) + dropped == len(offered) and nic.idle_tx

    firmware.cycle_limit = 20_000 + 1_000 * len(offered)
    firmware.run(accounted, every=supervise,
                 progress=None if progress is None else
                 (lambda cycle: progress(len(firmware.delivered), len(offered))))
    firmware.shutdown()
    dropped = dict(pipeline_drops(nic.read_counters()), **drops)
    return firmware.result(NAME, backend, seed, offered=len(offered), dropped=dropped)
