"""``sendfile``: a DMA chain from a simulated block device to the network.

Each file is a run of blocks on a :class:`~slique.firmware.block_device.BlockDevice`, sent to its
own flow on its own queue. A re-routine sends one segment of a file: for each block, read it
(the disk DMA) and hand the same buffer to the NIC's TX (the network DMA) with the flow's
headers in front, retrying while the TX ring is full; at its end it spawns the next segment, so
that a file's frames leave in block order and a routine's memo stays short. A bad block
(``EIO``) or a read that the sweeper expired (``ETIMEDOUT``; its late answer is traced) is
skipped and counted. Offered: the blocks of every file; delivered: the frames on the TX wire.
"""

from slique.firmware.block_device import EIO, BlockDevice
from slique.firmware.errors import EAGAIN, ENOMEM, ETIMEDOUT, Result
from slique.firmware.reroutine import reroutine

from .common import Firmware, flows, seeded


__all__ = ["NAME", "SUMMARY", "run", "send_segment"]

NAME = "sendfile"
SUMMARY = "files from a simulated block device to the network, one DMA chain per file"

#: Blocks one routine sends before it hands over to the next segment's routine.
SEGMENT = 8
TX_ATTEMPTS = 8
TX_BACKOFF = 16

#: Attempts to start the next segment while the memo table is full (``ENOMEM``).
SPAWN_ATTEMPTS = 16

_DROP_OF = {EIO: "read_error", ETIMEDOUT: "read_timeout", EAGAIN: "tx_ring_full",
            ENOMEM: "no_memo"}


@reroutine
def send_segment(rr, nic, disk, flow, queue, first, end, tally):
    """Send blocks ``first`` up to ``end`` of a file on ``queue``, then spawn the next segment.

    Answers ``Result(sent)``, or the first error met (the other blocks are still sent);
    ``tally(reason)`` is told of every block skipped, once, when the routine ends."""
    last = min(first + SEGMENT, end)
    skipped = []
    for block in range(first, last):
        read = rr.step(disk.read, block)
        if read.error:
            skipped.append(read.error)
            continue
        frame = flow.frame(read.value)              # the disk's buffer behind the headers
        for _ in range(TX_ATTEMPTS):
            sent = rr.step(nic.transmit, queue, frame)
            if sent.error != EAGAIN:
                break
            rr.sleep(TX_BACKOFF)
        if sent.error == EAGAIN:
            skipped.append(EAGAIN)
    if last < end:
        for _ in range(SPAWN_ATTEMPTS):         # the next segment needs a memo: wait for one
            started = rr.spawn(send_segment, nic, disk, flow, queue, last, end, tally)
            if started.ok:
                break
            rr.sleep(TX_BACKOFF)
        else:
            skipped.extend([ENOMEM] * (end - last))     # the rest of the file is given up
    for error in skipped:
        tally(_DROP_OF[error])
    return Result(last - first - len(skipped), skipped[0] if skipped else 0)


def run(nic, *, seed, packets, backend="golden", files=None, progress=None):
    """Send ``packets`` blocks in ``files`` files (default: one per queue, at most 8)."""
    rng = seeded(seed, "sendfile")
    files = files or min(8, max(1, nic.queues))
    disk = BlockDevice(seed, blocks=packets, latency=(20, 160), bad_rate=0.02,
                       slow_rate=0.01, slow_latency=1500)
    disk.cycle = nic.cycle                  # on the NIC's clock from the first read
    firmware = Firmware(nic, memos=4 * files + 8, timeout=800)
    firmware.devices.append(disk)
    scheduler = firmware.scheduler
    drops = {"read_error": 0, "read_timeout": 0, "tx_ring_full": 0, "no_memo": 0}

    def tally(reason):
        drops[reason] += 1

    pool = flows(rng, files)
    bounds = [packets * index // files for index in range(files + 1)]
    for index, flow in enumerate(pool):
        if bounds[index] < bounds[index + 1]:
            scheduler.spawn(send_segment, nic, disk, flow, index % nic.queues, bounds[index],
                            bounds[index + 1], tally)

    def accounted():
        for _, frame in nic.take_transmitted():
            firmware.deliver(frame)
        return (len(firmware.delivered) + sum(drops.values()) == packets and scheduler.idle
                and disk.idle and nic.idle_tx)

    firmware.cycle_limit = 20_000 + 1_000 * packets
    firmware.run(accounted, progress=None if progress is None else
                 (lambda cycle: progress(len(firmware.delivered), packets)))
    firmware.shutdown()
    return firmware.result(NAME, backend, seed, offered=packets, dropped=drops)
