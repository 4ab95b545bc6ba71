"""Golden model of :class:`slique.hdl.FlowDemux`, cycle-accurate, and the demux as a Verilog top.

The model is built from the other golden models: :class:`slique.sim.BoundedSlique` for the input
buffer, the descriptor queue, the per-queue sliques and the RST-request slique,
:class:`slique.sim.FlowTable`, and :class:`slique.sim.HeaderParser` (transaction level: a packet
is parsed as the gateware's parser sees its ``last`` beat, a cycle after the demux takes it, and
its result is used in the next cycle). Everything else (the stage registers, the RETA, the credits,
the copier, the counters) is mirrored register by register, so every output port matches the
gateware in every cycle.
"""

import random
from dataclasses import dataclass, field, replace

from amaranth.hdl import Const, Module, Value
from amaranth.lib import wiring

from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.hdl.flow_demux import (COPY_REGISTERS, DESCRIPTOR_DEPTH, MRQC, NO_QUEUE,
                                   RST_REASONS, TRACE_REASONS, DropReason, demux_parameters,
                                   descriptor_layout, reta_init)
from slique.hdl.flow_table import LOOKUP_LATENCY, queue_shape
from slique.hdl.header_parser import FlowKey as FlowKeyLayout
from slique.hdl.packet import beat_bytes, packet_layout
from slique.hdl.toeplitz import RSS_KEY_BYTES
from slique.hdl.trace_event import TraceEvent

from .bounded_slique import BoundedSlique
from .flow_table import FlowTable
from .header_parser import FlowKey, HeaderParser, Verdict
from .lockstep import Mismatch, compare_outputs
from .packet import pack_beat, pack_struct, split_packets, unpack_beat, unpack_struct


__all__ = ["FlowDemux", "DropReason", "VerilogTop", "REASONS", "port_names", "MRQC_ALL",
           "DemuxTraffic", "DemuxResult", "run_demux_lockstep", "demux_lockstep_in_amaranth",
           "check_end_to_end", "rss_hash_type", "drop_reason", "bench_parameters",
           "golden_demux", "gateware_demux", "slique_head", "compare_stream_outputs"]


_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1

#: The drop reasons that have a counter, in counter order.
REASONS = tuple(reason for reason in DropReason if reason != DropReason.NONE)


def port_names(queues):
    """Names of the output ports the model reports, as the gateware's flattened port names."""
    names = ["i_stream__ready", "trace__valid", "trace__payload", "rst_stream__valid",
             "rst_stream__payload", "offered", "rst_lost"]
    names += [f"dropped_{reason.name.lower()}" for reason in REASONS]
    for queue in range(queues):
        names += [f"o_streams__{queue}__valid", f"o_streams__{queue}__payload",
                  f"delivered__{queue}", f"queue_full__{queue}", f"levels__{queue}"]
    return names


def _count(counter, event):
    return min(counter + bool(event), _COUNTER_MAX)


def slique_head(slique):
    """``(valid, payload)`` of a slique model's output register before this cycle's step."""
    cells = slique._cells
    return cells.o_valid, cells.o_payload


def rss_hash_type(kind, mrqc):
    """Which RSS hash a frame of ``kind`` (a :class:`slique.sim.header_parser.FlowKind`) gets
    under ``mrqc``: ``"ports"``, ``"addresses"`` or ``None`` (no RSS), as on the i210 / i225."""
    if (mrqc & 0b111) != MRQC.RSS:
        return None

    def enabled(bit):
        return bool((mrqc >> bit) & 1)

    if ((kind.ipv4 and kind.tcp and enabled(MRQC.IPV4_TCP))
            or (kind.ipv4 and kind.udp and enabled(MRQC.IPV4_UDP))
            or (kind.ipv6 and kind.tcp and enabled(MRQC.IPV6_TCP))
            or (kind.ipv6 and kind.udp and enabled(MRQC.IPV6_UDP))):
        return "ports"
    if (kind.ipv4 and enabled(MRQC.IPV4)) or (kind.ipv6 and enabled(MRQC.IPV6)):
        return "addresses"
    return None


def drop_reason(oversize, verdict):
    """The drop reason of the classify stage (``DropReason.NONE`` if none)."""
    if oversize:
        return DropReason.OVERSIZE
    return {Verdict.TRUNCATED: DropReason.TRUNCATED,
            Verdict.MALFORMED: DropReason.MALFORMED}.get(verdict, DropReason.NONE)


class DemuxPorts(dict):
    """The outputs of one cycle, by port name; also readable as attributes (so that
    :class:`slique.sim.lockstep.ModelPorts` can stand for the gateware)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class _Stage(dict):
    """One set of pipeline registers (a dict with attribute access); invalid when empty."""
    __getattr__ = dict.get


class FlowDemux:
    """Cycle-accurate golden model of the flow demux, with the gateware's parameters.

    Call :meth:`step` once per cycle with that cycle's inputs, named as the gateware's ports
    (``i_stream__valid``, ``i_stream__payload``, ``o_streams__0__ready``, ``key``, ``mrqc``,
    ``reta_write``, ...; an input not given keeps its previous value, initially 0); it returns a
    dict of every output during that cycle (payloads ``None`` when not valid) and then applies
    the clock edge. Beside the ports, the model keeps ``held``: the packets it holds (offered,
    not yet delivered or dropped), so that ``offered == sum(delivered) + sum(dropped) + held``
    every cycle.

    Parameters
    ----------
    data_width, queues, queue_depth, flow_entries, buffer_depth, rst_depth, key_bytes, storage
        As for :class:`slique.hdl.FlowDemux`.
    """

    def __init__(self, data_width, queues, queue_depth, flow_entries, *, buffer_depth=None,
                 rst_depth=4, key_bytes=RSS_KEY_BYTES, storage="auto"):
        self.parameters = demux_parameters(
            data_width, queues, queue_depth, flow_entries, buffer_depth=buffer_depth,
            rst_depth=rst_depth, key_bytes=key_bytes, storage=storage)
        vars(self).update(vars(self.parameters))
        buffer_depth = self.buffer_depth
        beat = packet_layout(data_width)
        self.parser = HeaderParser(data_width, key_bytes=key_bytes)
        self.buffer = BoundedSlique(beat, buffer_depth, storage=storage)
        self.descriptors = BoundedSlique(descriptor_layout(queues, buffer_depth),
                                         DESCRIPTOR_DEPTH, storage="systolic")
        self.sliques = [BoundedSlique(beat, queue_depth, storage=storage)
                        for _ in range(queues)]
        self.rst = BoundedSlique(FlowKeyLayout, rst_depth, on_full="drop", storage="ring")
        self.flow_table = FlowTable(flow_entries, queues)
        self.reta = reta_init(queues)
        self._queue_mask = (1 << queue_shape(queues).width) - 1
        self.inputs = {}
        # Input side.
        self.position = 0
        self.cut = 0
        self.sequence = 0
        self.frame = []                # the beats the parser has seen of the current frame
        self.frame_key = bytes(key_bytes)
        self._seen = None              # the beat the parser sees next cycle
        self._arrival = _Stage()       # the registers the last beat loads (oversize, ...)
        self.arrival = _Stage()        # ... a cycle later, beside the parser's result
        self.parsed = None             # the parser's result, valid two cycles after the last beat
        # Pipeline.
        self.classified = _Stage()
        self.reta_data = self.reta[0]
        # The classify stage with its RETA result, waiting for the flow table's lookup.
        self.looked_up = [_Stage()] * (LOOKUP_LATENCY - 1)
        self.steered = _Stage()
        self.report = _Stage()
        self.credits = [queue_depth] * queues
        self.copied = 0
        self._writes = [[None] * queues for _ in range(COPY_REGISTERS)]
        self.pending = 0
        # Counters.
        self.offered = 0
        self.delivered = [0] * queues
        self.queue_full = [0] * queues
        self.dropped = {reason: 0 for reason in REASONS}
        self.held = 0

    def _input(self, name):
        return self.inputs.get(name, 0)

    def step(self, **inputs):
        """Outputs during this cycle with these inputs; then the clock edge."""
        self.inputs.update(inputs)
        outputs = self._counters()
        finished, writes = self._copy(outputs)
        accepted = self._accept(outputs)
        classified = self._classify()
        looked_up = self._look_up()
        lookup = self.flow_table.step(
            key=self.parsed.key if self.parsed else FlowKey(),
            w_en=self._input("flow_write"), w_index=self._input("flow_index"),
            w_key=FlowKey.unpack(self._input("flow_key")), w_queue=self._input("flow_queue"),
            w_valid=self._input("flow_valid"))
        steered = self._steer(lookup)
        report, descriptor, reservations, drops = self._commit()
        self._report(outputs)
        taken = self._queues_step(outputs, self._writes[0])
        self._writes = self._writes[1:] + [writes]    # through the copier's registers

        # The clock edge.
        self._clock_input(accepted)
        if self._input("reta_write"):
            self.reta[self._input("reta_index") % len(self.reta)] = \
                self._input("reta_value") & self._queue_mask
        self.classified, self.steered, self.report = classified, steered, report
        self.looked_up = self.looked_up[1:] + [looked_up]
        for queue in range(self.queues):
            self.credits[queue] += taken[queue] - reservations[queue]
        self.pending += bool(accepted and accepted.last) - finished
        self.held += bool(accepted and accepted.last) - drops - sum(
            beat.last for beat in self._taken_beats)
        self.descriptors.step(i_stream__valid=descriptor is not None,
                              i_stream__payload=descriptor or 0,
                              o_stream__ready=self._descriptor_pop)
        return outputs

    # Counters: registered, so they are this cycle's outputs before anything else.

    def _counters(self):
        outputs = DemuxPorts(offered=self.offered, rst_lost=self.rst.dropped)
        for reason in REASONS:
            outputs[f"dropped_{reason.name.lower()}"] = self.dropped[reason]
        for queue in range(self.queues):
            outputs[f"delivered__{queue}"] = self.delivered[queue]
            outputs[f"queue_full__{queue}"] = self.queue_full[queue]
        return outputs

    # The copier.

    def _copy(self, outputs):
        head_valid, head = slique_head(self.descriptors)
        beat_valid, beat = slique_head(self.buffer)
        descriptor = _unpack_descriptor(head, self.queues, self.buffer_depth) if head_valid \
            else None
        ends = descriptor is not None and self.copied == descriptor["last_index"]
        moves = head_valid and beat_valid
        self._descriptor_pop = int(beat_valid and ends)
        self._buffer_pop = int(head_valid)
        writes = [None] * self.queues
        if moves and descriptor["deliver"]:
            queue = descriptor["queue"]
            if queue < self.queues:
                writes[queue] = beat
        if moves:
            self.copied = 0 if ends else self.copied + 1
        return int(moves and ends), writes

    # 1. The input buffer.

    def _accept(self, outputs):
        """Offer the beat to the buffer; return the beat accepted (a :class:`Beat`) or None."""
        valid = self._input("i_stream__valid")
        payload = self._input("i_stream__payload")
        discard = self.position == self.buffer_depth
        open_slots = self.pending < DESCRIPTOR_DEPTH
        ports = self.buffer.step(i_stream__valid=int(valid and open_slots and not discard),
                                 i_stream__payload=payload, o_stream__ready=self._buffer_pop)
        ready = int(open_slots and (discard or ports.i_stream__ready))
        outputs["i_stream__ready"] = ready
        if not (valid and ready):
            return None
        beat = unpack_beat(payload, self.data_width)
        self._discard = discard
        return beat

    def _clock_input(self, beat):
        """The clock edge of the input side: the beat taken (or None) updates the frame
        counters, and the parser takes the beat taken the cycle before (it watches a register
        copy of the input), sampling the key as it starts a frame."""
        seen, self._seen = self._seen, beat
        self.parsed = None
        if seen is not None:
            if not self.frame:
                self.frame_key = self._input("key").to_bytes(self.key_bytes, "big")
            self.frame.append(seen)
            if seen.last:
                self.parsed = self.parser.parse(self.frame, self.frame_key)
                self.frame = []
        self.arrival = self._arrival                  # a register behind, as the parser
        if beat is None:
            return
        discard = self._discard
        if beat.last:
            self._arrival = _Stage(
                oversize=self.cut or discard,
                last_index=self.buffer_depth - 1 if discard else self.position,
                tag=self.sequence)
            self.position, self.cut = 0, 0
            self.sequence = (self.sequence + 1) & 0xFFFFFFFF
            self.offered = _count(self.offered, True)
        else:
            self.cut = self.cut or discard
            if not discard:
                self.position += 1

    # 2. Classify.

    def _classify(self):
        result = self.parsed
        if result is None:
            self._reta_address = None
            return _Stage()
        kind = result.key.kind
        hash_type = rss_hash_type(kind, self._input("mrqc"))
        # Both RETA reads, by either hash; the hash type picks one in the next cycle.
        self._reta_address = (result.hash_ports & 0x7F, result.hash_addresses & 0x7F,
                              hash_type == "ports")
        reason = drop_reason(self.arrival.oversize, result.verdict)
        return _Stage(reason=reason, ip=kind.ip, rss=hash_type is not None,
                      key=result.key, last_index=self.arrival.last_index, tag=self.arrival.tag)

    def _look_up(self):
        """The classify stage with its RETA read, into the stages that wait for the flow
        table."""
        # The RETA read registers, loaded from the addresses of the classify stage.
        reta_data = self.reta_data
        if self._reta_address is not None:
            by_ports, by_addresses, use_ports = self._reta_address
            self.reta_data = self.reta[by_ports if use_ports else by_addresses]
        return _Stage(self.classified, reta=reta_data) if self.classified else _Stage()

    # 3. Steer.

    def _steer(self, lookup):
        stage = self.looked_up[0]
        if not stage:
            return _Stage()
        if lookup.hit:
            queue = lookup.queue
        elif stage.rss:
            queue = stage.reta
        else:
            queue = self._input("default_queue") & self._queue_mask
        if queue >= self.queues:
            queue = 0
        reason = stage.reason
        if reason == DropReason.NONE and self._input("strict") and stage.ip and not lookup.hit:
            reason = DropReason.UNKNOWN_FLOW
        return _Stage(reason=reason, queue=queue, key=stage.key, last_index=stage.last_index,
                      tag=stage.tag)

    # 4. Commit.

    def _commit(self):
        stage = self.steered
        reservations = [0] * self.queues
        if not stage:
            return _Stage(), None, reservations, 0
        beats = stage.last_index + 1
        reason = stage.reason
        if reason == DropReason.NONE:
            if self.credits[stage.queue] >= beats:
                reservations[stage.queue] = beats
            else:
                reason = DropReason.QUEUE_FULL
        if reason == DropReason.QUEUE_FULL:
            self.queue_full[stage.queue] = _count(self.queue_full[stage.queue], True)
        if reason != DropReason.NONE:
            self.dropped[reason] = _count(self.dropped[reason], True)
        descriptor = pack_struct(descriptor_layout(self.queues, self.buffer_depth), dict(
            deliver=int(reason == DropReason.NONE), queue=stage.queue,
            last_index=stage.last_index))
        report = _Stage()
        if reason != DropReason.NONE:
            request = reason in RST_REASONS
            report = _Stage(reason=TRACE_REASONS[reason].value,
                            queue=stage.queue if request else NO_QUEUE, tag=stage.tag,
                            request=stage.key if request else None)
        return report, descriptor, reservations, int(reason != DropReason.NONE)

    # 5. Report.

    def _report(self, outputs):
        """The trace event and the RST request of the report stage."""
        report = self.report
        request = report.request
        outputs["trace__valid"] = int(bool(report))
        outputs["trace__payload"] = pack_struct(TraceEvent, dict(
            reason=report.reason, queue=report.queue, tag=report.tag)) if report else None
        ports = self.rst.step(i_stream__valid=int(request is not None),
                              i_stream__payload=request.pack() if request else 0,
                              o_stream__ready=self._input("rst_stream__ready"))
        outputs["rst_stream__valid"] = ports.o_stream__valid
        outputs["rst_stream__payload"] = ports.o_stream__payload
        outputs["rst_lost"] = ports.dropped

    # The queues.

    def _queues_step(self, outputs, writes):
        taken = [0] * self.queues
        self._taken_beats = []
        for queue, slique in enumerate(self.sliques):
            ready = self._input(f"o_streams__{queue}__ready")
            write = writes[queue]
            ports = slique.step(i_stream__valid=int(write is not None),
                                i_stream__payload=write or 0, o_stream__ready=ready)
            if write is not None and not ports.i_stream__ready:
                raise AssertionError(f"queue {queue} refused a beat it had room reserved for")
            outputs[f"o_streams__{queue}__valid"] = ports.o_stream__valid
            outputs[f"o_streams__{queue}__payload"] = ports.o_stream__payload
            outputs[f"levels__{queue}"] = ports.level
            if ports.o_stream__valid and ready:
                taken[queue] = 1
                beat = unpack_beat(ports.o_stream__payload, self.data_width)
                self._taken_beats.append(beat)
                if beat.last:
                    self.delivered[queue] = _count(self.delivered[queue], True)
        return taken

    @property
    def dropped_total(self):
        return sum(self.dropped.values())


def _unpack_descriptor(value, queues, buffer_depth):
    return unpack_struct(descriptor_layout(queues, buffer_depth), value)


class VerilogTop(wiring.Component):
    """``component`` with its ports flattened to plain signals, for a Verilog top level.

    Amaranth cannot make a port of a constant, so a stream that is ``always_ready`` (every
    block's ``trace`` port) loses its ``ready`` here; everything else keeps its flattened name
    (``o_streams__0__valid``, ``i_stream__payload``).
    """

    def __init__(self, component):
        self._inner = component
        self._ports = {}
        for path, member, value in component.signature.flatten(component):
            value = Value.cast(value)
            if not isinstance(value, Const):
                self._ports["__".join(str(part) for part in path)] = (member.flow, value)
        super().__init__({name: flow(len(value)) for name, (flow, value) in self._ports.items()})

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self._inner
        for name, (flow, value) in self._ports.items():
            port = getattr(self, name)
            m.d.comb += value.eq(port) if flow == wiring.In else port.eq(value)
        return m


# Traffic and the lockstep scoreboard.

#: MRQC with RSS on and every hash type enabled.
MRQC_ALL = MRQC.RSS | sum(1 << bit for bit in (MRQC.IPV4_TCP, MRQC.IPV4, MRQC.IPV6,
                                               MRQC.IPV6_TCP, MRQC.IPV4_UDP, MRQC.IPV6_UDP))


class DemuxTraffic:
    """Seeded random stimulus for a flow demux: frames, consumers and run-time configuration.

    Frames come from :class:`slique.sim.packets.FrameMix` (good frames over a pool of flows,
    tagged, with options, padded, and every bad kind), cut into beats with, now and then, a
    framing error, ``keep`` junk on beats where it does not count, an odd ``keep`` on a last
    beat, or a frame longer than the input buffer. The producer offers beats by an
    :class:`~slique.sim.traffic.OnOff` pattern and holds each until it is taken; each queue's
    consumer and the RST consumer take by patterns of their own. The configuration starts from
    a random MRQC, key, default queue and strict bit, fills the flow table with flows of the pool,
    and (with ``changes``) keeps rewriting RETA and flow-table entries and flipping settings
    while traffic flows.

    Parameters
    ----------
    seed : int
        Everything follows from it.
    data_width, queues, flow_entries, buffer_depth
        The demux's parameters.
    changes : bool
        Change the configuration during the run (else only the initial writes).
    packets : list or None
        A script instead of random frames: packets (lists of :class:`~slique.sim.packet.Beat`)
        offered in order, back to back, as they are (no oddities added).
    settings : dict or None
        Settings (``key``, ``mrqc``, ``default_queue``, ``strict``) that override the random ones.
    writes : list or None
        Initial flow-table writes (dicts of ``flow_*`` inputs) instead of random ones.
    ready : int or None
        A fixed ``ready`` for every consumer until the drain (``None``: random patterns).
    """

    def __init__(self, seed, *, data_width, queues, flow_entries, buffer_depth, changes=True,
                 packets=None, settings=None, writes=None, ready=None):
        from .packets import FrameMix
        from .toeplitz import MICROSOFT_KEY
        from .traffic import OnOff

        rng = random.Random(seed)
        self.rng = rng
        self.data_width = data_width
        self.lanes = beat_bytes(data_width)
        self.queues = queues
        self.flow_entries = flow_entries
        self.buffer_depth = buffer_depth
        self.changes = changes
        self.mix = FrameMix(random.Random(rng.getrandbits(64)), flows=rng.choice([4, 12, 32]),
                            max_payload=rng.choice([16, 48, 96]))
        self._producer = OnOff(random.Random(rng.getrandbits(64)),
                               duty=rng.choice([0.5, 0.9, 1.0]), burst=rng.choice([0, 64]),
                               idle=rng.choice([8, 64]))
        self._consumers = [OnOff(random.Random(rng.getrandbits(64)),
                                 duty=rng.choice([0.1, 0.4, 0.8, 1.0]),
                                 burst=rng.choice([0, 32]), idle=rng.choice([8, 64]))
                           for _ in range(queues + 1)]
        self.settings = dict(
            key=int.from_bytes(MICROSOFT_KEY if rng.random() < 0.6 else rng.randbytes(40), "big"),
            mrqc=MRQC_ALL if rng.random() < 0.6 else
            (rng.choice([MRQC.RSS, MRQC.RSS, 0, 5]) | (rng.getrandbits(8) << 16)),
            default_queue=rng.randrange(1 << queue_shape(queues).width),
            strict=int(rng.random() < 0.25))
        self.settings.update(settings or {})
        self._writes = [self._flow_write(index) for index in range(flow_entries)] \
            if writes is None else list(writes)
        self.initial_writes = list(self._writes)
        self._script = None if packets is None else [list(beats) for beats in packets]
        self._ready = ready
        self.beat = None            # the beat on offer
        self._beats = []            # the rest of the current frame
        self.stopped = False
        self.inputs_log = []        # every beat taken, in order
        self.outputs = [[] for _ in range(queues)]
        self.rst_requests = []
        self.traces = []

    # Frames.

    def _next_beats(self):
        from .packet import frame_beats

        rng = self.rng
        if self._script is not None:
            return self._script.pop(0) if self._script else []
        if self.buffer_depth * self.lanes <= 2048 and rng.random() < 0.02:
            flow = rng.choice(self.mix.flows)
            size = self.lanes * (self.buffer_depth + rng.randrange(-1, 3))   # around the limit
            frame = flow.frame(rng.randbytes(max(0, size - len(flow.frame()))))
        else:
            frame = self.mix.frame()
        beats = frame_beats(frame, self.data_width)
        chance = rng.random()
        if chance < 0.02:
            beats[0] = replace(beats[0], first=0)
        elif chance < 0.04 and len(beats) > 1:
            index = rng.randrange(1, len(beats))
            beats[index] = replace(beats[index], first=1)
        if self.lanes > 1:
            for index in range(len(beats) - 1):
                if rng.random() < 0.05:
                    beats[index] = replace(beats[index], keep=rng.randrange(16))
            if rng.random() < 0.05:
                beats[-1] = replace(beats[-1], keep=rng.randrange(16))
        return beats

    # Configuration.

    def _flow_write(self, index):
        rng = self.rng
        flow = rng.choice(self.mix.flows)
        return dict(flow_write=1, flow_index=index, flow_key=flow.key().pack(),
                    flow_queue=rng.randrange(1 << queue_shape(self.queues).width),
                    flow_valid=int(rng.random() < 0.9))

    def _change(self):
        rng = self.rng
        choice = rng.random()
        if choice < 0.4:
            return dict(reta_write=1, reta_index=rng.randrange(128),
                        reta_value=rng.randrange(1 << queue_shape(self.queues).width))
        if choice < 0.7:
            return self._flow_write(rng.randrange(1 << max(1, (self.flow_entries - 1)
                                                           .bit_length())))
        name = rng.choice(["strict", "mrqc", "default_queue", "key"])
        if name == "strict":
            self.settings["strict"] ^= 1
        elif name == "mrqc":
            self.settings["mrqc"] = MRQC_ALL if rng.random() < 0.5 else \
                (MRQC.RSS | (rng.getrandbits(8) << 16))
        elif name == "default_queue":
            self.settings["default_queue"] = rng.randrange(1 << queue_shape(self.queues).width)
        else:
            self.settings["key"] = rng.getrandbits(320)
        return {}

    # The scoreboard's interface.

    def inputs(self):
        """This cycle's inputs, by port name."""
        if self._writes:
            pass                                  # no frame before the initial table writes
        elif self.beat is None and not self.stopped and (self._script is not None
                                                         or self._producer.active()):
            if not self._beats:
                self._beats = self._next_beats()
            self.beat = self._beats.pop(0) if self._beats else None
        elif self.beat is None and self._beats:
            self.beat = self._beats.pop(0)       # finish a started frame even when stopped
        values = dict(self.settings, reta_write=0, flow_write=0)
        if self._writes:
            values.update(self._writes.pop(0))
        elif self.changes and not self.stopped and self.rng.random() < 0.01:
            values.update(self._change())
        values["i_stream__valid"] = int(self.beat is not None)
        values["i_stream__payload"] = pack_beat(self.beat, self.data_width) if self.beat else 0
        for queue, consumer in enumerate(self._consumers[:-1]):
            values[f"o_streams__{queue}__ready"] = self._consumer_ready(consumer)
        values["rst_stream__ready"] = self._consumer_ready(self._consumers[-1])
        self._values = values
        return values

    def _consumer_ready(self, consumer):
        if self.stopped:
            return 1
        return int(consumer.active()) if self._ready is None else int(self._ready)

    def advance(self, observed):
        """The clock edge, as the gateware's outputs (``observed``) tell it."""
        if self.beat is not None and observed["i_stream__ready"]:
            self.inputs_log.append(self.beat)
            self.beat = None
        for queue in range(self.queues):
            if observed[f"o_streams__{queue}__valid"] and \
                    self._values[f"o_streams__{queue}__ready"]:
                self.outputs[queue].append(
                    unpack_beat(observed[f"o_streams__{queue}__payload"], self.data_width))
        if observed["rst_stream__valid"] and self._values["rst_stream__ready"]:
            self.rst_requests.append(FlowKey.unpack(observed["rst_stream__payload"]))
        if observed["trace__valid"]:
            self.traces.append(unpack_struct(TraceEvent, observed["trace__payload"]))

    def stop(self):
        """No new frames (the one started is finished), no more changes, consumers always ready."""
        self.stopped = True

    @property
    def idle(self):
        """Nothing on offer and nothing left of a started frame."""
        return self.beat is None and not self._beats

    @property
    def script_done(self):
        """A scripted run has offered every packet (always true for random frames)."""
        return not self._script


@dataclass
class DemuxResult:
    """What a lockstep run saw: counters at the end, and the traffic (frames in and out)."""
    cycles: int = 0
    offered: int = 0
    delivered: list = field(default_factory=list)
    dropped: dict = field(default_factory=dict)
    queue_full: list = field(default_factory=list)
    rst_lost: int = 0
    traffic: object = None

    def as_dict(self):
        return dict(cycles=self.cycles, offered=self.offered, delivered=self.delivered,
                    dropped=self.dropped, queue_full=self.queue_full, rst_lost=self.rst_lost)


_PAYLOAD_VALID = {"trace__payload": "trace__valid", "rst_stream__payload": "rst_stream__valid"}


def _valid_of(name):
    if name in _PAYLOAD_VALID:
        return _PAYLOAD_VALID[name]
    if name.endswith("__payload"):
        return name[:-len("payload")] + "valid"
    return None


def compare_stream_outputs(cycle, expected, ports, hint):
    """Compare every output, payloads only while their stream is valid."""
    shown = {name: None if _valid_of(name) is not None and not expected[_valid_of(name)] else value
             for name, value in expected.items()}
    return compare_outputs(cycle, shown, ports, hint)


def _totals(observed, queues):
    delivered = sum(observed[f"delivered__{queue}"] for queue in range(queues))
    dropped = sum(observed[f"dropped_{reason.name.lower()}"] for reason in REASONS)
    return delivered, dropped


async def run_demux_lockstep(ports, model, traffic, *, cycles, hint):
    """Drive ``traffic`` into the gateware (``ports``) and ``model`` for ``cycles`` cycles, then
    drain; compare every output every cycle and check conservation every cycle
    (``offered == delivered + dropped + held``, ``held`` the model's packets in flight) and at the
    end (``offered == delivered + dropped``, nothing held). Returns a :class:`DemuxResult`."""
    queues = model.queues
    capacity = model.buffer_depth + DESCRIPTOR_DEPTH + queues * model.queue_depth
    limit = cycles + 4 * capacity + 64
    result = DemuxResult(traffic=traffic)
    for cycle in range(limit):
        if cycle == cycles:
            traffic.stop()
        inputs = traffic.inputs()
        ports.drive(**inputs)
        await ports.settle()
        held = model.held
        expected = model.step(**inputs)
        observed = compare_stream_outputs(cycle, expected, ports, hint)
        delivered, dropped = _totals(observed, queues)
        if observed["offered"] != delivered + dropped + held:
            raise Mismatch(f"cycle {cycle}: conservation broken: offered {observed['offered']} "
                           f"!= delivered {delivered} + dropped {dropped} + held {held}; {hint}")
        traffic.advance(observed)
        await ports.tick()
        result.cycles = cycle + 1
        if cycle >= cycles and traffic.idle and model.held == 0 and not model.report \
                and not model.rst.level:
            break
    await ports.settle()
    final = {name: ports.sample(name) for name in port_names(queues)
             if _valid_of(name) is None}
    delivered, dropped = _totals(final, queues)
    if model.held or not traffic.idle:
        raise Mismatch(f"the demux did not drain: {model.held} packets held after "
                       f"{result.cycles} cycles with every consumer ready; {hint}")
    if final["offered"] != delivered + dropped:
        raise Mismatch(f"conservation broken at the end: offered {final['offered']} != "
                       f"delivered {delivered} + dropped {dropped}; {hint}")
    result.offered = final["offered"]
    result.delivered = [final[f"delivered__{queue}"] for queue in range(queues)]
    result.queue_full = [final[f"queue_full__{queue}"] for queue in range(queues)]
    result.dropped = {reason.name: final[f"dropped_{reason.name.lower()}"] for reason in REASONS}
    result.rst_lost = final["rst_lost"]
    return result


def check_end_to_end(traffic, result, *, queues, flow_entries, buffer_depth, hint):
    """Check a run against a transaction-level reference, packet by packet (for a run whose
    configuration did not change after its initial flow-table writes: ``changes=False``).

    Every packet offered (tagged by its order) must come out of the queue the reference steers
    it to, bit for bit and in order, or be dropped with the reference's reason (QUEUE_FULL only
    for a packet the reference would deliver), with a trace event carrying its tag and queue;
    the RST requests must be those of the UNKNOWN_FLOW and QUEUE_FULL drops, in order, but for
    the ones counted lost.
    """
    settings = traffic.settings
    key = settings["key"].to_bytes(40, "big")
    parser = HeaderParser(traffic.data_width)
    table = FlowTable(flow_entries, queues)
    for write in traffic.initial_writes:
        table.write(write["flow_index"], FlowKey.unpack(write["flow_key"]), write["flow_queue"],
                    write["flow_valid"])
    reta = reta_init(queues)
    mask = (1 << queue_shape(queues).width) - 1
    traces = {event["tag"]: event for event in traffic.traces}
    if len(traces) != len(traffic.traces):
        raise Mismatch(f"two trace events with the same tag; {hint}")
    expected = [[] for _ in range(queues)]
    requests = []
    for tag, beats in enumerate(split_packets(traffic.inputs_log)):
        parsed = parser.parse(beats, key)
        reason = drop_reason(len(beats) > buffer_depth, parsed.verdict)
        lookup = table.lookup(parsed.key)
        hash_type = rss_hash_type(parsed.key.kind, settings["mrqc"])
        rss_hash = parsed.hash_ports if hash_type == "ports" else parsed.hash_addresses
        queue = lookup.queue if lookup.hit else reta[rss_hash & 0x7F] if hash_type else \
            settings["default_queue"] & mask
        queue = 0 if queue >= queues else queue
        if reason == DropReason.NONE and settings["strict"] and parsed.key.kind.ip \
                and not lookup.hit:
            reason = DropReason.UNKNOWN_FLOW
        event = traces.pop(tag, None)
        if reason == DropReason.NONE and event is None:
            expected[queue].append(beats)
            continue
        if reason == DropReason.NONE:
            reason = DropReason.QUEUE_FULL
        wanted = dict(reason=TRACE_REASONS[reason].value, tag=tag,
                      queue=queue if reason in RST_REASONS else NO_QUEUE)
        if event != wanted:
            raise Mismatch(f"packet {tag}: trace event {event}, expected {wanted}; {hint}")
        if reason in RST_REASONS:
            requests.append(parsed.key)
    if traces:
        raise Mismatch(f"trace events for packets never offered: {sorted(traces)}; {hint}")
    for queue in range(queues):
        delivered = split_packets(traffic.outputs[queue])
        if delivered != expected[queue]:
            raise Mismatch(f"queue {queue} delivered {len(delivered)} packets that are not the "
                           f"{len(expected[queue])} the reference steers there (first "
                           f"difference at packet {_first_difference(delivered, expected[queue])}"
                           f"); {hint}")
    if len(traffic.rst_requests) != len(requests) - result.rst_lost or \
            not _is_subsequence(traffic.rst_requests, requests):
        raise Mismatch(f"RST requests {len(traffic.rst_requests)} (lost {result.rst_lost}) are not "
                       f"those of the {len(requests)} UNKNOWN_FLOW / QUEUE_FULL drops; {hint}")


def _first_difference(one, other):
    for index, (left, right) in enumerate(zip(one, other)):
        if left != right:
            return index
    return min(len(one), len(other))


def _is_subsequence(short, long):
    remaining = iter(long)
    return all(any(item == candidate for candidate in remaining) for item in short)


def bench_parameters(*, data_width, queues, queue_depth, flow_entries, buffer_depth=None,
                     rst_depth=4, storage="auto", seed, cycles, changes=True, replay=""):
    """A JSON-able description of a demux run (checked), for tests, benches and the CLI."""
    demux = dict(data_width=data_width, queues=queues, queue_depth=queue_depth,
                 flow_entries=flow_entries, buffer_depth=buffer_depth, rst_depth=rst_depth,
                 storage=storage)
    FlowDemux(**demux)
    return dict(demux=demux, seed=seed, cycles=cycles, changes=changes, replay=replay)


def golden_demux(parameters):
    """The golden model a run (:func:`bench_parameters`) describes."""
    return FlowDemux(**parameters["demux"])


def gateware_demux(parameters):
    """The gateware a run describes, as a Verilog top (:class:`VerilogTop`)."""
    from slique.hdl.flow_demux import FlowDemux as Gateware
    return VerilogTop(Gateware(**parameters["demux"]))


def demux_lockstep_in_amaranth(component, model, traffic, *, cycles, hint):
    """:func:`run_demux_lockstep` on ``component`` in the Amaranth simulator."""
    from amaranth.sim import Simulator

    from .lockstep import AmaranthPorts

    outcome = {}

    async def testbench(ctx):
        outcome["result"] = await run_demux_lockstep(AmaranthPorts(ctx, component), model,
                                                     traffic, cycles=cycles, hint=hint)

    simulator = Simulator(component)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outcome["result"]
