"""The descriptor prefetch buffer a TX or RX queue fetches its ring's descriptors into."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .descriptors import DESCRIPTOR_BYTES
from .frame_fifo import FabricOutputFIFO
from .ring import buffer_end


__all__ = ["DescriptorPrefetch"]


class DescriptorPrefetch(wiring.Component):
    """Fetched descriptor words in, whole 16-byte descriptors out, with the room left counted.

    A queue fetches descriptors in bursts; their words arrive on ``fill`` (never
    back-pressured: a queue fetches only as many descriptors as ``credit`` says there is room
    for, and tells the buffer with ``reserve`` in the cycle it issues the fetch). The words are
    assembled into ``descriptor`` (``valid``; ``err`` if any of its words was answered with a
    bus error) until the queue ``take``\\ s it. ``credit`` counts the descriptors that can
    still be fetched: it falls by ``reserve`` and rises as descriptors leave the FIFO.
    ``flush`` (with no fetch in flight) empties everything and gives the whole room back;
    ``empty`` says when nothing is left. A word enters the buffer a cycle after it arrives
    (through registers): a descriptor is ``valid`` four cycles after its last word at the
    earliest.

    ``buffer_end`` is bytes 0-7 of the descriptor (an address) plus bytes 8-9 (a length),
    added as the word with bytes 8-9 arrives: a TX data descriptor's buffer end
    (:func:`~slique.hdl.dma.ring.buffer_end` of ``buffer_addr`` and DTALEN), ready with
    ``valid``, so that the queue's window check starts from a register.

    Parameters
    ----------
    data_width : int
        Bits of a fetched word (the host bus width).
    descriptors : int
        Descriptors the buffer holds.

    Attributes
    ----------
    fill : ``In(stream.Signature(StructLayout{data, err}, always_ready=True))``
    reserve : ``In(range(descriptors + 1))``
    take, flush : ``In(1)``
        ``take`` only while ``valid``.
    descriptor : ``Out(128)``
    buffer_end : ``Out(65)``
    valid, err, empty : ``Out(1)``
    credit : ``Out(range(descriptors + 1))``
    """

    def __init__(self, *, data_width, descriptors):
        self._data_width = data_width
        self._descriptors = descriptors
        super().__init__({
            "fill": In(stream.Signature(data.StructLayout({"data": data_width, "err": 1}),
                                        always_ready=True)),
            "reserve": In(range(descriptors + 1)),
            "take": In(1),
            "flush": In(1),
            "descriptor": Out(DESCRIPTOR_BYTES * 8),
            "buffer_end": Out(65),
            "valid": Out(1),
            "err": Out(1),
            "empty": Out(1),
            "credit": Out(range(descriptors + 1), init=descriptors),
        })

    def elaborate(self, platform):
        m = Module()
        width = self._data_width
        words_per_descriptor = DESCRIPTOR_BYTES // (width // 8)
        # SyncFIFOBuffered's timing, its output word from a fabric register (the word's err
        # bit is merged into ``err`` through a gate: a block RAM's output has no time for
        # one), in LUT RAM (a block RAM's output is slow to reach even a register: ECP5's
        # 5.8 ns and the routing from its column)
        m.submodules.words = words = FabricOutputFIFO(
            width=width + 1, depth=self._descriptors * words_per_descriptor, distributed=True)
        # the words enter through registers: the bus master's answer logic may be far across
        # the die, and the LUT RAM's write enables fan out wide near the queue
        m.d.sync += [
            words.w_data.eq(Cat(self.fill.payload.data, self.fill.payload.err)),
            words.w_en.eq(self.fill.valid),
        ]
        m.d.comb += self.empty.eq(words.empty & ~words.w_en)

        assembled = Signal(range(words_per_descriptor + 1))   # words in ``descriptor``
        # valid == (assembled == words_per_descriptor), a register set beside assembled (the
        # queue's take and the FIFO's read follow it)
        popped = Signal()                     # a descriptor's last word leaves the FIFO
        m.d.comb += popped.eq(words.r_en & (assembled == words_per_descriptor - 1))
        with m.If(self.flush):
            m.d.comb += words.r_en.eq(1)
            m.d.sync += [assembled.eq(0), self.valid.eq(0), self.credit.eq(self._descriptors)]
        with m.Else():
            # ``take`` comes only while ``valid``, when no word is read: the read does not
            # wait for it, so the queue's take decision does not reach ``credit``
            with m.If(self.take):
                m.d.sync += [assembled.eq(0), self.valid.eq(0)]
            with m.If(~self.valid & words.r_rdy):
                m.d.comb += words.r_en.eq(1)
                # the words enter at the top: when bytes 8-9 arrive, bytes 0-7 are the
                # descriptor's upper half
                with m.If(assembled == 8 // (width // 8)):
                    m.d.sync += self.buffer_end.eq(
                        buffer_end(self.descriptor[64:128], words.r_data[:16]))
                m.d.sync += [
                    self.descriptor.eq(Cat(self.descriptor[width:], words.r_data[:width])),
                    assembled.eq(assembled + 1),
                    self.valid.eq(assembled == words_per_descriptor - 1),
                    self.err.eq(Mux(assembled == 0, 0, self.err) | words.r_data[width]),
                ]
            m.d.sync += self.credit.eq(self.credit + popped - self.reserve)
        return m
