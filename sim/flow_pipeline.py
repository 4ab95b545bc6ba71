"""Golden model of :class:`slique.hdl.FlowPipeline`, its traffic and its lockstep scoreboard.

The model is assembled from the blocks' golden models, as the gateware is from the blocks:
:class:`slique.sim.FlowDemux`, one :class:`slique.sim.PacketAdmission` per queue and
:class:`slique.sim.TraceStream`. Within a cycle they are stepped in the order their signals
flow: each admission first (it sees its demux queue's registered output, and its
``i_stream.ready`` is what that queue's consumer gives back), then the demux with those readies,
then the trace stream with every block's (registered) trace event.

:func:`run_pipeline_lockstep` drives :class:`PipelineTraffic` (the flow demux's
:class:`~slique.sim.flow_demux.DemuxTraffic`, plus the admission configuration and a trace
consumer) into the gateware and the model, compares every output every cycle, and checks every
block's conservation every cycle and, once drained, as ``offered == delivered + sum(dropped)``.
With ``model=None`` it runs the golden model alone (the ``golden`` backend of
``slique simulate``).
"""

import random
from dataclasses import dataclass, field

from slique.hdl.flow_pipeline import (ADMISSION_CONFIG, ADMISSION_OUTPUTS, DEMUX_CONFIG,
                                      DEMUX_OUTPUTS, DEMUX_QUEUE_OUTPUTS, pipeline_parameters,
                                      trace_sources)
from slique.hdl.trace_event import TraceReason

from .burst_admission import ConfigSchedule
from .flow_demux import (REASONS, DemuxPorts, DemuxTraffic, FlowDemux, compare_stream_outputs,
                         slique_head)
from .header_parser import FlowKey
from .lockstep import Mismatch, ModelPorts
from .mac.skid_buffer import SkidBuffer
from .packet import beats_frame, split_packets, unpack_beat
from .packet_admission import PacketAdmission
from .trace_stream import TraceStream, _member, unpack_record
from .traffic import OnOff


__all__ = ["FlowPipeline", "PipelineTraffic", "PipelineResult", "run_pipeline_lockstep",
           "pipeline_lockstep_in_amaranth", "golden_run", "bench_parameters", "golden_pipeline",
           "gateware_pipeline", "traffic_of", "hint_of", "ADMISSION_REASONS", "DEMUX_REASONS"]


#: Drop reasons of the admission, as the JSON names them.
ADMISSION_REASONS = ("BURST_EXHAUSTED", "HARD_LIMIT")

#: Drop reasons of the demux, as the JSON names them.
DEMUX_REASONS = tuple(reason.name for reason in REASONS)

_DEMUX_INPUTS = (*DEMUX_CONFIG, "i_stream__valid", "i_stream__payload", "rst_stream__ready")


class FlowPipeline:
    """Cycle-accurate golden model of :class:`slique.hdl.FlowPipeline`.

    :meth:`step` takes one cycle's inputs by the gateware's flattened port names (an input not
    given keeps its previous value; the admission's configuration starts at the ports' reset
    values) and returns every output during that cycle (a dict with attribute access; payloads
    ``None`` while not valid), then applies the clock edge.

    Parameters
    ----------
    data_width, queues, queue_depth, demux_depth, flow_entries, buffer_depth, rst_depth,
    trace_depth, key_bytes, fraction_bits, token_bits, storage
        As for :class:`slique.hdl.FlowPipeline` (the same checks).

    Attributes
    ----------
    demux, admissions, trace
        The blocks' golden models.
    """

    def __init__(self, data_width, queues, **options):
        self.parameters = parameters = pipeline_parameters(data_width, queues, **options)
        self.queues = queues
        self.data_width = data_width
        self.demux = FlowDemux(**parameters.demux())
        self.admissions = [PacketAdmission(**parameters.admission(queue))
                           for queue in range(queues)]
        #: The skid buffers between the demux's queues and the admissions (``handover``).
        self.handovers = [SkidBuffer() for _ in range(queues)] if parameters.handover else []
        self.trace = TraceStream(trace_sources(queues), parameters.trace_depth,
                                 storage=parameters.storage)
        self.inputs = {}

    @property
    def held(self):
        """Packets inside: in the demux, whole in a handover skid buffer, or offered to an
        admission and not yet out of the pipeline."""
        return self.demux.held + sum(self._whole_packets(handover) for handover in self.handovers) \
            + sum(admission.held for admission in self.admissions)

    def _whole_packets(self, handover):
        """Packets whose every beat is in ``handover`` (the demux has delivered them, and their
        admission has not seen them yet): those that end there and start there too."""
        beats = [unpack_beat(payload, self.data_width) for payload in handover.beats()]
        return sum(packet[0].first for packet in split_packets(beats))

    @property
    def busy(self):
        """Anything still in flight: packets, trace events, RST requests."""
        return bool(self.held or self.trace.held or self.demux.report or self.demux.rst.level
                    or any(handover.level for handover in self.handovers)
                    or any(admission._trace is not None for admission in self.admissions))

    def output_valid(self, queue):
        """Whether queue ``queue``'s output offers a beat this cycle, known before :meth:`step`
        (a register: the admission's slique's output), as a consumer that decides its ``ready``
        from ``valid`` in the same cycle needs it."""
        valid, _ = slique_head(self.admissions[queue]._slique)
        return bool(valid)

    def step(self, **inputs):
        """Outputs during this cycle with these inputs; then the clock edge."""
        self.inputs.update(inputs)
        config = {name: self.inputs[name] for name in ADMISSION_CONFIG if name in self.inputs}
        admitted = []
        for queue, admission in enumerate(self.admissions):
            valid, payload = self.handovers[queue].head if self.handovers \
                else slique_head(self.demux.sliques[queue])
            admitted.append(admission.step(
                i_stream__valid=int(valid), i_stream__payload=payload if valid else 0,
                o_stream__ready=self.inputs.get(f"o_streams__{queue}__ready", 0), **config))
        demux_inputs = {name: self.inputs[name] for name in _DEMUX_INPUTS if name in self.inputs}
        demux_inputs.update({f"o_streams__{queue}__ready": self.handovers[queue].ready
                             if self.handovers else ports.i_stream__ready
                             for queue, ports in enumerate(admitted)})
        demux = self.demux.step(**demux_inputs)
        for queue, handover in enumerate(self.handovers):
            valid = demux[f"o_streams__{queue}__valid"]
            handover.step(i_stream__valid=valid,
                          i_stream__payload=demux[f"o_streams__{queue}__payload"] if valid else 0,
                          o_stream__ready=admitted[queue].i_stream__ready)
        trace_inputs = {"i_trace__0__valid": demux["trace__valid"],
                        "i_trace__0__payload": demux["trace__payload"] or 0}
        for queue, ports in enumerate(admitted):
            trace_inputs[f"i_trace__{queue + 1}__valid"] = ports.trace__valid
            trace_inputs[f"i_trace__{queue + 1}__payload"] = ports.trace__payload or 0
        trace = self.trace.step(o_stream__ready=self.inputs.get("trace_stream__ready", 0),
                                **trace_inputs)

        outputs = DemuxPorts(
            i_stream__ready=demux["i_stream__ready"],
            trace_stream__valid=trace["o_stream__valid"],
            trace_stream__payload=trace["o_stream__payload"],
            trace_lost=trace["lost"], trace_level=trace["level"],
            rst_stream__valid=demux["rst_stream__valid"],
            rst_stream__payload=demux["rst_stream__payload"])
        outputs.update({name: demux[inner] for name, inner in DEMUX_OUTPUTS.items()})
        for queue, ports in enumerate(admitted):
            outputs[f"o_streams__{queue}__valid"] = ports.o_stream__valid
            outputs[f"o_streams__{queue}__payload"] = ports.o_stream__payload
            for name, inner in DEMUX_QUEUE_OUTPUTS.items():
                outputs[f"{name}__{queue}"] = demux[f"{inner}__{queue}"]
            for name, inner in ADMISSION_OUTPUTS.items():
                outputs[f"{name}__{queue}"] = getattr(ports, inner)
        return outputs


class PipelineTraffic(DemuxTraffic):
    """Stimulus for a flow pipeline: :class:`~slique.sim.flow_demux.DemuxTraffic` (frames, queue
    consumers, the demux's configuration), plus the admission configuration
    (a :class:`~slique.sim.burst_admission.ConfigSchedule`) and a trace-stream consumer.

    A script (``packets=``) may hold empty packets: each is one idle cycle of the producer.

    Parameters
    ----------
    seed, data_width, queues, flow_entries, buffer_depth, changes, packets, settings, writes, ready
        As for :class:`~slique.sim.flow_demux.DemuxTraffic` (``writes`` may hold any inputs, RETA
        writes among them, applied one a cycle before the first frame).
    schedule : ConfigSchedule
        The admission configuration, cycle by cycle.
    consumers : list of dict or None
        ``OnOff`` settings (``duty``, ``burst``, ``idle``) of each queue's consumer, instead of
        random ones.
    trace_duty : float or None
        Duty of the trace consumer (``None``: random).
    """

    def __init__(self, seed, *, schedule, consumers=None, trace_duty=None, **options):
        super().__init__(seed, **options)
        rng = random.Random(self.rng.getrandbits(64))
        if consumers is not None:
            self._consumers[:-1] = [OnOff(random.Random(rng.getrandbits(64)), **settings)
                                    for settings in consumers]
        self._trace_consumer = OnOff(random.Random(rng.getrandbits(64)),
                                     duty=trace_duty if trace_duty is not None
                                     else rng.choice([0.2, 0.6, 1.0]))
        self.schedule = schedule
        self.cycle = 0
        self.records = []
        self._script_total = None if self._script is None else len(self._script)

    def progress(self):
        """``(done, total)``: script entries (frames and idle cycles) offered so far, of all;
        ``total`` is ``None`` for random traffic."""
        if self._script_total is None:
            return self.cycle, None
        return self._script_total - len(self._script), self._script_total

    def inputs(self):
        values = super().inputs()
        values.update(self.schedule.at(self.cycle))
        values["trace_stream__ready"] = 1 if self.stopped else \
            int(self._trace_consumer.active())
        self._values = values
        return values

    def advance(self, observed):
        """The clock edge, as the gateware's outputs (``observed``) tell it."""
        values = self._values
        if self.beat is not None and observed["i_stream__ready"]:
            self.inputs_log.append(self.beat)
            self.beat = None
        for queue in range(self.queues):
            if observed[f"o_streams__{queue}__valid"] and values[f"o_streams__{queue}__ready"]:
                self.outputs[queue].append(
                    unpack_beat(observed[f"o_streams__{queue}__payload"], self.data_width))
        if observed["rst_stream__valid"] and values["rst_stream__ready"]:
            self.rst_requests.append(FlowKey.unpack(observed["rst_stream__payload"]))
        if observed["trace_stream__valid"] and values["trace_stream__ready"]:
            self.records.append(unpack_record(observed["trace_stream__payload"]))
        self.cycle += 1

    def frames(self, queue):
        """The frames (bytes) delivered on ``queue`` so far."""
        return [beats_frame(beats, self.data_width) for beats in split_packets(self.outputs[queue])]


@dataclass
class PipelineResult:
    """What a run saw on the gateware's (or the model's) ports: counters at the end, the trace
    records, the delivered frames (hex, per queue), and (when recorded) every cycle's levels,
    tokens and admission decisions per queue. ``traffic`` is the run's
    :class:`PipelineTraffic` (not serialized; ``None`` after :meth:`from_dict`)."""
    cycles: int = 0
    counters: dict = field(default_factory=dict)
    records: list = field(default_factory=list)
    rst_requests: int = 0
    frames: list = field(default_factory=list)
    series: dict = field(default_factory=dict)
    traffic: object = None

    def summary(self, queues):
        """The figures as ``slique simulate --json`` prints them: ``queues``, ``blocks``,
        ``trace`` (every object with ``offered`` conserves it)."""
        counter = self.counters
        per_queue, blocks = [], {}
        demux_dropped = {reason: counter[f"demux_dropped_{reason.lower()}"]
                         for reason in DEMUX_REASONS}
        blocks["demux"] = dict(offered=counter["demux_offered"],
                               delivered=sum(counter[f"demux_delivered__{queue}"]
                                             for queue in range(queues)),
                               dropped=demux_dropped)
        for queue in range(queues):
            dropped = {reason: counter[f"admission_dropped_{reason.lower()}__{queue}"]
                       for reason in ADMISSION_REASONS}
            delivered = counter[f"admission_delivered__{queue}"]
            blocks[f"admission{queue}"] = dict(offered=counter[f"admission_offered__{queue}"],
                                               delivered=delivered, dropped=dict(dropped))
            # A queue is offered what the demux steered to it: handed over, or dropped there
            # because the queue could not take it.
            full = counter[f"demux_queue_full__{queue}"]
            per_queue.append(dict(queue=queue, offered=counter[f"demux_delivered__{queue}"] + full,
                                  delivered=delivered, dropped={"QUEUE_FULL": full, **dropped}))
        events = sum(demux_dropped.values()) + sum(
            sum(blocks[f"admission{queue}"]["dropped"].values()) for queue in range(queues))
        blocks["trace"] = dict(offered=events, delivered=len(self.records),
                               dropped={"LOST": counter["trace_lost"]})
        requests = demux_dropped["UNKNOWN_FLOW"] + demux_dropped["QUEUE_FULL"]
        blocks["rst"] = dict(offered=requests, delivered=self.rst_requests,
                             dropped={"LOST": counter["rst_lost"]})
        by_reason = {}
        for record in self.records:
            name = getattr(record.reason, "name", str(record.reason))
            by_reason[name] = by_reason.get(name, 0) + 1
        return dict(queues=per_queue, blocks=blocks,
                    trace=dict(records=len(self.records), lost=counter["trace_lost"],
                               by_reason=by_reason),
                    cycles=self.cycles)

    def as_dict(self):
        return dict(cycles=self.cycles, counters=self.counters, rst_requests=self.rst_requests,
                    records=[list(getattr(item, "value", item) for item in record)
                             for record in self.records],
                    frames=self.frames, series=self.series)

    @classmethod
    def from_dict(cls, document):
        from .trace_stream import Record
        from slique.hdl.trace_event import TraceBlock

        records = [Record(cycle, _member(TraceBlock, block), _member(TraceReason, reason),
                          queue, tag) for cycle, block, reason, queue, tag in document["records"]]
        return cls(cycles=document["cycles"], counters=document["counters"], records=records,
                   rst_requests=document["rst_requests"], frames=document["frames"],
                   series=document["series"])


def _counter_names(queues):
    names = ["demux_offered", "rst_lost", "trace_lost", "trace_level", *DEMUX_OUTPUTS]
    for queue in range(queues):
        names += [f"{name}__{queue}" for name in (*DEMUX_QUEUE_OUTPUTS, *ADMISSION_OUTPUTS)]
    return list(dict.fromkeys(names))


def _check_conservation(cycle, observed, model, queues, hint):
    """Every block, every cycle: ``offered == delivered + dropped + held`` (``model``: the
    :class:`_Held` packets inside each block before this cycle's step)."""
    demux_delivered = sum(observed[f"demux_delivered__{queue}"] for queue in range(queues))
    demux_dropped = sum(observed[f"demux_dropped_{reason.lower()}"] for reason in DEMUX_REASONS)
    held = model.demux
    if observed["demux_offered"] != demux_delivered + demux_dropped + held:
        raise Mismatch(f"cycle {cycle}: demux conservation broken: offered "
                       f"{observed['demux_offered']} != delivered {demux_delivered} + dropped "
                       f"{demux_dropped} + held {held}; {hint}")
    for queue, admission_held in enumerate(model.admissions):
        offered = observed[f"admission_offered__{queue}"]
        delivered = observed[f"admission_delivered__{queue}"]
        dropped = sum(observed[f"admission_dropped_{reason.lower()}__{queue}"]
                      for reason in ADMISSION_REASONS)
        if offered != delivered + dropped + admission_held:
            raise Mismatch(f"cycle {cycle}: admission {queue} conservation broken: offered "
                           f"{offered} != delivered {delivered} + dropped {dropped} + held "
                           f"{admission_held}; {hint}")


def _record(series, observed, queues):
    for queue in range(queues):
        for name in ("levels", "tokens", "decisions", "demux_levels"):
            series.setdefault(f"{name}{queue}", []).append(observed[f"{name}__{queue}"])


async def run_pipeline_lockstep(ports, model, traffic, *, cycles=None, hint, record=False,
                                progress=None):
    """Drive ``traffic`` into the gateware (``ports``) and ``model``, compare every output every
    cycle and check conservation every cycle, then drain; return a :class:`PipelineResult`.

    Traffic stops after ``cycles`` cycles, or (``cycles=None``) when its script is done; then every
    consumer is ready until everything has left. ``model=None`` runs ``ports`` alone (a
    :class:`~slique.sim.lockstep.ModelPorts` around the golden model), with the same checks.
    ``progress(done, total)``, if given, is called every 256 cycles with
    :meth:`PipelineTraffic.progress`.
    """
    alone = model is None
    reference = ports._model if alone else model
    queues = reference.queues
    parameters = reference.parameters
    capacity = parameters.buffer_depth + queues * (parameters.demux_depth + parameters.queue_depth)
    drain = 8 * capacity + 256
    result = PipelineResult()
    cycle, stopped_at = 0, None
    while True:
        if stopped_at is None and (cycle == cycles or cycles is None and traffic.script_done):
            traffic.stop()
            stopped_at = cycle
        if stopped_at is not None and cycle > stopped_at + drain:
            raise Mismatch(f"the pipeline did not drain: {reference.held} packets held "
                           f"{drain} cycles after the traffic stopped, with every consumer "
                           f"ready; {hint}")
        inputs = traffic.inputs()
        ports.drive(**inputs)
        held = _Held(reference)
        await ports.settle()
        if alone:
            observed = dict(ports._outputs)
        else:
            observed = compare_stream_outputs(cycle, model.step(**inputs), ports, hint)
        _check_conservation(cycle, observed, held, queues, hint)
        if record:
            _record(result.series, observed, queues)
        traffic.advance(observed)
        await ports.tick()
        cycle += 1
        if progress is not None and cycle % 256 == 0:
            progress(*traffic.progress())
        if stopped_at is not None and traffic.idle and not reference.busy:
            break
    result.cycles = cycle
    await ports.settle()
    result.counters = {name: ports.sample(name) for name in _counter_names(queues)}
    result.records = list(traffic.records)
    result.rst_requests = len(traffic.rst_requests)
    result.frames = [[frame.hex() for frame in traffic.frames(queue)] for queue in range(queues)]
    result.traffic = traffic
    _check_drained(result, queues, hint)
    return result


class _Held:
    """The model's packets held by each block, taken before a cycle's step."""

    def __init__(self, model):
        self.demux = model.demux.held
        self.admissions = [admission.held for admission in model.admissions]


def _check_drained(result, queues, hint):
    """Once drained, every block: ``offered == delivered + sum(dropped)``; and the blocks agree
    with each other (what the demux handed over is what the admissions were offered)."""
    summary = result.summary(queues)
    for name, block in [*summary["blocks"].items(),
                        *((f"queue {item['queue']}", item) for item in summary["queues"])]:
        if block["offered"] != block["delivered"] + sum(block["dropped"].values()):
            raise Mismatch(f"after the drain, {name}: offered {block['offered']} != delivered "
                           f"{block['delivered']} + dropped {block['dropped']}; {hint}")
    counter = result.counters
    for queue in range(queues):
        if counter[f"demux_delivered__{queue}"] != counter[f"admission_offered__{queue}"]:
            raise Mismatch(f"queue {queue}: the demux delivered "
                           f"{counter[f'demux_delivered__{queue}']} packets but the admission "
                           f"was offered {counter[f'admission_offered__{queue}']}; {hint}")
        if len(result.frames[queue]) != counter[f"admission_delivered__{queue}"]:
            raise Mismatch(f"queue {queue}: {len(result.frames[queue])} frames taken, but "
                           f"delivered counts {counter[f'admission_delivered__{queue}']}; {hint}")


# One description of a run, shared by the tests, the cocotb bench and the CLI.

def bench_parameters(*, pipeline, seed, cycles=None, changes=True, scenario=None, packets=None,
                     pcap=None, record=False, replay=""):
    """A JSON-able description of a pipeline run (checked): ``pipeline`` (the
    :class:`FlowPipeline` keyword arguments), and either seeded random traffic with random
    configuration (``scenario=None``: ``cycles`` cycles, ``changes`` during the run) or a named
    scenario of :mod:`slique.sim.scenarios` (``packets`` packets, or the frames of ``pcap``)."""
    FlowPipeline(**pipeline)
    if scenario is None and cycles is None:
        raise ValueError("A random run needs cycles")
    return dict(pipeline=dict(pipeline), seed=seed, cycles=cycles, changes=changes,
                scenario=scenario, packets=packets, pcap=None if pcap is None else str(pcap),
                record=record, replay=replay)


def golden_pipeline(parameters):
    """The golden model a run describes."""
    return FlowPipeline(**parameters["pipeline"])


def gateware_pipeline(parameters):
    """The gateware a run describes, as a Verilog top."""
    from slique.hdl.flow_pipeline import FlowPipeline as Gateware

    from .flow_demux import VerilogTop
    return VerilogTop(Gateware(**parameters["pipeline"]))


def traffic_of(parameters):
    """The :class:`PipelineTraffic` a run describes."""
    pipeline = parameters["pipeline"]
    model = golden_pipeline(parameters)
    if parameters["scenario"] is not None:
        from .scenarios import scenario_traffic
        return scenario_traffic(parameters["scenario"], model, seed=parameters["seed"],
                                packets=parameters["packets"], pcap=parameters["pcap"])
    schedule = ConfigSchedule.random(parameters["seed"] ^ 0x5EED,
                                     depth=pipeline["queue_depth"],
                                     fraction_bits=model.parameters.fraction_bits,
                                     token_bits=model.parameters.token_bits,
                                     cycles=parameters["cycles"],
                                     changes=8 if parameters["changes"] else 0)
    return PipelineTraffic(parameters["seed"], schedule=schedule,
                           data_width=pipeline["data_width"], queues=pipeline["queues"],
                           flow_entries=pipeline["flow_entries"],
                           buffer_depth=model.parameters.buffer_depth,
                           changes=parameters["changes"])


def hint_of(parameters):
    from .lockstep import replay_hint
    return replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))


def golden_run(parameters, *, progress=None):
    """Run the golden model alone on the run's traffic (with every conservation check)."""
    import asyncio

    model = golden_pipeline(parameters)
    return asyncio.run(run_pipeline_lockstep(
        ModelPorts(model), None, traffic_of(parameters), cycles=parameters["cycles"],
        hint=hint_of(parameters), record=parameters["record"], progress=progress))


def pipeline_lockstep_in_amaranth(parameters):
    """:func:`run_pipeline_lockstep` on the gateware in the Amaranth simulator."""
    from amaranth.sim import Simulator

    from slique.hdl.flow_pipeline import FlowPipeline as Gateware

    from .lockstep import AmaranthPorts

    component = Gateware(**parameters["pipeline"])
    outcome = {}

    async def testbench(ctx):
        outcome["result"] = await run_pipeline_lockstep(
            AmaranthPorts(ctx, component), golden_pipeline(parameters), traffic_of(parameters),
            cycles=parameters["cycles"], hint=hint_of(parameters), record=parameters["record"])

    simulator = Simulator(component)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outcome["result"]
