"""Golden model of :class:`slique.hdl.PacketAdmission`: the burst admission model, one decision
per packet."""

from slique.hdl.packet import packet_layout

from .burst_admission import BurstAdmission
from .packet import unpack_beat


__all__ = ["PacketAdmission"]


class PacketAdmission(BurstAdmission):
    """Cycle-accurate golden model of :class:`slique.hdl.PacketAdmission` (its docstring states
    the rule): :class:`slique.sim.BurstAdmission` with the decision at a packet's first beat, the
    rest of the packet following it whole, and the counters in packets.

    Parameters
    ----------
    data_width, depth, fraction_bits, token_bits, queue, storage, register_stage
        As for :class:`slique.hdl.PacketAdmission`.

    Attributes
    ----------
    start, keeping : bool
        The gateware's registers of the same names.
    held : int
        Packets offered and admitted, not yet delivered (so that ``offered == delivered +
        dropped + held`` every cycle).
    """

    def __init__(self, data_width, depth, *, fraction_bits=16, token_bits=16, queue=0,
                 storage="auto", register_stage=True):
        self.data_width = data_width
        super().__init__(packet_layout(data_width), depth, fraction_bits=fraction_bits,
                         token_bits=token_bits, queue=queue, storage=storage,
                         register_stage=register_stage)
        self.start = True
        self.keeping = False

    @property
    def held(self):
        return self.accepted - self.delivered

    def _offer(self, valid):
        return valid and self.start

    def _written(self, valid, accept, space):
        return accept if self.start else valid and self.keeping and space

    def _ready(self, space):
        return int(self.start or not self.keeping or space)

    def _counts_as_delivered(self, payload):
        return bool(unpack_beat(payload, self.data_width).last)

    def _advance(self, taken, payload, accept):
        if not taken:
            return
        if unpack_beat(payload, self.data_width).last:
            self.start, self.keeping = True, False
        elif self.start:
            self.start, self.keeping = False, bool(accept)

    def _tag_of(self, payload):
        return self.offered
