"""Packet beats for the golden models and the benches: frames to beats and back, packed as the
gateware's :func:`slique.hdl.packet.packet_layout` payload.

The rules are those of :mod:`slique.hdl.packet`: packets end at ``last``; ``keep`` counts only on
the ``last`` beat, as the run of set lanes from lane 0.
"""

from dataclasses import dataclass

from amaranth.hdl import Shape
from amaranth.lib import data

from slique.hdl.packet import BEAT_WIDTHS, beat_bytes, packet_layout


__all__ = ["Beat", "BEAT_WIDTHS", "packet_layout", "beat_bytes", "pack_beat", "unpack_beat",
           "frame_beats", "beats_frame", "beats_length", "split_packets", "pack_struct",
           "unpack_struct"]


@dataclass(frozen=True)
class Beat:
    """One beat of a packet stream (``keep`` is 0 on 8-bit streams, which have none)."""
    data: int
    first: int
    last: int
    keep: int = 0


def pack_struct(layout, values):
    """The integer a :class:`~amaranth.lib.data.StructLayout` view holds for ``values`` (a dict
    of member name to an integer, an enum member or a nested dict)."""
    layout = data.Layout.cast(layout)
    packed = 0
    for name, field in layout:
        value = values.get(name, 0)
        if isinstance(value, dict):
            value = pack_struct(field.shape, value)
        width = Shape.cast(field.shape).width
        packed |= (int(getattr(value, "value", value)) & ((1 << width) - 1)) << field.offset
    return packed


def unpack_struct(layout, packed):
    """The members of a packed :class:`~amaranth.lib.data.StructLayout` value, as a dict (nested
    layouts as nested dicts, everything else as unsigned integers)."""
    layout = data.Layout.cast(layout)
    values = {}
    for name, field in layout:
        width = Shape.cast(field.shape).width
        raw = (packed >> field.offset) & ((1 << width) - 1)
        try:
            inner = data.Layout.cast(field.shape)
        except TypeError:
            inner = None
        values[name] = unpack_struct(inner, raw) if isinstance(inner, data.StructLayout) else raw
    return values


def pack_beat(beat, data_width):
    """The payload integer of ``beat`` on a ``data_width``-bit packet stream."""
    return pack_struct(packet_layout(data_width), beat.__dict__)


def unpack_beat(value, data_width):
    """The :class:`Beat` a payload integer holds."""
    return Beat(**unpack_struct(packet_layout(data_width), value))


def frame_beats(frame, data_width):
    """The beats that carry ``frame`` (bytes): full beats, then a last beat with as many lanes as
    remain (``keep`` = that many lanes from lane 0). An empty frame is one beat with no lanes on
    a stream with ``keep``; an 8-bit stream cannot carry one (every beat is a byte)."""
    lanes = beat_bytes(data_width)
    if not frame and lanes == 1:
        raise ValueError("An 8-bit packet stream cannot carry an empty frame")
    chunks = [frame[start:start + lanes] for start in range(0, len(frame), lanes)] or [b""]
    beats = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        keep = ((1 << len(chunk)) - 1) if lanes > 1 else 0
        beats.append(Beat(data=int.from_bytes(chunk.ljust(lanes, b"\0"), "little"),
                          first=int(index == 0), last=int(last), keep=keep))
    return beats


def _final_lanes(beat, lanes):
    if lanes == 1:
        return 1
    count = 0
    while count < lanes and (beat.keep >> count) & 1:
        count += 1
    return count


def beats_frame(beats, data_width):
    """The bytes of one packet's beats: every beat's lanes, on the last beat only the run of
    ``keep`` lanes from lane 0."""
    lanes = beat_bytes(data_width)
    frame = bytearray()
    for index, beat in enumerate(beats):
        count = _final_lanes(beat, lanes) if index == len(beats) - 1 else lanes
        frame += beat.data.to_bytes(lanes, "little")[:count]
    return bytes(frame)


def beats_length(beats, data_width):
    """The length in bytes of one packet's beats (what :func:`beats_frame` returns)."""
    lanes = beat_bytes(data_width)
    return lanes * (len(beats) - 1) + _final_lanes(beats[-1], lanes)


def split_packets(beats):
    """Group a beat sequence into packets (each ends at a ``last`` beat); a trailing run without
    ``last`` is an unfinished packet and is left out."""
    packets, current = [], []
    for beat in beats:
        current.append(beat)
        if beat.last:
            packets.append(current)
            current = []
    return packets
