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
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from slique.hdl.dma.descriptors import DESCRIPTOR_BYTES
from slique.sim.dma.driver import IgcDriver, ModelBackend, run_sync
from slique.sim.dma.engine import DmaEngine as GoldenEngine, TxFrame
from slique.sim.dma.host_memory import CpuTrace, HostMemory
from slique.sim.dma import scenarios
from slique.sim.lockstep import replay_hint
from slique.sim.packet import pack_struct, unpack_struct

from .slique_bench import _write_report
from .wishbone import WishboneDriver


__all__ = ["bench_parameters", "gateware", "HostBus", "CocotbBackend", "WriteBackLog",
           "write_frames", "frames_of", "golden_run", "report_dict"]


def bench_parameters(*, scenario="tx", data_width=64, queues=1, queue=0, seed=1, frames=40,
                     low=60, high=2000, memory="zero-wait", most_fragments=4,
                     misalign_tx=True, tx_ring_size=64, rx_ring_size=64, rx_buffer_size=2048,
                     tx_backpressure=0.0, rx_pace=None, frames_file=None, replay=""):
    """The JSON-able parameters of a run. ``scenario``: ``"tx"``, ``"rx"``, ``"chain"`` (on
    queue ``queue`` of ``queues``), ``"echo"`` (every queue: the frames of ``frames_file``, a
    JSON list per queue of frames in hex, see :func:`write_frames`), ``"bad-inputs"`` (queue 0)
    or ``"throughput"``."""
    if rx_pace is None:
        rx_pace = 0.5 if memory == "zero-wait" else 3.0
    return dict(scenario=scenario, data_width=data_width, queues=queues, queue=queue, seed=seed,
                frames=frames, low=low, high=high, memory=memory,
                most_fragments=most_fragments, misalign_tx=misalign_tx,
                tx_ring_size=tx_ring_size, rx_ring_size=rx_ring_size,
                rx_buffer_size=rx_buffer_size, tx_backpressure=tx_backpressure,
                rx_pace=rx_pace, frames_file=None if frames_file is None else str(frames_file),
                replay=replay)


def write_frames(path, frames_by_queue):
    """Write the frames of an ``"echo"`` run (a list per queue of bytes) to ``path``."""
    Path(path).write_text(json.dumps([[frame.hex() for frame in frames]
                                      for frames in frames_by_queue]))


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


def by_ring(entries):
    """The write-backs of a :class:`WriteBackLog` ring by ring (each in its own order: the
    order between rings depends on timing, the order within a ring does not)."""
    rings = {}
    for name, slot, raw in entries:
        rings.setdefault(name, []).append((slot, raw))
    return rings


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
        self.on_tx = None         # called at the end of every TX frame
        self.on_write = None      # called with the byte address of every bus write
        self.stop = False
        from slique.hdl.packet import packet_layout
        from slique.hdl.dma.rx_queue import rx_beat_layout
        self.tx_layout = packet_layout(data_width)
        self.rx_layout = rx_beat_layout(data_width)

    def _is_ring(self, address):
        return any(base <= address < base + length
                   for base, length in self.log.rings.values())

    async def run(self):
        dut = self.dut
        while not self.stop:
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
            if self.on_write is not None:
                self.on_write(address)
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
            if self.on_tx is not None:
                self.on_tx()

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
                 "rx_stream__payload", "tx_stream__ready", "csr__cyc", "csr__stb", "csr__we",
                 "csr__adr", "csr__dat_w", "csr__sel"):
        getattr(dut, name).value = 0
    for _ in range(3):
        await RisingEdge(dut.clk)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def _driver(backend, memory, parameters, seed):
    if parameters["scenario"] == "chain":
        memory = CpuTrace(memory)     # the zero-copy check: the CPU must not touch payload
    return IgcDriver(backend, memory, queues=parameters["queues"],
                     tx_ring_size=parameters["tx_ring_size"],
                     rx_ring_size=parameters["rx_ring_size"],
                     rx_buffer_size=parameters["rx_buffer_size"],
                     misalign_tx=parameters["misalign_tx"], seed=seed,
                     poll_limit=200_000, poll_cycles=16)


def frames_of(parameters):
    if parameters["scenario"] == "echo":
        document = json.loads(Path(parameters["frames_file"]).read_text())
        return [[bytes.fromhex(frame) for frame in frames] for frames in document]
    rng = random.Random(parameters["seed"])
    return [scenarios.random_frame(rng, parameters["low"], parameters["high"])
            for _ in range(parameters["frames"])]


async def _scenario(name, driver, backend, frames, seed, queue=0):
    rng = random.Random(seed ^ 0x5EED)
    if name == "tx":
        return [await scenarios.tx_traffic(driver, backend, frames, queue=queue, rng=rng)]
    if name == "rx":
        return [await scenarios.rx_traffic(driver, backend, frames, queue=queue, rss=True)]
    if name == "chain":
        return [await scenarios.chain_traffic(driver, backend, frames, rx_queue=queue,
                                              tx_queue=queue)]
    if name == "echo":
        return await scenarios.echo_traffic(driver, backend, frames, rng=rng)
    raise ValueError(f"unknown scenario {name!r}")


def _watch_rings(log, driver):
    for queue, ring in enumerate(driver.tx):
        log.watch(f"tx{queue}", ring.base, ring.count * DESCRIPTOR_BYTES)
    for queue, ring in enumerate(driver.rx):
        log.watch(f"rx{queue}", ring.base, ring.count * DESCRIPTOR_BYTES)


def _golden(parameters):
    """A golden engine with the driver set up on it: (log, memory, backend, driver)."""
    log = WriteBackLog()
    memory = LoggingMemory(log, seed=parameters["seed"])
    backend = ModelBackend(GoldenEngine(memory, queues=parameters["queues"]))
    driver = _driver(backend, memory, parameters, parameters["seed"])
    run_sync(driver.setup())
    _watch_rings(log, driver)
    return log, memory, backend, driver


def golden_run(parameters, frames):
    """The scenario on the golden model: (reports, write-back log, driver)."""
    log, memory, backend, driver = _golden(parameters)
    reports = run_sync(_scenario(parameters["scenario"], driver, backend, frames,
                                 parameters["seed"], parameters["queue"]))
    return reports, log, driver


def report_dict(report):
    return {"direction": report.direction, "queue": report.queue, "offered": report.offered,
            "delivered": report.delivered, "dropped": dict(report.dropped),
            "mismatches": [str(item) for item in report.mismatches[:10]],
            "counters": {str(key): value for key, value in report.counters.items()},
            "wraps": report.wraps, "conserved": report.conserved, "ok": report.ok}


@cocotb.test()
async def traffic(dut):
    """The igc-style driver runs a traffic scenario on the gateware; the golden model runs it
    too; frames, write-backs and counters must agree."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    if parameters["scenario"] not in ("tx", "rx", "chain", "echo"):
        return
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
    frames = frames_of(parameters)
    host, backend, driver, log, memory = await _start(dut, parameters)
    reports = await _scenario(parameters["scenario"], driver, backend, frames,
                              parameters["seed"], parameters["queue"])
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
    ours, theirs = by_ring(log.entries), by_ring(golden_log.entries)
    for ring in sorted(set(ours) | set(theirs)):
        mine, golden = ours.get(ring, []), theirs.get(ring, [])
        if mine != golden:
            first = next((index for index, (a, b) in enumerate(zip(mine, golden)) if a != b),
                         min(len(mine), len(golden)))
            problems.append(
                f"{ring} write-backs differ: {len(mine)} on the gateware, {len(golden)} on the "
                f"golden model, first difference at #{first}: "
                f"{mine[first] if first < len(mine) else None} vs "
                f"{golden[first] if first < len(golden) else None}")
    outside = memory.writes_outside(driver.allowed_regions())
    if outside:
        problems.append(f"the engine wrote outside the rings and buffers: {outside[:4]}")
    if problems:
        raise AssertionError("; ".join(problems))
    return {"reports": [report_dict(report) for report in reports],
            "write_backs": len(log.entries), "cycles": host.cycle,
            "beats": dict(host.beats), "parameters": parameters}


# ---- bad inputs ------------------------------------------------------------------------------
#
# Each case is a coroutine over a context (driver, backend, memory, regs) that runs unchanged
# on the golden model and on the gateware. After it, the bench reads the same registers on
# both (error causes, EICR, enables, heads), the counter deltas, the frames sent and the
# write-backs; they must agree. Between cases both queues are set up afresh.

#: Where the bad-input cases put buffers outside the driver's arena (and the DMA window).
OUTSIDE = 0x3000_0000


class _Context:
    def __init__(self, driver, backend, memory):
        self.driver, self.backend, self.memory = driver, backend, memory
        self.regs = driver.regs

    async def write(self, offset, value):
        await self.backend.write32(offset, value)

    async def read(self, offset):
        return await self.backend.read32(offset)

    async def settle(self, cycles=3000):
        await self.backend.wait(cycles)

    def tx_slot(self, slot, raw):
        ring = self.driver.tx[0]
        self.memory.write(ring.base + slot * DESCRIPTOR_BYTES, raw)

    async def window(self):
        """The DMA window around the driver's arena (and nothing else)."""
        regs = self.regs
        start, size = self.driver.allocator.base, self.driver.allocator.size
        await self.write(regs.DMAWBAH, start >> 32)
        await self.write(regs.DMAWLAH, (start + size) >> 32)
        await self.write(regs.DMAWLAL, (start + size) & 0xFFFF_F000)
        await self.write(regs.DMAWBAL, (start & 0xFFFF_F000) | regs.DMAWBAL_ENABLE_MASK)


def _tx_descriptor(address, length, *, eop=True, rs=True, dtyp=None):
    from slique.hdl.dma.descriptors import (DTYP_DATA, TxDataDescriptor, pack_descriptor)
    return pack_descriptor(TxDataDescriptor, {
        "buffer_addr": address,
        "cmd_type_len": {"length": length, "dtyp": DTYP_DATA if dtyp is None else dtyp,
                         "dext": 1, "ifcs": 1, "eop": int(eop), "rs": int(rs)},
        "olinfo_status": {"paylen": length}})


async def _post_raw(ctx, descriptors):
    """Write raw TX descriptors from the driver's next slot on and bump TDT past them."""
    ring = ctx.driver.tx[0]
    for raw in descriptors:
        ctx.tx_slot(ring.next_to_use, raw)
        ring.next_to_use = (ring.next_to_use + 1) % ring.count
    await ctx.write(ctx.regs.TDT(0), ring.next_to_use)


async def _tx_ring_length_zero(ctx):
    await ctx.write(ctx.regs.TXDCTL(0), 0)
    await ctx.write(ctx.regs.TDLEN(0), 0)
    await ctx.write(ctx.regs.TXDCTL(0), ctx.regs.TXDCTL_ENABLE_MASK)


async def _tx_ring_length_odd(ctx):
    await ctx.write(ctx.regs.TXDCTL(0), 0)
    await ctx.write(ctx.regs.TDLEN(0), 0x90)
    await ctx.write(ctx.regs.TXDCTL(0), ctx.regs.TXDCTL_ENABLE_MASK)


async def _tx_tail_beyond(ctx):
    await ctx.driver.transmit([b"\x11" * 100])
    await ctx.settle(500)
    await ctx.write(ctx.regs.TDT(0), ctx.driver.tx[0].count + 3)


async def _tx_length_zero(ctx):
    await ctx.driver.transmit([b"\x22" * 64])
    block = ctx.driver.allocator.alloc(64)
    await _post_raw(ctx, [_tx_descriptor(block, 0)])


async def _tx_too_long(ctx):
    await ctx.driver.transmit([b"\x33" * 4000, b"\x44" * 4000, b"\x55" * 2000])


async def _tx_context_descriptor(ctx):
    block = ctx.driver.allocator.alloc(64)
    await _post_raw(ctx, [_tx_descriptor(block, 64, dtyp=2)])


async def _tx_no_eop(ctx):
    block = ctx.driver.allocator.alloc(64)
    await _post_raw(ctx, [_tx_descriptor(block, 16, eop=False, rs=False)] * 32)


async def _tx_window(ctx):
    await ctx.window()
    await ctx.driver.transmit([b"\x66" * 300])
    ctx.memory.write(OUTSIDE, b"\x77" * 200)
    await ctx.settle(500)
    await ctx.driver.transmit_buffers([(OUTSIDE, 200)])


async def _tx_bus_error_data(ctx):
    block = ctx.driver.allocator.alloc(1500)
    ctx.memory.write(block, b"\x88" * 1500)
    ctx.memory.add_error_range(block + 700, block + 708)
    await ctx.driver.transmit([b"\x99" * 80])
    await ctx.settle(500)
    await ctx.driver.transmit_buffers([(block, 1500)])


async def _tx_bus_error_fetch(ctx):
    await ctx.driver.transmit([b"\xaa" * 90])
    await ctx.settle(500)
    ring = ctx.driver.tx[0]
    slot = ring.base + ring.next_to_use * DESCRIPTOR_BYTES
    ctx.memory.add_error_range(slot, slot + DESCRIPTOR_BYTES)
    await ctx.driver.transmit([b"\xbb" * 90])


async def _tx_disable_mid_frame(ctx):
    block = ctx.driver.allocator.alloc(64)
    await _post_raw(ctx, [_tx_descriptor(block, 32, eop=False, rs=False)] * 2)
    await ctx.settle(500)
    await ctx.driver.disable_tx(0)


async def _tx_good_then_bad(ctx):
    for size in (64, 700, 1514):
        await ctx.driver.transmit([bytes([size & 0xFF]) * size])
    block = ctx.driver.allocator.alloc(64)
    await _post_raw(ctx, [_tx_descriptor(block, 0)])


async def _rx_ring_length_odd(ctx):
    await ctx.write(ctx.regs.RXDCTL(0), 0)
    await ctx.write(ctx.regs.RDLEN(0), 0x50)
    await ctx.write(ctx.regs.RXDCTL(0), ctx.regs.RXDCTL_ENABLE_MASK)


async def _rx_srrctl_zero(ctx):
    await ctx.write(ctx.regs.RXDCTL(0), 0)
    await ctx.write(ctx.regs.SRRCTL(0), 1 << ctx.regs.SRRCTL_DESCTYPE_SHIFT)
    await ctx.write(ctx.regs.RXDCTL(0), ctx.regs.RXDCTL_ENABLE_MASK)


async def _rx_tail_beyond(ctx):
    await ctx.write(ctx.regs.RDT(0), ctx.driver.rx[0].count)


async def _rx_missed(ctx):
    # the ring holds count - 1 buffers; frames of two buffers each: the rest are missed
    size = ctx.driver.rx_buffer_size
    for index in range(ctx.driver.rx[0].count // 2 + 4):
        await ctx.backend.receive(bytes([index]) * (size + 100))


async def _rx_oversize(ctx):
    await ctx.backend.receive(b"\x5a" * 9800)
    await ctx.backend.receive(b"\x5b" * 200)


async def _rx_slot(ctx, address):
    """Hand the RX ring over again with the head descriptor's buffer at ``address`` (the queue
    is off while software rewrites it, as a descriptor the engine owns must not change)."""
    from slique.hdl.dma.descriptors import rx_read_descriptor
    regs, ring = ctx.regs, ctx.driver.rx[0]
    control = await ctx.read(regs.RXDCTL(0))
    await ctx.write(regs.RXDCTL(0), 0)
    await ctx.settle(300)
    await ctx.write(regs.RDH(0), 0)
    await ctx.write(regs.RDT(0), 0)
    ctx.memory.write(ring.base, rx_read_descriptor(address))
    await ctx.write(regs.RXDCTL(0), control)
    await ctx.write(regs.RDT(0), ring.next_to_use)


async def _rx_window(ctx):
    await ctx.window()
    await _rx_slot(ctx, OUTSIDE)
    await ctx.backend.receive(b"\x3c" * 500)


async def _rx_unaligned(ctx):
    await _rx_slot(ctx, ctx.driver.rx[0].slots[0] + 4)
    await ctx.backend.receive(b"\x3d" * 500)


async def _rx_bus_error_data(ctx):
    ring = ctx.driver.rx[0]
    buffer = ring.slots[ring.next_to_clean]
    ctx.memory.add_error_range(buffer + 256, buffer + 264)
    await ctx.backend.receive(b"\x3e" * 600)


async def _rx_bus_error_fetch(ctx):
    ring = ctx.driver.rx[0]
    slot = ring.base + ring.next_to_clean * DESCRIPTOR_BYTES
    ctx.memory.add_error_range(slot, slot + DESCRIPTOR_BYTES)
    await ctx.backend.receive(b"\x3f" * 600)


async def _rx_disabled(ctx):
    await ctx.driver.disable_rx(0)
    await ctx.backend.receive(b"\x40" * 128)


async def _rx_disable_mid_frame(ctx):
    frame = b"\x41" * 9000
    if isinstance(ctx.backend, ModelBackend):
        # the golden model cuts the frame where software disabled the queue
        ctx.backend.engine.receive(frame, 0, cut_after=len(frame) // 2)
    else:
        await ctx.backend.receive(frame)
        await ctx.backend.wait(200)      # the frame is being written to its buffers
    await ctx.driver.disable_rx(0)


#: name -> case. Every bad input of the register map's documentation, TX then RX.
BAD_INPUT_CASES = {
    "tx-ring-length-zero": _tx_ring_length_zero,
    "tx-ring-length-not-128": _tx_ring_length_odd,
    "tx-tail-beyond-ring": _tx_tail_beyond,
    "tx-descriptor-length-zero": _tx_length_zero,
    "tx-frame-too-long": _tx_too_long,
    "tx-context-descriptor": _tx_context_descriptor,
    "tx-no-eop-in-32": _tx_no_eop,
    "tx-outside-window": _tx_window,
    "tx-bus-error-data": _tx_bus_error_data,
    "tx-bus-error-fetch": _tx_bus_error_fetch,
    "tx-disable-mid-frame": _tx_disable_mid_frame,
    "tx-good-frames-then-bad": _tx_good_then_bad,
    "rx-ring-length-not-128": _rx_ring_length_odd,
    "rx-srrctl-buffer-size-zero": _rx_srrctl_zero,
    "rx-tail-beyond-ring": _rx_tail_beyond,
    "rx-no-free-descriptor": _rx_missed,
    "rx-frame-too-long": _rx_oversize,
    "rx-outside-window": _rx_window,
    "rx-unaligned-buffer": _rx_unaligned,
    "rx-bus-error-data": _rx_bus_error_data,
    "rx-bus-error-fetch": _rx_bus_error_fetch,
    "rx-queue-disabled": _rx_disabled,
    "rx-disable-mid-frame": _rx_disable_mid_frame,
}


async def _fresh(ctx):
    """Both queues off, faults and window gone, causes and counters cleared, rings set up."""
    regs = ctx.regs
    await ctx.write(regs.TXDCTL(0), 0)
    await ctx.write(regs.RXDCTL(0), 0)
    ctx.memory.clear_error_ranges()
    await ctx.write(regs.DMAWBAL, 0)
    await ctx.settle(300)
    await ctx.write(regs.TQERR(0), 0x7F)
    await ctx.write(regs.RQERR(0), 0x7F)
    await ctx.write(regs.EICR, 0xFFFF)
    await ctx.driver.read_counters()
    await ctx.driver.configure_tx_ring(0)
    await ctx.driver.configure_rx_ring(0)
    await ctx.settle(300)
    await ctx.backend.transmitted()


async def _outcome(ctx, log, mark):
    regs = ctx.regs
    await ctx.settle()
    before = Counter(ctx.driver.counters)
    totals = await ctx.driver.read_counters()
    sent = await ctx.backend.transmitted()
    state = {name: await ctx.read(offset) for name, offset in (
        ("TQERR", regs.TQERR(0)), ("RQERR", regs.RQERR(0)), ("EICR", regs.EICR),
        ("TXDCTL", regs.TXDCTL(0)), ("RXDCTL", regs.RXDCTL(0)), ("TDH", regs.TDH(0)),
        ("RDH", regs.RDH(0)))}
    state["counters"] = {str(key): totals[key] - before.get(key, 0) for key in totals
                         if totals[key] - before.get(key, 0)}
    state["sent"] = [(len(frame.data), frame.data[:1].hex()) for frame in sent]
    state["write_backs"] = by_ring(log.entries[mark:])
    return state


async def bad_inputs(ctx, log, names):
    """Run the bad-input ``names`` in turn; returns ``{name: outcome}``."""
    outcomes = {}
    for name in names:
        await _fresh(ctx)
        mark = len(log.entries)
        await BAD_INPUT_CASES[name](ctx)
        outcomes[name] = await _outcome(ctx, log, mark)
    return outcomes


def _golden_bad_inputs(parameters, names):
    log, memory, backend, driver = _golden(parameters)
    return run_sync(bad_inputs(_Context(driver, backend, memory), log, names))


@cocotb.test()
async def bad_input_cases(dut):
    """Every bad input of the register map on the gateware and on the golden model: the same
    error bits, enables, heads, counters, frames and write-backs; nothing written outside."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    if parameters["scenario"] != "bad-inputs":
        return
    hint = replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))
    names = parameters.get("cases") or list(BAD_INPUT_CASES)
    try:
        host, backend, driver, log, memory = await _start(dut, parameters)
        outcomes = await bad_inputs(_Context(driver, backend, memory), log, names)
        golden = _golden_bad_inputs(parameters, names)
        problems = [f"{name}: gateware {outcomes[name]} != golden {golden[name]}"
                    for name in names if outcomes[name] != golden[name]]
        outside = memory.writes_outside(driver.allowed_regions())
        if outside:
            problems.append(f"the engine wrote outside the rings and buffers: {outside[:4]}")
        if problems:
            raise AssertionError("; ".join(problems))
    except (AssertionError, TimeoutError) as error:
        _write_report({"error": f"{error}; {hint}", "parameters": parameters})
        raise AssertionError(f"{error}; {hint}") from error
    _write_report({"cases": {name: {key: value for key, value in outcome.items()
                                    if key != "write_backs"}
                             for name, outcome in outcomes.items()},
                   "parameters": parameters})


# ---- throughput ------------------------------------------------------------------------------

def _throughput_point(host, direction, size, first, marks):
    """Cycles per frame and bus efficiency over the completions after the warm-up."""
    start, end = marks[first], marks[-1]
    frames = len(marks) - 1 - first
    cycles = (end[0] - start[0]) / frames
    payload = end[1] - start[1]
    total = payload + end[2] - start[2]
    return {"cycles_per_frame": round(cycles, 2),
            "bus_efficiency": round(payload / total, 4) if total else None,
            "gbps_at_125mhz": round(size * 8 / cycles * 0.125, 3)}


async def _measure(dut, parameters, direction, size, memory_profile):
    """One throughput point: ``frames`` frames of ``size`` bytes, back to back (RX: as many
    as the engine's frame FIFO holds, so that none is missed while the bus is the limit)."""
    from slique.hdl.dma.rx_queue import RX_FIFO_BYTES
    count = parameters["frames"]
    if direction == "rx":
        count = min(count, RX_FIFO_BYTES // (size + 8) - 1)
    run = dict(parameters, memory=memory_profile, misalign_tx=False,
               tx_ring_size=max(64, 2 * count), rx_ring_size=max(64, 2 * count),
               rx_pace=0.0)
    host, backend, driver, log, memory = await _start(dut, run)
    marks = []
    rx_ring = log.rings["rx0"]
    if direction == "tx":
        host.on_tx = lambda: marks.append((host.cycle, host.beats["payload"],
                                           host.beats["descriptor"]))
        frame = bytes(range(256)) * (size // 256) + bytes(size % 256)
        for _ in range(count):
            await driver.transmit([frame])
        for _ in range(200_000):
            if len(marks) >= count:
                break
            await RisingEdge(dut.clk)
    else:
        written = [0]

        def on_write(address):
            # the EOP write-back of a frame ends in the last word of its slot
            if rx_ring[0] <= address < rx_ring[0] + rx_ring[1] and \
                    (address - rx_ring[0]) % DESCRIPTOR_BYTES == DESCRIPTOR_BYTES - host.lanes:
                written[0] += 1
                if written[0] % -(-size // driver.rx_buffer_size) == 0:
                    marks.append((host.cycle, host.beats["payload"], host.beats["descriptor"]))
        host.on_write = on_write
        frame = bytes(range(256)) * (size // 256) + bytes(size % 256)
        for _ in range(count):
            host.offer(frame)
        for _ in range(200_000):
            if len(marks) >= count:
                break
            await RisingEdge(dut.clk)
    host.stop = True
    if len(marks) < count:
        counters = await driver.read_counters()
        raise AssertionError(f"{direction} {size} bytes ({memory_profile}): {len(marks)} of "
                             f"{count} frames done; counters {dict(counters)}")
    figures = _throughput_point(host, direction, size, count // 4, marks)
    counters = await driver.read_counters()
    return dict(direction=direction, bytes=size, memory=memory_profile,
                bus_bits=parameters["data_width"], **figures,
                dropped=counters["MPC"] + counters["HTDPMC"] + counters["ROC"])


@cocotb.test()
async def throughput(dut):
    """Cycles per frame and bus efficiency, TX and RX, for the sizes and memories asked."""
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    if parameters["scenario"] != "throughput":
        return
    Clock(dut.clk, 8, unit="ns").start()
    points = []
    for memory_profile in parameters.get("memories", ["zero-wait", "slow"]):
        for direction in parameters.get("directions", ["tx", "rx"]):
            for size in parameters.get("sizes", [64, 512, 1514]):
                points.append(await _measure(dut, parameters, direction, size,
                                             memory_profile))
    _write_report({"frames": points, "parameters": parameters})
