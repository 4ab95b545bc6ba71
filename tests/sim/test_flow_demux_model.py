"""The golden models of the flow path: the RSS verification vectors, the parser against scapy's
dissection of hypothesis-generated frames, the beat helpers, the hash-type rule, and the demux
model on its own (conservation, drain, the transaction-level reference) on hypothesis-drawn
parameters and seeds."""

import asyncio
import ipaddress
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1Q, Ether

from slique.sim import flow_demux as golden
from slique.sim.header_parser import FlowKind, HeaderParser, Verdict
from slique.sim.lockstep import ModelPorts
from slique.sim.packet import (Beat, beats_frame, beats_length, frame_beats, pack_beat,
                               split_packets, unpack_beat)
from slique.sim.packets import (FRAME_KINDS, RSS_VERIFICATION_IPV4, RSS_VERIFICATION_IPV6,
                                Flow, FrameMix, frame_strategy)
from slique.sim.toeplitz import MICROSOFT_KEY, toeplitz_hash


# RSS.

@pytest.mark.parametrize("version, table", [(4, RSS_VERIFICATION_IPV4),
                                            (6, RSS_VERIFICATION_IPV6)])
def test_parser_model_hashes_the_published_vectors(version, table):
    """Microsoft's "Verifying the RSS Hash Calculation" tables, through whole TCP frames."""
    parser = HeaderParser(32)
    for destination, dst_port, source, src_port, addresses, ports in table:
        flow = Flow(version, "tcp", ipaddress.ip_address(source).packed,
                    ipaddress.ip_address(destination).packed, src_port, dst_port)
        result = parser.parse_frame(flow.frame(b"data", vlan=1), MICROSOFT_KEY)
        assert (result.hash_addresses, result.hash_ports) == (addresses, ports)


@given(key=st.binary(min_size=40, max_size=40), data=st.binary(max_size=36),
       extra=st.binary(min_size=1, max_size=8))
def test_toeplitz_is_linear_and_prefix_stable(key, data, extra):
    """The properties the streaming hash relies on: the hash of a longer input is the hash of
    its prefix XOR the rest's contribution, and XOR of inputs gives XOR of hashes."""
    other = bytes(byte ^ 0x5A for byte in data)
    mixed = bytes(left ^ right for left, right in zip(data, other))
    assert toeplitz_hash(key, mixed) == toeplitz_hash(key, data) ^ toeplitz_hash(key, other)
    shifted = bytes(len(data)) + extra
    assert toeplitz_hash(key, data + extra) == \
        toeplitz_hash(key, data) ^ toeplitz_hash(key, shifted)


@pytest.mark.parametrize("kind, mrqc, expected", [
    (FlowKind(ipv4=1, tcp=1), golden.MRQC_ALL, "ports"),
    (FlowKind(ipv4=1, udp=1), golden.MRQC_ALL, "ports"),
    (FlowKind(ipv6=1, udp=1), golden.MRQC_ALL, "ports"),
    (FlowKind(ipv4=1, udp=1), golden.MRQC.RSS | (1 << golden.MRQC.IPV4), "addresses"),
    (FlowKind(ipv4=1, udp=1), golden.MRQC.RSS | (1 << golden.MRQC.IPV4_TCP), None),
    (FlowKind(ipv6=1, tcp=1), golden.MRQC.RSS | (1 << golden.MRQC.IPV4_TCP), None),
    (FlowKind(ipv6=1, tcp=1), golden.MRQC.RSS | (1 << golden.MRQC.IPV6_TCP), "ports"),
    (FlowKind(ipv6=1), golden.MRQC_ALL, "addresses"),
    (FlowKind(), golden.MRQC_ALL, None),
    (FlowKind(ipv4=1, tcp=1), golden.MRQC_ALL & ~0b111, None),
    (FlowKind(ipv4=1, tcp=1), golden.MRQC_ALL | 0b001, None),
])
def test_hash_type_follows_mrqc(kind, mrqc, expected):
    assert golden.rss_hash_type(kind, mrqc) == expected


# The parser model against scapy.

_GOOD = {"good", "not-ip", "fragment"}
_MALFORMED = {"bad-ihl", "bad-version", "long-ip-length", "short-ip-length"}


def _scapy_flow(frame):
    """What scapy finds in ``frame``: ``(vlan, ip version, src, dst, transport, ports)``."""
    packet = Ether(frame)
    vlan = packet[Dot1Q].prio << 13 | packet[Dot1Q].id << 12 | packet[Dot1Q].vlan \
        if Dot1Q in packet else 0
    if IP in packet:
        ip = packet[IP]
        version, src, dst = 4, ip.src, ip.dst
        fragment = ip.flags.MF or ip.frag
        transport = None if fragment else (TCP if TCP in packet else UDP if UDP in packet
                                           else None)
    elif IPv6 in packet:
        version, src, dst = 6, packet[IPv6].src, packet[IPv6].dst
        transport = TCP if TCP in packet else UDP if UDP in packet else None
    else:
        return vlan, None, 0, 0, None, (0, 0)
    ports = (packet[transport].sport, packet[transport].dport) if transport else (0, 0)
    return (vlan, version, int(ipaddress.ip_address(src)), int(ipaddress.ip_address(dst)),
            transport, ports)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipe=frame_strategy())
def test_parser_model_agrees_with_scapy(recipe):
    frame = recipe.build()
    result = HeaderParser(8).parse_frame(frame, MICROSOFT_KEY)
    if recipe.kind in _MALFORMED:
        assert result.verdict == Verdict.MALFORMED
        return
    if recipe.kind == "runt":
        assert result.verdict == Verdict.TRUNCATED
        return
    if recipe.kind == "truncated":
        assert result.verdict in (Verdict.TRUNCATED, Verdict.MALFORMED)
        return
    assert result.verdict == Verdict.OK
    vlan, version, src, dst, transport, ports = _scapy_flow(frame)
    key = result.key
    assert (key.vlan, key.kind.vlan) == (vlan, int(recipe.vlan is not None))
    assert (key.kind.ipv4, key.kind.ipv6) == (int(version == 4), int(version == 6))
    assert (key.src, key.dst) == (src, dst)
    assert (key.kind.tcp, key.kind.udp) == (int(transport is TCP), int(transport is UDP))
    assert (key.src_port, key.dst_port) == ports
    if version is not None:
        size = 4 if version == 4 else 16
        addresses = src.to_bytes(size, "big") + dst.to_bytes(size, "big")
        assert result.hash_addresses == toeplitz_hash(MICROSOFT_KEY, addresses)


def test_frame_mix_draws_every_kind_with_the_verdict_it_promises():
    mix, parser = FrameMix(random.Random(3)), HeaderParser(32)
    seen = {}
    for _ in range(600):
        recipe = mix.recipe()
        seen.setdefault(recipe.kind, set()).add(
            parser.parse_frame(recipe.build(), MICROSOFT_KEY).verdict)
    assert set(seen) == set(FRAME_KINDS)
    assert all(seen[kind] == {Verdict.OK} for kind in _GOOD)
    assert all(seen[kind] == {Verdict.MALFORMED} for kind in _MALFORMED)
    assert seen["runt"] == {Verdict.TRUNCATED}


# Beats.

@given(frame=st.binary(min_size=1, max_size=80), width=st.sampled_from([8, 32]))
def test_frames_survive_beats(frame, width):
    beats = frame_beats(frame, width)
    assert beats_frame(beats, width) == frame
    assert beats_length(beats, width) == len(frame)
    assert [beat.first for beat in beats] == [1] + [0] * (len(beats) - 1)
    assert split_packets(beats + [Beat(0, 1, 0)]) == [beats]     # an unfinished packet
    for beat in beats:
        assert unpack_beat(pack_beat(beat, width), width) == beat


def test_empty_frames_need_keep():
    assert frame_beats(b"", 32) == [Beat(0, 1, 1, keep=0)]
    with pytest.raises(ValueError, match="empty frame"):
        frame_beats(b"", 8)


def test_keep_counts_lanes_from_lane_zero_on_the_last_beat_only():
    beats = [Beat(0x03020100, 1, 0, keep=0), Beat(0x07060504, 0, 1, keep=0b1011)]
    assert beats_frame(beats, 32) == bytes([0, 1, 2, 3, 4, 5])


# The demux model alone.

def _model_run(parameters, seed, cycles, changes):
    """The model against a second instance (a model-only lockstep), then the reference."""
    model, twin = golden.FlowDemux(**parameters), golden.FlowDemux(**parameters)
    traffic = golden.DemuxTraffic(seed, data_width=parameters["data_width"],
                                  queues=parameters["queues"],
                                  flow_entries=parameters["flow_entries"],
                                  buffer_depth=model.buffer_depth, changes=changes)
    hint = f"seed={seed}, parameters={parameters}"
    result = asyncio.run(golden.run_demux_lockstep(ModelPorts(twin), model, traffic,
                                                   cycles=cycles, hint=hint))
    if not changes:
        golden.check_end_to_end(traffic, result, queues=parameters["queues"],
                                flow_entries=parameters["flow_entries"],
                                buffer_depth=model.buffer_depth, hint=hint)
    return traffic, result


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1 << 32),
       parameters=st.fixed_dictionaries(dict(
           data_width=st.sampled_from([8, 32]), queues=st.integers(1, 5),
           queue_depth=st.sampled_from([1, 4, 30, 120]), flow_entries=st.integers(1, 4),
           buffer_depth=st.sampled_from([8, 40, 200]), rst_depth=st.integers(1, 3),
           storage=st.sampled_from(["auto", "systolic", "ring"]))),
       changes=st.booleans())
def test_model_conserves_drains_and_follows_the_reference(seed, parameters, changes):
    _traffic, result = _model_run(parameters, seed, 600, changes)
    assert result.offered == sum(result.delivered) + sum(result.dropped.values())
    assert sum(result.queue_full) == result.dropped["QUEUE_FULL"]


def test_model_sees_every_outcome(seed):
    """Seeded runs reach every drop reason and deliver on every queue."""
    parameters = dict(data_width=32, queues=3, queue_depth=30, flow_entries=3,
                      buffer_depth=40, rst_depth=1)
    totals = {reason: 0 for reason in golden.REASONS}
    delivered = [0] * 3
    for offset in range(3):
        _traffic, result = _model_run(parameters, seed + offset, 2500, offset % 2 == 0)
        for reason in golden.REASONS:
            totals[reason] += result.dropped[reason.name]
        delivered = [total + count for total, count in zip(delivered, result.delivered)]
    assert all(totals.values()), totals
    assert all(delivered), delivered
