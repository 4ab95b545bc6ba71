"""Golden model of :class:`slique.hdl.HeaderParser`, at transaction level: one frame at a time."""

from dataclasses import dataclass, field

from slique.hdl.header_parser import (ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN,
                                      LENGTH_WIDTH, PROTOCOL_TCP, PROTOCOL_UDP,
                                      FlowKey as FlowKeyLayout,
                                      ParseResult as ParseResultLayout, Verdict)
from slique.hdl.packet import beat_bytes
from slique.hdl.toeplitz import RSS_KEY_BYTES

from .packet import beats_frame, beats_length, pack_struct, unpack_struct
from .toeplitz import toeplitz_hash


__all__ = ["Verdict", "FlowKind", "FlowKey", "ParseResult", "HeaderParser"]


@dataclass(frozen=True)
class FlowKind:
    """What a frame carries (the gateware's :class:`slique.hdl.header_parser.FlowKind`)."""
    ipv4: int = 0
    ipv6: int = 0
    tcp: int = 0
    udp: int = 0
    vlan: int = 0

    @property
    def ip(self):
        return bool(self.ipv4 or self.ipv6)


@dataclass(frozen=True)
class FlowKey:
    """A frame's flow (the gateware's :class:`slique.hdl.header_parser.FlowKey`)."""
    kind: FlowKind = field(default_factory=FlowKind)
    vlan: int = 0
    src: int = 0
    dst: int = 0
    src_port: int = 0
    dst_port: int = 0

    def pack(self):
        """The integer the gateware's ``FlowKey`` holds."""
        values = dict(self.__dict__, kind=dict(self.kind.__dict__))
        return pack_struct(FlowKeyLayout, values)

    @classmethod
    def unpack(cls, packed):
        values = unpack_struct(FlowKeyLayout, packed)
        return cls(**dict(values, kind=FlowKind(**values["kind"])))

    def match_fields(self):
        """What an exact-match flow table compares: kind (tagging aside), addresses, ports."""
        kind = (self.kind.ipv4, self.kind.ipv6, self.kind.tcp, self.kind.udp)
        return kind, self.src, self.dst, self.src_port, self.dst_port


@dataclass(frozen=True)
class ParseResult:
    """One frame's parse; ``key`` and the hashes mean something only when ``verdict`` is OK."""
    verdict: Verdict
    length: int
    key: FlowKey = field(default_factory=FlowKey)
    hash_addresses: int = 0
    hash_ports: int = 0

    @classmethod
    def unpack(cls, packed):
        """A :class:`ParseResult` from the gateware's packed ``ParseResult`` view."""
        values = unpack_struct(ParseResultLayout, packed)
        key = FlowKey(**dict(values["key"], kind=FlowKind(**values["key"]["kind"])))
        return cls(verdict=Verdict(values["verdict"]), length=values["length"], key=key,
                   hash_addresses=values["hash_addresses"], hash_ports=values["hash_ports"])


class _Truncated(Exception):
    pass


class _Malformed(Exception):
    pass


class HeaderParser:
    """Transaction-level model of the header parser: :meth:`parse` takes one packet's beats.

    The gateware delivers the same result the cycle after the packet's ``last`` beat; this model
    has no notion of cycles. The checks and their order are those of
    :class:`slique.hdl.HeaderParser`.

    Parameters
    ----------
    data_width, key_bytes
        As for :class:`slique.hdl.HeaderParser`.
    """

    def __init__(self, data_width, *, key_bytes=RSS_KEY_BYTES):
        self.lanes = beat_bytes(data_width)
        self.data_width = data_width
        self.key_bytes = key_bytes

    def parse(self, beats, key):
        """The :class:`ParseResult` of one packet (``beats`` ending with its ``last`` beat) under
        the RSS ``key`` (bytes)."""
        length = min(beats_length(beats, self.data_width), (1 << LENGTH_WIDTH) - 1)
        framing_error = not beats[0].first or any(beat.first for beat in beats[1:])
        if framing_error:
            return ParseResult(Verdict.MALFORMED, length)
        frame = beats_frame(beats, self.data_width)
        try:
            flow, hashed, ports = self._headers(frame, length)
        except _Truncated:
            return ParseResult(Verdict.TRUNCATED, length)
        except _Malformed:
            return ParseResult(Verdict.MALFORMED, length)
        hash_addresses = toeplitz_hash(key, hashed) if hashed else 0
        hash_ports = toeplitz_hash(key, hashed + ports) if ports else hash_addresses
        return ParseResult(Verdict.OK, length, flow, hash_addresses, hash_ports)

    def parse_frame(self, frame, key):
        """:meth:`parse` of ``frame`` (bytes) in well-formed beats."""
        from .packet import frame_beats
        return self.parse(frame_beats(frame, self.data_width), key)

    @staticmethod
    def _headers(frame, length):
        """``(FlowKey, hashed address bytes, port bytes)``, or raise the verdict."""
        def need(size):
            if length < size:
                raise _Truncated

        def number(offset, size):
            return int.from_bytes(frame[offset:offset + size], "big")

        need(14)
        ethertype = number(12, 2)
        l3, vlan, tagged = 14, 0, 0
        if ethertype == ETHERTYPE_VLAN:
            need(18)
            vlan, ethertype, l3, tagged = number(14, 2), number(16, 2), 18, 1
        if ethertype == ETHERTYPE_IPV4:
            need(l3 + 20)
            version, ihl = frame[l3] >> 4, frame[l3] & 15
            if version != 4 or ihl < 5:
                raise _Malformed
            protocol = frame[l3 + 9]
            fragment = number(l3 + 6, 2) & 0x3FFF
            l4 = protocol in (PROTOCOL_TCP, PROTOCOL_UDP) and fragment == 0
            header, ports = 4 * ihl, 4 if l4 else 0
            need(l3 + header + ports)
            total = number(l3 + 2, 2)
            if total + l3 > length or total < header + ports:
                raise _Malformed
            addresses = frame[l3 + 12:l3 + 20]
            width, ports_at, kind = 4, l3 + header, dict(ipv4=1)
        elif ethertype == ETHERTYPE_IPV6:
            need(l3 + 40)
            if frame[l3] >> 4 != 6:
                raise _Malformed
            protocol = frame[l3 + 6]
            l4 = protocol in (PROTOCOL_TCP, PROTOCOL_UDP)
            ports = 4 if l4 else 0
            need(l3 + 40 + ports)
            payload = number(l3 + 4, 2)
            if payload + l3 + 40 > length or payload < ports:
                raise _Malformed
            addresses = frame[l3 + 8:l3 + 40]
            width, ports_at, kind = 16, l3 + 40, dict(ipv6=1)
        else:
            return FlowKey(FlowKind(vlan=tagged), vlan=vlan), b"", b""
        port_bytes = frame[ports_at:ports_at + 4] if l4 else b""
        kind.update(tcp=int(l4 and protocol == PROTOCOL_TCP),
                    udp=int(l4 and protocol == PROTOCOL_UDP), vlan=tagged)
        flow = FlowKey(
            FlowKind(**kind), vlan=vlan,
            src=int.from_bytes(addresses[:width], "big"),
            dst=int.from_bytes(addresses[width:], "big"),
            src_port=int.from_bytes(port_bytes[:2], "big") if l4 else 0,
            dst_port=int.from_bytes(port_bytes[2:], "big") if l4 else 0)
        return flow, addresses, port_bytes
