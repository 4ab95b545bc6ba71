"""Whole frames only: a store-and-forward buffer in front of the transmit MAC."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..dma.frame_fifo import FrameFIFO
from ..packet import packet_layout


__all__ = ["FrameBuffer", "connect_frame_output"]


class _SkidRegister:
    """Two flip-flop stages between a producer and a consumer: ``ready`` towards the producer
    is a register (low only while the second stage holds a word), the data goes from one
    flip-flop to the next (no memory in between), and one word a clock flows when the
    consumer takes one a clock."""

    def __init__(self, m, width):
        self.i_data, self.i_valid, self.i_ready = Signal(width), Signal(), Signal()
        self.o_data, self.o_valid, self.o_ready = Signal(width), Signal(), Signal()
        skid, skid_valid = Signal(width), Signal()
        m.d.comb += self.i_ready.eq(~skid_valid)
        with m.If(self.i_valid & self.i_ready):
            with m.If(self.o_valid & ~self.o_ready):
                m.d.sync += [skid.eq(self.i_data), skid_valid.eq(1)]
            with m.Else():
                m.d.sync += [self.o_data.eq(self.i_data), self.o_valid.eq(1)]
        with m.Elif(self.o_ready | ~self.o_valid):
            m.d.sync += [self.o_data.eq(skid), self.o_valid.eq(skid_valid),
                         skid_valid.eq(0)]


def connect_frame_output(m, buffer, o_stream):
    """Drive the packet stream ``o_stream`` from a :class:`FrameFIFO` ``buffer``'s committed
    words (``first`` made from the ``last`` before it) and take each frame's length with its
    first word. The words go through two flip-flop stages (a skid register), so that
    ``o_stream.ready`` reaches no further than a register and the memory's output goes
    straight into flip-flops (both long paths at 125 MHz on the ECP5 otherwise); one word a
    clock still flows, without gaps, while the consumer takes one a clock."""
    register = _SkidRegister(m, 9)
    first = Signal(init=1)          # the next word taken from the buffer starts a frame
    output_first = Signal(init=1)   # the next word on o_stream starts a frame
    taken = buffer.r_stream.valid & buffer.r_stream.ready
    popped = o_stream.valid & o_stream.ready
    m.d.comb += [
        register.i_data.eq(Cat(buffer.r_stream.payload.data, buffer.r_stream.payload.last)),
        register.i_valid.eq(buffer.r_stream.valid),
        buffer.r_stream.ready.eq(register.i_ready),
        # the length is taken with the first word (from a register, not the memory's output)
        buffer.length_stream.ready.eq(taken & first),
        o_stream.valid.eq(register.o_valid),
        o_stream.payload.data.eq(register.o_data[:8]),
        o_stream.payload.last.eq(register.o_data[8]),
        o_stream.payload.first.eq(output_first),
        register.o_ready.eq(o_stream.ready),
    ]
    with m.If(taken):
        m.d.sync += first.eq(buffer.r_stream.payload.last)
    with m.If(popped):
        m.d.sync += output_first.eq(register.o_data[8])


class FrameBuffer(wiring.Component):
    """Holds each frame of ``i_stream`` until its ``last`` byte is in, then lets it out on
    ``o_stream`` without a gap, which :class:`~slique.hdl.mac.MacTx` needs (it cannot pause a
    frame on the wire). Nothing is dropped: ``i_stream`` waits while the buffer is full, so
    every frame must fit (``depth`` bytes at least as long as the longest frame; the receive
    MAC upstream delivers none longer than its ``max_length``).

    Parameters
    ----------
    depth : int
        Bytes, a power of two.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packet_layout(8)))``
    o_stream : ``Out(stream.Signature(packet_layout(8)))``
    """

    def __init__(self, *, depth=2048):
        self.depth = depth
        self._buffer = FrameFIFO(data_width=8, depth=depth, length_width=16, frames=16)
        super().__init__({"i_stream": In(stream.Signature(packet_layout(8))),
                          "o_stream": Out(stream.Signature(packet_layout(8)))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.buffer = buffer = self._buffer
        # a skid register in front, so that i_stream.ready comes from a register
        incoming = _SkidRegister(m, 9)
        m.d.comb += [
            incoming.i_data.eq(Cat(self.i_stream.payload.data, self.i_stream.payload.last)),
            incoming.i_valid.eq(self.i_stream.valid),
            self.i_stream.ready.eq(incoming.i_ready),
        ]
        length = Signal(16)
        word = buffer.w_stream.payload
        last = incoming.o_data[8]
        m.d.comb += [
            buffer.w_stream.valid.eq(incoming.o_valid),
            incoming.o_ready.eq(buffer.w_stream.ready),
            word.data.eq(incoming.o_data[:8]),
            word.last.eq(last),
            word.length.eq(length + 1),
        ]
        with m.If(buffer.w_stream.valid & buffer.w_stream.ready):
            m.d.sync += length.eq(Mux(last, 0, length + 1))
        connect_frame_output(m, buffer, self.o_stream)
        return m
