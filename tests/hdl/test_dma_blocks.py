# amaranth: UnusedElaboratable=no
"""The DMA engine's building blocks in the Amaranth simulator: the Wishbone burst master
against a target with stalls, wait states and bus errors; the byte packer against Python's
bytes; the frame FIFO's commit and abort; the descriptor prefetch."""

import random

import pytest
from amaranth.sim import Simulator

from slique.hdl.dma.byte_packer import BytePacker
from slique.hdl.dma.frame_fifo import FrameFIFO
from slique.hdl.dma.wishbone_master import WishboneBurstMaster


def _simulate(dut, testbench, *, processes=()):
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    for process in processes:
        simulator.add_process(process)
    simulator.run()


@pytest.mark.parametrize("data_width", [32, 64])
def test_burst_master_stalls_wait_states_and_errors(data_width, seed, replay, cycles):
    """Random read and write bursts on a target that stalls, waits and answers ``err`` in some
    places: every read delivers exactly its beats, every write takes exactly its beats, only
    requested words are touched, ``cyc`` falls only with nothing outstanding, and each command
    ends with one ``done`` whose ``err`` says whether an ``err`` was answered. (Writes go to
    words 0-31, reads to 32-63: requests already on the bus when an ``err`` comes back are
    carried out, so what a burst wrote after its error is not known in advance.)"""
    rng = random.Random(seed)
    lanes = data_width // 8
    dut = WishboneBurstMaster(data_width=data_width, addr_width=16, max_beats=8)
    memory = {address: rng.getrandbits(data_width) for address in range(64)}
    bad = set(rng.sample(range(64), 6))
    commands = []
    for _ in range(cycles(60)):
        write = rng.random() < 0.5
        beats = rng.randint(1, 8)
        commands.append((write, rng.randrange(0, 33 - beats) + (0 if write else 32), beats))
    seen = {"reads": [], "done": [], "requests": [], "writes": {}}
    expected_reads, expected_done, must_write = [], [], set()
    for write, address, beats in commands:
        words = list(range(address, address + beats))
        first_bad = next((word for word in words if word in bad), None)
        before_error = words if first_bad is None else words[:words.index(first_bad)]
        expected_done.append(first_bad is not None)
        if write:
            must_write.update(before_error)
        else:
            for word in words:
                ok = word in before_error
                expected_reads.append((memory[word] if ok else 0, not ok))

    async def target(ctx):
        """Pipelined target: random stall, each request answered after 0-2 wait states."""
        pending = []
        async for clk_edge, rst, cyc, stb, stall, we, adr, dat_w, sel in ctx.tick().sample(
                dut.bus.cyc, dut.bus.stb, dut.bus.stall, dut.bus.we, dut.bus.adr,
                dut.bus.dat_w, dut.bus.sel):
            if cyc and stb and not stall:
                assert 0 <= adr < 64
                error = adr in bad
                if we and not error:
                    memory[adr] = dat_w
                    seen["writes"][adr] = dat_w
                pending.append([rng.randint(0, 2), error, 0 if we or error else memory[adr]])
            if not cyc:
                assert not pending, "cyc fell with requests outstanding"
            answer = None
            if pending and pending[0][0] == 0:
                answer = pending.pop(0)
            for entry in pending:
                entry[0] = max(0, entry[0] - 1)
            ctx.set(dut.bus.ack, answer is not None and not answer[1])
            ctx.set(dut.bus.err, answer is not None and answer[1])
            ctx.set(dut.bus.dat_r, answer[2] if answer else 0)
            ctx.set(dut.bus.stall, rng.random() < 0.3)

    async def testbench(ctx):
        for write, address, beats in commands:
            ctx.set(dut.cmd.payload.write, write)
            ctx.set(dut.cmd.payload.address, address)
            ctx.set(dut.cmd.payload.beats, beats)
            ctx.set(dut.cmd.valid, 1)
            await ctx.tick().until(dut.cmd.ready)
            ctx.set(dut.cmd.valid, 0)
            offered = 0
            while True:
                if write:
                    ctx.set(dut.write.valid, offered < beats)
                    ctx.set(dut.write.payload.data, (address + offered) * 7 + 1)
                    ctx.set(dut.write.payload.sel, (1 << lanes) - 1)
                taken = ctx.get(dut.write.valid) and ctx.get(dut.write.ready)
                if ctx.get(dut.read.valid):
                    seen["reads"].append((ctx.get(dut.read.payload.data),
                                          bool(ctx.get(dut.read.payload.err))))
                done = ctx.get(dut.done.valid)
                if done:
                    seen["done"].append(bool(ctx.get(dut.done.payload.err)))
                await ctx.tick()
                offered += bool(taken)
                if done:
                    break
            assert offered == (beats if write else 0)
            ctx.set(dut.write.valid, 0)

    _simulate(dut, testbench, processes=[target])
    hint = f"seed={seed}; replay with: {replay}"
    assert seen["done"] == expected_done, hint
    assert seen["reads"] == expected_reads, hint
    assert must_write <= set(seen["writes"]) and all(word < 32 for word in seen["writes"]), hint
    assert all(value == word * 7 + 1 for word, value in seen["writes"].items()), hint


@pytest.mark.parametrize("data_width", [32, 64])
def test_byte_packer_packs_any_lanes(data_width, seed, replay, cycles):
    """Frames cut into pieces at random lanes and counts (the words of scatter-gather buffers
    at any alignment) come out as whole words, lane 0 first, with the frame's length; aborted
    frames come out marked; the output stalls at random."""
    rng = random.Random(seed)
    lanes = data_width // 8
    dut = BytePacker(data_width=data_width, length_width=16)
    frames = []
    for _ in range(cycles(40)):
        frame = rng.randbytes(rng.randint(1, 80))
        pieces, position = [], 0
        while position < len(frame):
            lane = rng.randrange(lanes)
            count = min(rng.randint(0, lanes - lane), len(frame) - position)
            word = bytearray(rng.randbytes(lanes))
            word[lane:lane + count] = frame[position:position + count]
            pieces.append((int.from_bytes(word, "little"), lane, count))
            position += count
        frames.append((frame, pieces, rng.random() < 0.2))
    out = []

    async def producer(ctx):
        for frame, pieces, abort in frames:
            for index, (word, lane, count) in enumerate(pieces):
                last = index == len(pieces) - 1
                ctx.set(dut.i_stream.payload.data, word)
                ctx.set(dut.i_stream.payload.lane, lane)
                ctx.set(dut.i_stream.payload.count, count)
                ctx.set(dut.i_stream.payload.last, last)
                ctx.set(dut.i_stream.payload.abort, abort and last)
                ctx.set(dut.i_stream.valid, 1)
                await ctx.tick().until(dut.i_stream.ready)
                ctx.set(dut.i_stream.valid, 0)

    async def consumer(ctx):
        current = bytearray()
        while len(out) < len(frames):
            ready = rng.random() < 0.7
            ctx.set(dut.o_stream.ready, ready)
            await ctx.delay(1e-9)
            if ready and ctx.get(dut.o_stream.valid):
                payload = ctx.get(dut.o_stream.payload)
                current += payload.data.to_bytes(lanes, "little")
                if payload.last:
                    out.append((payload.length, bool(payload.abort), bytes(current)))
                    current = bytearray()
            await ctx.tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(producer)
    simulator.add_testbench(consumer)
    simulator.run()
    hint = f"seed={seed}; replay with: {replay}"
    assert len(out) == len(frames), hint
    for (frame, _, abort), (length, aborted, data) in zip(frames, out):
        assert aborted == abort, hint
        if not abort:
            assert length == len(frame) and data[:len(frame)] == frame, hint
            assert not any(data[len(frame):]), hint  # the last word's padding is 0
            assert len(data) == -(-len(frame) // lanes) * lanes, hint


@pytest.mark.parametrize("output_register", [False, True])
def test_frame_fifo_commits_whole_frames_and_forgets_aborted_ones(output_register, seed, replay,
                                                                   cycles):
    """Only committed frames leave, whole and in order, with their lengths; an aborted frame
    leaves nothing and frees its space: offered == delivered + aborted. With the output
    register too, words still leave one a cycle while the reader is ready."""
    rng = random.Random(seed)
    dut = FrameFIFO(data_width=32, depth=32, length_width=16, frames=4,
                    output_register=output_register)
    frames = [([rng.getrandbits(32) for _ in range(rng.randint(1, 12))], rng.random() < 0.3)
              for _ in range(cycles(60))]
    out = []

    async def producer(ctx):
        for words, abort in frames:
            for index, word in enumerate(words):
                last = index == len(words) - 1
                ctx.set(dut.w_stream.payload.data, word)
                ctx.set(dut.w_stream.payload.last, last)
                ctx.set(dut.w_stream.payload.abort, abort and last)
                ctx.set(dut.w_stream.payload.length, 4 * len(words))
                ctx.set(dut.w_stream.valid, 1)
                await ctx.tick().until(dut.w_stream.ready)
                ctx.set(dut.w_stream.valid, 0)

    async def consumer(ctx):
        current = []
        expected = sum(not abort for _, abort in frames)
        while len(out) < expected:
            # a reader takes a frame's words once its length is there (the length is never
            # later than the words behind the output register; without it, a cycle later)
            have_length = ctx.get(dut.length_stream.valid)
            if output_register:
                assert have_length or not ctx.get(dut.r_stream.valid), "words before length"
            ready = rng.random() < 0.6 and have_length
            ctx.set(dut.r_stream.ready, ready)
            await ctx.delay(1e-9)
            if ready and ctx.get(dut.r_stream.valid):
                current.append(ctx.get(dut.r_stream.payload.data))
                if ctx.get(dut.r_stream.payload.last):
                    ctx.set(dut.length_stream.ready, 1)
                    out.append((ctx.get(dut.length_stream.payload), current))
                    current = []
            await ctx.tick()
            ctx.set(dut.length_stream.ready, 0)

    free_errors = []

    async def free_monitor(ctx):
        """``free``: the memory's words not holding a kept word (written, not undone by an
        abort, not read out: a word in the output register is out of the memory); ``full``
        when there is none."""
        held = frame_words = 0
        w, r = dut.w_stream, dut.r_stream
        async for _, _, w_valid, w_ready, last, abort, r_valid, r_ready in ctx.tick().sample(
                w.valid, w.ready, w.payload.last, w.payload.abort, r.valid, r.ready):
            if w_valid and w_ready:
                if last and abort:
                    held, frame_words = held - frame_words, 0
                else:
                    held, frame_words = held + 1, 0 if last else frame_words + 1
            held -= r_valid and r_ready
            outside = ctx.get(r.valid) if output_register else 0
            free = 32 - (held - outside)
            if (ctx.get(dut.free), ctx.get(dut.full)) != (free, free == 0):
                free_errors.append((ctx.get(dut.free), ctx.get(dut.full), free))

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(producer)
    simulator.add_testbench(consumer)
    simulator.add_testbench(free_monitor, background=True)
    # a budget, so that a FIFO that stops taking or giving words fails rather than hangs:
    # every word written and read with the reader ready 60 % of the cycles, four times over
    budget = 4 * (2 * sum(len(words) for words, _ in frames) / 0.6 + 100)
    simulator.run_until(budget * 1e-8)
    assert len(out) == sum(not abort for _, abort in frames), \
        f"{len(out)} frames out in {budget:.0f} cycles (stuck); seed={seed}; replay: {replay}"
    assert not free_errors, f"free, full (gateware), free expected: {free_errors[:5]}; " \
                            f"seed={seed}"
    kept = [(4 * len(words), words) for words, abort in frames if not abort]
    aborted = sum(abort for _, abort in frames)
    assert out == kept, f"seed={seed}; replay with: {replay}"
    assert len(frames) == len(out) + aborted


@pytest.mark.parametrize("output_register", [False, True])
def test_frame_fifo_reads_a_word_a_cycle(output_register, seed, replay):
    """Committed frames leave back to back, a word every cycle, while the reader is ready: the
    first word two cycles after the commit (three with the output register)."""
    rng = random.Random(seed)
    dut = FrameFIFO(data_width=16, depth=64, length_width=8, frames=8,
                    output_register=output_register)
    frames = [[rng.getrandbits(16) for _ in range(rng.randint(1, 6))] for _ in range(5)]
    words = [word for frame in frames for word in frame]

    async def write(ctx, frame):
        for index, word in enumerate(frame):
            ctx.set(dut.w_stream.payload.data, word)
            ctx.set(dut.w_stream.payload.last, index == len(frame) - 1)
            ctx.set(dut.w_stream.payload.length, len(frame))
            ctx.set(dut.w_stream.valid, 1)
            assert ctx.get(dut.w_stream.ready)
            await ctx.tick()
        ctx.set(dut.w_stream.valid, 0)

    async def testbench(ctx):
        where = f"seed={seed}; replay with: {replay}"
        await write(ctx, frames[0])            # committed at this tick
        latency = 0
        while not ctx.get(dut.r_stream.valid) and latency < 10:
            latency += 1
            await ctx.tick()
        assert latency + 1 == (3 if output_register else 2), where
        for frame in frames[1:]:
            await write(ctx, frame)
        for _ in range(3):
            await ctx.tick()
        ctx.set(dut.r_stream.ready, 1)
        out = []
        for _ in words:
            assert ctx.get(dut.r_stream.valid), f"a gap; {where}"
            out.append(ctx.get(dut.r_stream.payload.data))
            await ctx.tick()
        assert out == words, where
        assert not ctx.get(dut.r_stream.valid), where

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()


@pytest.mark.parametrize("distributed", [False, True])
@pytest.mark.parametrize("depth", [2, 3, 5, 8])
def test_fabric_output_fifo_matches_sync_fifo_buffered_cycle_for_cycle(depth, distributed, seed,
                                                                       replay, cycles):
    """The frame FIFO's length FIFO (block RAM, or LUT RAM when ``distributed``, behind a
    fabric output register) against Amaranth's SyncFIFOBuffered under the same random writes
    and reads: w_rdy, r_rdy and r_data equal in every cycle; offered == delivered + still held
    at the end."""
    from amaranth import Elaboratable, Module
    from amaranth.lib.fifo import SyncFIFOBuffered
    from slique.hdl.dma.frame_fifo import FabricOutputFIFO

    rng = random.Random(seed)
    ours = FabricOutputFIFO(width=8, depth=depth, distributed=distributed)
    reference = SyncFIFOBuffered(width=8, depth=depth)

    class Pair(Elaboratable):
        def elaborate(self, platform):
            m = Module()
            m.submodules.ours, m.submodules.reference = ours, reference
            return m

    counts = {"offered": 0, "delivered": 0}

    async def testbench(ctx):
        for cycle in range(cycles(400)):
            w_en, r_en, w_data = rng.random() < 0.5, rng.random() < 0.5, rng.getrandbits(8)
            for fifo in (ours, reference):
                ctx.set(fifo.w_en, w_en)
                ctx.set(fifo.r_en, r_en)
                ctx.set(fifo.w_data, w_data)
            await ctx.delay(1e-9)
            state = [(ctx.get(f.w_rdy), ctx.get(f.r_rdy),
                      ctx.get(f.r_data) if ctx.get(f.r_rdy) else None) for f in (ours, reference)]
            assert state[0] == state[1], f"cycle {cycle}: {state}; seed={seed}; replay: {replay}"
            counts["offered"] += w_en and state[0][0]
            counts["delivered"] += r_en and state[0][1]
            await ctx.tick()
        held = ctx.get(reference.level)
        assert counts["offered"] == counts["delivered"] + held

    _simulate(Pair(), testbench)


def test_ring_arithmetic_matches_its_definition(seed, replay, cycles):
    """ring_distance and ring_run (written for short paths: the difference's borrow as the
    choice, the room to the ring's end given) against their plain definitions, on random
    indices and counts, small and full width, inside the ring and outside it."""
    from amaranth import Module, Signal
    from slique.hdl.dma.ring import ring_distance, ring_run

    rng = random.Random(seed)
    count, start, end = Signal(17), Signal(16), Signal(16)
    distance, run = Signal(17), Signal(17)
    m = Module()
    m.d.comb += [distance.eq(ring_distance(start, end, count)),
                 run.eq(ring_run(start, end, count - start))]

    async def testbench(ctx):
        for _ in range(cycles(3000)):
            c, a, e = (rng.getrandbits(rng.choice([3, width])) for width in (17, 16, 16))
            for signal, value in zip((count, start, end), (c, a, e)):
                ctx.set(signal, value)
            expected_distance = (e - a if e >= a else e + c - a) % (1 << 17)
            hint = f"count={c} start={a} end={e}; seed={seed}; {replay}"
            assert ctx.get(distance) == expected_distance, hint
            if a < c and e < c:             # ring_run's domain: both inside the ring
                assert ctx.get(run) == min(expected_distance, c - a), hint

    simulator = Simulator(m)
    simulator.add_testbench(testbench)
    simulator.run()


def test_ring_index_steps_round_the_ring(seed, replay, cycles):
    """A RingIndex loaded anywhere in rings of random sizes (1 to full width), stepped by
    random amounts that never cross the ring's end (they may land on it), copied into a
    second one each cycle: index and room always equal ``(start + steps) mod count`` and
    ``count - index``, ``last`` is ``room == 1``, and the copy holds the previous cycle's.
    A third one, loaded alike, steps by the constant one (its wrap read from ``last``)."""
    from amaranth import Module, Signal
    from slique.hdl.dma.ring import RingIndex

    rng = random.Random(seed)
    count, load_index, step = Signal(17), Signal(16), Signal(17)
    load, advance, copy = Signal(), Signal(), Signal()
    ring, other, unit = RingIndex("ring"), RingIndex("other"), RingIndex("unit")
    m = Module()
    with m.If(load):
        last = RingIndex.is_last(load_index, count)
        m.d.sync += [*ring.load(load_index, count, last), *unit.load(load_index, count, last)]
    with m.Elif(advance):
        m.d.sync += [*ring.step(count, step), *unit.step(count)]
    with m.If(copy):
        m.d.sync += other.copy(ring)

    async def testbench(ctx):
        for _ in range(cycles(40)):
            c = rng.choice([1, 2, 3, rng.randrange(1, 1 << 16), 1 << 16])
            index = rng.randrange(c)
            ctx.set(count, c)
            ctx.set(load_index, index)
            ctx.set(load, 1)
            await ctx.tick()
            ctx.set(load, 0)
            unit_index = index
            for _ in range(50):
                amount = rng.choice([1, c - index, rng.randint(1, c - index)])
                ctx.set(step, amount)
                ctx.set(advance, 1)
                ctx.set(copy, 1)
                await ctx.tick()
                copied, index = index, (index + amount) % c
                unit_index = (unit_index + 1) % c
                hint = f"count={c} step={amount}; seed={seed}; {replay}"
                for r, expected in ((ring, index), (other, copied), (unit, unit_index)):
                    assert ctx.get(r.index) == expected, hint
                    assert ctx.get(r.room) == c - expected, hint
                    assert ctx.get(r.last) == (c - expected == 1), hint
            ctx.set(advance, 0)
            ctx.set(copy, 0)

    simulator = Simulator(m)
    simulator.add_clock(1e-6)
    simulator.add_testbench(testbench)
    simulator.run()


@pytest.mark.parametrize("data_width", [32, 64])
def test_descriptor_prefetch_assembles_descriptors_and_their_buffer_end(data_width, seed,
                                                                        replay, cycles):
    """Fetched words in (several bursts, gaps), whole descriptors out in order, taken as they
    come; with each, ``buffer_end`` (bytes 0-7 plus bytes 8-9, the TX window check's end) and
    ``err`` (a word of it answered with a bus error); ``credit`` back to full at the end."""
    from slique.hdl.dma.descriptor_prefetch import DescriptorPrefetch

    rng = random.Random(seed)
    dut = DescriptorPrefetch(data_width=data_width, descriptors=8)
    words_per_descriptor = 128 // data_width
    descriptors = [(rng.getrandbits(128), rng.random() < 0.1) for _ in range(cycles(40))]
    taken = []

    async def filler(ctx):
        for start in range(0, len(descriptors), 8):
            batch = descriptors[start:start + 8]
            while ctx.get(dut.credit) < len(batch):
                await ctx.tick()
            ctx.set(dut.reserve, len(batch))
            await ctx.tick()
            ctx.set(dut.reserve, 0)
            for value, err in batch:
                for index in range(words_per_descriptor):
                    while rng.random() < 0.3:
                        await ctx.tick()
                    ctx.set(dut.fill.payload.data, value >> (index * data_width))
                    ctx.set(dut.fill.payload.err, err and index == words_per_descriptor - 1)
                    ctx.set(dut.fill.valid, 1)
                    await ctx.tick()
                    ctx.set(dut.fill.valid, 0)

    async def taker(ctx):
        for _ in range(100 * len(descriptors)):
            if len(taken) == len(descriptors):
                break
            take = ctx.get(dut.valid) and rng.random() < 0.7
            ctx.set(dut.take, take)
            if take:
                taken.append((ctx.get(dut.descriptor), ctx.get(dut.err),
                              ctx.get(dut.buffer_end)))
            await ctx.tick()
        ctx.set(dut.take, 0)
        await ctx.tick().repeat(2)
        credits.append(ctx.get(dut.credit))

    credits = []
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(taker)
    simulator.add_testbench(filler, background=True)
    simulator.run()
    where = f"seed={seed}; replay with: {replay}"
    expected = [(value, int(err), (value & (1 << 64) - 1) + ((value >> 64) & 0xFFFF))
                for value, err in descriptors]
    assert taken == expected, where
    assert credits == [8], where


@pytest.mark.parametrize("data_width", [32, 64])
def test_rx_queue_counts_a_frame_too_long_past_max_frame_bytes(data_width, seed, replay):
    """The RX queue's stream side (stopped: every frame it does not find too long is dropped)
    around MAX_FRAME_BYTES, with any keep on the last beat (none, after full beats) and past
    16 KiB (where the byte count wraps): a frame is too long (ROC) iff it has more than
    MAX_FRAME_BYTES bytes; offered == oversize + dropped."""
    from slique.hdl.dma.descriptors import MAX_FRAME_BYTES
    from slique.hdl.dma.rx_queue import RxQueue

    rng = random.Random(seed)
    lanes = data_width // 8
    lengths = [MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES - 1, 1, lanes, 20000,
               rng.randint(MAX_FRAME_BYTES - 2 * lanes, MAX_FRAME_BYTES + 2 * lanes)]
    # (bytes, an empty last beat after them)
    frames = [(length, False) for length in lengths] + [
        (MAX_FRAME_BYTES, True), (MAX_FRAME_BYTES + lanes, True)]
    dut = RxQueue(data_width=data_width)
    counts = {"oversize": 0, "dropped": 0}
    outcomes = []

    async def testbench(ctx):
        for length, empty_last in frames:
            before = dict(counts)
            beats = -(-length // lanes) + empty_last
            ctx.set(dut.rx_stream.valid, 1)
            for index in range(beats):
                last = index == beats - 1
                keep = (1 << max(0, length - index * lanes)) - 1 if last else (1 << lanes) - 1
                ctx.set(dut.rx_stream.payload.last, last)
                ctx.set(dut.rx_stream.payload.keep, keep & ((1 << lanes) - 1))
                _, _, oversize, dropped = await ctx.tick().sample(dut.oversize, dut.dropped)
                counts["oversize"] += oversize
                counts["dropped"] += dropped
            ctx.set(dut.rx_stream.valid, 0)
            outcomes.append((length, counts["oversize"] - before["oversize"],
                             counts["dropped"] - before["dropped"]))

    _simulate(dut, testbench)
    where = f"seed={seed}; replay with: {replay}"
    for length, oversize, dropped in outcomes:
        assert (oversize, dropped) == ((1, 0) if length > MAX_FRAME_BYTES else (0, 1)), \
            f"{length} bytes: oversize {oversize}, dropped {dropped}; {where}"
    assert len(frames) == counts["oversize"] + counts["dropped"]


def test_merged_events_reach_the_counter_whole(seed, replay, cycles):
    """_merge_events: several sources' events (bursts larger than the increment, several at
    once) reach a narrow increment port without loss: sum in == sum out once it drains."""
    from amaranth import Module, Signal
    from slique.hdl.dma.engine import _merge_events

    rng = random.Random(seed)
    sources = [Signal(6), Signal(1), Signal(4)]
    port = Signal(3)
    m = Module()
    _merge_events(m, "TEST", sources, port)
    counted = {"in": 0, "out": 0}

    async def testbench(ctx):
        # about 4 events a cycle on average against the port's 7, in bursts of up to 79
        for cycle in range(cycles(400) + 200):
            quiet = cycle >= cycles(400)
            values = [0 if quiet else rng.getrandbits(len(source)) * (rng.random() < 0.12)
                      for source in sources]
            for source, value in zip(sources, values):
                ctx.set(source, value)
            counted["in"] += sum(values)
            await ctx.tick()
            counted["out"] += ctx.get(port)
        hint = f"seed={seed}; {replay}"
        assert counted["out"] == counted["in"], hint

    simulator = Simulator(m)
    simulator.add_clock(1e-6)
    simulator.add_testbench(testbench)
    simulator.run()
