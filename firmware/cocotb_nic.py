"""CocotbNIC: :class:`~slique.firmware.nicops.NICOps` over the gateware in co-simulation.

The DUT is :class:`slique.hdl.nic.Nic` (the flow pipeline's per-queue outputs into the
i225-compatible DMA engine) in Verilator, driven from cocotb
(:mod:`slique.sim.benches.nic_bench` builds and runs it; ``slique run APP --backend verilator``
goes through that bench). The parts are those of the DMA bench and of GoldenNIC:

- host memory behind the engine's Wishbone master, and the TX wire's sink, are
  :class:`slique.sim.benches.dma_bench.HostBus` (the engine's RX stream is fed by the pipeline
  inside the top, so HostBus sees the DUT through :class:`EngineView`, where its RX stream goes
  nowhere and its TX stream is the top's ``tx_wire``);
- the driver is the same igc-style :class:`slique.sim.dma.driver.IgcDriver` as GoldenNIC's,
  over :class:`slique.sim.benches.dma_bench.CocotbBackend` (register accesses on ``csr``);
- the RX wire, the pipeline's configuration ports and its trace / RST streams are driven and
  sampled by a cocotb coroutine, one beat per cycle, as GoldenNIC drives its golden pipeline.
  The configuration is by the top's ports (not by registers yet): each write takes effect in
  one cycle and completes in the next, as on GoldenNIC.

The firmware is synchronous (``scheduler.tick(*nic.step())``), so it runs in a thread started
with cocotb's ``bridge``; :meth:`CocotbNIC.step` and every register read block it on a
``resume`` of a coroutine that awaits the clock: the simulation only moves inside those calls,
and the firmware sees one clock edge per :meth:`step` (register writes are posted and take
their bus cycles while the firmware goes on; the driver reads registers only at set-up).

Completions follow GoldenNIC's rules: a transmit completes when its frame's last beat has left
on ``tx_wire`` (the frame is matched, byte for byte, to the oldest frame in flight on a queue;
one that matches none is counted in ``tx_unmatched`` and fails the oldest with ``EIO``); a
receive completes when the driver cleans a frame from its queue's RX ring (igc's rules: write-
back length, EOP), checked once per :meth:`step` for the queues with receives posted.

Register writes are posted (the firmware goes on while they take their bus cycles; a read
waits for them), and :meth:`setup` lets the engine settle before traffic, as GoldenNIC (whose
:class:`~slique.firmware.dma_timing.DmaTiming` follows this engine's bus cycle by cycle)
expects. A difference from GoldenNIC that is known: the engine drops a frame whose RX ring is
full (missed, as GoldenNIC's DMA does), but :meth:`read_counters` has no ``dma_missed`` (the
engine counts it in MPC, a register that a read would have to fetch over the register bus,
stopping the firmware), so an application whose frames the DMA misses does not account for
them here: its run ends in :class:`~slique.firmware.apps.common.LoopStalled`.
"""

from collections import deque
from types import SimpleNamespace

from slique.sim.header_parser import FlowKey
from slique.sim.packet import frame_beats, pack_beat
from slique.sim.toeplitz import MICROSOFT_KEY
from slique.sim.trace_stream import unpack_record
from slique.sim.flow_demux import MRQC_ALL
from slique.sim.flow_pipeline import FlowPipeline

from .block_device import EIO
from .errors import OK, Result, failure
from .golden_nic import GoldenNIC, _ring_size, steer_latency
from .nicops import NICOps, rx_result


__all__ = ["CocotbNIC", "GatewareNotReady", "EngineView", "nic_parameters"]


#: Cycles without a host-bus access after which the engine counts as settled after set-up.
SETTLE_CYCLES = 16


class GatewareNotReady(NotImplementedError):
    """The gateware backend cannot run here (it needs the cocotb bench; see ``slique run``)."""


def nic_parameters(*, queues=4, data_width=64, queue_depth=64, demux_depth=64, flow_entries=16,
                   trace_depth=16):
    """The gateware's parameters, as :class:`slique.hdl.nic.Nic` and GoldenNIC take them
    (GoldenNIC's defaults)."""
    return dict(queues=queues, data_width=data_width, queue_depth=queue_depth,
                demux_depth=demux_depth, flow_entries=flow_entries, trace_depth=trace_depth)


class EngineView:
    """The :class:`~slique.hdl.nic.Nic` DUT as :class:`~slique.sim.benches.dma_bench.HostBus`
    sees a bare DMA engine: ``tx_stream__*`` are the top's ``tx_wire__*``; ``rx_stream__*`` are
    inside the top (fed by the pipeline), so what HostBus drives there goes nowhere."""

    def __init__(self, dut):
        self._dut = dut
        self._inside = {}

    def __getattr__(self, name):
        if name.startswith("rx_stream__"):
            return self._inside.setdefault(name, SimpleNamespace(value=0))
        if name.startswith("tx_stream__"):
            name = "tx_wire__" + name[len("tx_stream__"):]
        return getattr(self._dut, name)


class _BlockingBackend:
    """The driver's backend protocol for a thread started by cocotb's ``bridge``: a read blocks
    the thread on a ``resume`` of the cocotb backend's coroutine (so the driver runs
    synchronously, as over the golden model); a write is *posted*, as a CPU posts an MMIO
    write: it joins :attr:`posted`, which :meth:`run` (a cocotb coroutine) writes in order,
    one after the other, while the firmware goes on. A read first waits for every posted write
    (a read flushes the CPU's posted writes)."""

    def __init__(self, backend, clock_edge):
        from cocotb._bridge import resume
        self._backend = backend
        self._read32 = resume(backend.read32)
        self._wait = resume(backend.wait)
        self._clock_edge = clock_edge
        self.posted = deque()

    async def run(self):
        """The posted writes' coroutine: each in order, over the register bus."""
        from cocotb.triggers import RisingEdge
        while True:
            if self.posted:
                offset, value = self.posted[0]
                await self._backend.write32(offset, value)
                self.posted.popleft()
            else:
                await RisingEdge(self._backend.dut.clk)

    def flush(self):
        """Let the clock run until every posted write is done."""
        while self.posted:
            self._clock_edge()

    async def read32(self, offset):
        self.flush()
        return self._read32(offset)

    async def write32(self, offset, value):
        self.posted.append((offset, value))

    async def wait(self, cycles=1):
        return self._wait(cycles)


class CocotbNIC(NICOps):
    """The firmware's NIC on the gateware in Verilator (see the module documentation).

    Make it inside a cocotb test, after the clock is started and the DUT reset; call
    :meth:`setup` and everything after from a thread started by ``cocotb.bridge``.

    Parameters
    ----------
    dut : cocotb handle
        A :class:`slique.hdl.nic.Nic`.
    queues, data_width
        As the DUT was built.
    rx_ring, tx_ring, key, mrqc, strict, default_queue
        As for :class:`~slique.firmware.golden_nic.GoldenNIC`.
    inputs : dict
        Reset values of the top's configuration inputs (a Verilator top-level input starts at
        0, not at the port's ``init``): see :func:`slique.sim.benches.nic_bench.port_inits`.
    """

    def __init__(self, dut=None, *, queues=4, data_width=64, rx_ring=16, tx_ring=16,
                 key=MICROSOFT_KEY, mrqc=MRQC_ALL, strict=False, default_queue=0,
                 inputs=None):
        import random

        if dut is None:
            raise GatewareNotReady(
                "CocotbNIC drives a DUT inside a cocotb test: it is made by the bench "
                "slique.sim.benches.nic_bench (run_app), which `slique run APP --backend "
                "verilator` runs; it cannot be made without a simulator")

        import cocotb
        from cocotb._bridge import resume
        from cocotb.triggers import RisingEdge

        from slique.sim.benches.dma_bench import CocotbBackend, HostBus, WriteBackLog
        from slique.sim.dma.driver import IgcDriver, SyncDriver
        from slique.sim.dma.host_memory import HostMemory

        self.dut = dut
        self.queues = queues
        self.data_width = data_width
        self.key = bytes(key)
        defaults = nic_parameters(queues=queues, data_width=data_width)
        self.steer_latency = steer_latency(FlowPipeline(
            data_width, queues, queue_depth=defaults["queue_depth"],
            demux_depth=defaults["demux_depth"], flow_entries=defaults["flow_entries"],
            trace_depth=defaults["trace_depth"]))
        self.rx_ring = rx_ring
        self.tx_ring = tx_ring
        self.memory = HostMemory(seed=0)
        self.host = HostBus(EngineView(dut), self.memory, data_width=data_width, queues=queues,
                            log=WriteBackLog(), rng=random.Random(0))
        self.host.on_tx = self._on_tx
        self._clock_edge = resume(self._edge)
        self._registers = _BlockingBackend(CocotbBackend(dut, self.host), self._clock_edge)
        self.driver = SyncDriver(IgcDriver(
            self._registers, self.memory, queues=queues,
            tx_ring_size=_ring_size(tx_ring + 1), rx_ring_size=_ring_size(rx_ring + 1)))
        self._rising = lambda: RisingEdge(dut.clk)
        # The wire and the configuration ports.
        self._wire = deque()
        self._beats = deque()
        self.offered = 0
        self.setup_cycle = None
        #: The cycle each offered frame's last beat entered the pipeline.
        self.wire_cycles = []
        self._writes = deque()
        self._written = []
        self._trace = []
        self.rst_requests = []
        # The queues.
        self._posted = [deque() for _ in range(queues)]
        self._tx = [deque() for _ in range(queues)]          # (tag, frame) in flight
        self._sent = deque()                                  # frames off the TX wire
        self._transmitted = []
        self.received = [0] * queues
        self.transmitted = [0] * queues
        self.tx_unmatched = 0
        self._completions = []
        self._counter_ports = self._port_names()
        for name, value in dict(inputs or {}, key=int.from_bytes(bytes(key), "big"), mrqc=mrqc,
                                default_queue=default_queue, strict=int(strict), reta_write=0,
                                flow_write=0, loopback=0, trace_stream__ready=1,
                                rst_stream__ready=1, tx_wire__ready=1, rx_wire__valid=0).items():
            getattr(dut, name).value = value
        cocotb.start_soon(self.host.run())
        cocotb.start_soon(self._ports())
        cocotb.start_soon(self._registers.run())

    @property
    def cycle(self):
        return self.host.cycle

    def _port_names(self):
        """``{counter: port name or [port names]}`` of the pipeline's outputs on the top."""
        from slique.hdl.flow_pipeline import ADMISSION_OUTPUTS, DEMUX_OUTPUTS, DEMUX_QUEUE_OUTPUTS
        names = {name: name for name in (*DEMUX_OUTPUTS, "trace_lost", "trace_level")}
        names.update({name: [f"{name}__{queue}" for queue in range(self.queues)]
                      for name in (*DEMUX_QUEUE_OUTPUTS, *ADMISSION_OUTPUTS)})
        return names

    def setup(self):
        """Configure the DMA engine's rings (the driver's set-up, through the registers), then
        let the engine settle: every posted write done and the host bus quiet for
        :data:`SETTLE_CYCLES` (the queues have prefetched their descriptors), as a driver waits
        for the link before it lets traffic in. GoldenNIC's set-up takes no time; from here on
        both count the same cycles."""
        self.driver.setup()
        self._registers.flush()
        quiet = 0
        while quiet < SETTLE_CYCLES:
            busy = self.host.busy_cycles
            self._clock_edge()
            quiet = 0 if self.host.busy_cycles != busy else quiet + 1
        # The engine's TX mux moves its grant to the next queue in every idle cycle since
        # reset (in host cycle h it is at queue (h + 1) % queues): start where it is at 0.
        while (self.cycle + 1) % self.queues:
            self._clock_edge()
        self.setup_cycle = self.cycle

    async def _edge(self):
        await self._rising()

    async def _ports(self):
        """Every cycle: a configuration write, a beat on the RX wire; the trace and RST streams."""
        from cocotb.triggers import ReadOnly

        dut = self.dut
        while True:
            await self._rising()
            dut.reta_write.value = 0
            dut.flow_write.value = 0
            written = None
            if self._writes:
                _, written, values = self._writes.popleft()
                for name, value in values.items():
                    getattr(dut, name).value = value
            if not self._beats and self._wire:
                _, frame = self._wire.popleft()
                self._beats.extend(frame_beats(frame, self.data_width))
                self.offered += 1
            if self._beats:
                dut.rx_wire__valid.value = 1
                dut.rx_wire__payload.value = pack_beat(self._beats[0], self.data_width)
            else:
                dut.rx_wire__valid.value = 0
            await ReadOnly()
            if self._beats and dut.rx_wire__ready.value:
                self._beats.popleft()
                if not self._beats:
                    self.wire_cycles.append(self.cycle)
            if dut.trace_stream__valid.value:
                self._trace.append(unpack_record(dut.trace_stream__payload.value.to_unsigned()))
            if dut.rst_stream__valid.value:
                self.rst_requests.append(FlowKey.unpack(
                    dut.rst_stream__payload.value.to_unsigned()))
            if written is not None:
                self._written.append(written)

    def _on_tx(self):
        """HostBus heard a frame's last beat on the TX wire."""
        while self.host.tx_frames:
            self._sent.append(self.host.tx_frames.popleft().data)

    # Operations.

    def transmit(self, tag, queue, frame):
        if len(self._tx[queue]) >= self.tx_ring or not self.driver.transmit([bytes(frame)],
                                                                            queue):
            return False
        self._tx[queue].append((tag, bytes(frame)))
        return True

    # Receives and configuration writes are queued as on GoldenNIC (the same attributes).
    post_rx = GoldenNIC.post_rx
    _request_write = GoldenNIC._request_write
    write_reta = GoldenNIC.write_reta
    write_flow = GoldenNIC.write_flow
    configure_admission = GoldenNIC.configure_admission

    # The clock.

    def step(self):
        self._clock_edge()
        completions = self._completions
        completions.extend((tag, OK) for tag in self._written)
        self._written = []
        self._finish_tx()
        self._clean_rx()
        self._completions = []
        return self.cycle, completions

    def _finish_tx(self):
        while self._sent:
            data = self._sent.popleft()
            queue = next((queue for queue in range(self.queues)
                          if self._tx[queue] and self._tx[queue][0][1] == data), None)
            if queue is None:
                self.tx_unmatched += 1
                queue = next((queue for queue in range(self.queues) if self._tx[queue]), None)
                if queue is not None:
                    tag, _ = self._tx[queue].popleft()
                    self._completions.append((tag, failure(EIO)))
                continue
            tag, frame = self._tx[queue].popleft()
            self.transmitted[queue] += 1
            self._transmitted.append((queue, frame))
            self._completions.append((tag, Result(len(frame))))
        for queue in range(self.queues):
            if self.driver.tx_in_flight(queue) > len(self._tx[queue]):
                self.driver.clean_tx(queue)

    def _clean_rx(self):
        driver = self.driver
        for queue in range(self.queues):
            posted = self._posted[queue]
            if not posted:
                continue
            for frame in driver.clean_rx(queue, len(posted)):
                data = driver.frame_data(frame)
                driver.recycle(frame)
                self.received[queue] += 1
                self._completions.append((posted.popleft(), rx_result(queue, data)))

    # Reads.

    def _value(self, name):
        return getattr(self.dut, name).value.to_unsigned()

    def read_counters(self):
        counters = {name: ([self._value(port) for port in ports] if isinstance(ports, list)
                           else self._value(ports))
                    for name, ports in self._counter_ports.items()}
        counters.update(wire_offered=self.offered, dma_received=list(self.received),
                        dma_transmitted=list(self.transmitted), tx_unmatched=self.tx_unmatched,
                        cycle=self.cycle)
        return counters

    read_trace = GoldenNIC.read_trace

    def queue_levels(self):
        """Beats held per queue between the demux and the firmware: the demux's and the
        admission's sliques, and the frames written back to the RX ring and not yet cleaned
        (their write-backs in host memory, from the driver's next to clean), as GoldenNIC
        counts them."""
        return [self._value(f"levels__{queue}") + self._value(f"demux_levels__{queue}")
                + self._ring_beats(queue) for queue in range(self.queues)]

    def _ring_beats(self, queue):
        from slique.hdl.dma.descriptors import DESCRIPTOR_BYTES, RxWriteBack, unpack_descriptor

        ring = self.driver.rx[queue]
        lanes = self.data_width // 8
        beats, slot, length = 0, ring.next_to_clean, 0
        while slot != ring.next_to_use:
            fields = unpack_descriptor(RxWriteBack, self.memory.read(
                ring.base + slot * DESCRIPTOR_BYTES, DESCRIPTOR_BYTES))
            if not fields["length"]:
                break
            length += fields["length"]
            if fields["status_error"]["eop"]:
                beats += -(-length // lanes)
                length = 0
            slot = (slot + 1) % ring.count
        return beats

    # The wire.

    offer = GoldenNIC.offer
    take_transmitted = GoldenNIC.take_transmitted
    wire_pending = GoldenNIC.wire_pending
    idle_tx = GoldenNIC.idle_tx

    @property
    def idle(self):
        return not (self._wire or self._beats or self._writes or self._written or any(self._tx)
                    or self._sent or self._completions or self._registers.posted
                    or any(self.queue_levels()))
