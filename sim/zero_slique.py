"""Golden model of :class:`slique.hdl.ZeroSlique`."""

from ._ports import SliquePorts, payload_mask


__all__ = ["ZeroSlique"]


class ZeroSlique:
    """Cycle-accurate model of the zero-size slique: ``o_stream`` is ``i_stream``, ready flows back.

    Parameters
    ----------
    shape : shape-like
        Payload shape, as given to the gateware.
    """

    def __init__(self, shape):
        self.mask = payload_mask(shape)
        self.offered = 0
        self.delivered = 0

    level = high_water = dropped = 0

    def step(self, *, i_stream__valid, i_stream__payload, o_stream__ready):
        """Outputs during one cycle with these inputs; then the clock edge."""
        transfer = bool(i_stream__valid and o_stream__ready)
        self.offered += transfer
        self.delivered += transfer
        return SliquePorts(
            i_stream__ready=int(bool(o_stream__ready)),
            o_stream__valid=int(bool(i_stream__valid)),
            o_stream__payload=(i_stream__payload & self.mask) if i_stream__valid else None,
        )
