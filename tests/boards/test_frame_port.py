"""The iCEBreaker flow top's frame port (HostFramePort) alone, in the Amaranth simulator: a
classic Wishbone initiator against it, a seeded consumer on the injected stream and seeded
queues behind the heads; every beat written comes out once, in order, every beat read is the
queue's, and nothing is taken that was not acknowledged."""

import random
from collections import deque

from amaranth import Value
from amaranth.sim import Simulator

from slique.boards.flow_client import frame_words, head_beat
from slique.boards.icebreaker import HostFramePort, frame_registers


QUEUES = 2


def word_address(name, index=None):
    return frame_registers(QUEUES)[name].offset_of(index) >> 2


def simulate(seed, frames):
    """Write ``frames`` to FRAME_INJECT while a consumer takes beats when it likes; read both
    heads from queues that hold known beats; send a frame to FRAME_TX. Answers what happened."""
    rng = random.Random(seed)
    port = HostFramePort(QUEUES, level_width=5)
    queues = [deque(word & 0x3FF for word in frame_words(rng.randbytes(rng.randrange(1, 6))))
              for _ in range(QUEUES)]
    heads = [list(queue) for queue in queues]
    taken, acks, reads = [], [], {queue: [] for queue in range(QUEUES)}
    sim = Simulator(port)
    sim.add_clock(1e-6)

    async def access(ctx, address, data=None, *, give_up=None):
        """One classic access; the answer's cycle count and read data (None: gave up)."""
        bus = port.bus
        ctx.set(bus.adr, address)
        ctx.set(bus.we, data is not None)
        ctx.set(bus.dat_w, data or 0)
        ctx.set(bus.sel, 0xF)
        ctx.set(bus.cyc, 1)
        ctx.set(bus.stb, 1)
        cycles = 0
        while True:
            _, _, ack, dat_r = await ctx.tick().sample(bus.ack, bus.dat_r)
            cycles += 1
            if ack or (give_up is not None and cycles >= give_up):
                break
        ctx.set(bus.cyc, 0)
        ctx.set(bus.stb, 0)
        await ctx.tick()
        return cycles, (dat_r if ack else None)

    async def heads_process(ctx):
        """The queues behind the heads: a beat leaves when its head is read."""
        async for clk_edge, rst, *ready in ctx.tick().sample(
                *(port.i_streams[queue].ready for queue in range(QUEUES))):
            for queue in range(QUEUES):
                if ready[queue] and queues[queue]:
                    queues[queue].popleft()
            for queue in range(QUEUES):
                ctx.set(port.i_streams[queue].valid, bool(queues[queue]))
                ctx.set(Value.cast(port.i_streams[queue].payload),
                        queues[queue][0] if queues[queue] else 0)
                ctx.set(port.levels[queue], len(queues[queue]))

    async def host(ctx):
        await ctx.tick()
        # Heads are not taken while the drain owns the queues (HOST clear).
        cycles, word = await access(ctx, word_address("FRAME_HEAD", 0))
        reads["before host"] = head_beat(word)
        await access(ctx, word_address("FRAME_HOST"), 1)
        _, host = await access(ctx, word_address("FRAME_HOST"))
        reads["host"] = host
        for frame in frames:
            for word in frame_words(frame):
                acks.append((await access(ctx, word_address("FRAME_INJECT"), word))[0])
        for queue in range(QUEUES):
            for _ in range(len(heads[queue]) + 1):
                _, word = await access(ctx, word_address("FRAME_HEAD", queue))
                reads[queue].append(head_beat(word))
        for word in frame_words(b"abc") + frame_words(b"d"):
            await access(ctx, word_address("FRAME_TX"), word)
        _, reads["tx_frames"] = await access(ctx, word_address("FRAME_TX_FRAMES"))
        _, reads["unmapped"] = await access(ctx, 7)
        # With no consumer, an injected beat is never acknowledged (the bridge times out).
        consumer_off.append(True)
        await ctx.tick()
        cycles, answer = await access(ctx, word_address("FRAME_INJECT"), 0x100, give_up=20)
        reads["stalled"] = answer

    consumer_off = []

    async def gated_consumer(ctx):
        """Takes injected beats about one cycle in three, until the host turns it off."""
        async for clk_edge, rst, valid, ready, payload in ctx.tick().sample(
                port.o_stream.valid, port.o_stream.ready, Value.cast(port.o_stream.payload)):
            if valid and ready:
                taken.append(payload)
            ctx.set(port.o_stream.ready, not consumer_off and rng.random() < 0.34)

    sim.add_process(gated_consumer)
    sim.add_process(heads_process)
    sim.add_testbench(host)
    sim.run_until(2e-3)
    return port, heads, taken, acks, reads


def test_frame_port(seed):
    frames = [bytes([2, 7, 9]), bytes([255]), bytes(range(10, 20))]
    port, heads, taken, acks, reads = simulate(seed, frames)
    hint = f"seed={seed}"
    written = [word for frame in frames for word in frame_words(frame)]
    # Every beat written is taken once, in order (the ack is the stream's handshake), and the
    # writes waited for the consumer: offered == delivered.
    assert taken == written, hint
    assert max(acks) > 1, f"the consumer never made a write wait; {hint}"
    assert reads["stalled"] is None and len(taken) == len(written), hint
    # The heads: nothing taken before HOST, then each queue's beats in order with their level,
    # then an invalid word; every beat read once (conservation per queue).
    assert reads["before host"].valid and reads["host"] == 1, hint
    for queue in range(QUEUES):
        beats = reads[queue]
        assert [beat.valid for beat in beats] == [True] * len(heads[queue]) + [False], hint
        assert [beat.data | beat.first << 8 | beat.last << 9 for beat in beats[:-1]] == \
            heads[queue], hint
        assert [beat.level for beat in beats[:-1]] == list(range(len(heads[queue]), 0, -1))
    assert reads["tx_frames"] == 2 and reads["unmapped"] == 0, hint
