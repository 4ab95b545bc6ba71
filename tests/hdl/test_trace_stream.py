# amaranth: UnusedElaboratable=no
"""TraceStream in the Amaranth simulator against its golden model: simultaneous events, slow
consumers, an exact lost counter; records, parameters and the Verilog top."""

import pytest
from amaranth.hdl import Const
from hypothesis import HealthCheck, given, settings, strategies as st

from slique.hdl.trace_event import TraceBlock, TraceReason, TraceRecord
from slique.hdl.trace_stream import TRACE_REGISTERS, TraceStream
from slique.sim import trace_stream as golden
from slique.sim.lockstep import AmaranthPorts
from slique.sim.register_bank import simulate
from slique.sim.runner import component_ports, to_verilog
from slique.sim.trace_stream import (Record, lockstep_in_amaranth, pack_event, pack_record,
                                     run_trace_lockstep, unpack_record)


B = TraceBlock
FOUR = [B.ADMISSION, B.REORDER, B.DEMUX, B.SLIQUE]
EIGHT = [B.SLIQUE] * 4 + [B.ADMISSION, B.REORDER, B.DEMUX, B.PARSER]
SOURCES = {"one": [B.DMA], "four": FOUR, "eight": EIGHT}


@pytest.mark.parametrize("storage", ["systolic", "ring"])
@pytest.mark.parametrize("depth", [1, 4, 16])
@pytest.mark.parametrize("sources", sorted(SOURCES))
def test_random_events_match_golden_model(sources, depth, storage, seed, replay, cycles):
    result = lockstep_in_amaranth(SOURCES[sources], depth, seed=seed, cycles=cycles(600),
                                  storage=storage, hint=f"seed={seed}; replay with: {replay}")
    assert result.offered == result.delivered + result.dropped["lost"]


@pytest.mark.parametrize("storage", ["systolic", "ring"])
def test_slow_consumer_loses_records_and_counts_them_exactly(storage, seed, replay, cycles):
    result = lockstep_in_amaranth(FOUR, 4, seed=seed, cycles=cycles(800), storage=storage,
                                  events=dict(duty=0.3), consumer=dict(duty=0.2),
                                  hint=f"seed={seed}; replay with: {replay}", record=True)
    assert result.dropped["lost"] > 0 and result.delivered > 0
    assert result.offered == result.delivered + result.dropped["lost"]
    assert result.high_water == 4
    assert len(result.records) == result.delivered


class _Script:
    """Events (a bit mask of sources per cycle) and consumer readiness from lists."""

    def __init__(self, sources, events, ready):
        self.sources, self.events, self.ready = sources, list(events), list(ready)
        self.cycle = 0
        self.stopped = self.draining = False

    def drive(self):
        mask = self.events[self.cycle] if self.cycle < len(self.events) and not self.stopped \
            else 0
        inputs = {}
        for index in range(self.sources):
            valid = mask >> index & 1
            inputs[f"i_trace__{index}__valid"] = valid
            inputs[f"i_trace__{index}__payload"] = pack_event(
                TraceReason.QUEUE_FULL, index, self.cycle) if valid else 0
        return inputs

    def stop(self):
        self.stopped = True

    def consumer_drive(self):
        ready = 1 if self.draining or self.cycle >= len(self.ready) else self.ready[self.cycle]
        self.cycle += 1
        return ready


class _Consumer:
    def __init__(self, script):
        self.script = script

    def drive(self):
        return self.script.consumer_drive()

    def drain(self):
        self.script.draining = True


def _run_script(sources, depth, events, ready, *, storage="auto", cycles=None, poke=None):
    dut = TraceStream(sources, depth, storage=storage)
    model = golden.TraceStream(sources, depth, storage=storage)
    script = _Script(len(sources), events, ready)

    async def testbench(ctx):
        if poke:
            poke(ctx, dut, model)
        return await run_trace_lockstep(
            AmaranthPorts(ctx, dut), model, script, _Consumer(script),
            cycles=len(events) if cycles is None else cycles, hint="scripted", record=True)

    return simulate(dut, testbench)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), count=st.integers(1, 6), depth=st.integers(1, 6),
       storage=st.sampled_from(["systolic", "ring"]))
def test_hypothesis_event_schedules_match_golden_model(data, count, depth, storage):
    length = data.draw(st.integers(1, 60))
    events = data.draw(st.lists(st.integers(0, (1 << count) - 1), min_size=length,
                                max_size=length))
    ready = data.draw(st.lists(st.integers(0, 1), min_size=length, max_size=length))
    result = _run_script([B.SLIQUE] * count, depth, events, ready, storage=storage)
    assert result.offered == sum(bin(mask).count("1") for mask in events)
    assert result.offered == result.delivered + result.dropped["lost"]


def test_simultaneous_events_are_all_kept_while_there_is_room():
    result = _run_script(EIGHT, 8, [0xFF], [1])
    assert result.dropped["lost"] == 0 and result.delivered == 8
    assert [record.queue for record in result.records] == list(range(8))  # round-robin order
    assert {record.cycle for record in result.records} == {0}
    assert [record.block for record in result.records] == EIGHT
    assert all(record.reason is TraceReason.QUEUE_FULL for record in result.records)


@pytest.mark.parametrize("storage, latency", [("systolic", 2), ("ring", 3)])
def test_one_source_every_cycle_is_never_slowed_down(storage, latency):
    result = _run_script([B.ADMISSION], 2, [1] * 100, [1] * 100, storage=storage)
    assert result.dropped["lost"] == 0 and result.delivered == 100
    assert [record.cycle for record in result.records] == list(range(100))
    # one record a cycle; the last one out ``latency`` cycles after its event, then one idle
    # cycle in which the scoreboard sees everything drained
    assert result.cycles == 100 + latency + 1


def test_stalled_consumer_holds_depth_plus_one_per_source_and_counts_the_rest():
    events = [0b111] * 20
    result = _run_script(FOUR[:3], 5, events, [0] * 20)
    assert result.delivered == 5 + 3  # the slique, then the holding registers, drain
    assert result.dropped["lost"] == 60 - 8


def test_lost_counter_saturates():
    def poke(ctx, dut, model):
        ctx.set(dut.lost, 2**32 - 3)
        model.lost = 2**32 - 3

    result = _run_script([B.DEMUX], 1, [1] * 10, [0] * 10, poke=poke)
    # 10 events: 1 in the slique, 1 held, 8 lost; the counter stops at 2**32 - 1
    assert result.delivered == 2 and result.lost_counter == 2**32 - 1
    assert result.dropped["lost"] == 2  # all the counter could still count


def test_records_pack_like_the_gateware_layout():
    fields = dict(cycle=0x12345678, block=B.DEMUX, reason=TraceReason.QUEUE_FULL, queue=3,
                  tag=0xDEADBEEF)
    word = pack_record(**fields)
    assert word == Const.cast(TraceRecord.const(fields)).value
    assert unpack_record(word) == Record(**fields)
    assert unpack_record(pack_record(1, 15, 200, 0, 0)) == Record(1, 15, 200, 0, 0)


def test_ports_and_the_verilog_top():
    dut = TraceStream(EIGHT, 4)
    assert dut.source(B.SLIQUE, 3) is dut.i_trace[3]
    assert dut.source(B.PARSER) is dut.i_trace[7]
    with pytest.raises(KeyError, match="1 source"):
        dut.source(B.PARSER, 1)
    names = set(component_ports(dut))
    assert "i_trace__0__valid" in names and "i_trace__7__payload" in names
    assert not any(name.endswith("__ready") and name.startswith("i_trace") for name in names)
    assert {"o_stream__valid", "o_stream__ready", "o_stream__payload", "lost", "lose", "cycle",
            "pending", "level"} <= names
    assert "i_trace__3__valid" in to_verilog(dut)
    assert [register.name for register in TRACE_REGISTERS] == \
        ["TRACE_LOST", "TRACE_LEVEL", "TRACE_CYCLE"]


@pytest.mark.parametrize("arguments, keywords, error, message", [
    (([], 4), {}, ValueError, "at least one source"),
    (([1], 4), {}, TypeError, "TraceBlock members"),
    ((B.DMA, 4), {}, TypeError, "list of TraceBlock"),
    (([B.DMA], 0), {}, ValueError, "ZeroSlique"),
    (([B.DMA], 4), {"storage": "bram"}, ValueError, "must be one of"),
])
def test_bad_parameters_raise_with_what_is_allowed(arguments, keywords, error, message):
    with pytest.raises(error, match=message):
        TraceStream(*arguments, **keywords)
    with pytest.raises(error, match=message):
        golden.TraceStream(*arguments, **keywords)


def test_blocks_connect_and_the_status_reads_through_a_register_bank():
    """The intended integration: a block's ``trace`` port wired to ``i_trace[n]`` with
    ``wiring.connect``, and the status shown to firmware through TRACE_REGISTERS."""
    from amaranth.hdl import ClockDomain, Module, Signal
    from amaranth.lib import wiring

    from slique.hdl.register_bank import RegisterBank
    from slique.hdl.trace_event import TRACE_EVENT_SIGNATURE
    from slique.sim.wishbone import WishboneAccess, WishboneMaster, transact

    class Dropper(wiring.Component):
        trace: wiring.Out(TRACE_EVENT_SIGNATURE)
        fire: wiring.In(1)

        def elaborate(self, platform):
            m = Module()
            m.d.comb += [self.trace.valid.eq(self.fire),
                         self.trace.payload.reason.eq(TraceReason.HARD_LIMIT),
                         self.trace.payload.queue.eq(7)]
            return m

    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.dropper = dropper = Dropper()
    top.submodules.trace = trace = TraceStream([B.ADMISSION], 2)
    top.submodules.bank = bank = RegisterBank(TRACE_REGISTERS)
    wiring.connect(top, dropper.trace, trace.source(B.ADMISSION))
    top.d.comb += [bank.TRACE_LOST.r_data.eq(trace.lost),
                   bank.TRACE_LEVEL.r_data.eq(trace.level),
                   bank.TRACE_CYCLE.r_data.eq(trace.cycle)]

    async def testbench(ctx):
        ctx.set(dropper.fire, 1)
        for _ in range(6):  # six events, nobody reading: two in the slique, one held, 3 lost
            await ctx.tick()
        ctx.set(dropper.fire, 0)
        for _ in range(2):  # ``lost`` counts a record two cycles after its event
            await ctx.tick()
        results = await transact(AmaranthPorts(ctx, bank), WishboneMaster(),
                                 *[WishboneAccess(offset) for offset in (0x0, 0x4, 0x8)])
        return [result.data for result in results]

    lost, level, cycle = simulate(top, testbench)
    assert (lost, level) == (3, 2) and cycle > 6
