"""Flow demux: parse, hash (RSS), look up, and push every packet into the slique of its queue."""

from dataclasses import dataclass

from amaranth import *
from amaranth.hdl import ValueCastable
from amaranth.lib import data, enum, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ._parameters import STORAGES, check_choice, check_depth
from .bounded_slique import COUNTER_WIDTH, BoundedSlique
from .flow_table import LOOKUP_LATENCY, FlowTable, check_count, queue_shape
from .header_parser import FlowKey, HeaderParser, Verdict
from .packet import beat_bytes, packet_layout
from .toeplitz import RSS_KEY_BYTES, check_key_bytes
from .trace_event import TRACE_EVENT_SIGNATURE, TraceReason


__all__ = ["FlowDemux", "DropReason", "TRACE_REASONS", "NO_QUEUE", "RETA_ENTRIES",
           "MRQC", "DESCRIPTOR_DEPTH", "reta_init", "descriptor_layout", "DemuxParameters",
           "demux_parameters", "saturating_count"]


#: Entries of the RSS indirection table (RETA), indexed by the low 7 bits of the hash.
RETA_ENTRIES = 128

#: The ``queue`` of a trace event about a packet that was dropped before it had a queue.
NO_QUEUE = 0xFF

#: Packets between their ``last`` beat and the end of their copy into a queue, at most; more
#: than the decision pipeline's latency plus the descriptor queue's (a systolic chain of
#: ``DESCRIPTOR_DEPTH / 2`` cells, a cycle each), so that one packet a cycle can be decided:
#: 12 is the least that does (``test_one_decision_per_cycle``).
DESCRIPTOR_DEPTH = 12

#: Registers between the input buffer's output and the queues' inputs: a delivered beat reaches
#: its queue this many cycles after it leaves the buffer.
COPY_REGISTERS = 2


class MRQC:
    """The i225 MRQC register (0x5818): field positions that :class:`FlowDemux` reads."""
    #: Bits 2:0, multiple receive queues enable; 0b010 is RSS, anything else is "no RSS".
    ENABLE = slice(0, 3)
    RSS = 0b010
    #: Hash field enables (bit numbers).
    IPV4_TCP = 16
    IPV4 = 17
    IPV6 = 20
    IPV6_TCP = 21
    IPV4_UDP = 22
    IPV6_UDP = 23


class DropReason(enum.Enum, shape=3):
    """Why the demux dropped a packet; one counter each (``dropped_<name>``)."""
    NONE = 0
    #: The parser: shorter than the headers it announces (runts included).
    TRUNCATED = 1
    #: The parser: malformed headers or a framing error.
    MALFORMED = 2
    #: Longer than the input buffer (``buffer_depth`` beats).
    OVERSIZE = 3
    #: Strict mode: an IP flow that is not in the flow table.
    UNKNOWN_FLOW = 4
    #: The chosen queue could not take the whole packet.
    QUEUE_FULL = 5


#: The trace reason of each drop reason. OVERSIZE has no reason of its own in
#: :class:`~slique.hdl.trace_event.TraceReason` yet and is traced as MALFORMED (a giant frame);
#: its counter tells them apart.
TRACE_REASONS = {
    DropReason.TRUNCATED: TraceReason.TRUNCATED,
    DropReason.MALFORMED: TraceReason.MALFORMED,
    DropReason.OVERSIZE: TraceReason.MALFORMED,
    DropReason.UNKNOWN_FLOW: TraceReason.UNKNOWN_FLOW,
    DropReason.QUEUE_FULL: TraceReason.QUEUE_FULL,
}

#: Drop reasons that request a TCP RST from the firmware (the packet had a flow and a queue).
RST_REASONS = (DropReason.UNKNOWN_FLOW, DropReason.QUEUE_FULL)


def reta_init(queues):
    """The RETA after reset: entry ``i`` is queue ``i % queues`` (ethtool's default spread)."""
    return [index % queues for index in range(RETA_ENTRIES)]


def descriptor_layout(queues, buffer_depth):
    """A decided packet waiting in the input buffer: deliver it (or discard it), to which queue,
    and its beats (``last_index`` is beats - 1)."""
    return data.StructLayout({
        "deliver": 1,
        "queue": queue_shape(queues),
        "last_index": range(buffer_depth),
    })


@dataclass(frozen=True)
class DemuxParameters:
    """The parameters of a :class:`FlowDemux`, checked, defaults resolved (see
    :func:`demux_parameters`)."""
    data_width: int
    queues: int
    queue_depth: int
    flow_entries: int
    buffer_depth: int
    rst_depth: int
    key_bytes: int
    storage: str


def demux_parameters(data_width, queues, queue_depth, flow_entries, *, buffer_depth=None,
                     rst_depth=4, key_bytes=RSS_KEY_BYTES, storage="auto"):
    """Check :class:`FlowDemux`'s parameters (the gateware's and its golden model's) and return
    them as :class:`DemuxParameters`; raise saying what is allowed."""
    if buffer_depth is None:
        buffer_depth = default_buffer_depth(data_width)
    beat_bytes(data_width)
    check_count("queues", queues, maximum=NO_QUEUE - 1)
    check_depth(queue_depth)
    check_count("flow_entries", flow_entries)
    check_count("buffer_depth", buffer_depth)
    check_count("rst_depth", rst_depth)
    check_key_bytes(key_bytes, data_width)
    check_choice("storage", storage, STORAGES)
    return DemuxParameters(data_width, queues, queue_depth, flow_entries, buffer_depth,
                           rst_depth, key_bytes, storage)


def default_buffer_depth(data_width):
    """Input buffer beats when none is given: 2048 bytes (a 1522-byte tagged frame fits)."""
    return 2048 // beat_bytes(data_width)


def saturating_count(m, counter, condition):
    """Count ``condition`` in ``counter``, which stops at its largest value."""
    with m.If(condition & (counter != (1 << len(counter)) - 1)):
        m.d.sync += counter.eq(counter + 1)


def _add_carry(value, other, carry):
    """``value + other + carry`` (``carry`` one bit) as one adder, a single carry chain: the
    carry enters as the low bit of both operands' sum."""
    width = max(len(value), len(other))
    total = Cat(carry, value, C(0, width - len(value))) + Cat(C(1, 1), other,
                                                             C(0, width - len(other)))
    return total[1:]


def _exceeds(value, carry, limit):
    """``value + carry > limit`` (unsigned; ``carry`` one bit), as the carry out of one adder:
    ``value + carry + ~limit`` reaches ``2 ** width`` exactly then."""
    width = max(len(value), len(limit))
    inverted = ~Cat(limit, C(0, width - len(limit)))
    return _add_carry(Cat(value, C(0, width - len(value))), inverted, carry)[width]


class FlowDemux(wiring.Component):
    """Flow demux with Receive Side Scaling: one input packet stream, one slique per queue.

    Every packet goes through one pipeline:

    1. **Input buffer.** Beats enter a :class:`~slique.hdl.BoundedSlique` of ``buffer_depth``
       beats (store and forward) while a :class:`~slique.hdl.HeaderParser` watches them (a
       cycle later, from registers) and computes the RSS hashes on the fly. The whole packet is buffered because the verdict
       (IP length against the frame) and the room check (is there space for all of it in its
       queue) both need its end. A frame longer than the buffer is cut: its first
       ``buffer_depth`` beats are kept, the rest are accepted and thrown away, and the packet is
       dropped as OVERSIZE (never delivered in part). ``i_stream.ready`` is low only while the
       buffer is full of earlier packets (they drain without waiting for anybody: see 4.) or
       while :data:`DESCRIPTOR_DEPTH` packets are in flight.
    2. **Classify** (two cycles after the ``last`` beat). The verdict (OVERSIZE, TRUNCATED,
       MALFORMED), the RSS hash type from ``mrqc`` (as on the i210 / i225: the TCP or UDP hash
       when the frame is TCP / UDP and that hash is enabled, else the address hash when enabled
       for its IP version, else no RSS), the RETA read at the low 7 bits of the hash, and the
       flow-table lookup of the 5-tuple.
    3. **Steer** (two cycles later: the flow-table lookup takes
       :data:`~slique.hdl.flow_table.LOOKUP_LATENCY` cycles, and the RETA's result waits for it
       in a register). The queue is the flow table's for a known flow, else RETA's
       for an RSS packet, else ``default_queue`` (frames that are not IP, RSS disabled, no
       enabled hash type); a queue number of ``queues`` or more means queue 0. In ``strict``
       mode an IP packet whose flow is not in the table is dropped (UNKNOWN_FLOW).
    4. **Commit** (a cycle later): one packet a cycle. A packet whose queue has room for all its
       beats (counting the beats of packets committed to it and not yet copied) is delivered:
       the room is reserved at once; otherwise it is dropped (QUEUE_FULL). Then the copier moves
       it from the input buffer into its queue, one beat a cycle (through
       :data:`COPY_REGISTERS` registers), or skips a
       dropped one beat by beat; the reservation guarantees that the copier never waits for a
       queue's consumer.
    5. **Report** (a cycle later). A dropped packet emits one trace event: reason, queue (or
       :data:`NO_QUEUE` for a packet dropped before it had one) and tag (the packet's sequence
       number at the input, counting from 0). An UNKNOWN_FLOW or QUEUE_FULL drop also emits an
       RST request with the packet's :class:`~slique.hdl.header_parser.FlowKey` (whatever its
       transport: the firmware answers TCP ones) into a ``rst_depth``-entry slique that drops,
       and counts, what it cannot hold.

    Run-time configuration is sampled where it is used: ``mrqc`` and RETA at stage 2, the flow
    table at stage 2, ``default_queue`` and ``strict`` at stage 3, ``key`` at a packet's first
    beat; a RETA or flow-table write is seen by lookups from the next cycle. The RETA starts as
    :func:`reta_init`.

    Conservation, on packets: ``offered == sum(delivered) + sum(dropped_<reason>)`` once nothing
    is in flight; every counter is 32-bit and saturates.

    Parameters
    ----------
    data_width : 8, 32 or 64
        Bits of packet data per beat.
    queues : int
        Number of queues (1 to 254).
    queue_depth : int
        Beats each queue's slique holds; a packet of more beats is always QUEUE_FULL.
    flow_entries : int
        Entries of the exact-match :class:`~slique.hdl.FlowTable`.
    buffer_depth : int or None
        Beats of the input buffer; the longest frame delivered (default: 2048 bytes).
    rst_depth : int
        Entries of the RST-request slique.
    key_bytes : int
        Bytes of the RSS key.
    storage : ``"auto"``, ``"systolic"`` or ``"ring"``
        Storage of the queues and the input buffer (see :class:`~slique.hdl.BoundedSlique`).

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packet_layout(data_width)))``
        Packets in.
    o_streams : ``Out(stream.Signature(packet_layout(data_width))).array(queues)``
        Packets out, one stream per queue.
    key : ``In(8 * key_bytes)``
        The RSS key (RSSRK), first byte most significant.
    mrqc : ``In(32)``
        The i225 MRQC register (see :class:`MRQC`).
    default_queue : ``In(queue_shape(queues))``
        Queue of frames that RSS does not place.
    strict : ``In(1)``
        Drop IP packets whose flow is not in the flow table.
    reta_index, reta_value, reta_write
        RETA write port: entry (7 bits), queue, strobe.
    flow_index, flow_key, flow_queue, flow_valid, flow_write
        Flow-table write port (see :class:`~slique.hdl.FlowTable`).
    trace : ``Out(TRACE_EVENT_SIGNATURE)``
        One event per dropped packet.
    rst_stream : ``Out(stream.Signature(FlowKey))``
        RST requests.
    offered : ``Out(32)``
        Packets whose ``last`` beat came in.
    delivered : ``Out(32).array(queues)``
        Packets whose ``last`` beat left each queue.
    queue_full : ``Out(32).array(queues)``
        QUEUE_FULL drops by queue.
    dropped_truncated, dropped_malformed, dropped_oversize, dropped_unknown_flow, dropped_queue_full : ``Out(32)``
        Drops by reason.
    rst_lost : ``Out(32)``
        RST requests lost because their slique was full.
    levels : ``Out(range(queue_depth + 1)).array(queues)``
        Beats held by each queue.
    """

    def __init__(self, data_width, queues, queue_depth, flow_entries, *, buffer_depth=None,
                 rst_depth=4, key_bytes=RSS_KEY_BYTES, storage="auto"):
        self.parameters = demux_parameters(
            data_width, queues, queue_depth, flow_entries, buffer_depth=buffer_depth,
            rst_depth=rst_depth, key_bytes=key_bytes, storage=storage)
        beat = packet_layout(data_width)
        queue = queue_shape(queues)
        members = {
            "i_stream": In(stream.Signature(beat)),
            "o_streams": Out(stream.Signature(beat)).array(queues),
            "key": In(8 * key_bytes),
            "mrqc": In(32),
            "default_queue": In(queue),
            "strict": In(1),
            "reta_index": In(range(RETA_ENTRIES)),
            "reta_value": In(queue),
            "reta_write": In(1),
            "flow_index": In(range(flow_entries)),
            "flow_key": In(FlowKey),
            "flow_queue": In(queue),
            "flow_valid": In(1),
            "flow_write": In(1),
            "trace": Out(TRACE_EVENT_SIGNATURE),
            "rst_stream": Out(stream.Signature(FlowKey)),
            "offered": Out(COUNTER_WIDTH),
            "delivered": Out(COUNTER_WIDTH).array(queues),
            "queue_full": Out(COUNTER_WIDTH).array(queues),
            "rst_lost": Out(COUNTER_WIDTH),
            "levels": Out(range(queue_depth + 1)).array(queues),
        }
        for reason in DropReason:
            if reason != DropReason.NONE:
                members[f"dropped_{reason.name.lower()}"] = Out(COUNTER_WIDTH)
        super().__init__(members)

    data_width = property(lambda self: self.parameters.data_width)
    queues = property(lambda self: self.parameters.queues)
    queue_depth = property(lambda self: self.parameters.queue_depth)
    flow_entries = property(lambda self: self.parameters.flow_entries)
    buffer_depth = property(lambda self: self.parameters.buffer_depth)
    rst_depth = property(lambda self: self.parameters.rst_depth)
    key_bytes = property(lambda self: self.parameters.key_bytes)
    storage = property(lambda self: self.parameters.storage)

    def dropped(self, reason):
        """The counter port of ``reason`` (a :class:`DropReason`)."""
        return getattr(self, f"dropped_{DropReason(reason).name.lower()}")

    def elaborate(self, platform):
        m = Module()
        beat = packet_layout(self.data_width)
        m.submodules.parser = parser = HeaderParser(self.data_width, key_bytes=self.key_bytes)
        m.submodules.buffer = buffer = BoundedSlique(beat, self.buffer_depth,
                                                     storage=self.storage)
        m.submodules.descriptors = descriptors = BoundedSlique(
            descriptor_layout(self.queues, self.buffer_depth), DESCRIPTOR_DEPTH,
            storage="systolic")
        m.submodules.flow_table = flow_table = FlowTable(self.flow_entries, self.queues)
        # Wide entries: a memory (LUT RAM), whatever the depth.
        m.submodules.rst = rst = BoundedSlique(FlowKey, self.rst_depth, on_full="drop",
                                               storage="ring")
        m.submodules.reta = reta = Memory(shape=queue_shape(self.queues), depth=RETA_ENTRIES,
                                          init=reta_init(self.queues))
        queues = []
        for index in range(self.queues):
            queue = BoundedSlique(beat, self.queue_depth, storage=self.storage)
            m.submodules[f"queue{index}"] = queue
            wiring.connect(m, queue.o_stream, wiring.flipped(self.o_streams[index]))
            m.d.comb += self.levels[index].eq(queue.level)
            saturating_count(m, self.delivered[index], queue.o_stream.valid
                             & queue.o_stream.ready & queue.o_stream.payload.last)
            queues.append(queue)
        wiring.connect(m, rst.o_stream, wiring.flipped(self.rst_stream))
        m.d.comb += self.rst_lost.eq(rst.dropped)

        self._configure(m, flow_table, reta)
        pending = Signal(range(DESCRIPTOR_DEPTH + 1))
        finished = Signal()
        arrival = self._input(m, parser, buffer, pending)
        # The classify stage waits for the flow table's lookup, a cycle per stage after its first.
        stages = [self._classify(m, parser, arrival, flow_table, reta)]
        for stage in range(1, LOOKUP_LATENCY):
            stages.append(self._stage(m, f"looked_up{stage}", **stages[-1]))
        steered = self._steer(m, stages[-1], flow_table)
        self._commit(m, steered, stages[-1], stages[-2], descriptors, queues, rst)
        self._copy(m, buffer, descriptors, queues, finished)
        m.d.sync += pending.eq(pending + arrival["packet"] - finished)
        return m

    def _configure(self, m, flow_table, reta):
        """The run-time write ports of the RETA and the flow table."""
        write = reta.write_port()
        m.d.comb += [
            write.addr.eq(self.reta_index),
            write.data.eq(self.reta_value),
            write.en.eq(self.reta_write),
            flow_table.w_index.eq(self.flow_index),
            flow_table.w_key.eq(self.flow_key),
            flow_table.w_queue.eq(self.flow_queue),
            flow_table.w_valid.eq(self.flow_valid),
            flow_table.w_en.eq(self.flow_write),
        ]

    # 1. The input buffer.

    def _input(self, m, parser, buffer, pending):
        depth = self.buffer_depth
        position = Signal(range(depth + 1))      # beats of the frame so far, saturating
        cut = Signal()                           # the frame has lost beats
        # ``position == depth``, as a register of its own: it gates the input buffer's push.
        discard = Signal()
        open_slots = pending < DESCRIPTOR_DEPTH

        accept = Signal()
        packet = Signal()
        m.d.comb += [
            self.i_stream.ready.eq(open_slots & (discard | buffer.i_stream.ready)),
            accept.eq(self.i_stream.valid & self.i_stream.ready),
            packet.eq(accept & self.i_stream.payload.last),
            buffer.i_stream.valid.eq(self.i_stream.valid & open_slots & ~discard),
            buffer.i_stream.payload.eq(self.i_stream.payload),
            parser.key.eq(self.key),
        ]
        # The parser sees every beat taken a cycle later, from registers: ``accept`` is late
        # (it waits for the buffer's room) and the parser's enables fan out to hundreds of
        # registers.
        m.d.sync += [
            parser.i_stream.valid.eq(accept),
            parser.i_stream.payload.eq(self.i_stream.payload),
        ]

        arrival = dict(oversize=Signal(), last_index=Signal(range(depth)))
        with m.If(accept):
            with m.If(self.i_stream.payload.last):
                m.d.sync += [
                    position.eq(0),
                    discard.eq(0),
                    cut.eq(0),
                    arrival["oversize"].eq(cut | discard),
                    arrival["last_index"].eq(Mux(discard, depth - 1, position)),
                ]
            with m.Else():
                m.d.sync += cut.eq(cut | discard)
                with m.If(~discard):
                    m.d.sync += [position.eq(position + 1), discard.eq(position == depth - 1)]
        # The 32-bit counters count ``packet`` a cycle later, from a register (``packet`` is late
        # and would enable 64 flip-flops): ``sequence`` is then the tag of the packet of the
        # cycle before, and ``offered`` shows that packet through an adder's carry in. Whether
        # the counter has saturated is a register too, so that the carry in is one gate from
        # registers (the register bank reads ``offered`` through the adder's carry chain).
        counted = Signal()
        m.d.sync += counted.eq(packet)
        sequence = Signal(32)
        with m.If(counted):
            m.d.sync += sequence.eq(sequence + 1)
        offered = Signal(COUNTER_WIDTH)
        saturated = Signal()
        largest = (1 << COUNTER_WIDTH) - 1
        with m.If(counted & ~saturated):
            m.d.sync += [offered.eq(offered + 1), saturated.eq(offered == largest - 1)]
        m.d.comb += self.offered.eq(offered + (counted & ~saturated))
        # Delayed by a cycle, like the parser's input, to meet the parser's result.
        return dict(packet=packet, **self._stage(m, "arrival", **arrival, tag=sequence))

    # 2. Classify: verdict, RSS hash type, RETA read, flow-table lookup.

    def _classify(self, m, parser, arrival, flow_table, reta):
        result = parser.o_stream.payload
        kind = result.key.kind
        mrqc = self.mrqc
        rss_on = mrqc[MRQC.ENABLE] == MRQC.RSS
        ports_hash = rss_on & (
            (kind.ipv4 & kind.tcp & mrqc[MRQC.IPV4_TCP])
            | (kind.ipv4 & kind.udp & mrqc[MRQC.IPV4_UDP])
            | (kind.ipv6 & kind.tcp & mrqc[MRQC.IPV6_TCP])
            | (kind.ipv6 & kind.udp & mrqc[MRQC.IPV6_UDP]))
        address_hash = rss_on & ((kind.ipv4 & mrqc[MRQC.IPV4]) | (kind.ipv6 & mrqc[MRQC.IPV6]))
        # Two RETA reads, one per hash, so that the hash type (late: it waits for the kind of
        # frame) chooses between their results in the next cycle instead of delaying the address.
        by_ports = reta.read_port()
        by_addresses = reta.read_port()
        m.d.comb += [
            by_ports.addr.eq(result.hash_ports[:7]),
            by_addresses.addr.eq(result.hash_addresses[:7]),
            flow_table.key.eq(result.key),
        ]

        reason = Signal(DropReason)
        with m.If(arrival["oversize"]):
            m.d.comb += reason.eq(DropReason.OVERSIZE)
        with m.Elif(result.verdict == Verdict.TRUNCATED):
            m.d.comb += reason.eq(DropReason.TRUNCATED)
        with m.Elif(result.verdict == Verdict.MALFORMED):
            m.d.comb += reason.eq(DropReason.MALFORMED)

        stage = self._stage(m, "classified", valid=parser.o_stream.valid, reason=reason,
                            ip=kind.ipv4 | kind.ipv6, rss=ports_hash | address_hash,
                            by_ports=ports_hash, key=result.key,
                            last_index=arrival["last_index"], tag=arrival["tag"])
        stage["reta"] = Mux(stage.pop("by_ports"), by_ports.data, by_addresses.data)
        return stage

    def _stage(self, m, name, **values):
        """Pipeline registers named ``<name>_<value>``, loaded every cycle."""
        registers = {}
        for field, value in values.items():
            shape = value.shape() if isinstance(value, ValueCastable) else \
                Value.cast(value).shape()
            register = Signal(shape, name=f"{name}_{field}")
            m.d.sync += register.eq(value)
            registers[field] = register
        return registers

    # 3. Steer: queue choice and strict mode.

    def _steer(self, m, classified, flow_table):
        wanted = Mux(flow_table.hit, flow_table.queue,
                     Mux(classified["rss"], classified["reta"], self.default_queue))
        if self.queues < (1 << len(wanted)):
            queue = Mux(wanted >= self.queues, 0, wanted)
        else:
            queue = wanted

        reason = Signal(DropReason)
        unknown = self.strict & classified["ip"] & ~flow_table.hit
        m.d.comb += reason.eq(classified["reason"])
        with m.If((classified["reason"] == DropReason.NONE) & unknown):
            m.d.comb += reason.eq(DropReason.UNKNOWN_FLOW)
        return self._stage(m, "steered", valid=classified["valid"], reason=reason, queue=queue,
                           key=classified["key"], last_index=classified["last_index"],
                           tag=classified["tag"])

    # 4. Commit: room check and reservation; 5. report.

    @staticmethod
    def _reserves(steered, candidate, fits, index):
        """The packet of the commit stage is delivered to queue ``index`` (room reserved)."""
        return candidate & fits[index] & (steered["queue"] == index)

    def _commit(self, m, steered, following, behind, descriptors, queues, rst):
        """``following``: the stage that ``steered`` loads next; ``behind``: the one before it."""
        depth = self.queue_depth
        credits = [Signal(range(depth + 1), init=depth, name=f"credits{index}")
                   for index in range(self.queues)]
        candidate = steered["valid"] & (steered["reason"] == DropReason.NONE)
        # Every queue's room against the packet (room >= beats, that is room > last_index),
        # computed a cycle ahead and registered: ``fits<n>``; the queue only picks a result.
        # A cycle ahead, the room is not known yet: it is this cycle's room, plus the beat the
        # queue gives back now, minus the beats reserved now (if this packet is delivered
        # there). Both results are computed, one against the next packet's last index, the
        # other against it plus this packet's beats (``span``, a register from the cycle
        # before), and the late ``deliver`` picks one.
        span = Signal(len(steered["last_index"]) + 1)
        m.d.sync += span.eq(following["last_index"] + behind["last_index"] + 1)
        fits_next = []
        for index, own in enumerate(credits):
            given_back = queues[index].o_stream.valid & queues[index].o_stream.ready
            fits_next.append(Signal(name=f"fits{index}"))
            m.d.sync += fits_next[index].eq(Mux(
                self._reserves(steered, candidate, fits_next, index),
                _exceeds(own, given_back, span),
                _exceeds(own, given_back, following["last_index"])))
        fits = Array(fits_next)[steered["queue"]]
        deliver = candidate & fits

        reason = Signal(DropReason)
        m.d.comb += reason.eq(steered["reason"])
        with m.If(candidate & ~fits):
            m.d.comb += reason.eq(DropReason.QUEUE_FULL)

        m.d.comb += [
            descriptors.i_stream.valid.eq(steered["valid"]),
            descriptors.i_stream.payload.deliver.eq(deliver),
            descriptors.i_stream.payload.queue.eq(steered["queue"]),
            descriptors.i_stream.payload.last_index.eq(steered["last_index"]),
        ]
        for index, (queue, own) in enumerate(zip(queues, credits)):
            # Both sums at once; the late ``deliver`` only chooses between them.
            given_back = queue.o_stream.valid & queue.o_stream.ready
            returned = own + given_back
            # ``own + given_back - beats``, one adder: ``-beats`` is ``~last_index``.
            last_index = steered["last_index"]
            minus_beats = ~Cat(last_index, C(0, max(0, len(own) - len(last_index))))
            m.d.sync += own.eq(Mux(self._reserves(steered, candidate, fits_next, index),
                                   _add_carry(own, minus_beats, given_back)[:len(own)],
                                   returned))
            # The counters' enables, written so that only QUEUE_FULL's waits for the room check
            # (the other reasons are the steer stage's, which ``candidate`` excludes).
            saturating_count(m, self.queue_full[index], candidate & ~fits_next[index]
                             & (steered["queue"] == index))
        for drop in DropReason:
            if drop == DropReason.QUEUE_FULL:
                saturating_count(m, self.dropped(drop), candidate & ~fits)
            elif drop != DropReason.NONE:
                saturating_count(m, self.dropped(drop),
                                 steered["valid"] & (steered["reason"] == drop))

        dropped = steered["valid"] & (reason != DropReason.NONE)
        requests = steered["valid"] & ((reason == DropReason.UNKNOWN_FLOW)
                                       | (reason == DropReason.QUEUE_FULL))
        trace_reason = Signal(len(self.trace.payload.reason.as_value()))
        with m.Switch(reason):
            for drop, traced in TRACE_REASONS.items():
                with m.Case(drop):
                    m.d.comb += trace_reason.eq(traced.value)
        # Registered, as the RST slique's write enable fans out to a memory 309 bits wide.
        report = self._stage(m, "report", valid=dropped, reason=trace_reason,
                             queue=Mux(requests, steered["queue"], NO_QUEUE),
                             tag=steered["tag"], request=requests, key=steered["key"])
        m.d.comb += [
            self.trace.valid.eq(report["valid"]),
            self.trace.payload.reason.eq(report["reason"]),
            self.trace.payload.queue.eq(report["queue"]),
            self.trace.payload.tag.eq(report["tag"]),
            rst.i_stream.valid.eq(report["request"]),
            rst.i_stream.payload.eq(report["key"]),
        ]

    # The copier: input buffer -> queues.

    def _copy(self, m, buffer, descriptors, queues, finished):
        head = descriptors.o_stream
        copied = Signal(range(self.buffer_depth))
        moves = head.valid & buffer.o_stream.valid
        ends = copied == head.payload.last_index
        m.d.comb += [
            buffer.o_stream.ready.eq(head.valid),
            head.ready.eq(buffer.o_stream.valid & ends),
            finished.eq(moves & ends),
        ]
        # The beat goes into its queue two cycles later, through two registers. The input
        # buffer's output is a block RAM's (Yosys folds the ring's output register into it), whose
        # clock-to-output delay leaves no time for routing: the first register takes it beside
        # the block RAM, the second fans out to the queues.
        beat = buffer.o_stream.payload
        targets = Signal(len(queues))
        m.d.comb += targets.eq(Cat(moves & head.payload.deliver & (head.payload.queue == index)
                                   for index in range(len(queues))))
        for stage in range(COPY_REGISTERS):
            beat, targets = self._register(m, beat, f"copied_beat{stage}"), \
                self._register(m, targets, f"copy_targets{stage}")
        for index, queue in enumerate(queues):
            m.d.comb += [
                queue.i_stream.valid.eq(targets[index]),
                queue.i_stream.payload.eq(beat),
            ]
        with m.If(moves):
            m.d.sync += copied.eq(Mux(ends, 0, copied + 1))

    @staticmethod
    def _register(m, value, name):
        register = Signal.like(value, name=name)
        m.d.sync += register.eq(value)
        return register
