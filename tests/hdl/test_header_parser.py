"""The header parser in the Amaranth simulator against its golden model: RSS verification
vectors in real frames, seeded random and hypothesis-generated frames of every kind, beat-level
oddities (framing errors, ``keep``), and one result per frame even when frames come every cycle."""

import ipaddress
import random
from dataclasses import replace

import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slique.hdl.header_parser import HeaderParser
from slique.sim.header_parser import HeaderParser as GoldenParser, ParseResult, Verdict
from slique.sim.packet import frame_beats, pack_beat
from slique.sim.packets import (RSS_VERIFICATION_IPV4, RSS_VERIFICATION_IPV6, Flow, FrameMix,
                                frame_strategy)
from slique.sim.toeplitz import MICROSOFT_KEY


WIDTHS = [8, 32, 64]


def parse_in_amaranth(data_width, packets, key=MICROSOFT_KEY, *, gaps=None):
    """Feed ``packets`` (lists of beats) to the gateware parser, with idle cycles drawn from
    ``gaps`` (a random.Random; none if ``None``); return its results in order."""
    dut = HeaderParser(data_width)
    results = []

    async def testbench(ctx):
        ctx.set(dut.key, int.from_bytes(key, "big"))

        async def tick():
            await ctx.tick()
            if ctx.get(dut.o_stream.valid):
                results.append(ParseResult.unpack(ctx.get(Value.cast(dut.o_stream.payload))))

        for beats in packets:
            for beat in beats:
                while gaps is not None and gaps.random() < 0.3:
                    ctx.set(dut.i_stream.valid, 0)
                    await tick()
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(Value.cast(dut.i_stream.payload), pack_beat(beat, data_width))
                await tick()
        ctx.set(dut.i_stream.valid, 0)
        await tick()

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return results


def assert_parses_like_the_model(data_width, packets, key=MICROSOFT_KEY, *, gaps=None, hint=""):
    golden = GoldenParser(data_width)
    results = parse_in_amaranth(data_width, packets, key, gaps=gaps)
    assert len(results) == len(packets), hint
    for index, (beats, result) in enumerate(zip(packets, results)):
        expected = golden.parse(beats, key)
        assert (result.verdict, result.length) == (expected.verdict, expected.length), \
            f"packet {index}: {result} != {expected}; {hint}"
        if expected.verdict == Verdict.OK:
            assert result == expected, f"packet {index}: {result} != {expected}; {hint}"
    return results


def _vector_frames(data_width):
    """TCP frames of every published vector (plain, tagged, with IPv4 options), and their
    ``(hash of the addresses, hash with the ports)`` from the tables."""
    frames, hashes = [], []
    for version, table in ((4, RSS_VERIFICATION_IPV4), (6, RSS_VERIFICATION_IPV6)):
        for destination, dst_port, source, src_port, addresses, ports in table:
            flow = Flow(version, "tcp", ipaddress.ip_address(source).packed,
                        ipaddress.ip_address(destination).packed, src_port, dst_port)
            variants = [dict(), dict(vlan=0x2064)]
            if version == 4:
                variants.append(dict(options=bytes(range(12))))
            for variant in variants:
                frames.append(frame_beats(flow.frame(b"payload", **variant), data_width))
                hashes.append((addresses, ports))
    return frames, hashes


@pytest.mark.parametrize("data_width", WIDTHS)
def test_rss_verification_vectors_in_frames(data_width):
    """The hashes of Microsoft's tables, computed while the frames stream (options skipped)."""
    frames, hashes = _vector_frames(data_width)
    results = assert_parses_like_the_model(data_width, frames)
    assert [(result.hash_addresses, result.hash_ports) for result in results] == hashes


@pytest.mark.parametrize("data_width", WIDTHS)
def test_seeded_random_frames(data_width, seed, replay):
    rng = random.Random(seed)
    mix = FrameMix(rng, max_payload=24)
    packets = [frame_beats(mix.frame(), data_width) for _ in range(120)]
    results = assert_parses_like_the_model(data_width, packets, rng.randbytes(40), gaps=rng,
                                           hint=f"seed={seed}; replay with: {replay}")
    assert {result.verdict for result in results} == set(Verdict)


def _mutate(beats, data_width, mutation, draw_keep):
    """Beat-level oddities: ``"first"`` drops the first beat's ``first`` flag, ``"extra-first"``
    sets it on the last beat, ``"keep"`` puts junk in ``keep`` of every beat."""
    beats = list(beats)
    if mutation == "first":
        beats[0] = replace(beats[0], first=0)
    elif mutation == "extra-first" and len(beats) > 1:
        beats[-1] = replace(beats[-1], first=1)
    elif mutation == "keep" and data_width > 8:
        beats = [replace(beat, keep=draw_keep()) for beat in beats]
    return beats


@pytest.mark.parametrize("data_width", WIDTHS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(recipes=st.lists(st.tuples(frame_strategy(max_payload=24),
                                  st.sampled_from(["none", "none", "first", "extra-first",
                                                   "keep"]),
                                  st.integers(0, 255)), min_size=1, max_size=12),
       key=st.binary(min_size=40, max_size=40))
def test_hypothesis_frames(data_width, recipes, key):
    lanes = data_width // 8
    packets = [_mutate(frame_beats(recipe.build(), data_width), data_width, mutation,
                       lambda: keep % (1 << lanes))
               for recipe, mutation, keep in recipes]
    assert_parses_like_the_model(data_width, packets, key)


@pytest.mark.parametrize("data_width", WIDTHS)
def test_framing_errors_are_malformed_and_keep_counts_on_the_last_beat_only(data_width):
    flow = Flow(4, "udp", bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 1000, 2000)
    good = frame_beats(flow.frame(bytes(20)), data_width)
    packets = [
        _mutate(good, data_width, "first", None),
        _mutate(good, data_width, "extra-first", None),
        [replace(beat, keep=0) if not beat.last else beat for beat in good],
        good,
    ]
    results = assert_parses_like_the_model(data_width, packets)
    assert [result.verdict for result in results] == \
        [Verdict.MALFORMED, Verdict.MALFORMED, Verdict.OK, Verdict.OK]
    assert results[2] == results[3]


@pytest.mark.parametrize("data_width", WIDTHS)
def test_one_result_per_frame_at_one_frame_per_cycle(data_width):
    """One-beat frames back to back: a result every cycle, each a TRUNCATED runt."""
    lanes = data_width // 8
    runts = [frame_beats(bytes([index] * lanes), data_width) for index in range(20)]
    results = assert_parses_like_the_model(data_width, runts)
    assert [result.length for result in results] == [lanes] * 20
    assert {result.verdict for result in results} == {Verdict.TRUNCATED}

