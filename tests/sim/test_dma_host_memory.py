"""Host memory of the DMA benches: sparse bytes, bus words with byte selects, bus-error ranges,
wait states and stalls, the device-write audit, and the driver's allocator."""

import random

import pytest
from hypothesis import given, settings, strategies as st

from slique.sim.dma.host_memory import (Allocator, BusError, CpuTrace, HostMemory,
                                        MEMORY_PROFILES, merge_ranges)


@settings(max_examples=50, deadline=None)
@given(writes=st.lists(st.tuples(st.integers(0, 3 * 4096), st.binary(min_size=1,
                                                                        max_size=5000)),
                       max_size=8))
def test_sparse_memory_matches_a_flat_one(writes):
    memory = HostMemory(fill=0xA5)
    flat = bytearray([0xA5]) * (3 * 4096 + 5000)
    for address, data in writes:
        memory.write(address, data)
        flat[address:address + len(data)] = data
    assert memory.read(0, len(flat)) == bytes(flat)


@pytest.mark.parametrize("width", [4, 8])
def test_words_with_byte_selects(width):
    memory = HostMemory()
    memory.write(0x100, bytes(range(16)))
    value, error = memory.read_word(0x100, width)
    assert not error and value == int.from_bytes(bytes(range(width)), "little")
    sel = 0b0101 if width == 4 else 0b10100110
    assert memory.write_word(0x100, (1 << 8 * width) - 1, sel, width) is False
    expected = bytes(0xFF if sel >> lane & 1 else lane for lane in range(width))
    assert memory.read(0x100, width) == expected
    runs = merge_ranges(memory.device_writes)
    assert sum(end - start for start, end in runs) == bin(sel).count("1")


def test_error_ranges_fail_device_accesses_only():
    memory = HostMemory()
    memory.write(0x1000, bytes(range(64)))
    memory.add_error_range(0x1010, 0x1014)
    assert memory.read(0x1000, 64) == bytes(range(64))          # the CPU is never refused
    with pytest.raises(BusError) as caught:
        memory.dma_read(0x1000, 64)
    assert caught.value.address == 0x1010
    with pytest.raises(BusError):
        memory.dma_write(0x1008, bytes(16))
    assert memory.read(0x1008, 16) == bytes(8) + bytes(range(16, 24))   # before the error only
    assert memory.read_word(0x1010, 4) == (0, True)
    assert memory.write_word(0x1010, 0xFFFFFFFF, 0b1111, 4) is True
    assert memory.read(0x1010, 4) == bytes(range(16, 20))
    memory.clear_error_ranges()
    assert memory.dma_read(0x1010, 4) == bytes(range(16, 20))


def test_write_only_error_range():
    memory = HostMemory()
    memory.add_error_range(0, 16, reads=False)
    assert memory.dma_read(0, 16) == bytes(16)
    with pytest.raises(BusError):
        memory.dma_write(0, b"x")


@pytest.mark.parametrize("name", sorted(MEMORY_PROFILES))
def test_wait_states_and_stalls_follow_the_profile(name, seed):
    memory = HostMemory.profile(name, seed=seed)
    low, high = MEMORY_PROFILES[name]["wait_states"]
    waits = [memory.wait_states() for _ in range(2000)]
    stalls = sum(memory.stall() for _ in range(2000))
    assert min(waits) >= low and max(waits) <= high
    probability = MEMORY_PROFILES[name]["stall_probability"]
    if high > low:
        assert len(set(waits)) == high - low + 1
    assert abs(stalls / 2000 - probability) < 0.05
    again = HostMemory.profile(name, seed=seed)
    assert [again.wait_states() for _ in range(2000)] == waits       # seeded


def test_profile_and_parameters_are_checked():
    with pytest.raises(ValueError):
        HostMemory.profile("fast")
    with pytest.raises(ValueError):
        HostMemory(wait_states=(3, 1))
    with pytest.raises(ValueError):
        HostMemory(stall_probability=1.0)


@settings(max_examples=60, deadline=None)
@given(writes=st.lists(st.tuples(st.integers(0, 500), st.integers(1, 50)), max_size=10),
       allowed=st.lists(st.tuples(st.integers(0, 500), st.integers(1, 80)), max_size=5))
def test_writes_outside_is_exactly_the_difference(writes, allowed):
    memory = HostMemory()
    for address, length in writes:
        memory.dma_write(address, bytes(length))
    allowed = [(start, start + length) for start, length in allowed]
    outside = memory.writes_outside(allowed)
    written = {byte for address, length in writes for byte in range(address, address + length)}
    permitted = {byte for start, end in allowed for byte in range(start, end)}
    assert {byte for start, end in outside for byte in range(start, end)} == written - permitted


def test_cpu_trace_logs_and_finds_touches():
    memory = HostMemory()
    trace = CpuTrace(memory)
    trace.write(0x100, bytes(8))
    mark = trace.mark()
    trace.read(0x200, 4)
    assert trace.touched([(0x100, 0x108)]) == [(0x100, 0x108)]
    assert trace.touched([(0x100, 0x108)], since=mark) == []
    assert trace.touched([(0x203, 0x300)], since=mark) == [(0x200, 0x204)]
    assert trace.device_writes is memory.device_writes


def test_allocator_aligns_reuses_and_bounds(seed):
    rng = random.Random(seed)
    allocator = Allocator(0x1000_0000, 1 << 20, align=128)
    live = {}
    for _ in range(500):
        if live and rng.random() < 0.5:
            address = rng.choice(list(live))
            allocator.free(address)
            del live[address]
        else:
            length = rng.randint(1, 9000)
            address = allocator.alloc(length)
            assert address % 128 == 0
            live[address] = length
    spans = sorted((address, address + length) for address, length in live.items())
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:])), "overlap"
    assert sorted(allocator.regions()) == sorted(
        (address, address + size) for address, size in allocator._live.items())
    with pytest.raises(ValueError):
        allocator.free(0x1234)
    with pytest.raises(MemoryError):
        Allocator(0, 4096).alloc(8192)
