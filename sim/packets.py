"""Test frames for the flow path: hand-built Ethernet / 802.1Q / IPv4 / IPv6 / TCP / UDP frames,
seeded random mixes with malformed, truncated and runt frames, and the RSS verification vectors.

Frames are built with :mod:`struct` (no dependency); the tests cross-check them against scapy.
Checksums are not filled in (nothing on the flow path reads them).
"""

import ipaddress
import struct
from dataclasses import dataclass

from slique.hdl.header_parser import (ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN,
                                      PROTOCOL_TCP, PROTOCOL_UDP)


__all__ = ["ethernet", "ipv4", "ipv6", "tcp", "udp", "Flow", "random_flow", "FrameMix",
           "RSS_VERIFICATION_IPV4", "RSS_VERIFICATION_IPV6", "RSS_VERIFICATION_SOURCE",
           "frame_strategy", "FRAME_KINDS", "FrameRecipe"]


#: Where the RSS verification vectors come from: Microsoft, "Verifying the RSS Hash
#: Calculation" (Windows driver documentation; MicrosoftDocs/windows-driver-docs,
#: windows-driver-docs-pr/network/verifying-the-rss-hash-calculation.md, read at commit
#: 088014e6eeaf46b4631e7e9d0faafc2dfb08db9e). The key is
#: :data:`slique.sim.toeplitz.MICROSOFT_KEY`; hashes are over (source, destination[, source port,
#: destination port]).
RSS_VERIFICATION_SOURCE = ("https://learn.microsoft.com/windows-hardware/drivers/network/"
                           "verifying-the-rss-hash-calculation")

#: ``(destination, destination port, source, source port, IPv4 only, IPv4 with TCP)``.
RSS_VERIFICATION_IPV4 = (
    ("161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178),
    ("65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea),
    ("12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a),
    ("209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f),
    ("202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2),
)

#: ``(destination, destination port, source, source port, IPv6 only, IPv6 with TCP)``.
RSS_VERIFICATION_IPV6 = (
    ("3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d),
    ("ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf),
    ("fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251,
     0x4b61e985, 0x02d1feef),
)

_MAC_DST = bytes.fromhex("02005e100001")
_MAC_SRC = bytes.fromhex("02005e100002")


def _address(address):
    return ipaddress.ip_address(address).packed if isinstance(address, str) else address


def ethernet(ethertype, payload, *, vlan=None, dst=_MAC_DST, src=_MAC_SRC):
    """An Ethernet II frame (no FCS), with an 802.1Q tag when ``vlan`` (the TCI) is given."""
    tag = b"" if vlan is None else struct.pack(">HH", ETHERTYPE_VLAN, vlan)
    return dst + src + tag + struct.pack(">H", ethertype) + payload


def ipv4(src, dst, protocol, payload, *, options=b"", ihl=None, total_length=None, version=4,
         fragment=0, ttl=64, identification=0):
    """An IPv4 datagram. ``options`` are padded to 32 bits; ``ihl``, ``total_length`` and
    ``version`` may be given to build a malformed one; ``fragment`` is the flags and offset
    field (``0x2000`` is MF)."""
    options = options + b"\0" * (-len(options) % 4)
    header_length = 20 + len(options)
    ihl = header_length // 4 if ihl is None else ihl
    total = header_length + len(payload) if total_length is None else total_length
    header = struct.pack(">BBHHHBBH4s4s", (version << 4) | (ihl & 15), 0, total & 0xFFFF,
                         identification, fragment, ttl, protocol, 0, _address(src),
                         _address(dst))
    return header + options + payload


def ipv6(src, dst, next_header, payload, *, payload_length=None, version=6, hop_limit=64):
    """An IPv6 packet (no extension headers unless ``payload`` carries them)."""
    length = len(payload) if payload_length is None else payload_length
    header = struct.pack(">IHBB16s16s", version << 28, length & 0xFFFF, next_header, hop_limit,
                         _address(src), _address(dst))
    return header + payload


def tcp(src_port, dst_port, payload=b"", *, flags=0x10):
    """A TCP segment with a 20-byte header."""
    return struct.pack(">HHIIBBHHH", src_port, dst_port, 0, 0, 5 << 4, flags, 65535, 0, 0) + \
        payload


def udp(src_port, dst_port, payload=b""):
    """A UDP datagram."""
    return struct.pack(">HHHH", src_port, dst_port, 8 + len(payload), 0) + payload


@dataclass(frozen=True)
class Flow:
    """A flow to build frames of: IP version, transport (``"tcp"``, ``"udp"`` or a protocol
    number), addresses (packed bytes) and ports."""
    version: int
    transport: object
    src: bytes
    dst: bytes
    src_port: int = 0
    dst_port: int = 0

    @property
    def protocol(self):
        return {"tcp": PROTOCOL_TCP, "udp": PROTOCOL_UDP}.get(self.transport, self.transport)

    def segment(self, payload=b""):
        """The transport segment of a frame of this flow."""
        if self.transport == "tcp":
            return tcp(self.src_port, self.dst_port, payload)
        if self.transport == "udp":
            return udp(self.src_port, self.dst_port, payload)
        return payload

    def key(self):
        """The :class:`slique.sim.header_parser.FlowKey` the parser finds in this flow's
        (untagged, unfragmented) frames."""
        from .header_parser import FlowKey, FlowKind

        ports = self.transport in ("tcp", "udp")
        kind = FlowKind(ipv4=int(self.version == 4), ipv6=int(self.version == 6),
                        tcp=int(self.transport == "tcp"), udp=int(self.transport == "udp"))
        return FlowKey(kind, src=int.from_bytes(self.src, "big"),
                       dst=int.from_bytes(self.dst, "big"),
                       src_port=self.src_port if ports else 0,
                       dst_port=self.dst_port if ports else 0)

    def frame(self, payload=b"", *, vlan=None, options=b"", fragment=0, padding=b""):
        """A well-formed frame of this flow (``padding`` after the datagram)."""
        segment = self.segment(payload)
        if self.version == 4:
            datagram = ipv4(self.src, self.dst, self.protocol, segment, options=options,
                            fragment=fragment)
            return ethernet(ETHERTYPE_IPV4, datagram + padding, vlan=vlan)
        datagram = ipv6(self.src, self.dst, self.protocol, segment)
        return ethernet(ETHERTYPE_IPV6, datagram + padding, vlan=vlan)


def random_flow(rng):
    """A random flow: IPv4 or IPv6; TCP, UDP or another protocol (ICMP, or 59 "no next")."""
    version = rng.choice([4, 6])
    transport = rng.choice(["tcp", "tcp", "udp", "udp", 1 if version == 4 else 59])
    size = 4 if version == 4 else 16
    src, dst = rng.randbytes(size), rng.randbytes(size)
    ports = (rng.randrange(1 << 16), rng.randrange(1 << 16)) if transport in ("tcp", "udp") \
        else (0, 0)
    return Flow(version, transport, src, dst, *ports)


#: What :class:`FrameMix` draws, with weights.
FRAME_KINDS = {
    "good": 20,              # a frame of one of the flows
    "not-ip": 2,             # another ethertype (0x88A8 QinQ among them)
    "fragment": 1,           # an IPv4 fragment of a TCP / UDP flow
    "truncated": 2,          # a good frame cut short (at 14 bytes or more)
    "runt": 1,               # 1 to 13 bytes
    "bad-ihl": 1,            # IPv4 with an IHL below 5
    "bad-version": 1,        # an IP version field that is not the ethertype's
    "long-ip-length": 1,     # IPv4 total length / IPv6 payload length beyond the frame
    "short-ip-length": 1,    # IPv4 total length below its headers / IPv6 payload below ports
}

_OTHER_ETHERTYPES = (0x0806, 0x88A8, 0x88CC, 0x8847)


@dataclass(frozen=True)
class FrameRecipe:
    """Everything a test frame is made of; :meth:`build` makes it.

    ``kind`` is a key of :data:`FRAME_KINDS`. ``number`` is what the kind needs: the ethertype
    (not IP), the flags-and-offset field (fragment), the bytes kept (truncated; for a runt, 1 to
    13), the IHL
    (bad-ihl), the version (bad-version), the excess over the frame (long-ip-length) or the
    length field (short-ip-length; taken modulo what would be legal).
    """
    kind: str
    flow: Flow
    payload: bytes = b""
    vlan: "int | None" = None
    options: bytes = b""
    padding: bytes = b""
    number: int = 0

    def build(self):
        flow, kind, number = self.flow, self.kind, self.number
        if kind == "good":
            return flow.frame(self.payload, vlan=self.vlan, options=self.options,
                              padding=self.padding)
        if kind == "not-ip":
            return ethernet(number, self.payload, vlan=self.vlan)
        if kind == "fragment":
            v4 = Flow(4, flow.transport if flow.transport in ("tcp", "udp") else "udp",
                      flow.src[:4], flow.dst[:4], flow.src_port, flow.dst_port)
            return v4.frame(self.payload, vlan=self.vlan, fragment=number or 0x2000)
        if kind == "truncated":
            whole = flow.frame(self.payload, vlan=self.vlan, options=self.options)
            return whole[:14 + number % (len(whole) - 14)]
        if kind == "runt":
            return (flow.src + flow.dst + self.payload + bytes(14))[:1 + number % 13]
        return self._malformed()

    def _malformed(self):
        flow, kind, number = self.flow, self.kind, self.number
        segment = flow.segment(self.payload)
        ports = 4 if flow.transport in ("tcp", "udp") else 0
        if flow.version == 4 or kind == "bad-ihl":
            header = 20 + len(self.options) + (-len(self.options) % 4)
            arguments = dict(options=self.options)
            if kind == "bad-ihl":
                arguments["ihl"] = number % 5
            elif kind == "bad-version":
                arguments["version"] = number % 16 if number % 16 != 4 else 6
            elif kind == "long-ip-length":
                arguments["total_length"] = header + len(segment) + 1 + number % 300
            else:
                arguments["total_length"] = number % (header + ports)
            datagram = ipv4(flow.src[:4], flow.dst[:4], flow.protocol, segment, **arguments)
            return ethernet(ETHERTYPE_IPV4, datagram, vlan=self.vlan)
        arguments = {}
        if kind == "bad-version":
            arguments["version"] = number % 16 if number % 16 != 6 else 4
        elif kind == "long-ip-length" or not ports:
            arguments["payload_length"] = len(segment) + 1 + number % 300
        else:
            arguments["payload_length"] = number % ports
        datagram = ipv6(flow.src, flow.dst, flow.protocol, segment, **arguments)
        return ethernet(ETHERTYPE_IPV6, datagram, vlan=self.vlan)


class FrameMix:
    """Seeded random frames over a pool of flows: mostly good frames (some tagged, some with
    IPv4 options, some padded), plus every kind of bad frame the parser must catch.

    Parameters
    ----------
    rng : random.Random
        Source of randomness.
    flows : int
        Flows in the pool (frames repeat flows, so a flow table can hit).
    max_payload : int
        Most payload bytes of a frame.
    kinds : dict or None
        Weights by kind (:data:`FRAME_KINDS` if ``None``).
    """

    def __init__(self, rng, *, flows=16, max_payload=48, kinds=None):
        self.rng = rng
        self.flows = [random_flow(rng) for _ in range(flows)]
        self.max_payload = max_payload
        weights = FRAME_KINDS if kinds is None else kinds
        self._kinds = list(weights)
        self._weights = [weights[kind] for kind in self._kinds]

    def recipe(self, kind=None):
        """A random :class:`FrameRecipe` (of ``kind``, or of a kind drawn by weight)."""
        rng = self.rng
        kind = kind or rng.choices(self._kinds, self._weights)[0]
        number = rng.randrange(1 << 16)
        if kind == "not-ip":
            number = rng.choice(_OTHER_ETHERTYPES)
        elif kind == "fragment":
            number = rng.choice([0x2000, rng.randrange(1, 1 << 13), 0x2000 | 185])
        return FrameRecipe(
            kind, rng.choice(self.flows),
            payload=rng.randbytes(rng.randrange(self.max_payload + 1)),
            vlan=rng.randrange(1 << 16) if rng.random() < 0.25 else None,
            options=rng.randbytes(4 * rng.randrange(11)) if rng.random() < 0.3 else b"",
            padding=rng.randbytes(rng.randrange(8)) if rng.random() < 0.3 else b"",
            number=number)

    def frame(self, kind=None):
        """The bytes of a random frame."""
        return self.recipe(kind).build()


def frame_strategy(*, max_payload=64):
    """A hypothesis strategy for :class:`FrameRecipe` of every kind (good, tagged, IPv4
    options, IPv6, TCP, UDP, fragments, not IP, malformed, truncated, runts); ``.build()`` makes
    the frame. Hypothesis is a test dependency: it is imported only when this is called."""
    from hypothesis import strategies as st

    transports = st.sampled_from(["tcp", "udp", 1, 59, 0])
    flows = st.builds(
        lambda version, transport, src, dst, ports: Flow(
            version, transport, src[:4 if version == 4 else 16], dst[:4 if version == 4 else 16],
            *(ports if transport in ("tcp", "udp") else (0, 0))),
        st.sampled_from([4, 6]), transports, st.binary(min_size=16, max_size=16),
        st.binary(min_size=16, max_size=16),
        st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)))
    return st.builds(
        FrameRecipe,
        kind=st.sampled_from(sorted(FRAME_KINDS)),
        flow=flows,
        payload=st.binary(max_size=max_payload),
        vlan=st.none() | st.integers(0, 0xFFFF),
        options=st.sampled_from([0, 1, 4, 10]).flatmap(
            lambda words: st.binary(min_size=4 * words, max_size=4 * words)),
        padding=st.binary(max_size=8),
        number=st.one_of(st.integers(0, 0xFFFF), st.sampled_from(_OTHER_ETHERTYPES)))
