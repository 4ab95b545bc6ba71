"""A skid buffer: a stream through two registers, so that ``ready`` does not reach back."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["SkidBuffer"]


class SkidBuffer(wiring.Component):
    """Passes a stream through flip-flops only: ``i_stream.ready`` is a register (low only while
    the skid register holds a beat), ``o_stream.valid`` and ``o_stream.payload`` are registers,
    and the consumer's ``o_stream.ready`` reaches nothing but the enables of those registers. One
    beat a clock flows, without gaps, while the consumer takes one a clock; a beat spends one
    clock inside (two while the consumer waits).

    The Colorlight top puts one between each receive clock crossing and its flow pipeline, so
    that the pipeline's ``ready`` does not run into the crossing's pointer logic (125 MHz).

    Parameters
    ----------
    shape : shape-like
        Of the payload.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(shape))``
    o_stream : ``Out(stream.Signature(shape))``
    """

    def __init__(self, shape):
        super().__init__({"i_stream": In(stream.Signature(shape)),
                          "o_stream": Out(stream.Signature(shape))})

    def elaborate(self, platform):
        m = Module()
        skid = Signal.like(self.i_stream.payload)
        skid_valid = Signal()
        i_stream, o_stream = self.i_stream, self.o_stream
        m.d.comb += i_stream.ready.eq(~skid_valid)
        # The wide registers load on the consumer's ready and on flip-flops alone, never on
        # the producer's ``valid``: while the output is free it loads the skid's beat or else
        # the input's (``valid`` says whether there was one), and while it waits the empty
        # skid loads the input likewise.
        with m.If(o_stream.ready | ~o_stream.valid):
            m.d.sync += [o_stream.payload.eq(Mux(skid_valid, skid, i_stream.payload)),
                         o_stream.valid.eq(skid_valid | i_stream.valid),
                         skid_valid.eq(0)]
        with m.Elif(~skid_valid):
            m.d.sync += [skid.eq(i_stream.payload), skid_valid.eq(i_stream.valid)]
        return m
