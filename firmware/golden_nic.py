"""GoldenNIC: :class:`~slique.firmware.nicops.NICOps` over the golden models, cycle by cycle.

The receive path is :class:`slique.sim.flow_pipeline.FlowPipeline` (parser, Toeplitz RSS, RETA
and flow table, per-queue packet admission and sliques, one trace stream), stepped once per
cycle, so that every outcome that depends on timing (a queue that fills, a packet that admission
drops, a trace record) happens in the cycle the gateware would decide it. Around it, the parts
that connect the pipeline to the host are modelled at the same one-beat-per-cycle rate:

- the **RX wire**: offered frames enter the pipeline back to back, one beat per cycle, while it
  is ready;
- the **RX DMA**: one stream that takes whole packets from the per-queue outputs, round robin
  over the queues with a beat to give, one beat per cycle (as the gateware's RX arbiter), and
  hands each frame, in the cycle its last beat is taken, to
  :class:`~slique.firmware.dma_timing.DmaTiming`, the gateware DMA engine's timing (its host bus
  shared by every queue's descriptor fetches, data bursts and write-backs, cycle by cycle). In
  the cycle the gateware's write-back reaches host memory, the frame goes to the DMA engine's
  golden model (:class:`slique.sim.dma.engine.DmaEngine`, i225 advanced descriptors in simulated
  host memory) driven by the igc-style driver (:class:`slique.sim.dma.driver.IgcDriver`). A
  frame that finds its RX ring without a free descriptor is dropped by the DMA (i225's missed
  packet, counted in ``dma_missed``), as the gateware's engine drops it. A receive the firmware
  posted completes when the driver cleans the frame from the ring (``igc_clean_rx_irq``): the
  cycle it is written back, or, if no receive was waiting, the cycle one is posted;
- the **TX DMA**: the driver posts each frame as a TX descriptor (``igc_tx_map``) and bumps TDT;
  once that write is in the register, the engine's golden model fetches the frame and
  DmaTiming decides when the gateware would fetch the descriptor, read the frame and send it
  (whole, the queues taking turns frame by frame); at most ``tx_ring`` frames per queue in
  flight (beyond, ``transmit`` refuses: ``EAGAIN``); a frame completes in the cycle its last
  beat leaves, and the driver reclaims its descriptor (``igc_clean_tx_irq``);
- the driver's **DMA register writes** (TDT, RDT) are posted, as CocotbNIC posts them: each
  takes :data:`REGISTER_WRITE_CYCLES` on the register bus after the ones before it; a register
  read lets them all through first. The driver cleans the RX rings after each clock edge
  (the RDT writes of the buffers it recycles are posted in the new cycle), as on CocotbNIC. The driver's set-up is done before the first cycle, with
  every RX ring's descriptors prefetched (CocotbNIC waits for the engine to settle);
- **configuration writes** (RETA, flow table, admission) are posted in order and take effect
  one per cycle; each completes in the cycle its value is in the register.

Parameters
----------
queues, data_width, queue_depth, demux_depth, flow_entries, trace_depth
    As for :class:`slique.sim.flow_pipeline.FlowPipeline`.
rx_ring, tx_ring : int
    Receives that may be posted (and RX descriptors, rounded up to igc's multiple of 8 with one
    kept free), and TX frames that may be in flight, per queue.
key : bytes
    The RSS key (default: Microsoft's verification key).
mrqc : int
    The MRQC value (default: RSS with every hash type).
strict : bool
    Drop IP flows that are not in the flow table.

Attributes
----------
cycle : int
pipeline : FlowPipeline
engine, driver, memory
    The DMA engine's golden model, the igc-style driver (synchronous) and the host memory.
timing : DmaTiming
    The gateware DMA engine's timing.
rst_requests : list
    The RST requests of the demux (flow keys), in order.
"""

from collections import deque

from slique.sim.flow_demux import MRQC_ALL
from slique.sim.flow_pipeline import FlowPipeline
from amaranth.lib import data

from slique.sim.dma.driver import IgcDriver, ModelBackend, SyncDriver
from slique.sim.dma.engine import DmaEngine, RxOutcome
from slique.sim.dma.host_memory import HostMemory
from slique.sim.packet import (beat_bytes, beats_frame, frame_beats, pack_beat, packet_layout,
                               unpack_beat)
from slique.sim.header_parser import FlowKey
from slique.sim.toeplitz import MICROSOFT_KEY
from slique.sim.trace_stream import unpack_record

from .errors import OK, Result, failure
from .block_device import EIO
from .dma_timing import DmaTiming
from .nicops import NICOps, rx_result


__all__ = ["GoldenNIC"]


def _ring_size(entries):
    """Descriptors for a ring that holds ``entries`` (igc: a multiple of 8, one kept free)."""
    return max(8, -(-entries // 8) * 8)


def steer_latency(pipeline):
    """Cycles after which every packet offered to ``pipeline`` (a golden
    :class:`~slique.sim.flow_pipeline.FlowPipeline`) before a configuration write has been
    steered and copied into its queue: the decision pipeline's latency plus the input buffer's
    depth (the copier moves one beat a cycle and never waits for room)."""
    return pipeline.demux.buffer_depth + 32


#: Cycles a register write takes on the gateware's register bus (Wishbone classic: the
#: request, registered by the DMA engine's bank, then decoded, then acknowledged); posted writes
#: go one after the other.
REGISTER_WRITE_CYCLES = 3


class _PostedBackend(ModelBackend):
    """The driver's backend on GoldenNIC: register writes are posted (as a CPU posts MMIO
    writes, and as CocotbNIC does): each takes :data:`REGISTER_WRITE_CYCLES` on the register
    bus after the ones before it and reaches the engine then; a read first lets every posted
    write through. During set-up writes go through at once."""

    def __init__(self, engine, nic):
        super().__init__(engine)
        self.nic = nic

    async def read32(self, offset):
        self.nic._apply_writes(None)
        return self.engine.read32(offset)

    async def write32(self, offset, value):
        self.nic._post_write(offset, value)


class GoldenNIC(NICOps):
    __doc__ = __doc__

    def __init__(self, *, queues=4, data_width=64, queue_depth=64, demux_depth=64,
                 flow_entries=16, trace_depth=16, rx_ring=16, tx_ring=16, key=MICROSOFT_KEY,
                 mrqc=MRQC_ALL, strict=False, default_queue=0):
        self.queues = queues
        self.data_width = data_width
        self.lanes = beat_bytes(data_width)
        self.rx_ring = rx_ring
        self.tx_ring = tx_ring
        self.key = bytes(key)
        self._last_offset = data.Layout.cast(packet_layout(data_width))["last"].offset
        self.pipeline = FlowPipeline(data_width, queues, queue_depth=queue_depth,
                                     demux_depth=demux_depth, flow_entries=flow_entries,
                                     trace_depth=trace_depth)
        #: See :func:`steer_latency`.
        self.steer_latency = steer_latency(self.pipeline)
        self.cycle = 0
        self._inputs = dict(key=int.from_bytes(self.key, "big"), mrqc=mrqc,
                            default_queue=default_queue, strict=int(strict), reta_write=0,
                            flow_write=0, trace_stream__ready=1, rst_stream__ready=1,
                            i_stream__valid=0, i_stream__payload=0)
        self._inputs.update({f"o_streams__{queue}__ready": 0 for queue in range(queues)})
        self._outputs = None
        self._names = None
        # The RX wire.
        self._wire = deque()                    # frames to offer: (cycle offered, frame)
        self._beats = deque()                   # the rest of the frame on offer
        self.offered = 0
        # The DMA engine, its host memory and the igc-style driver.
        self.memory = HostMemory(seed=0)
        self.engine = DmaEngine(self.memory, queues=queues)
        self._posted_writes = deque()          # (cycle it takes effect, offset, value)
        self._write_free = 0                    # the register bus is free from this cycle
        self._setting_up = True
        self.driver = SyncDriver(IgcDriver(
            _PostedBackend(self.engine, self), self.memory, queues=queues,
            tx_ring_size=_ring_size(tx_ring + 1), rx_ring_size=_ring_size(rx_ring + 1)))
        self.driver.setup()
        self._setting_up = False
        self._regs = regs = self.driver.regs
        self._rx_count = self.driver.rx[0].count
        self._tails = {regs.TDT(queue): ("tx", queue) for queue in range(queues)}
        self._tails.update({regs.RDT(queue): ("rx", queue) for queue in range(queues)})
        #: The gateware DMA engine's timing: when each frame is written back or leaves.
        self.timing = DmaTiming(queues=queues, data_width=data_width,
                                tx_count=self.driver.tx[0].count, rx_count=self._rx_count)
        for queue in range(queues):
            # settled after set-up: every posted RX descriptor is in the prefetch
            tail = self.driver.rx[queue].next_to_use
            self.timing.rx_tail(queue, tail)
            self.timing.rx_prefetched(queue, tail, tail)
        self._written_back = [0] * queues       # frames in an RX ring, not yet cleaned
        self._ring_beats = [deque() for _ in range(queues)]      # their lengths in beats
        self.dma_missed = 0
        # The RX DMA.
        self._posted = [deque() for _ in range(queues)]      # tags of receives posted
        self._grant = None                      # the queue whose packet is being taken
        self._pointer = 0
        self._frame = []
        self.received = [0] * queues
        # The TX DMA.
        self._tx = [deque() for _ in range(queues)]           # [tag, frame, result] per queue
        self._tx_posted = [deque() for _ in range(queues)]    # entries whose TDT is posted
        self._transmitted = []
        self.transmitted = [0] * queues
        # Register writes, trace, RST requests, completions.
        self._writes = deque()
        self._trace = []
        self.rst_requests = []
        self._completions = []
        self._step_pipeline()                   # the configuration in the registers first

    # Operations.

    def transmit(self, tag, queue, frame):
        ring = self._tx[queue]
        if len(ring) >= self.tx_ring or not self.driver.transmit([bytes(frame)], queue):
            return False
        entry = [tag, bytes(frame), None]
        ring.append(entry)
        self._tx_posted[queue].append(entry)
        return True

    # Register writes (posted).

    def _post_write(self, offset, value):
        if self._setting_up:
            self.engine.write32(offset, value)
            return
        start = max(self.cycle, self._write_free)
        self._write_free = start + REGISTER_WRITE_CYCLES
        self._posted_writes.append((self._write_free, offset, value))

    def _apply_writes(self, cycle):
        """The posted writes that take effect by ``cycle`` (all of them: None) reach the
        engine; a tail moved tells the timing model (with the TX frames it posts)."""
        posted = self._posted_writes
        while posted and (cycle is None or posted[0][0] <= cycle):
            _, offset, value = posted.popleft()
            self.engine.write32(offset, value)
            kind, queue = self._tails.get(offset, (None, None))
            if kind == "rx":
                self.timing.rx_tail(queue, value)
            elif kind == "tx":
                frames = []
                for sent in self.engine.pull_tx_frames():    # fetched and sent, whole
                    entry = self._tx_posted[queue].popleft()
                    if sent.data != entry[1]:
                        entry[2] = failure(EIO)
                    frames.append((len(sent.data), entry))
                self.timing.tx_tail(queue, value, frames)

    def post_rx(self, tag, queue):
        posted = self._posted[queue]
        if len(posted) >= self.rx_ring:
            return False
        posted.append(tag)
        return True

    def _request_write(self, tag, values):
        """A configuration write (pipeline inputs ``values``), completed as ``tag``. It takes
        effect in the cycle after the next one, as the wire's frames (see :meth:`offer`)."""
        self._writes.append((self.cycle, tag, values))

    def write_reta(self, tag, index, queue):
        self._request_write(tag, dict(reta_write=1, reta_index=index, reta_value=queue))
        return True

    def write_flow(self, tag, index, key, queue, valid=True):
        key = key.pack() if isinstance(key, FlowKey) else key
        self._request_write(tag, dict(flow_write=1, flow_index=index, flow_key=key,
                                      flow_queue=queue, flow_valid=int(valid)))
        return True

    def configure_admission(self, tag, *, steady, burst, capacity, rate, denominator=0):
        self._request_write(tag, dict(steady_depth=steady, burst_depth=burst,
                                      bucket_capacity=capacity, refill_rate=rate,
                                      refill_denominator=denominator))
        return True

    # The clock.

    def step(self):
        self._apply_writes(self.cycle)
        inputs = self._inputs
        inputs["reta_write"] = inputs["flow_write"] = 0
        written = None
        if self._writes and self._writes[0][0] < self.cycle:
            _, written, values = self._writes.popleft()
            inputs.update(values)
        self._offer_beat()
        grant = self._choose_grant()
        for queue in range(self.queues):
            inputs[f"o_streams__{queue}__ready"] = int(queue == grant)
        outputs = self._step_pipeline()
        if inputs["i_stream__valid"] and outputs["i_stream__ready"]:
            self._beats.popleft()
        if grant is not None and outputs[f"o_streams__{grant}__valid"]:
            self._take_beat(grant, outputs[f"o_streams__{grant}__payload"])
        elif not self._frame:
            self._grant = None                  # nothing there after all: arbitrate again
        if outputs["trace_stream__valid"]:
            self._trace.append(unpack_record(outputs["trace_stream__payload"]))
        if outputs["rst_stream__valid"]:
            self.rst_requests.append(FlowKey.unpack(outputs["rst_stream__payload"]))
        for kind, queue, token in self.timing.step():
            if kind == "rx":
                self._written_back_frame(queue, token)
            elif kind == "missed":
                self.dma_missed += 1            # no free RX descriptor: dropped, as i225
            else:
                self._sent(queue, token)
        # the driver cleans after the clock edge, as on CocotbNIC: the RDT writes of the
        # buffers it recycles are posted in the new cycle
        self.cycle += 1
        self._clean_rx()
        if written is not None:
            self._completions.append((written, OK))     # in the register from this cycle on
        completions, self._completions = self._completions, []
        return self.cycle, completions

    def _step_pipeline(self):
        self._outputs = self.pipeline.step(**self._inputs)
        return self._outputs

    def _offer_beat(self):
        if not self._beats and self._wire and self._wire[0][0] < self.cycle:
            _, frame = self._wire.popleft()
            self._beats.extend(frame_beats(frame, self.data_width))
            self.offered += 1
        inputs = self._inputs
        if self._beats:
            inputs["i_stream__valid"] = 1
            inputs["i_stream__payload"] = pack_beat(self._beats[0], self.data_width)
        else:
            inputs["i_stream__valid"] = 0

    def _choose_grant(self):
        """The queue the RX DMA serves this cycle: the one whose packet it is taking, else the
        next (round robin) that has a beat to give (the gateware's RX arbiter: the engine takes
        every frame; one that finds no free descriptor is dropped there)."""
        if self._grant is not None:
            return self._grant
        for offset in range(self.queues):
            queue = (self._pointer + offset) % self.queues
            if self.pipeline.output_valid(queue):
                self._grant = queue
                self._pointer = (queue + 1) % self.queues
                return queue
        return None

    def _clean_rx(self):
        """The driver cleans written-back frames into the receives waiting for them."""
        driver = self.driver
        for queue in range(self.queues):
            budget = min(self._written_back[queue], len(self._posted[queue]))
            if not budget:
                continue
            for frame in driver.clean_rx(queue, budget):
                data = driver.frame_data(frame)
                driver.recycle(frame)
                self._written_back[queue] -= 1
                self._ring_beats[queue].popleft()
                self.received[queue] += 1
                self._completions.append((self._posted[queue].popleft(),
                                          rx_result(queue, data)))

    def _take_beat(self, queue, payload):
        """The RX DMA takes one beat (a packed payload) of ``queue``'s packet."""
        self._frame.append(payload)
        if not (payload >> self._last_offset) & 1:
            return
        frame = beats_frame([unpack_beat(beat, self.data_width) for beat in self._frame],
                            self.data_width)
        beats = len(self._frame)
        self._frame = []
        self._grant = None
        self.timing.rx_frame(queue, len(frame), (len(frame), frame, beats))

    def _written_back_frame(self, queue, token):
        """The timing model says the frame's write-back is done: the engine writes it."""
        _, frame, beats = token
        if self.engine.receive(frame, queue) == RxOutcome.DELIVERED:
            self._written_back[queue] += 1
            self._ring_beats[queue].append(beats)
        else:
            raise AssertionError(f"queue {queue}: the DMA timing found a descriptor for a "
                                 f"frame the engine's golden model had none for")

    def _sent(self, queue, token):
        """The timing model says the frame's last beat left on the wire."""
        tag, frame, failed = self._tx[queue].popleft()
        assert token[0] == tag, "the TX frames leave a queue in order"
        self.driver.clean_tx(queue)
        if failed is not None:
            self._completions.append((tag, failed))
            return
        self.transmitted[queue] += 1
        self._transmitted.append((queue, frame))
        self._completions.append((tag, Result(len(frame))))

    # Reads.

    def _counter_names(self):
        """``(scalar names, {per-queue name: [port names]})`` of the pipeline's counters."""
        scalars, arrays = [], {}
        for name in self._outputs:
            base, _, index = name.rpartition("__")
            if name.endswith(("payload", "valid", "ready")) or name.startswith("o_streams"):
                continue
            if base and index.isdigit():
                arrays.setdefault(base, []).append(name)
            else:
                scalars.append(name)
        return scalars, arrays

    def read_counters(self):
        outputs = self._outputs
        if self._names is None:
            self._names = self._counter_names()
        scalars, arrays = self._names
        counters = {name: outputs[name] for name in scalars}
        counters.update({name: [outputs[port] for port in ports]
                         for name, ports in arrays.items()})
        counters.update(wire_offered=self.offered, dma_received=list(self.received),
                        dma_transmitted=list(self.transmitted), dma_missed=self.dma_missed,
                        cycle=self.cycle)
        counters.update({f"dma_{name}": count for name, count in self.engine.totals.items()
                         if isinstance(name, str)})
        return counters

    def read_trace(self):
        records, self._trace = self._trace, []
        return records

    def queue_levels(self):
        """Beats held per queue between the demux and the firmware: the demux's and the
        admission's sliques, and the frames written back to the RX ring and not yet cleaned."""
        outputs = self._outputs
        return [outputs[f"levels__{queue}"] + outputs[f"demux_levels__{queue}"]
                + sum(self._ring_beats[queue]) for queue in range(self.queues)]

    # The wire.

    def offer(self, frame):
        """Offer ``frame`` on the RX wire. Its first beat is on the wire from the cycle after
        the next one: on the gateware (CocotbNIC) the wire's driver runs at the clock edge,
        before the firmware that offers, and sees the frame at the next edge."""
        self._wire.append((self.cycle, bytes(frame)))

    def take_transmitted(self):
        frames, self._transmitted = self._transmitted, []
        return frames

    @property
    def wire_pending(self):
        """Frames offered on the RX wire and not yet wholly in the pipeline."""
        return len(self._wire) + bool(self._beats)

    @property
    def idle_tx(self):
        """Nothing waiting to be sent or being sent."""
        return not any(self._tx)

    @property
    def idle(self):
        return not (self._wire or self._beats or self.pipeline.busy or self._writes
                    or any(self._tx) or self._frame or self._completions
                    or any(self._written_back) or self._posted_writes or self.timing.busy)
