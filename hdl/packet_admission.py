"""Packet admission: burst admission that decides once per packet and never cuts one."""

from amaranth import *

from .burst_admission import BurstAdmission
from .packet import packet_layout


__all__ = ["PacketAdmission"]


class PacketAdmission(BurstAdmission):
    """:class:`~slique.hdl.BurstAdmission` on a packet stream: one decision per packet.

    The rule, the bucket, the run-time configuration, the timing and the ports are those of
    :class:`~slique.hdl.BurstAdmission` (this class reuses its rule and its bucket, it does not
    copy them), with a packet in place of a beat:

    - the decision is made at a packet's first beat (the beat after a ``last`` beat, or the first
      beat after reset: packet boundaries are given by ``last`` alone, as everywhere on the flow
      path), from the slique's ``level`` in **beats** at the start of that cycle: below ``S``
      admitted, from ``S`` up to ``B`` admitted if a token is left (taking one), at ``B``
      dropped. A packet costs one token, whatever its length;
    - the rest of the packet follows its first beat: all of it goes into the slique, or all of it
      is thrown away. A packet is never cut.

    So ``i_stream.ready`` is high at a packet's first beat (the decision is made at once, and an
    admitted first beat always has room: ``level < B <= depth``) and while a dropped packet's
    beats are thrown away; while an admitted packet's later beats go in, it is
    ``level < depth`` and room in the register stage: a packet admitted near the limit waits
    for room instead of being cut (its producer, the flow demux's queue, holds it).

    The counters count packets: ``offered`` (first beats), ``accepted``,
    ``dropped_burst_exhausted``, ``dropped_hard_limit`` at the decision, ``delivered`` at the
    ``last`` beat taken at ``o_stream``; ``offered == delivered + dropped_burst_exhausted +
    dropped_hard_limit + held``, ``held`` the packets with a beat in the slique or still coming
    in, and ``offered == delivered + dropped`` once drained. ``decision`` shows
    :attr:`~slique.hdl.burst_admission.Decision.NONE` for a beat that is not a first beat. A trace
    event's ``tag`` is the packet's number at this admission (the ``offered`` count before it,
    from 0).

    Parameters
    ----------
    data_width : 8 or 32
        Bits of packet data per beat (the payload is :func:`~slique.hdl.packet.packet_layout`).
    depth, fraction_bits, token_bits, queue, storage, register_stage
        As for :class:`~slique.hdl.BurstAdmission`; ``depth`` counts beats.

    Attributes
    ----------
    i_stream, o_stream : packet streams
        ``i_stream.ready`` as above (not always high).
    steady_depth, burst_depth, bucket_capacity, refill_rate, refill_denominator, level, tokens,
    token_fraction, decision, offered, accepted, delivered, dropped_burst_exhausted,
    dropped_hard_limit, trace
        As for :class:`~slique.hdl.BurstAdmission`, counting packets.
    start : Signal
        The next beat is a packet's first beat (a register inside, not a port).
    keeping : Signal
        The packet coming in was admitted: its later beats go into the slique (a register).
    """

    def __init__(self, data_width, depth, *, fraction_bits=16, token_bits=16, queue=0,
                 storage="auto", register_stage=True):
        self._data_width = data_width
        super().__init__(packet_layout(data_width), depth, fraction_bits=fraction_bits,
                         token_bits=token_bits, queue=queue, storage=storage,
                         register_stage=register_stage)
        self.start = Signal(init=1)
        self.keeping = Signal()

    data_width = property(lambda self: self._data_width, doc="Bits of packet data per beat.")

    def _admit(self, m, space, **flags):
        beat = self.i_stream.payload
        offer = Signal()
        m.d.comb += offer.eq(self.i_stream.valid & self.start)
        rule = self._rule(m, offer, **flags)
        written = Signal()
        taken = self.i_stream.valid & self.i_stream.ready
        m.d.comb += [
            self.i_stream.ready.eq(self.start | ~self.keeping | space),
            written.eq(Mux(self.start, rule["accept"],
                           self.i_stream.valid & self.keeping & space)),
        ]
        with m.If(taken):
            with m.If(beat.last):
                m.d.sync += [self.start.eq(1), self.keeping.eq(0)]
            with m.Elif(self.start):
                m.d.sync += [self.start.eq(0), self.keeping.eq(rule["accept"])]
        return dict(rule, offer=offer, written=written)

    def _delivered_event(self):
        return self.o_stream.valid & self.o_stream.ready & self.o_stream.payload.last

    def _trace_tag(self):
        return self.offered
