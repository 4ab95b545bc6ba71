"""Packet streams: the beat layout of the flow path's packet streams.

A packet is a run of beats on an :class:`amaranth.lib.stream` whose payload is
:func:`packet_layout` ``(data_width)``:

- ``data``: ``data_width`` bits (8, 32 or 64, the last for the DMA engine's wide streams);
  byte lane ``i`` is ``data[8 * i : 8 * i + 8]``, and lane 0 is the earliest byte on the wire
  (as in AXI4-Stream);
- ``first``: the first beat of a packet;
- ``last``: the last beat of a packet;
- ``keep`` (streams wider than a byte): byte enables of the lanes.

Rules every block of the flow path applies, so that any beat sequence has a defined outcome:

- Packet boundaries are given by ``last`` alone: the beat after a ``last`` beat (or the first
  beat after reset) starts a packet. A packet whose first beat lacks ``first``, or with
  ``first`` on a later beat, is a framing error; the parser reports it as malformed.
- ``keep`` is read on the ``last`` beat only; every other beat carries ``data_width // 8``
  bytes. On the ``last`` beat the packet's final bytes are lanes ``0 .. n - 1``, where ``n`` is
  the number of consecutive set bits of ``keep`` counted from lane 0 (so ``0b0111`` is three
  bytes, ``0b0101`` one, ``0`` none); the other lanes are ignored.
- Frames carry no frame check sequence (the MAC strips it).
"""

from amaranth.lib import data

from ._parameters import check_choice


__all__ = ["BEAT_WIDTHS", "packet_layout", "beat_bytes"]


#: Data widths a packet stream may have.
BEAT_WIDTHS = (8, 32, 64)


def beat_bytes(data_width):
    """Bytes per full beat of a ``data_width``-bit packet stream."""
    check_choice("data_width", data_width, BEAT_WIDTHS)
    return data_width // 8


def packet_layout(data_width):
    """The :class:`~amaranth.lib.data.StructLayout` of a packet beat: ``data``, ``first``,
    ``last``, and ``keep`` when ``data_width`` is wider than a byte.

    Parameters
    ----------
    data_width : 8, 32 or 64
        Bits of ``data``.
    """
    lanes = beat_bytes(data_width)
    members = {"data": data_width, "first": 1, "last": 1}
    if lanes > 1:
        members["keep"] = lanes
    return data.StructLayout(members)
