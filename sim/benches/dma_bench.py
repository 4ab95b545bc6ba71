"""cocotb bench of the DMA engine: the igc-style driver on the gateware, checked against the
golden model transaction by transaction.

The DUT is :class:`slique.hdl.dma.engine.DmaEngine`. The bench drives it as a system would:

- :class:`HostBus` answers the engine's Wishbone master from a
  :class:`~slique.sim.dma.host_memory.HostMemory` (random wait states and stalls from the
  memory's profile, bus errors on its error ranges), one request per cycle at most, answers in
  order; it logs every descriptor write (to rebuild the write-backs) and counts bus beats;
- the TX stream is collected into frames (with optional back-pressure), the RX stream is fed
  frames (paced so that the host bus keeps up);
- :class:`CocotbBackend` is the backend protocol of :mod:`slique.sim.dma.driver` on these, so
  :class:`~slique.sim.dma.driver.IgcDriver` and the scenarios of
  :mod:`slique.sim.dma.scenarios` run unchanged.

Each traffic scenario is run twice from the same seed: on the gateware, and on the golden
:class:`slique.sim.dma.engine.DmaEngine` (synchronously). The two must agree on the frames
delivered (byte for byte, in order), on the descriptor write-backs (slot by slot, in ring order,
all 16 bytes), and on every counter. Parameters arrive as JSON in ``$SLIQUE_BENCH`` (see
:func:`bench_parameters`); the report goes to ``$SLIQUE_REPORT``.
"""

import json
import os
import random
from collections import Counter, deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from slique.hdl.dma.descriptors import DESCRIPTOR_BYTES
from slique.sim.dma.driver import IgcDriver, ModelBackend, run_sync
from slique.sim.dma.engine import DmaEngine as GoldenEngine, TxFrame
from slique.sim.dma.host_memory import HostMemory
from slique.sim.dma import scenarios
from slique.sim.lockstep import replay_hint
from slique.sim.packet import pack_struct, unpack_struct

from .slique_bench import _write_report
from .wishbone import WishboneDriver


__all__ = ["bench_parameters", "gateware", "HostBus", "CocotbBackend", "WriteBackLog"]


def bench_parameters(*, scenario="tx", data_width=64, queues=1, seed=1, frames=40,
                     low=60, high=2000, memory="zero-wait", most_fragments=4,
                     misalign_tx=True, tx_ring_size=64, rx_ring_size=64, rx_buffer_size=2048,
                     tx_backpressure=0.0, rx_pace=None, replay=""):
    """The JSON-able parameters of a run. ``scenario``: ``"tx"``, ``"rx"``, ``"chain"``,
    ``"bad-inputs"``, ``"throughput-tx"`` or ``"throughput-rx"``."""
    if rx_pace is None:
        rx_pace = 0.5 if memory == "zero-wait" else 3.0
    return dict(scenario=scenario, data_width=data_width, queues=queues, seed=seed,
                frames=frames, low=low, high=high, memory=memory,
                most_fragments=most_fragments, misalign_tx=misalign_tx,
                tx_ring_size=tx_ring_size, rx_ring_size=rx_ring_size,
                rx_buffer_size=rx_buffer_size, tx_backpressure=tx_backpressure,
                rx_pace=rx_pace, replay=replay)


def gateware(parameters):
    """The :class:`slique.hdl.dma.engine.DmaEngine` the parameters describe."""
    from slique.hdl.dma.engine import DmaEngine
    return DmaEngine(queues=parameters["queues"], data_width=parameters["data_width"])


class WriteBackLog:
    """Descriptor writes into the rings, as ``(ring, slot, 16 bytes)`` in the order they were
    completed: a slot is logged once all 16 of its bytes have been written (by one write of the
    golden model or by the gateware's beats)."""

    def __init__(self):
        self.rings = {}          # name -> (base, bytes)
        self.entries = []
        self._partial = {}

    def watch(self, name, base, length):
        self.rings[name] = (base, length)

    def write(self, address, data):
        for name, (base, length) in self.rings.items():
            if base <= address < base + length:
                for position, byte in enumerate(data):
                    offset = address + position - base
                    slot, within = divmod(offset, DESCRIPTOR_BYTES)
                    got = self._partial.setdefault((name, slot), {})
                    got[within] = byte
                    if len(got) == DESCRIPTOR_BYTES:
                        del self._partial[(name, slot)]
                        self.entries.append((name, slot, bytes(got[i] for i in range(16))))
                return


class LoggingMemory(HostMemory):
    """A HostMemory whose device writes (golden model) go to a :class:`WriteBackLog` too."""

    def __init__(self, log, **keywords):
        super().__init__(**keywords)
        self.log = log

    def dma_write(self, address, data):
        super().dma_write(address, data)
        self.log.write(address, data)


class HostBus:
    """The host side of the engine: memory behind the Wishbone master, the TX sink, the RX
    source, stepped one clock cycle at a time by :meth:`run`."""

    def __init__(self, dut, memory, *, data_width, queues, log, rng, tx_backpressure=0.0,
                 rx_pace=0.0):
        self.dut = dut
        self.memory = memory
        self.lanes = data_width // 8
        self.log = log
        self.rng = rng
        self.tx_backpressure = tx_backpressure
        self.rx_pace = rx_pace
        self.pending = deque()    # (ready_cycle, is_error, data)
        self.cycle = 0
        self.tx_frames = deque()
        self._tx_bytes = bytearray()
        self.rx_beats = deque()
        self.rx_idle = 0
        self.beats = Counter()    # bus beats by kind: "descriptor", "payload"
        self.busy_cycles = 0      # cycles with cyc high
        self.tx_done_cycle = None
        from slique.hdl.packet import packet_layout
        from slique.hdl.dma.rx_queue import rx_beat_layout
        self.tx_layout = packet_layout(data_width)
        self.rx_layout = rx_beat_layout(data_width)

    def _is_ring(self, address):
        return any(base <= address < base + length
                   for base, length in self.log.rings.values())

    async def run(self):
        dut = self.dut
        answered = None
        while True:
            await RisingEdge(dut.clk)
            self.cycle += 1
            # this cycle's answer: the oldest request whose wait is over
            answer = None
            if self.pending and self.pending[0][0] <= self.cycle:
                answer = self.pending.popleft()
            dut.host__ack.value = int(answer is not None and not answer[1])
            dut.host__err.value = int(answer is not None and answer[1])
            dut.host__dat_r.value = answer[2] if answer is not None else 0
            stall = self.memory.stall()
            dut.host__stall.value = int(stall)
            dut.tx_stream__ready.value = int(self.rng.random() >= self.tx_backpressure)
            if self.rx_idle:
                self.rx_idle -= 1
                dut.rx_stream__valid.value = 0
            elif self.rx_beats:
                payload, pause = self.rx_beats.popleft()
                dut.rx_stream__valid.value = 1
                dut.rx_stream__payload.value = payload
                self.rx_idle = pause
            else:
                dut.rx_stream__valid.value = 0
            await ReadOnly()
            if dut.host__cyc.value:
                self.busy_cycles += 1
            if dut.host__cyc.value and dut.host__stb.value and not stall:
                self._request()
            if dut.tx_stream__valid.value and dut.tx_stream__ready.value:
                self._tx_beat(dut.tx_stream__payload.value.to_unsigned())

    def _request(self):
        dut = self.dut
        address = dut.host__adr.value.to_unsigned() * self.lanes
        kind = "descriptor" if self._is_ring(address) else "payload"
        self.beats[kind] += 1
        if dut.host__we.value:
            value = dut.host__dat_w.value.to_unsigned()
            sel = dut.host__sel.value.to_unsigned()
            error = self.memory.write_word(address, value, sel, self.lanes)
            if not error:
                raw = value.to_bytes(self.lanes, "little")
                for lane in range(self.lanes):
                    if sel >> lane & 1:
                        self.log.write(address + lane, raw[lane:lane + 1])
            data = 0
        else:
            data, error = self.memory.read_word(address, self.lanes)
        last_ready = self.pending[-1][0] if self.pending else self.cycle
        ready = max(last_ready, self.cycle) + 1 + self.memory.wait_states()
        self.pending.append((ready, error, data))

    def _tx_beat(self, value):
        beat = unpack_struct(self.tx_layout, value)
        count = self.lanes
        if beat["last"]:
            count = 0
            while count < self.lanes and beat["keep"] >> count & 1:
                count += 1
        self._tx_bytes += beat["data"].to_bytes(self.lanes, "little")[:count]
        if beat["last"]:
            self.tx_frames.append(TxFrame(0, bytes(self._tx_bytes)))
            self._tx_bytes = bytearray()
            self.tx_done_cycle = self.cycle

    def offer(self, frame, queue=0, rss_hash=0, rss_type=0):
        """Queue ``frame``'s beats on the RX stream (paced by ``rx_pace``)."""
        lanes = self.lanes
        chunks = [frame[start:start + lanes] for start in range(0, len(frame), lanes)]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            payload = pack_struct(self.rx_layout, {
                "data": int.from_bytes(chunk.ljust(lanes, b"\0"), "little"),
                "first": int(index == 0), "last": int(last),
                "keep": (1 << len(chunk)) - 1, "queue": queue, "rss_hash": rss_hash,
                "rss_type": rss_type})
            pause = int(self.rx_pace) + (self.rng.random() < self.rx_pace % 1)
            self.rx_beats.append((payload, pause))

    @property
    def rx_busy(self):
        return bool(self.rx_beats) or self.rx_idle > 0


class CocotbBackend:
    """The backend protocol of :mod:`slique.sim.dma.driver` on the cocotb DUT."""

    def __init__(self, dut, host):
        self.dut = dut
        self.host = host
        self.csr = WishboneDriver(dut, dut.clk, prefix="csr", timeout=64)

    async def read32(self, offset):
        return await self.csr.read(offset)

    async def write32(self, offset, value):
        response = await self.csr.write(offset, value)
        if response != "ack":
            raise AssertionError(f"register write at {offset:#x} answered {response}")

    async def wait(self, cycles=1):
        await ClockCycles(self.dut.clk, cycles)

    async def receive(self, frame, queue=0, rss_hash=0, rss_type=0):
        self.host.offer(frame, queue, rss_hash, rss_type)
        while self.host.rx_busy:
            await RisingEdge(self.dut.clk)

    async def transmitted(self):
        frames = list(self.host.tx_frames)
        self.host.tx_frames.clear()
        return frames


async def reset(dut):
    dut.rst.value = 1
    for name in ("host__ack", "host__err", "host__stall", "host__dat_r", "rx_stream__valid",
                 "rx_stream__payload", "tx_stream__ready", "csr__cyc", "csr__stb", "csr__we"):
        getattr(dut, name).value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def _driver(backend, memory, parameters, seed):
    return IgcDriver(backend, memory, queues=parameters["queues"],
                     tx_ring_size=parameters["tx_ring_size"],
                     rx_ring_size=parameters["rx_ring_size"],
                     rx_buffer_size=parameters["rx_buffer_size"],
                     misalign_tx=parameters["misalign_tx"], seed=seed,
                     poll_limit=200_000, poll_cycles=16)


def _frames(parameters):
    rng = random.Random(parameters["seed"])
    return [scenarios.random_frame(rng, parameters["low"], parameters["high"])
            for _ in range(parameters["frames"])]


async def _scenario(name, driver, backend, frames, seed):
    rng = random.Random(seed ^ 0x5EED)
    if name == "tx":
        return [await scenarios.tx_traffic(driver, backend, frames, rng=rng)]
    if name == "rx":
        return [await scenarios.rx_traffic(driver, backend, frames, rss=True)]
    if name == "chain":
        return [await scenarios.chain_traffic(driver, backend, frames)]
    raise ValueError(f"unknown scenario {name!r}")


def _watch_rings(log, driver):
    for queue, ring in enumerate(driver.tx):
        log.watch(f"tx{queue}", ring.base, ring.count * DESCRIPTOR_BYTES)
    for queue, ring in enumerate(driver.rx):
        log.watch(f"rx{queue}", ring.base, ring.count * DESCRIPTOR_BYTES)


def golden_run(parameters, frames):
    """The scenario on the golden model: (reports, write-back log, memory)."""
    log = WriteBackLog()
    memory = LoggingMemory(log, seed=parameters["seed"])
    engine = GoldenEngine(memory, queues=parameters["queues"])
    backend = ModelBackend(engine)
    driver = _driver(backend, memory, parameters, parameters["seed"])
    run_sync(driver.setup())
    _watch_rings(log, driver)
    reports = run_sync(_scenario(parameters["scenario"], driver, backend, frames,
                                 parameters["seed"]))
    return reports, log, driver


def _report_dict(report):
    return {"direction": report.direction, "offered": report.offered,
            "delivered": report.delivered, "dropped": dict(report.dropped),
            "mismatches": [str(item) for item in report.mismatches[:10]],
            "counters": {str(key): value for key, value in report.counters.items()},
            "wraps": report.wraps, "conserved": report.conserved, "ok": report.ok}


@cocotb.test()
async def traffic(dut):
    """The igc-style driver runs a traffic scenario on the gateware; the golden model runs it
    too; frames, write-backs and counters must agree."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))
    try:
        document = await _traffic(dut, parameters, hint)
    except (AssertionError, TimeoutError) as error:
        _write_report({"error": f"{error}; {hint}", "parameters": parameters})
        raise AssertionError(f"{error}; {hint}") from error
    _write_report(document)


async def _start(dut, parameters):
    Clock(dut.clk, 8, unit="ns").start()
    await reset(dut)
    log = WriteBackLog()
    memory = HostMemory.profile(parameters["memory"], seed=parameters["seed"])
    host = HostBus(dut, memory, data_width=parameters["data_width"],
                   queues=parameters["queues"], log=log,
                   rng=random.Random(parameters["seed"] + 1),
                   tx_backpressure=parameters["tx_backpressure"], rx_pace=parameters["rx_pace"])
    cocotb.start_soon(host.run())
    backend = CocotbBackend(dut, host)
    driver = _driver(backend, memory, parameters, parameters["seed"])
    await driver.setup()
    _watch_rings(log, driver)
    return host, backend, driver, log, memory


async def _traffic(dut, parameters, hint):
    frames = _frames(parameters)
    host, backend, driver, log, memory = await _start(dut, parameters)
    reports = await _scenario(parameters["scenario"], driver, backend, frames,
                              parameters["seed"])
    golden_reports, golden_log, golden_driver = golden_run(parameters, frames)

    problems = []
    for report, golden in zip(reports, golden_reports):
        if not report.ok:
            problems.append(f"gateware {report.summary()}: {report.mismatches[:3]}")
        if not golden.ok:
            problems.append(f"golden model {golden.summary()}: {golden.mismatches[:3]}")
        if report.counters != golden.counters:
            differing = {str(key): (report.counters.get(key), golden.counters.get(key))
                         for key in set(report.counters) | set(golden.counters)
                         if report.counters.get(key) != golden.counters.get(key)}
            problems.append(f"counters differ (gateware, golden): {differing}")
    if log.entries != golden_log.entries:
        first = next((index for index, (a, b) in enumerate(zip(log.entries, golden_log.entries))
                      if a != b), min(len(log.entries), len(golden_log.entries)))
        problems.append(
            f"write-backs differ: {len(log.entries)} on the gateware, {len(golden_log.entries)} "
            f"on the golden model, first difference at #{first}: "
            f"{log.entries[first] if first < len(log.entries) else None} vs "
            f"{golden_log.entries[first] if first < len(golden_log.entries) else None}")
    outside = memory.writes_outside(driver.allowed_regions())
    if outside:
        problems.append(f"the engine wrote outside the rings and buffers: {outside[:4]}")
    if problems:
        raise AssertionError("; ".join(problems))
    return {"reports": [_report_dict(report) for report in reports],
            "write_backs": len(log.entries), "cycles": host.cycle,
            "beats": dict(host.beats), "parameters": parameters}
