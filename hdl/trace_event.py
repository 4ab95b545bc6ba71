"""Trace events: why something was dropped, skipped or refused, shared by gateware, models, firmware.

Every block that drops, skips or refuses anything reports it as one :class:`TraceEvent` on an
``Out(TRACE_EVENT_SIGNATURE)`` port named ``trace`` (a valid strobe, never back-pressured: the
block does not wait for the trace machinery). The trace stream collects the events of all blocks,
stamps them with the cycle and the block, and keeps them in its own bounded slique; when that
overflows it counts exactly how many records were lost.

The enums are :class:`amaranth.lib.enum.Enum` with an explicit shape, so the same class is a
gateware shape, a plain Python enum for the golden models and the firmware, and the source of the
register-map documentation.
"""

from amaranth.lib import data, enum, stream


__all__ = ["TraceReason", "TraceBlock", "TraceEvent", "TraceRecord", "TRACE_EVENT_SIGNATURE"]


class TraceReason(enum.Enum, shape=8):
    """Why a record was emitted. One counter per reason in every block that can emit it."""
    #: A BoundedSlique with ``on_full="drop"`` discarded a beat offered while full.
    SLIQUE_FULL = 1
    #: Burst admission: above the steady depth and no token left.
    BURST_EXHAUSTED = 2
    #: Burst admission: at the burst depth (hard limit).
    HARD_LIMIT = 3
    #: Reorder: a sequence number behind the expected one (a duplicate).
    PACKET_DUPLICATE = 4
    #: Reorder: the sideline was full; its oldest held entry was dropped.
    SIDELINE_EVICTED = 5
    #: Reorder: a gap older than the timeout was skipped.
    GAP_SKIPPED = 6
    #: Demux, strict mode: a flow not in the flow table.
    UNKNOWN_FLOW = 7
    #: Demux: the chosen queue was full.
    QUEUE_FULL = 8
    #: Parser: shorter than the headers it announces (runt or truncated frame).
    TRUNCATED = 9
    #: Parser: a malformed header (bad IHL, total length beyond the frame, bad IPv6 length).
    MALFORMED = 10
    #: DMA: a descriptor or register value the engine refused.
    BAD_DESCRIPTOR = 11
    #: DMA: a bus error on the memory master.
    BUS_ERROR = 12
    #: DMA: an RX frame found no free descriptor (counted as missed, MPC).
    NO_DESCRIPTOR = 13


class TraceBlock(enum.Enum, shape=4):
    """Which block emitted a record."""
    SLIQUE = 0
    ADMISSION = 1
    REORDER = 2
    DEMUX = 3
    PARSER = 4
    DMA = 5
    FIRMWARE = 6


class TraceEvent(data.Struct):
    """What a block reports: the reason, the queue or flow it concerns, and a tag (the M-ICC or
    sequence number of the packet the record is about)."""
    reason: TraceReason
    queue: 8
    tag: 32


class TraceRecord(data.Struct):
    """A trace record as the trace stream delivers it: ``(cycle, block, reason, queue, tag)``."""
    cycle: 32
    block: TraceBlock
    reason: TraceReason
    queue: 8
    tag: 32


#: The ``trace`` port of every block: a valid strobe carrying one event, never back-pressured.
TRACE_EVENT_SIGNATURE = stream.Signature(TraceEvent, always_ready=True)
