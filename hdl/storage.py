"""The interface every storage of a :class:`~slique.hdl.BoundedSlique` has."""

from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ._parameters import check_depth, check_shape


__all__ = ["Storage"]


class Storage(wiring.Component):
    """Base of the slique storages: a write port and an output stream, no policy.

    The caller (:class:`~slique.hdl.BoundedSlique`) decides what to write and guarantees that
    ``w_en`` is only asserted when there is room: fewer than ``depth`` entries held, or the
    consumer takes a beat in the same cycle. Subclasses implement ``elaborate``.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of an entry.
    depth : int
        Most entries held, at least 1.

    Attributes
    ----------
    w_data : ``In(shape)``
        Entry to write.
    w_en : ``In(1)``
        Write strobe.
    o_stream : ``Out(stream.Signature(shape))``
        Oldest entry; ``valid`` and ``payload`` are registers.
    """

    def __init__(self, shape, depth):
        self._shape = check_shape(shape)
        self._depth = check_depth(depth)
        super().__init__({
            "w_data": In(shape),
            "w_en": In(1),
            "o_stream": Out(stream.Signature(shape)),
        })

    @property
    def shape(self):
        return self._shape

    @property
    def depth(self):
        return self._depth
