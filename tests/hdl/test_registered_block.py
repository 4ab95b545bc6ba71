# amaranth: UnusedElaboratable=no
"""Every flow block behind its register bank (RegisteredBlock) in the Amaranth simulator, in
lockstep with the golden model (the block's golden model behind the golden bank, wired by the
same binding): configuration written over Wishbone, seeded traffic, counters read back (and
cleared), conservation checked on the values read; the register maps' i225 offsets and
layouts."""

import random

import pytest

from slique.hdl.block_registers import (ADMISSION_REGISTERS, DEMUX_REGISTERS, MRQC_OFFSET,
                                        REORDER_REGISTERS, RETA_OFFSET, RSSRK_OFFSET,
                                        admission_binding, admission_registers, demux_binding,
                                        demux_registers, reorder_binding)
from slique.hdl.burst_admission import BurstAdmission
from slique.hdl.flow_demux import FlowDemux
from slique.hdl.registered_block import RegisteredBlock
from slique.hdl.sideline_reorder import SidelineReorder
from slique.regmap import constants_module
from slique.sim import burst_admission, flow_demux, sideline_reorder
from slique.sim.lockstep import AmaranthPorts
from slique.sim.register_bank import simulate
from slique.sim.toeplitz import MICROSOFT_KEY
from slique.sim.registered_block import (RegisteredBlock as GoldenBlock, input_widths,
                                         run_registered_lockstep)
from slique.sim.wishbone import WishboneAccess, WishboneMaster


class Session:
    """The gateware wrapper and its golden model in lockstep; bus accesses by register name."""

    def __init__(self, ctx, dut, model, traffic, hint):
        self.ports = AmaranthPorts(ctx, dut)
        self.model = model
        self.traffic = traffic
        self.master = WishboneMaster(pipelined=dut.bank.pipelined)
        self.constants = constants_module(dut.registers)
        self.hint = hint
        self.cycles = 0

    def offset(self, name, index=None):
        value = getattr(self.constants, name)
        return value(index) if callable(value) else value

    async def run(self, *accesses, cycles=0, until=None):
        first = len(self.master.results)
        self.master.submit(*accesses)
        self.cycles += await run_registered_lockstep(self.ports, self.model, self.master,
                                                     self.traffic, hint=self.hint, cycles=cycles,
                                                     until=until)
        return self.master.results[first:]

    async def write(self, *writes):
        """``writes``: ``(name, value)`` or ``(name, index, value)``."""
        accesses = [WishboneAccess(self.offset(*write[:-1]), write=True, data=write[-1])
                    for write in writes]
        for result in await self.run(*accesses):
            assert result.response == "ack", result

    async def read(self, *names):
        """The values of the registers ``names`` (a name, or ``(name, index)``)."""
        keys = [name if isinstance(name, tuple) else (name,) for name in names]
        results = await self.run(*[WishboneAccess(self.offset(*key)) for key in keys])
        return {key if len(key) > 1 else key[0]: result.data
                for key, result in zip(keys, results)}


def _simulate(dut, model, traffic, body, hint):
    return simulate(dut, lambda ctx: body(Session(ctx, dut, model, traffic, hint)))


class StreamTraffic:
    """A producer holding each beat until it is taken and a consumer ready by chance; beats
    from ``beats`` (an iterator of raw payloads). ``stop()``: no more beats, consumer always
    ready."""

    def __init__(self, rng, beats, *, duty=0.8, ready=0.7):
        self.rng, self.beats, self.duty, self.ready = rng, beats, duty, ready
        self.beat = None
        self.stopped = False
        self.offered = 0

    def inputs(self):
        if self.beat is None and not self.stopped and self.rng.random() < self.duty:
            self.beat = next(self.beats, None)
        self._ready = int(self.stopped or self.rng.random() < self.ready)
        return {"i_stream__valid": int(self.beat is not None),
                "i_stream__payload": self.beat or 0, "o_stream__ready": self._ready}

    def advance(self, observed):
        if self.beat is not None and observed["i_stream__ready"]:
            self.beat = None
            self.offered += 1

    def stop(self):
        self.stopped = True

    @property
    def idle(self):
        return self.beat is None


def _random_beats(rng, width):
    while True:
        yield rng.getrandbits(width)


# -- burst admission ---------------------------------------------------------------------------

@pytest.mark.parametrize("pipelined, latency", [(False, 1), (True, 2)])
def test_burst_admission_over_wishbone(pipelined, latency, seed, replay, cycles):
    rng = random.Random(seed)
    depth = 8
    block = BurstAdmission(16, depth)
    dut = RegisteredBlock(block, ADMISSION_REGISTERS, admission_binding(), pipelined=pipelined,
                          latency=latency)
    model = GoldenBlock(burst_admission.BurstAdmission(16, depth), ADMISSION_REGISTERS,
                        admission_binding(), widths=input_widths(block), pipelined=pipelined,
                        latency=latency)
    traffic = StreamTraffic(rng, _random_beats(rng, 16), duty=0.9, ready=0.4)
    counters = ["ADMISSION_OFFERED", "ADMISSION_ACCEPTED", "ADMISSION_DELIVERED",
                "ADMISSION_DROP_BURST", "ADMISSION_DROP_LIMIT"]

    async def body(session):
        # S = 2, B = 6 (below the depth), C = 3 tokens, r = 3/7 token a cycle
        await session.write(("ADMISSION_STEADY", 2), ("ADMISSION_BURST", 6),
                            ("ADMISSION_CAPACITY", 3), ("ADMISSION_RATE", 3),
                            ("ADMISSION_DENOMINATOR", 7))
        first = await session.read(*counters)
        assert first["ADMISSION_OFFERED"] > 0   # traffic flowed while configuring
        await session.run(cycles=cycles(300))
        # a depth beyond the port saturates to "the whole slique": the hard limit is the depth
        await session.write(("ADMISSION_BURST", 0xFFFF_FFFF), ("ADMISSION_RATE", 1 << 16),
                            ("ADMISSION_DENOMINATOR", 0))
        middle = await session.read(*counters)
        await session.run(cycles=cycles(200))
        traffic.stop()
        await session.run(until=lambda: traffic.idle and model.model.level == 0)
        await session.run(cycles=1)  # one more cycle: the counters' mirror
        last = await session.read(*counters, "ADMISSION_LEVEL", "ADMISSION_CAUSE")
        again = await session.read(*counters)
        return first, middle, last, again

    hint = f"seed={seed}; replay with: {replay}"
    first, middle, last, again = _simulate(dut, model, traffic, body, hint)
    total = {name: first[name] + middle[name] + last[name] for name in counters}
    assert total["ADMISSION_OFFERED"] == traffic.offered
    assert total["ADMISSION_OFFERED"] == (total["ADMISSION_DELIVERED"]
                                          + total["ADMISSION_DROP_BURST"]
                                          + total["ADMISSION_DROP_LIMIT"]), total
    assert total["ADMISSION_ACCEPTED"] == total["ADMISSION_DELIVERED"]
    assert last["ADMISSION_LEVEL"] == 0
    assert middle["ADMISSION_DROP_BURST"] > 0 and middle["ADMISSION_DROP_LIMIT"] > 0
    assert last["ADMISSION_CAUSE"] == 0b11
    assert again == dict.fromkeys(counters, 0)   # read-to-clear


# -- sideline reorder --------------------------------------------------------------------------

def test_sideline_reorder_over_wishbone(seed, replay, cycles):
    rng = random.Random(seed)
    width = 8
    block = SidelineReorder(width, 4, timeout_width=8)
    dut = RegisteredBlock(block, REORDER_REGISTERS, reorder_binding())
    model = GoldenBlock(sideline_reorder.SidelineReorder(width, 4, timeout_width=8),
                        REORDER_REGISTERS, reorder_binding(), widths=input_widths(block))
    sequences = sideline_reorder.reordered_sequences(
        rng, start=rng.getrandbits(32), window=6, loss=0.05, duplicate=0.1, stale=0.05,
        burst_loss=0.05)
    beats = (sideline_reorder.pack_beat(sequence, rng.getrandbits(width))
             for sequence in sequences)
    traffic = StreamTraffic(rng, beats, duty=0.8, ready=0.7)
    counters = ["REORDER_OFFERED", "REORDER_DELIVERED", "REORDER_DROP_DUPLICATE",
                "REORDER_DROP_EVICTED", "REORDER_GAPS_SKIPPED"]

    async def body(session):
        traffic.stopped = True      # nothing before the timeout is set (reset: the longest)
        await session.write(("REORDER_GAP_TIMEOUT", 12))
        traffic.stopped = False
        await session.run(cycles=cycles(400))
        traffic.stop()
        await session.write(("REORDER_GAP_TIMEOUT", 3))
        await session.run(until=lambda: traffic.idle and model.model.level == 0
                          and not model.model.o_valid)
        await session.run(cycles=1)
        last = await session.read(*counters, "REORDER_LEVEL", "REORDER_EXPECTED",
                                  "REORDER_CAUSE")
        again = await session.read(*counters)
        return last, again

    hint = f"seed={seed}; replay with: {replay}"
    last, again = _simulate(dut, model, traffic, body, hint)
    assert last["REORDER_OFFERED"] == traffic.offered > 0
    assert last["REORDER_OFFERED"] == (last["REORDER_DELIVERED"] + last["REORDER_DROP_DUPLICATE"]
                                       + last["REORDER_DROP_EVICTED"]), last
    assert last["REORDER_DROP_DUPLICATE"] > 0 and last["REORDER_GAPS_SKIPPED"] > 0
    assert last["REORDER_EXPECTED"] == model.model.expected
    assert last["REORDER_CAUSE"] & 0b101 == 0b101
    assert again == dict.fromkeys(counters, 0)


# -- flow demux --------------------------------------------------------------------------------

class DemuxStreams:
    """:class:`slique.sim.flow_demux.DemuxTraffic` without its configuration inputs (the
    registers drive those): frames in, consumers out."""

    def __init__(self, traffic):
        self.traffic = traffic
        traffic._writes = []

    def inputs(self):
        return {name: value for name, value in self.traffic.inputs().items()
                if name.startswith(("i_stream", "o_streams", "rst_stream"))}

    def advance(self, observed):
        self.traffic.advance(observed)


def _flow_key_words(packed):
    return [(packed >> (32 * word)) & 0xFFFF_FFFF for word in range(10)]


@pytest.mark.parametrize("data_width", [8, 32])
def test_flow_demux_over_wishbone(data_width, seed, replay, cycles):
    rng = random.Random(seed)
    queues, flow_entries = 3, 2
    parameters = dict(data_width=data_width, queues=queues, queue_depth=24,
                      flow_entries=flow_entries, buffer_depth=96 // (data_width // 8))
    registers = demux_registers(queues=queues, flow_entries=flow_entries)
    binding = demux_binding(queues=queues)
    block = FlowDemux(**parameters)
    dut = RegisteredBlock(block, registers, binding, pipelined=True)
    model = GoldenBlock(flow_demux.FlowDemux(**parameters), registers, binding,
                        widths=input_widths(block), pipelined=True)
    generator = flow_demux.DemuxTraffic(seed, data_width=data_width, queues=queues,
                                        flow_entries=flow_entries,
                                        buffer_depth=model.model.buffer_depth, changes=False)
    traffic = DemuxStreams(generator)
    drops = ["DEMUX_DROP_TRUNCATED", "DEMUX_DROP_MALFORMED", "DEMUX_DROP_OVERSIZE",
             "DEMUX_DROP_UNKNOWN_FLOW", "DEMUX_DROP_QUEUE_FULL"]
    per_queue = [(name, queue) for name in ("DEMUX_QDELIVERED", "DEMUX_QFULL")
                 for queue in range(queues)]
    reta = [rng.randrange(4) for _ in range(128)]   # 3 is not a queue: queue 0

    async def body(session):
        generator.stopped = True
        writes = [("RSSRK", n, int.from_bytes(MICROSOFT_KEY[4 * n:4 * n + 4], "little"))
                  for n in range(10)]
        writes += [("RETA", n, sum(reta[4 * n + k] << (8 * k) for k in range(4)))
                   for n in range(32)]
        writes += [("MRQC", flow_demux.MRQC_ALL),
                   ("DEMUX_CTRL", (1 << 8) | int(rng.random() < 0.3))]
        for write in generator.initial_writes:
            writes += [("DEMUX_FLOW_KEY", n, word)
                       for n, word in enumerate(_flow_key_words(write["flow_key"]))]
            writes.append(("DEMUX_FLOW_WRITE", write["flow_index"] | write["flow_queue"] << 16
                           | write["flow_valid"] << 31))
        await session.write(*writes)
        await session.run(cycles=130)   # the RETA copy: 128 cycles
        assert model.model.reta == reta
        generator.stopped = False
        await session.run(cycles=cycles(700))
        generator.stop()
        await session.run(until=lambda: generator.idle and model.model.held == 0)
        await session.run(cycles=10)
        last = await session.read("DEMUX_OFFERED", *drops, *per_queue, "DEMUX_RST_LOST",
                                  "DEMUX_CAUSE", *[("DEMUX_QLEVEL", q) for q in range(queues)])
        again = await session.read("DEMUX_OFFERED", *drops, *per_queue)
        return last, again

    hint = f"seed={seed}; replay with: {replay}"
    last, again = _simulate(dut, model, traffic, body, hint)
    delivered = sum(last["DEMUX_QDELIVERED", queue] for queue in range(queues))
    dropped = sum(last[name] for name in drops)
    assert last["DEMUX_OFFERED"] == delivered + dropped > 0, last
    assert last["DEMUX_DROP_QUEUE_FULL"] == sum(last["DEMUX_QFULL", q] for q in range(queues))
    assert all(last["DEMUX_QLEVEL", queue] == 0 for queue in range(queues))
    assert last["DEMUX_OFFERED"] == model.model.offered
    for bit, name in enumerate(drops):
        assert bool(last["DEMUX_CAUSE"] >> bit & 1) == (last[name] > 0)
    assert set(again.values()) == {0}


# -- the maps ----------------------------------------------------------------------------------

def test_i225_offsets_and_layouts():
    """MRQC, RETA and RSSRK where the i225 (and igc_regs.h) has them."""
    regs = constants_module(DEMUX_REGISTERS)
    assert regs.MRQC == MRQC_OFFSET == 0x5818
    assert (regs.RETA_BASE, regs.RETA_STRIDE, regs.RETA_COUNT) == (RETA_OFFSET, 4, 32)
    assert regs.RETA(31) == 0x5C7C and RETA_OFFSET == 0x5C00
    assert (regs.RSSRK_BASE, regs.RSSRK_COUNT) == (RSSRK_OFFSET, 10) and regs.RSSRK(9) == 0x5CA4
    # MRQC bits as igc's IGC_MRQC_RSS_FIELD_*; RETA entry k in byte k
    assert regs.MRQC_TCPIPV4_MASK == 0x0001_0000 and regs.MRQC_IPV4_MASK == 0x0002_0000
    assert regs.MRQC_IPV6_MASK == 0x0010_0000 and regs.MRQC_TCPIPV6_MASK == 0x0020_0000
    assert regs.MRQC_UDPIPV4_MASK == 0x0040_0000 and regs.MRQC_UDPIPV6_MASK == 0x0080_0000
    assert [regs.__dict__[f"RETA_ENTRY{k}_SHIFT"] for k in range(4)] == [0, 8, 16, 24]


def test_rss_key_byte_order():
    """RSSRK[n] byte k is key byte 4 n + k (igc writes the key's bytes as little-endian words);
    the block's key port has byte 0 most significant."""
    registers = demux_registers()
    block = FlowDemux(8, 4, 4, 1)
    model = GoldenBlock(flow_demux.FlowDemux(8, 4, 4, 1), registers, demux_binding(),
                        widths=input_widths(block))
    for n in range(10):
        model.bank.file.write(RSSRK_OFFSET + 4 * n,
                              int.from_bytes(MICROSOFT_KEY[4 * n:4 * n + 4], "little"))
    assert model._block_inputs()["key"] == int.from_bytes(MICROSOFT_KEY, "big")


@pytest.mark.parametrize("options, message", [
    (dict(fraction_bits=20, token_bits=16), "at most 32"),
])
def test_map_parameters_are_checked(options, message):
    with pytest.raises(ValueError, match=message):
        admission_registers(**options)


def test_descriptions_are_in_the_register_map():
    from slique.regmap import DESCRIPTIONS
    for name in ["ADMISSION_REGISTERS", "REORDER_REGISTERS", "DEMUX_REGISTERS"]:
        assert f"slique.hdl.block_registers:{name}" in DESCRIPTIONS
