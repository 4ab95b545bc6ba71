"""The NIC the firmware talks to: the flow pipeline's per-queue outputs into the DMA engine."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .dma.engine import DmaEngine
from .dma.rx_queue import rx_beat_layout
from .flow_pipeline import FlowPipeline
from .packet import packet_layout


__all__ = ["Nic"]


class Nic(wiring.Component):
    """A NIC: :class:`~slique.hdl.FlowPipeline` (demux, per-queue admission and sliques) in
    front of the i225-compatible :class:`~slique.hdl.dma.engine.DmaEngine`.

    ::

        wire rx_wire -> FlowPipeline --o_streams[q]--> RX arbiter -> DmaEngine.rx_stream
                                                                      DmaEngine.tx_stream -> tx_wire
                        (loopback: tx_wire's frames go into the pipeline instead of rx_wire)

    - **RX arbiter**: whole packets, round robin over the queues with a beat waiting (the queue
      whose packet is being moved keeps the grant until its last beat), one beat per cycle, with
      the queue number in the engine's ``queue`` member. The pipeline's outputs carry no RSS
      hash, so ``rss_hash`` and ``rss_type`` are 0 in the write-backs (as in the golden NIC).
      The engine never back-pressures its RX stream: a frame for a queue whose RX ring has no
      free descriptor is dropped and counted by the engine (its missed-packet counter), as the
      golden NIC's RX DMA drops it (see :class:`slique.firmware.golden_nic.GoldenNIC`, whose
      :class:`~slique.firmware.dma_timing.DmaTiming` follows this engine's bus cycle by cycle).
    - **Configuration**: the pipeline's configuration inputs (RSS key, MRQC, RETA and flow-table
      writes, admission) are ports of this top, driven by the bench for now, the way
      :class:`~slique.firmware.golden_nic.GoldenNIC` drives its golden pipeline's ports (a
      register bank in front of them is not written yet). The DMA engine is configured through
      its i225 registers on ``csr``.
    - **Loopback**: while ``loopback`` is high the engine's TX frames enter the pipeline in place
      of ``rx_wire`` (which is then held not ready) and nothing leaves on ``tx_wire``. Switch it
      only while both are idle.

    Parameters
    ----------
    queues : int
        Queues (1 to 4, the DMA engine's limit).
    data_width : 32 or 64
        Width of the packet streams and of the host bus.
    queue_depth, demux_depth, flow_entries, trace_depth
        As for :class:`~slique.hdl.FlowPipeline`.

    Attributes
    ----------
    rx_wire : ``In(stream.Signature(packet_layout(data_width)))``
        Frames from the wire.
    tx_wire : ``Out(stream.Signature(packet_layout(data_width)))``
        Frames to the wire.
    loopback : ``In(1)``
    csr, host, irq
        The DMA engine's register bus, host-memory master and interrupt.
    key, mrqc, ..., trace_stream, rst_stream, demux_*, admission_*, levels, ...
        Every other port of :class:`~slique.hdl.FlowPipeline`, under its name.
    """

    def __init__(self, *, queues=4, data_width=64, queue_depth=64, demux_depth=64,
                 flow_entries=16, trace_depth=16):
        self._pipeline = FlowPipeline(data_width, queues, queue_depth=queue_depth,
                                      demux_depth=demux_depth, flow_entries=flow_entries,
                                      trace_depth=trace_depth)
        self._engine = DmaEngine(queues=queues, data_width=data_width)
        self._queues = queues
        self._data_width = data_width
        forwarded = {name: member for name, member in self._pipeline.signature.members.items()
                     if name not in ("i_stream", "o_streams")}
        engine = self._engine.signature.members
        super().__init__({
            "rx_wire": In(stream.Signature(packet_layout(data_width))),
            "tx_wire": Out(stream.Signature(packet_layout(data_width))),
            "loopback": In(1),
            "csr": engine["csr"],
            "host": engine["host"],
            "irq": engine["irq"],
            **forwarded,
        })
        self._forwarded = forwarded

    queues = property(lambda self: self._queues)
    data_width = property(lambda self: self._data_width)
    pipeline = property(lambda self: self._pipeline, doc="The :class:`FlowPipeline`.")
    engine = property(lambda self: self._engine, doc="The :class:`DmaEngine`.")

    def elaborate(self, platform):
        m = Module()
        m.submodules.pipeline = pipeline = self._pipeline
        m.submodules.engine = engine = self._engine
        wiring.connect(m, wiring.flipped(self.csr), engine.csr)
        wiring.connect(m, engine.host, wiring.flipped(self.host))
        m.d.comb += self.irq.eq(engine.irq)

        for name, member in self._forwarded.items():
            if member.is_signature:
                wiring.connect(m, getattr(pipeline, name), wiring.flipped(getattr(self, name)))
            else:
                outer, inner = getattr(self, name), getattr(pipeline, name)
                pairs = list(zip(outer, inner)) if member.dimensions else [(outer, inner)]
                m.d.comb += [(b.eq(a) if member.flow == In else a.eq(b)) for a, b in pairs]

        # The wires, and the loopback between them.
        with m.If(self.loopback):
            m.d.comb += [
                pipeline.i_stream.payload.eq(engine.tx_stream.payload),
                pipeline.i_stream.valid.eq(engine.tx_stream.valid),
                engine.tx_stream.ready.eq(pipeline.i_stream.ready),
            ]
        with m.Else():
            m.d.comb += [
                pipeline.i_stream.payload.eq(self.rx_wire.payload),
                pipeline.i_stream.valid.eq(self.rx_wire.valid),
                self.rx_wire.ready.eq(pipeline.i_stream.ready),
                self.tx_wire.payload.eq(engine.tx_stream.payload),
                self.tx_wire.valid.eq(engine.tx_stream.valid),
                engine.tx_stream.ready.eq(self.tx_wire.ready),
            ]

        # The RX arbiter: whole packets, round robin from the queue after the last one served.
        queues = self._queues
        outputs = pipeline.o_streams
        grant = Signal(range(queues))
        busy = Signal()                     # a packet of queue `grant` is being moved
        last_served = Signal(range(queues), init=queues - 1)
        chosen = Signal(range(queues))
        found = Signal()
        for offset in reversed(range(1, queues + 1)):
            for previous in range(queues):
                candidate = (previous + offset) % queues
                with m.If((last_served == previous) & outputs[candidate].valid):
                    m.d.comb += [chosen.eq(candidate), found.eq(1)]
        current = Signal(range(queues))
        m.d.comb += current.eq(Mux(busy, grant, chosen))
        active = Signal()
        m.d.comb += active.eq(busy | found)

        rx = engine.rx_stream
        beat = Signal(packet_layout(self._data_width))
        valid = Signal()
        with m.Switch(current):
            for queue in range(queues):
                with m.Case(queue):
                    m.d.comb += [beat.eq(outputs[queue].payload),
                                 valid.eq(active & outputs[queue].valid),
                                 outputs[queue].ready.eq(active & rx.ready)]
        for name in packet_layout(self._data_width).members:
            m.d.comb += getattr(rx.payload, name).eq(getattr(beat, name))
        m.d.comb += [rx.payload.queue.eq(current), rx.payload.rss_hash.eq(0),
                     rx.payload.rss_type.eq(0), rx.valid.eq(valid)]
        with m.If(valid & rx.ready):
            with m.If(beat.last):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += [busy.eq(1), grant.eq(current)]
            m.d.sync += last_served.eq(current)
        return m
