"""A seeded on-chip packet generator: steady or bursty packets of pseudo-random bytes."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .bounded_slique import COUNTER_WIDTH
from .packet import packet_layout


__all__ = ["PacketGenerator", "LFSR_TAPS", "LFSR_WIDTH", "lfsr_step"]


#: Galois LFSR of 32 bits, x^32 + x^22 + x^2 + x + 1 (maximal length).
LFSR_WIDTH = 32
LFSR_TAPS = 0x8020_0003


def lfsr_step(state):
    """The LFSR state after ``state`` (Python; the gateware computes the same)."""
    return (state >> 1) ^ (LFSR_TAPS if state & 1 else 0)


class PacketGenerator(wiring.Component):
    """Makes packets of pseudo-random bytes from a 32-bit LFSR, in a configured shape.

    Content: the LFSR advances once per beat taken. A packet's bytes are the low bytes of the
    LFSR states it passes through; its length in beats is ``min_length + ((state >> 8) &
    length_mask)`` with ``state`` the LFSR state at its first beat; the first byte (``state &
    0xFF``) is the packet's flow label, from which a board steers it to a queue. Loading
    ``seed`` (``seed_load``; a zero seed is taken as 1, the LFSR's forbidden state) restarts the
    sequence, so a seed replays the same packets.

    Shape: with ``enable`` high, packets follow each other with ``gap`` idle cycles between
    them; if ``burst`` is not 0, every ``burst`` packets are followed by ``burst_gap`` idle
    cycles more (bursts). ``count`` packets are sent, then the generator stops (0: no limit);
    loading a seed or dropping ``enable`` does not cut a packet: it ends first. ``sent``
    counts the packets whose last beat was taken (32-bit, saturating).

    Parameters
    ----------
    data_width : 8
        Bits per beat (one byte).

    Attributes
    ----------
    o_stream : ``Out(stream.Signature(packet_layout(8)))``
    enable : ``In(1)``
    seed : ``In(32)``
    seed_load : ``In(1)``
        Load ``seed`` (a strobe); also restarts the ``count`` and the burst.
    min_length : ``In(8)``
        Shortest packet in beats (0 acts as 1).
    length_mask : ``In(8)``
        Mask on the random part of the length.
    gap, burst : ``In(8)``
    burst_gap : ``In(16)``
    count : ``In(32)``
    sent : ``Out(32)``
    running : ``Out(1)``
        Enabled and the count not reached.
    """

    def __init__(self, data_width=8):
        if data_width != 8:
            raise ValueError(f"The packet generator makes 8-bit beats, not {data_width!r}-bit")
        super().__init__({
            "o_stream": Out(stream.Signature(packet_layout(8))),
            "enable": In(1),
            "seed": In(LFSR_WIDTH),
            "seed_load": In(1),
            "min_length": In(8),
            "length_mask": In(8),
            "gap": In(8),
            "burst": In(8),
            "burst_gap": In(16),
            "count": In(COUNTER_WIDTH),
            "sent": Out(COUNTER_WIDTH),
            "running": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        state = Signal(LFSR_WIDTH, init=1)
        next_state = Signal(LFSR_WIDTH)
        m.d.comb += next_state.eq(Mux(state[0], (state >> 1) ^ LFSR_TAPS, state >> 1))

        beats_left = Signal(9)       # beats of the packet after this one
        in_packet = Signal()
        idle = Signal(17)            # idle cycles left before the next packet
        burst_sent = Signal(8)
        packets = Signal(COUNTER_WIDTH)  # since the seed was loaded, for ``count``
        load_pending = Signal()

        m.d.comb += self.running.eq(self.enable & ((self.count == 0) | (packets < self.count)))
        length = Signal(9)
        m.d.comb += length.eq(Mux(self.min_length == 0, 1, self.min_length) +
                              (state[8:16] & self.length_mask))

        beat = self.o_stream.payload
        taken = self.o_stream.valid & self.o_stream.ready
        m.d.comb += [
            beat.data.eq(state[:8]),
            beat.first.eq(~in_packet),
            beat.last.eq(Mux(in_packet, beats_left == 0, length == 1)),
            self.o_stream.valid.eq(in_packet | (self.running & (idle == 0) & ~load_pending)),
        ]

        with m.If(self.seed_load):
            m.d.sync += load_pending.eq(1)
        with m.If(idle != 0):
            m.d.sync += idle.eq(idle - 1)

        with m.If(taken):
            m.d.sync += state.eq(next_state)
            with m.If(~in_packet):
                m.d.sync += [in_packet.eq(length != 1), beats_left.eq(length - 2)]
            with m.Else():
                m.d.sync += beats_left.eq(beats_left - 1)
            with m.If(beat.last):
                m.d.sync += [in_packet.eq(0), packets.eq(packets + 1)]
                with m.If(self.sent != (1 << COUNTER_WIDTH) - 1):
                    m.d.sync += self.sent.eq(self.sent + 1)
                with m.If((self.burst != 0) & (burst_sent == self.burst - 1)):
                    m.d.sync += [burst_sent.eq(0), idle.eq(self.gap + self.burst_gap)]
                with m.Else():
                    m.d.sync += [burst_sent.eq(burst_sent + 1), idle.eq(self.gap)]
        # A seed is loaded between packets, never in one.
        with m.If((load_pending | self.seed_load) & ~in_packet & ~taken):
            m.d.sync += [state.eq(Mux(self.seed == 0, 1, self.seed)), packets.eq(0),
                         burst_sent.eq(0), load_pending.eq(0)]
        return m
