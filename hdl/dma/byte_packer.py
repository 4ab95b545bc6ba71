"""The byte packer: bytes from words at any lane, packed into whole words of a frame."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..mac.skid_buffer import SkidBuffer
from .frame_fifo import frame_word_layout


__all__ = ["BytePacker", "packer_input_layout"]


def packer_input_layout(data_width):
    """One input word: ``data``; its bytes ``lane`` to ``lane + count - 1`` are the frame's
    next ones; ``last`` ends the frame after them; ``abort`` (with ``last``) undoes it."""
    lanes = data_width // 8
    return data.StructLayout({"data": data_width, "lane": range(lanes),
                              "count": range(lanes + 1), "last": 1, "abort": 1})


class BytePacker(wiring.Component):
    """Packs the bytes of a frame, read from buffers at any byte address, into whole words.

    A TX frame comes from one or more buffers (scatter-gather), each at any byte address and of
    any length, read as whole bus words: the first word of a buffer holds its first byte at
    lane ``address % bytes``, the last word fewer bytes. The packer takes such words with the
    lane and count of their frame bytes and puts out the frame as whole words (lane 0 first),
    the last word holding the rest, with the frame's byte length on it; a ``last`` input with
    ``abort`` puts out a ``last`` word with ``abort`` (the frame FIFO then forgets the frame).

    It holds up to two words of bytes and moves one word per cycle in and out when the output
    is ready, whatever the lanes are. After a frame's last input it takes no input until the
    frame's last word is out (one or two cycles between frames).

    An input word is aligned (its bytes moved down to lane 0) on its way into a
    :class:`~slique.hdl.mac.skid_buffer.SkidBuffer`, and written from there into a ring of two
    words' bytes (its ``count`` bytes, from the ring's write position on): the packing
    starts from flip-flops, no shifter follows the handshakes, and ``i_stream.ready`` is a
    register. A word spends a cycle in the skid buffer. The bytes of the last word past the
    frame's end are 0.

    Parameters
    ----------
    data_width : 32 or 64
    length_width : int
        Bits of the frame length.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packer_input_layout(data_width)))``
    o_stream : ``Out(stream.Signature(frame_word_layout(data_width, length_width)))``
    """

    def __init__(self, *, data_width=64, length_width=16):
        self._data_width = data_width
        super().__init__({
            "i_stream": In(stream.Signature(packer_input_layout(data_width))),
            "o_stream": Out(stream.Signature(frame_word_layout(data_width, length_width))),
        })

    def elaborate(self, platform):
        m = Module()
        lanes = self._data_width // 8
        width = self._data_width

        held = Signal(2 * width)              # a ring of packed bytes
        fill = Signal(range(2 * lanes + 1))   # bytes held
        ending = Signal()                     # the frame's last input is in
        aborting = Signal()
        length = Signal.like(self.o_stream.payload.length)

        out = self.o_stream
        out_fire = Signal()
        m.d.comb += [
            out.valid.eq((fill >= lanes) | ending),
            out.payload.last.eq(ending & (fill <= lanes)),
            out.payload.abort.eq(aborting),
            out.payload.length.eq(length),
            out_fire.eq(out.valid & out.ready),
        ]

        # Bytes held once this cycle's output is gone: a word's worth less when it goes (all
        # of them at a frame's end, when no input comes). Every candidate for the next
        # ``fill`` is computed from registers; the handshakes only choose.
        # aligned words, lane 0 first (the bytes past ``count`` are cleared as they are packed)
        aligned_layout = data.StructLayout({"data": width, "count": range(lanes + 1),
                                            "last": 1, "abort": 1})
        m.submodules.aligner = aligner = SkidBuffer(aligned_layout)
        incoming = self.i_stream.payload
        m.d.comb += [
            aligner.i_stream.valid.eq(self.i_stream.valid),
            self.i_stream.ready.eq(aligner.i_stream.ready),
            aligner.i_stream.payload.data.eq(incoming.data >> (incoming.lane * 8)),
            aligner.i_stream.payload.count.eq(incoming.count),
            aligner.i_stream.payload.last.eq(incoming.last),
            aligner.i_stream.payload.abort.eq(incoming.abort),
        ]
        word = aligner.o_stream.payload
        fill_less = Signal.like(fill)         # fill - lanes, or 0
        m.d.comb += fill_less.eq(Mux(fill > lanes, fill - lanes, 0))
        in_fire = Signal()
        m.d.comb += [
            # room once this cycle's output is gone (at most ``lanes`` bytes left): with more
            # than a word held, the output is valid and takes a word exactly when it is ready
            aligner.o_stream.ready.eq(~ending & ((fill <= lanes) | out.ready)),
            in_fire.eq(aligner.o_stream.valid & aligner.o_stream.ready),
        ]

        # ``held`` is a ring of two words' bytes: a word's bytes are written from byte
        # ``write_byte`` on (each byte of the ring picks its input byte by ``write_byte``'s
        # low bits and is enabled when it falls among the word's ``count``), and the output is
        # the ring's word ``read_word``, its bytes past ``fill`` cleared at a frame's end. So
        # no shifter follows ``fill`` and the handshakes only enable: every byte's input is a
        # mux of the aligned word chosen by registers.
        ring_bytes = 2 * lanes
        write_byte = Signal(range(ring_bytes))
        read_word = Signal()
        for index in range(ring_bytes):
            offset = Signal(range(ring_bytes), name=f"offset_{index}")
            m.d.comb += offset.eq(index - write_byte)
            with m.If(in_fire & (offset < word.count)):
                m.d.sync += held.word_select(index, 8).eq(
                    word.data.word_select(offset[:(lanes - 1).bit_length()], 8))
        kept = Cat((fill > lane).replicate(8) for lane in range(lanes))
        m.d.comb += out.payload.data.eq(held.word_select(read_word, width) & kept)
        with m.If(in_fire):
            m.d.sync += [
                write_byte.eq(write_byte + word.count),
                fill.eq(Mux(out_fire, fill + word.count - lanes, fill + word.count)),
                ending.eq(word.last),
                aborting.eq(word.abort & word.last),
                length.eq(length + word.count),
            ]
        with m.Else():
            m.d.sync += fill.eq(Mux(out_fire, fill_less, fill))
        with m.If(out_fire):
            m.d.sync += read_word.eq(~read_word)
        with m.If(out_fire & out.payload.last):
            # the next frame starts at the ring's first byte (no input comes before this)
            m.d.sync += [ending.eq(0), aborting.eq(0), length.eq(0), write_byte.eq(0),
                         read_word.eq(0)]
        return m
