"""The flow pipeline: flow demux -> packet admission -> per-queue sliques, one trace stream."""

from dataclasses import dataclass

from amaranth import *
from amaranth.lib import wiring

from ._parameters import check_depth
from .burst_admission import check_admission_parameters
from .flow_demux import DropReason, FlowDemux, demux_parameters
from .mac.skid_buffer import SkidBuffer
from .packet import packet_layout
from .packet_admission import PacketAdmission
from .toeplitz import RSS_KEY_BYTES
from .trace_event import TraceBlock
from .trace_stream import TraceStream


__all__ = ["FlowPipeline", "PipelineParameters", "pipeline_parameters", "DEMUX_CONFIG",
           "ADMISSION_CONFIG", "DEMUX_OUTPUTS", "DEMUX_QUEUE_OUTPUTS", "ADMISSION_OUTPUTS",
           "trace_sources"]


#: Configuration inputs of the pipeline that go to the flow demux, as the demux names them.
DEMUX_CONFIG = ("key", "mrqc", "default_queue", "strict", "reta_index", "reta_value",
                "reta_write", "flow_index", "flow_key", "flow_queue", "flow_valid", "flow_write")

#: Configuration inputs shared by every queue's admission, as :class:`PacketAdmission` names them.
ADMISSION_CONFIG = ("steady_depth", "burst_depth", "bucket_capacity", "refill_rate",
                    "refill_denominator")

#: Pipeline output -> flow-demux output: the demux's counters.
DEMUX_OUTPUTS = {"demux_offered": "offered", "rst_lost": "rst_lost",
                 **{f"demux_dropped_{reason.name.lower()}": f"dropped_{reason.name.lower()}"
                    for reason in DropReason if reason != DropReason.NONE}}

#: Pipeline output array (one per queue) -> flow-demux output array.
DEMUX_QUEUE_OUTPUTS = {"demux_delivered": "delivered", "demux_queue_full": "queue_full",
                       "demux_levels": "levels"}

#: Pipeline output array (one per queue) -> that queue's :class:`PacketAdmission` output.
ADMISSION_OUTPUTS = {"admission_offered": "offered", "admission_accepted": "accepted",
                     "admission_delivered": "delivered",
                     "admission_dropped_burst_exhausted": "dropped_burst_exhausted",
                     "admission_dropped_hard_limit": "dropped_hard_limit",
                     "levels": "level", "tokens": "tokens", "decisions": "decision"}


def trace_sources(queues):
    """The trace stream's sources: the demux (source 0), then each queue's admission."""
    return [TraceBlock.DEMUX] + [TraceBlock.ADMISSION] * queues


@dataclass(frozen=True)
class PipelineParameters:
    """The parameters of a :class:`FlowPipeline`, checked (see :func:`pipeline_parameters`)."""
    data_width: int
    queues: int
    queue_depth: int
    demux_depth: int
    flow_entries: int
    buffer_depth: int
    rst_depth: int
    trace_depth: int
    key_bytes: int
    fraction_bits: int
    token_bits: int
    storage: str
    handover: bool

    def demux(self):
        """The :class:`~slique.hdl.FlowDemux` keyword arguments."""
        return dict(data_width=self.data_width, queues=self.queues,
                    queue_depth=self.demux_depth, flow_entries=self.flow_entries,
                    buffer_depth=self.buffer_depth, rst_depth=self.rst_depth,
                    key_bytes=self.key_bytes, storage=self.storage)

    def admission(self, queue):
        """The :class:`~slique.hdl.PacketAdmission` keyword arguments of ``queue``."""
        return dict(data_width=self.data_width, depth=self.queue_depth,
                    fraction_bits=self.fraction_bits, token_bits=self.token_bits, queue=queue,
                    storage=self.storage)


def pipeline_parameters(data_width, queues, *, queue_depth, demux_depth, flow_entries,
                        buffer_depth=None, rst_depth=4, trace_depth=16, key_bytes=RSS_KEY_BYTES,
                        fraction_bits=16, token_bits=16, storage="auto", handover=False):
    """Check :class:`FlowPipeline`'s parameters (the gateware's and its golden model's) with the
    checks of its blocks; return them as :class:`PipelineParameters`."""
    demux = demux_parameters(data_width, queues, demux_depth, flow_entries,
                             buffer_depth=buffer_depth, rst_depth=rst_depth,
                             key_bytes=key_bytes, storage=storage)
    check_admission_parameters(packet_layout(data_width), queue_depth,
                               fraction_bits=fraction_bits, token_bits=token_bits,
                               queue=queues - 1, storage=storage)
    check_depth(trace_depth)
    return PipelineParameters(data_width, queues, queue_depth, demux_depth, flow_entries,
                              demux.buffer_depth, rst_depth, trace_depth, key_bytes,
                              fraction_bits, token_bits, storage, bool(handover))


class FlowPipeline(wiring.Component):
    """The flow path: a :class:`~slique.hdl.FlowDemux`, then a :class:`~slique.hdl.PacketAdmission`
    (token-bucket burst admission, whole packets) and its slique per queue, and one
    :class:`~slique.hdl.TraceStream` for the drops of every block.

    ::

        i_stream -> FlowDemux --o_streams[q]--> [SkidBuffer] --> PacketAdmission q (slique of queue_depth) -> o_streams[q]
                        |  trace                      | trace
                        +-------> TraceStream <-------+ ...            -> trace_stream
                        +-> rst_stream

    A packet is parsed, hashed and steered by the demux (dropped there as TRUNCATED, MALFORMED,
    OVERSIZE, UNKNOWN_FLOW or QUEUE_FULL); the demux's queue ``q`` (``demux_depth`` beats: a
    staging slique that holds whole packets) feeds queue ``q``'s admission, which decides once per
    packet (BURST_EXHAUSTED, HARD_LIMIT) and never cuts one: an admitted packet that meets a
    full slique waits in the demux's queue, which then drops later packets whole as QUEUE_FULL.
    With ``handover=True``, a :class:`~slique.hdl.mac.SkidBuffer` per queue hands the beats
    over through registers (a beat spends a cycle there, and up to two beats wait there): the
    demux's queue is a block RAM whose clock-to-output delay (ECP5: 5.8 ns) leaves little time
    for the admission's decision behind it, and the admission's ``ready`` then reaches nothing
    of the demux. The Colorlight top (125 MHz) uses it.

    Configuration is by input ports for now (a register bank can drive them): the demux's
    (:data:`DEMUX_CONFIG`, as :class:`~slique.hdl.FlowDemux` documents them) and the admission's
    ``S``, ``B``, ``C``, ``r`` and ``D`` (:data:`ADMISSION_CONFIG`, as
    :class:`~slique.hdl.BurstAdmission` documents them), **shared** by every queue: each queue
    has its own bucket and level, under one policy.

    Counters (32-bit, saturating), in packets, so that every block satisfies ``offered ==
    delivered + sum(dropped by reason)`` once drained: the demux's (``demux_offered``,
    ``demux_delivered[q]`` = packets out of the demux's queue ``q``, ``demux_dropped_<reason>``,
    ``demux_queue_full[q]``) and each admission's (``admission_offered[q]`` = packets the demux
    handed over, ``admission_delivered[q]`` = packets out of the pipeline on ``o_streams[q]``,
    ``admission_dropped_burst_exhausted[q]``, ``admission_dropped_hard_limit[q]``). The trace
    stream satisfies ``events == records delivered + trace_lost`` once drained.

    Parameters
    ----------
    data_width : 8 or 32
        Bits of packet data per beat.
    queues : int
        Queues (1 to 254).
    queue_depth : int
        Beats of each queue's slique behind its admission (``S`` and ``B`` count in them).
    demux_depth : int
        Beats of each of the demux's queues; a packet longer is always QUEUE_FULL.
    flow_entries, buffer_depth, rst_depth, key_bytes
        As for :class:`~slique.hdl.FlowDemux`.
    trace_depth : int
        Records of the trace stream's slique.
    fraction_bits, token_bits
        As for :class:`~slique.hdl.BurstAdmission`.
    storage : ``"auto"``, ``"systolic"`` or ``"ring"``
        Storage of every slique.
    handover : bool
        A skid buffer between each demux queue and its admission (see above).

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packet_layout(data_width)))``
        Packets in.
    o_streams : ``Out(stream.Signature(packet_layout(data_width))).array(queues)``
        Packets out, one stream per queue.
    key, mrqc, default_queue, strict, reta_*, flow_*
        The demux's configuration inputs.
    steady_depth, burst_depth, bucket_capacity, refill_rate, refill_denominator
        The admission's configuration inputs, shared by the queues.
    trace_stream : ``Out(stream.Signature(TraceRecord))``
        Trace records of every block.
    trace_lost, trace_level : ``Out(32)``, ``Out(range(trace_depth + 1))``
        Trace records lost, and waiting.
    rst_stream : ``Out(stream.Signature(FlowKey))``
        The demux's RST requests; ``rst_lost`` counts those lost.
    demux_*, admission_*, levels, tokens, decisions
        Counters and state as listed in :data:`DEMUX_OUTPUTS`, :data:`DEMUX_QUEUE_OUTPUTS` and
        :data:`ADMISSION_OUTPUTS` (``levels[q]`` is queue ``q``'s slique level in beats).
    """

    def __init__(self, data_width, queues, *, queue_depth, demux_depth, flow_entries,
                 buffer_depth=None, rst_depth=4, trace_depth=16, key_bytes=RSS_KEY_BYTES,
                 fraction_bits=16, token_bits=16, storage="auto", handover=False):
        self.parameters = parameters = pipeline_parameters(
            data_width, queues, queue_depth=queue_depth, demux_depth=demux_depth,
            flow_entries=flow_entries, buffer_depth=buffer_depth, rst_depth=rst_depth,
            trace_depth=trace_depth, key_bytes=key_bytes, fraction_bits=fraction_bits,
            token_bits=token_bits, storage=storage, handover=handover)
        # The blocks, made here so that the pipeline's ports take their members from them.
        self._demux = FlowDemux(**parameters.demux())
        self._admissions = [PacketAdmission(**parameters.admission(queue))
                            for queue in range(queues)]
        self._trace = TraceStream(trace_sources(queues), trace_depth, storage=storage)
        demux = self._demux.signature.members
        admission = self._admissions[0].signature.members
        members = {
            "i_stream": demux["i_stream"],
            "o_streams": demux["o_streams"],
            **{name: demux[name] for name in DEMUX_CONFIG},
            **{name: admission[name] for name in ADMISSION_CONFIG},
            "trace_stream": self._trace.signature.members["o_stream"],
            "trace_lost": self._trace.signature.members["lost"],
            "trace_level": self._trace.signature.members["level"],
            "rst_stream": demux["rst_stream"],
            **{name: demux[inner] for name, inner in DEMUX_OUTPUTS.items()},
            **{name: demux[inner] for name, inner in DEMUX_QUEUE_OUTPUTS.items()},
            **{name: admission[inner].array(queues) for name, inner in ADMISSION_OUTPUTS.items()},
        }
        super().__init__(members)

    data_width = property(lambda self: self.parameters.data_width)
    queues = property(lambda self: self.parameters.queues)
    queue_depth = property(lambda self: self.parameters.queue_depth)

    def elaborate(self, platform):
        m = Module()
        m.submodules.demux = demux = self._demux
        m.submodules.trace = trace = self._trace
        wiring.connect(m, wiring.flipped(self.i_stream), demux.i_stream)
        wiring.connect(m, demux.rst_stream, wiring.flipped(self.rst_stream))
        wiring.connect(m, trace.o_stream, wiring.flipped(self.trace_stream))
        wiring.connect(m, demux.trace, trace.i_trace[0])
        m.d.comb += [getattr(demux, name).eq(getattr(self, name)) for name in DEMUX_CONFIG]
        m.d.comb += [getattr(self, name).eq(getattr(demux, inner))
                     for name, inner in DEMUX_OUTPUTS.items()]
        m.d.comb += [self.trace_lost.eq(trace.lost), self.trace_level.eq(trace.level)]

        for queue, admission in enumerate(self._admissions):
            m.submodules[f"admission{queue}"] = admission
            if self.parameters.handover:
                m.submodules[f"handover{queue}"] = handover = SkidBuffer(
                    demux.o_streams[queue].payload.shape())
                wiring.connect(m, demux.o_streams[queue], handover.i_stream)
                wiring.connect(m, handover.o_stream, admission.i_stream)
            else:
                wiring.connect(m, demux.o_streams[queue], admission.i_stream)
            wiring.connect(m, admission.o_stream, wiring.flipped(self.o_streams[queue]))
            wiring.connect(m, admission.trace, trace.i_trace[1 + queue])
            m.d.comb += [getattr(admission, name).eq(getattr(self, name))
                         for name in ADMISSION_CONFIG]
            m.d.comb += [getattr(self, name)[queue].eq(getattr(demux, inner)[queue])
                         for name, inner in DEMUX_QUEUE_OUTPUTS.items()]
            m.d.comb += [getattr(self, name)[queue].eq(getattr(admission, inner))
                         for name, inner in ADMISSION_OUTPUTS.items()]
        return m
