"""The golden models on their own: the slique contract, checked on arbitrary input sequences."""

import random

import pytest
from amaranth.hdl import Shape, signed, unsigned
from hypothesis import given, settings, strategies as st

from slique import hdl, sim
from slique.sim.sliques import PacketBeat


STORAGES = ["systolic", "ring"]
MODES = ["backpressure", "drop"]
WIDTH = 8
MASK = (1 << WIDTH) - 1

#: Deterministic: the same examples every run, nothing read from or written to a database.
EXAMPLES = settings(derandomize=True, database=None, deadline=None, max_examples=400)

#: One cycle of inputs: (i_stream.valid, i_stream.payload, o_stream.ready). Payloads are wider
#: than the slique's 8 bits, so that the model's masking is exercised too.
CYCLES = st.lists(st.tuples(st.booleans(), st.integers(0, (1 << 12) - 1), st.booleans()),
                  max_size=120)


def _check_contract(model, depth, on_full, inputs):
    """Step ``model`` through ``inputs`` and a drain; check every cycle against observations.

    The test keeps its own books from what it sees on the ports (not the model's counters):
    ``offered`` are beats handed over (valid and ready), ``accepted`` those not discarded,
    ``delivered`` the payloads taken at the output, in order.
    """
    drain = [(False, 0, True)] * (2 * depth + 4)
    offered = discarded = 0
    accepted, delivered, levels = [], [], []
    discard_before = False
    for cycle, (valid, payload, ready) in enumerate([*inputs, *drain]):
        full = model.full   # before the clock edge that step() applies
        ports = model.step(i_stream__valid=int(valid), i_stream__payload=payload,
                           o_stream__ready=int(ready))
        where = f"cycle {cycle} of {inputs!r}"
        level = ports.level
        levels.append(level)
        reading = bool(ports.o_stream__valid and ready)
        # No room: the ring at depth; the systolic chain of two cells or more when its input
        # cell has no free slot, which is at depth and never at cells entries or fewer.
        assert full == (level == depth) or not model.writes_when_full_and_read, where
        assert full or level < depth, where
        if full and not model.writes_when_full_and_read:
            assert level > hdl.SystolicStorage.cells_for(depth), where
        reading_frees_room = reading and model.writes_when_full_and_read

        assert 0 <= level <= depth, where
        assert level == len(accepted) - len(delivered), where
        assert offered == len(delivered) + ports.dropped + level, where
        assert ports.high_water == max(levels), where
        assert ports.dropped == discarded, where
        assert ports.drop == int(discard_before), where
        assert (ports.o_stream__payload is None) == (not ports.o_stream__valid), where
        if ports.o_stream__valid:
            assert level > 0, where
        if on_full == "backpressure":
            assert ports.i_stream__ready == int(not (full and not reading_frees_room)), where
        else:
            assert ports.i_stream__ready == 1, where

        discard_before = bool(valid and full and not reading_frees_room and on_full == "drop")
        taken = bool(valid and ports.i_stream__ready)
        offered += taken
        discarded += discard_before
        if taken and not discard_before:
            accepted.append(payload & MASK)
        if reading:
            delivered.append(ports.o_stream__payload)
        assert delivered == accepted[:len(delivered)], f"out of order at {where}"
        # the model's own books agree with the observations, every cycle
        assert model.level == model.accepted - model.delivered, where
        assert model.offered == model.delivered + model.dropped + model.level, where
        assert (model.offered, model.accepted, model.delivered) == \
            (offered, len(accepted), len(delivered)), where

    assert model.level == 0, "the drain did not empty the slique"
    assert delivered == accepted
    assert offered == len(delivered) + model.dropped
    if on_full == "backpressure":
        assert model.dropped == 0 and discarded == 0
    return delivered, discarded


@EXAMPLES
@given(depth=st.integers(1, 9), on_full=st.sampled_from(MODES),
       storage=st.sampled_from(STORAGES), inputs=CYCLES)
def test_bounded_slique_contract(depth, on_full, storage, inputs):
    model = sim.BoundedSlique(unsigned(WIDTH), depth, on_full=on_full, storage=storage)
    _check_contract(model, depth, on_full, inputs)


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("on_full", MODES)
def test_contract_is_exercised_when_full(on_full, storage):
    """A fixed sequence that fills the slique: the contract checks see full and (drop) discards."""
    depth = 3
    model = sim.BoundedSlique(unsigned(WIDTH), depth, on_full=on_full, storage=storage)
    inputs = [(True, value, False) for value in range(8)] + \
             [(True, 100 + value, value % 2 == 0) for value in range(12)]
    delivered, discarded = _check_contract(model, depth, on_full, inputs)
    assert model.high_water == depth
    assert delivered[:3] == [0, 1, 2]
    assert 3 not in delivered  # offered while full: refused (backpressure) or discarded (drop)
    if on_full == "drop":
        assert discarded == 5 + 6 and model.dropped == discarded  # every offer while full and not read
    else:
        assert discarded == 0


@pytest.mark.parametrize("storage, depth, latency", [
    ("systolic", 1, 1), ("systolic", 2, 1), ("systolic", 4, 2), ("systolic", 7, 4),
    ("systolic", 16, 8), ("ring", 4, 2)])
def test_first_beat_latency(storage, depth, latency):
    """A beat into an empty slique is offered ``latency`` cycles later: one cycle per cell of
    the systolic chain (``ceil(depth / 2)``), two for the ring."""
    model = sim.BoundedSlique(unsigned(WIDTH), depth, storage=storage)
    valids = []
    for cycle in range(latency + 3):
        ports = model.step(i_stream__valid=int(cycle == 0), i_stream__payload=0x5a,
                           o_stream__ready=0)
        valids.append(ports.o_stream__valid)
    assert valids.index(1) == latency
    assert model.level == 1


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("on_full", MODES)
def test_hundred_thousand_steps(on_full, storage):
    """10**5 cycles of random traffic through the model (a smoke run; not timed)."""
    rng = random.Random(1234)
    model = sim.BoundedSlique(32, 16, on_full=on_full, storage=storage)
    for _ in range(10 ** 5):
        model.step(i_stream__valid=rng.random() < 0.7, i_stream__payload=rng.getrandbits(32),
                   o_stream__ready=rng.random() < 0.6)
    assert model.offered == model.delivered + model.dropped + model.level
    assert model.delivered > 50000
    assert (model.dropped > 0) == (on_full == "drop")


@EXAMPLES
@given(shape=st.sampled_from([unsigned(1), unsigned(8), signed(12), PacketBeat]),
       inputs=st.lists(st.tuples(st.booleans(), st.integers(0, (1 << 20) - 1), st.booleans()),
                       max_size=60))
def test_zero_slique_is_combinational(shape, inputs):
    mask = (1 << Shape.cast(shape).width) - 1
    model = sim.ZeroSlique(shape)
    transfers = 0
    for valid, payload, ready in inputs:
        ports = model.step(i_stream__valid=int(valid), i_stream__payload=payload,
                           o_stream__ready=int(ready))
        assert ports.o_stream__valid == int(valid)
        assert ports.o_stream__payload == (payload & mask if valid else None)
        assert ports.i_stream__ready == int(ready)
        assert ports.level is None and ports.dropped is None  # no status ports
        transfers += valid and ready
        assert model.offered == model.delivered == transfers
