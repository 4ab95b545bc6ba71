"""Golden model of :class:`slique.hdl.BoundedSlique`."""

from slique.hdl._parameters import FULL_MODES, STORAGES, check_choice, check_depth, check_shape
from slique.hdl.bounded_slique import COUNTER_WIDTH, choose_storage

from ._ports import SliquePorts, payload_mask
from .ring_storage import RingStorage
from .systolic_storage import SystolicStorage


__all__ = ["BoundedSlique"]


_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1


class BoundedSlique:
    """Cycle-accurate golden model of the bounded slique, with the gateware's parameters.

    Call :meth:`step` once per clock cycle with the inputs of that cycle; it returns the outputs
    during that cycle (:class:`SliquePorts`) and then applies the clock edge. Beside the ports, the
    model counts ``offered`` (beats the producer handed over or lost: accepted + dropped),
    ``accepted`` and ``delivered``, so that ``offered == delivered + dropped + level`` always.
    Whether a full slique takes a beat in a cycle in which one leaves depends on the storage, as
    in the gateware (:attr:`slique.hdl.BoundedSlique.writes_when_full_and_read`).

    Parameters
    ----------
    shape, depth, on_full, storage
        As for :class:`slique.hdl.BoundedSlique` (the same checks, the same ``"auto"`` rule).
    """

    def __init__(self, shape, depth, *, on_full="backpressure", storage="auto"):
        check_shape(shape)
        self.depth = check_depth(depth)
        self.on_full = check_choice("on_full", on_full, FULL_MODES)
        check_choice("storage", storage, STORAGES)
        self.storage = choose_storage(shape, depth) if storage == "auto" else storage
        self.mask = payload_mask(shape)
        self._cells = (SystolicStorage if self.storage == "systolic" else RingStorage)(depth)
        self.level = 0
        self.high_water = 0
        self.dropped = 0
        self.drop = 0
        self.offered = 0
        self.accepted = 0
        self.delivered = 0

    @property
    def full(self):
        """The storage has no room for a write in this cycle (unless one leaves and it
        :attr:`writes_when_full_and_read`): the ring at ``depth`` entries, the systolic chain
        when its input cell has no free slot."""
        return getattr(self._cells, "full", self.level == self.depth)

    @property
    def writes_when_full_and_read(self):
        """As :attr:`slique.hdl.BoundedSlique.writes_when_full_and_read`."""
        return getattr(self._cells, "writes_when_full_and_read", True)

    def step(self, *, i_stream__valid, i_stream__payload, o_stream__ready):
        """Outputs during one cycle with these inputs; then the clock edge."""
        cells = self._cells
        o_valid = cells.o_valid
        read = o_valid and bool(o_stream__ready)
        full = self.full
        room = not full or (read and self.writes_when_full_and_read)
        write = bool(i_stream__valid) and room
        discard = bool(i_stream__valid) and not room and self.on_full == "drop"
        ports = SliquePorts(
            i_stream__ready=int(room or self.on_full == "drop"),
            o_stream__valid=int(o_valid),
            o_stream__payload=cells.o_payload if o_valid else None,
            level=self.level,
            full=int(full),
            high_water=self.high_water,
            dropped=self.dropped,
            drop=self.drop,
        )
        cells.clock(read=read, write=write, w_data=i_stream__payload & self.mask)
        self.level += write - read
        self.high_water = max(self.high_water, self.level)
        self.drop = int(discard)
        self.dropped = min(self.dropped + discard, _COUNTER_MAX)
        self.offered += write + discard
        self.accepted += write
        self.delivered += read
        return ports
