"""Whole frames only: a store-and-forward buffer in front of the transmit MAC."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..dma.frame_fifo import FrameFIFO
from ..packet import packet_layout


__all__ = ["FrameBuffer", "connect_frame_output"]


def connect_frame_output(m, buffer, o_stream):
    """Drive the packet stream ``o_stream`` from a :class:`FrameFIFO` ``buffer``'s committed
    words (``first`` made from the ``last`` before it) and take each frame's length with its
    first word."""
    first = Signal(init=1)
    popped = o_stream.valid & o_stream.ready
    m.d.comb += [
        o_stream.valid.eq(buffer.r_stream.valid),
        o_stream.payload.data.eq(buffer.r_stream.payload.data),
        o_stream.payload.last.eq(buffer.r_stream.payload.last),
        o_stream.payload.first.eq(first),
        buffer.r_stream.ready.eq(o_stream.ready),
        # the length is taken with the first word (from a register, not from the memory's
        # output: a shorter path)
        buffer.length_stream.ready.eq(popped & first),
    ]
    with m.If(popped):
        m.d.sync += first.eq(buffer.r_stream.payload.last)


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
        length = Signal(16)
        word = buffer.w_stream.payload
        m.d.comb += [
            buffer.w_stream.valid.eq(self.i_stream.valid),
            self.i_stream.ready.eq(buffer.w_stream.ready),
            word.data.eq(self.i_stream.payload.data),
            word.last.eq(self.i_stream.payload.last),
            word.length.eq(length + 1),
        ]
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += length.eq(Mux(self.i_stream.payload.last, 0, length + 1))
        connect_frame_output(m, buffer, self.o_stream)
        return m
