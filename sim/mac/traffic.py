"""Seeded RX_DV bursts for the MAC benches: scapy-built frames (TCP, UDP, 802.1Q, IPv6) and
every kind of bad frame :class:`slique.hdl.mac.RxOutcome` names.

scapy is imported when a burst is built (it is a test dependency only).
"""

from dataclasses import dataclass, field

from slique.hdl.mac.gmii import (FCS_LENGTH, MAX_FRAME_LENGTH, MIN_FRAME_LENGTH, PREAMBLE_BYTE,
                                 PREAMBLE_LENGTH, SFD_BYTE)

from .mac_tx import fcs


__all__ = ["Burst", "BURST_KINDS", "scapy_frame", "random_burst", "random_bursts"]


#: Burst kinds and their weights in :func:`random_bursts`.
BURST_KINDS = {
    "good": 12,          # a scapy-built frame with its FCS
    "short-preamble": 1,  # a good frame after 1 to 6 preamble bytes
    "padded": 2,         # a frame shorter than 60 bytes, padded as a transmitter does
    "bad-fcs": 2,        # one bit of the frame or its FCS flipped
    "runt": 2,           # 1 to 63 bytes after the SFD (some with a correct FCS)
    "jumbo": 1,          # a frame longer than max_length (up to 2000 bytes), correct FCS
    "quiet": 2,          # the PHY goes quiet mid-frame: the burst is cut
    "phy-error": 1,      # RX_ER on one byte
    "no-sfd": 1,         # preamble, then no SFD
}


@dataclass(frozen=True)
class Burst:
    """An RX_DV burst: ``wire`` the bytes (preamble and SFD included), ``errors`` the indices
    of bytes with RX_ER, ``kind`` a key of :data:`BURST_KINDS`."""
    kind: str
    wire: bytes
    errors: tuple = field(default=())


def scapy_frame(rng, payload_length):
    """A frame (no FCS) built with scapy: IPv4 or IPv6, TCP or UDP, sometimes 802.1Q-tagged,
    with ``payload_length`` random bytes of payload."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether

    payload = rng.randbytes(payload_length)
    ether = Ether(src="02:00:5e:10:00:02", dst="02:00:5e:10:00:01")
    if rng.random() < 0.25:
        ether = ether / Dot1Q(vlan=rng.randrange(1, 4095))
    if rng.random() < 0.5:
        network = IP(src=f"10.0.{rng.randrange(256)}.{rng.randrange(256)}", dst="10.1.0.1")
    else:
        network = IPv6(src=f"fd00::{rng.randrange(1 << 16):x}", dst="fd00::1")
    port = rng.randrange(1024, 65536)
    transport = TCP(sport=port, dport=80) if rng.random() < 0.5 else UDP(sport=port, dport=53)
    return bytes(ether / network / transport / payload)


def _wire(body, preamble=PREAMBLE_LENGTH):
    return bytes([PREAMBLE_BYTE] * preamble + [SFD_BYTE]) + body


def random_burst(rng, kind, *, max_length=MAX_FRAME_LENGTH, max_payload=200):
    """One burst of ``kind``."""
    frame = scapy_frame(rng, rng.randrange(max_payload + 1))
    good = frame + fcs(frame)
    if kind == "good":
        return Burst(kind, _wire(good))
    if kind == "short-preamble":
        return Burst(kind, _wire(good, rng.randrange(1, PREAMBLE_LENGTH)))
    if kind == "padded":
        short = frame[:rng.randrange(14, MIN_FRAME_LENGTH - FCS_LENGTH)]
        short += bytes(MIN_FRAME_LENGTH - FCS_LENGTH - len(short))
        return Burst(kind, _wire(short + fcs(short)))
    if kind == "bad-fcs":
        corrupt = bytearray(good)
        bit = rng.randrange(8 * len(corrupt))
        corrupt[bit // 8] ^= 1 << bit % 8
        return Burst(kind, _wire(bytes(corrupt)))
    if kind == "runt":
        short = frame[:rng.randrange(1, MIN_FRAME_LENGTH)]
        if rng.random() < 0.5 and len(short) > FCS_LENGTH:
            short = short[:-FCS_LENGTH] + fcs(short[:-FCS_LENGTH])
        return Burst(kind, _wire(short))
    if kind == "jumbo":
        big = scapy_frame(rng, rng.randrange(max_length, 2000 - 70))[:2000 - FCS_LENGTH]
        return Burst(kind, _wire(big + fcs(big)))
    if kind == "quiet":
        return Burst(kind, _wire(good[:rng.randrange(1, len(good) - 1)]))
    if kind == "phy-error":
        wire = _wire(good)
        return Burst(kind, wire, (rng.randrange(len(wire)),))
    if kind == "no-sfd":
        preamble = bytes([PREAMBLE_BYTE] * rng.randrange(1, 8))
        if rng.random() < 0.5:
            return Burst(kind, preamble)
        return Burst(kind, preamble + bytes([rng.choice([0x00, 0x54, 0xD4, 0xFF])]) + good)
    raise ValueError(f"Unknown burst kind {kind!r}; known: {', '.join(BURST_KINDS)}")


def random_bursts(rng, count, *, kinds=BURST_KINDS, **arguments):
    """``count`` bursts drawn by the weights of ``kinds`` (a dict, or a list of kinds)."""
    if not isinstance(kinds, dict):
        kinds = {kind: 1 for kind in kinds}
    names, weights = list(kinds), list(kinds.values())
    return [random_burst(rng, rng.choices(names, weights)[0], **arguments)
            for _ in range(count)]
