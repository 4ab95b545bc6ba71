"""The streaming Toeplitz hash in the Amaranth simulator: Microsoft's RSS verification vectors,
and cycle-by-cycle agreement with its golden model."""

import ipaddress
import random
import struct

import pytest
from amaranth.sim import Simulator

from slique.hdl.toeplitz import Toeplitz
from slique.sim import toeplitz as model
from slique.sim.packets import (RSS_VERIFICATION_IPV4, RSS_VERIFICATION_IPV6,
                                RSS_VERIFICATION_SOURCE)
from slique.sim.toeplitz import MICROSOFT_KEY


def _vector_inputs():
    """``(input bytes, expected hash)`` of every published vector: source address, destination
    address, then source port and destination port for the "with TCP" column."""
    cases = []
    for table in (RSS_VERIFICATION_IPV4, RSS_VERIFICATION_IPV6):
        for destination, dst_port, source, src_port, addresses_only, with_ports in table:
            addresses = ipaddress.ip_address(source).packed + \
                ipaddress.ip_address(destination).packed
            cases.append((addresses, addresses_only))
            cases.append((addresses + struct.pack(">HH", src_port, dst_port), with_ports))
    return cases


def _run(dut, testbench):
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()


@pytest.mark.parametrize("data_width", [8, 32, 64])
def test_rss_verification_vectors(data_width):
    """Every hash of Microsoft's verification tables (see RSS_VERIFICATION_SOURCE)."""
    assert "verifying-the-rss-hash-calculation" in RSS_VERIFICATION_SOURCE
    lanes = data_width // 8
    dut = Toeplitz(data_width=data_width)
    hashes = []

    async def testbench(ctx):
        ctx.set(dut.key, int.from_bytes(MICROSOFT_KEY, "big"))
        for data, _expected in _vector_inputs():
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            for offset in range(0, len(data), lanes):
                ctx.set(dut.valid, 1)
                ctx.set(dut.data, int.from_bytes(data[offset:offset + lanes], "little"))
                await ctx.tick()
            ctx.set(dut.valid, 0)
            await ctx.tick()          # an idle cycle holds the hash
            hashes.append(ctx.get(dut.hash))

    _run(dut, testbench)
    assert hashes == [expected for _data, expected in _vector_inputs()]


@pytest.mark.parametrize("data_width", [8, 32, 64])
def test_model_knows_the_vectors(data_width):
    golden = model.Toeplitz(data_width=data_width)
    for data, expected in _vector_inputs():
        assert golden.hash_of(MICROSOFT_KEY, data) == expected


@pytest.mark.parametrize("key", ["shortest", "rss"])
@pytest.mark.parametrize("data_width", [8, 32, 64])
def test_matches_golden_model_cycle_by_cycle(data_width, key, seed, replay):
    """Random start / valid / data and key changes, ``start`` with and without data (which it
    wins over), inputs longer than the key (zeros shift in): ``hash`` equal every cycle. Keys:
    the shortest allowed (4 bytes plus a unit) and RSS's 40 bytes."""
    rng = random.Random(seed)
    key_bytes = 4 + data_width // 8 if key == "shortest" else 40
    dut = Toeplitz(key_bytes, data_width)
    golden = model.Toeplitz(key_bytes, data_width)

    async def testbench(ctx):
        key = rng.getrandbits(8 * key_bytes)
        for cycle in range(600):
            if rng.random() < 0.05:
                key = rng.getrandbits(8 * key_bytes)
            inputs = dict(key=key, start=int(rng.random() < 0.1), valid=int(rng.random() < 0.7),
                          data=rng.getrandbits(data_width))
            for name, value in inputs.items():
                ctx.set(getattr(dut, name), value)
            expected = golden.step(**inputs)
            assert ctx.get(dut.hash) == expected, f"cycle {cycle}; replay with: {replay}"
            await ctx.tick()

    _run(dut, testbench)


@pytest.mark.parametrize("arguments, error, message", [
    (dict(key_bytes=4), ValueError, "at least 5"),
    (dict(key_bytes=7, data_width=32), ValueError, "at least 8"),
    (dict(key_bytes=40.0), TypeError, "integer"),
    (dict(data_width=16), ValueError, "must be one of"),
])
def test_bad_parameters_raise_with_what_is_allowed(arguments, error, message):
    with pytest.raises(error, match=message):
        Toeplitz(**arguments)
    with pytest.raises(error, match=message):
        model.Toeplitz(**arguments)
