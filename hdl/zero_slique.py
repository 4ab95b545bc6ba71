"""The zero-size slique: a rendezvous with no storage."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ._parameters import check_shape


__all__ = ["ZeroSlique"]


class ZeroSlique(wiring.Component):
    """Zero-size slique: a back-pressure rendezvous between a producer and a consumer.

    The seed's ideal connection: a buffer of size zero. Nothing is stored, so nothing can
    overflow and nothing can be lost: the producer sees the consumer's ``ready`` directly (a
    stalled consumer stalls the producer) and the payload passes through combinationally. It
    costs no flip-flops and adds no cycle of latency; a beat moves exactly when both sides agree.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of the payload, e.g. ``32``, ``signed(12)`` or a :class:`~amaranth.lib.data.Struct`.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(shape))``
        Producer side. ``i_stream.ready`` is ``o_stream.ready``.
    o_stream : ``Out(stream.Signature(shape))``
        Consumer side. ``o_stream.valid`` and ``o_stream.payload`` are ``i_stream``'s.
    """

    def __init__(self, shape):
        self._shape = check_shape(shape)
        super().__init__({
            "i_stream": In(stream.Signature(shape)),
            "o_stream": Out(stream.Signature(shape)),
        })

    @property
    def shape(self):
        """The payload shape this slique carries."""
        return self._shape

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [
            self.o_stream.payload.eq(self.i_stream.payload),
            self.o_stream.valid.eq(self.i_stream.valid),
            self.i_stream.ready.eq(self.o_stream.ready),
        ]
        return m
