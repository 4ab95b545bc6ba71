"""What every application shares: the firmware loop on a NIC, traffic, and the summary.

An application is a module with ``NAME``, ``SUMMARY`` and ``run(nic, *, seed, packets,
progress=None) -> AppResult``; it builds its traffic from the seed, runs its re-routines on the
NIC through :class:`Firmware` and accounts for every packet it offered:
``offered == delivered + sum(dropped.values())``.
"""

import hashlib
import random
import struct
from dataclasses import asdict, dataclass, field

from slique.sim.packets import Flow, ethernet, ipv4, tcp

from ..errors import errno_name
from ..reroutine import Scheduler


__all__ = ["AppResult", "Firmware", "Receivers", "flows", "tcp_reset_frame", "sequenced_frame",
           "frame_sequence", "pipeline_drops", "LoopStalled"]


class LoopStalled(RuntimeError):
    """The firmware loop ran its cycle limit without finishing (a hang, reported as such)."""


@dataclass
class AppResult:
    """The summary of one run; :meth:`as_json` is the ``slique run --json`` document."""
    app: str
    backend: str
    seed: int
    offered: int
    delivered: int
    dropped: dict
    errors: dict
    memo_high_water: int
    reruns: int
    digest: str
    routines: int = 0
    cycles: int = 0
    extra: dict = field(default_factory=dict)

    def as_json(self):
        keys = ("app", "backend", "seed", "offered", "delivered", "dropped", "errors",
                "memo_high_water", "reruns", "digest")
        document = asdict(self)
        return {key: document[key] for key in keys}

    def check(self):
        """Raise unless every packet offered is delivered or dropped for a reason."""
        dropped = sum(self.dropped.values())
        if self.offered != self.delivered + dropped:
            raise AssertionError(f"{self.app}: offered {self.offered} != delivered "
                                 f"{self.delivered} + dropped {dropped} ({self.dropped})")


class Firmware:
    """A :class:`~slique.firmware.reroutine.Scheduler` on a NIC, the loop that drives them, the
    delivered data and the trace records (the NIC's and the scheduler's).

    Parameters
    ----------
    nic : NICOps
    memos, steps, timeout
        As for :class:`~slique.firmware.reroutine.Scheduler`.

    Attributes
    ----------
    devices : list
        Other devices on the NIC's clock (``poll(cycle) -> completions``), e.g. a
        :class:`~slique.firmware.block_device.BlockDevice`.
    """

    def __init__(self, nic, *, memos=64, steps=64, timeout=4000):
        self.nic = nic
        self.scheduler = Scheduler(memos=memos, steps=steps, timeout=timeout)
        self.scheduler.now = nic.cycle      # deadlines and sleeps from the NIC's clock
        self.records = []
        self.delivered = []
        self.devices = []
        #: Cycles :meth:`run` allows before it declares a hang (applications size it).
        self.cycle_limit = 1_000_000

    def deliver(self, data):
        """The application hands ``data`` (bytes) to its sink."""
        self.delivered.append(bytes(data))

    def run(self, done, *, every=None, limit=None, progress=None):
        """Run cycles until ``done()``; ``every(cycle)`` runs before each cycle (traffic,
        supervisors); ``progress(cycle)`` now and then. Raises :class:`LoopStalled` after
        ``limit`` cycles (default :attr:`cycle_limit`)."""
        limit = self.cycle_limit if limit is None else limit
        nic, scheduler = self.nic, self.scheduler
        scheduler.run_ready()
        start = nic.cycle
        while not done():
            if every is not None:
                every(nic.cycle)
                scheduler.run_ready()
            cycle, completions = nic.step()
            for device in self.devices:
                completions = [*completions, *device.poll(cycle)]
            scheduler.tick(cycle, completions)
            self.records.extend(nic.read_trace())
            if progress is not None and cycle % 256 == 0:
                progress(cycle)
            if cycle - start > limit:
                raise LoopStalled(f"not done after {limit} cycles: scheduler "
                                  f"{scheduler.stats}, NIC idle {nic.idle}")
        self.records.extend(nic.read_trace())

    def shutdown(self):
        """Cancel every routine still waiting (ECANCELED) and check that every memo came back
        to the freelist."""
        scheduler = self.scheduler
        while scheduler.cancel_all():
            pass
        scheduler.memo.check()
        if scheduler.memo.in_use:
            raise AssertionError(f"{scheduler.memo.in_use} memos still in use after shutdown")

    def digest(self):
        """SHA-256 of the delivered data and of every trace record without its cycle."""
        sha = hashlib.sha256()
        for data in self.delivered:
            sha.update(struct.pack(">I", len(data)))
            sha.update(data)
        for record in [*self.records, *self.scheduler.trace]:
            sha.update(repr(untimed(record)).encode())
        return sha.hexdigest()

    def result(self, app, backend, seed, *, offered, dropped, delivered=None, extra=None):
        scheduler = self.scheduler
        result = AppResult(
            app=app, backend=backend, seed=seed, offered=offered,
            delivered=len(self.delivered) if delivered is None else delivered,
            dropped={name: count for name, count in sorted(dropped.items()) if count},
            errors={name: count for name, count in sorted(scheduler.errors.items())},
            memo_high_water=scheduler.memo.high_water, reruns=scheduler.reruns,
            digest=self.digest(), routines=scheduler.finished, cycles=self.nic.cycle,
            extra=extra or {})
        return result


class Receivers:
    """Keeps ``count`` routines ``routine(rr, nic, queue, *args)`` alive on every queue (each
    takes one frame); ``on_done(queue, micc, value)`` hears each one's end. Call it before every
    cycle (``Firmware.run(every=...)``)."""

    def __init__(self, scheduler, nic, routine, count, on_done, *args):
        self.scheduler = scheduler
        self.nic = nic
        self.routine = routine
        self.count = count
        self.args = args
        self.alive = [0] * nic.queues

        def ended(queue):
            def done(micc, value):
                self.alive[queue] -= 1
                on_done(queue, micc, value)
            return done

        self._callbacks = [ended(queue) for queue in range(nic.queues)]

    def __call__(self, cycle=None):
        for queue in range(self.nic.queues):
            while self.alive[queue] < self.count:
                if self.scheduler.spawn(self.routine, self.nic, queue, *self.args,
                                        on_done=self._callbacks[queue]) < 0:
                    return                   # ENOMEM: try again next cycle
                self.alive[queue] += 1


def untimed(record):
    """A trace record ``(cycle, block, reason, queue, tag)`` without its cycle, as plain ints."""
    return tuple(int(getattr(item, "value", item)) for item in record[1:])


def pipeline_drops(counters):
    """The receive pipeline's drops by reason, from :meth:`NICOps.read_counters`, and the
    frames the DMA missed (``dma_missed``: no free RX descriptor) when the NIC counts them."""
    drops = {"dma_missed": counters.get("dma_missed", 0)}
    for name, value in counters.items():
        for prefix in ("demux_dropped_", "admission_dropped_"):
            if name.startswith(prefix):
                reason = name[len(prefix):]
                drops[reason] = drops.get(reason, 0) + (sum(value) if isinstance(value, list)
                                                        else value)
    return drops


def flows(rng, count, *, transport="tcp", version=4):
    """``count`` distinct flows (TCP or UDP over IPv4 or IPv6), seeded."""
    size = 4 if version == 4 else 16
    return [Flow(version, transport, rng.randbytes(size), rng.randbytes(size),
                 rng.randrange(1024, 65536), rng.randrange(1, 1024)) for _ in range(count)]


def tcp_reset_frame(flow):
    """A TCP RST (with ACK) of an IPv4 ``flow``."""
    segment = tcp(flow.src_port, flow.dst_port, flags=0x14)
    return ethernet(0x0800, ipv4(flow.src, flow.dst, 6, segment))


#: Sequenced payloads: a 4-byte flow number and a 4-byte sequence number, then filler.
_SEQUENCE = struct.Struct(">II")


def sequenced_frame(flow, number, sequence, length, rng=None):
    """A frame of ``flow`` whose payload starts with ``(number, sequence)``."""
    filler = (rng.randbytes(length) if rng is not None else bytes(length))
    return flow.frame(_SEQUENCE.pack(number, sequence) + filler)


def frame_sequence(frame, flow_header):
    """``(flow number, sequence)`` of a :func:`sequenced_frame` whose headers are
    ``flow_header`` bytes long."""
    return _SEQUENCE.unpack_from(frame, flow_header)


def seeded(seed, salt):
    """A :class:`random.Random` for one part of a run."""
    return random.Random(f"{seed}:{salt}")
