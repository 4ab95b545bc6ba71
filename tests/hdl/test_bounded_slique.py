"""BoundedSlique in the Amaranth simulator against its golden model, and its parameter checks."""

import pytest
from amaranth.hdl import Shape
from amaranth.lib import fifo
from amaranth.sim import Simulator

from slique import hdl, sim
from slique.sim.lockstep import lockstep_in_amaranth
from slique.sim.sliques import SHAPES
from slique.sim.traffic import PATTERNS


STORAGES = ["systolic", "ring"]
MODES = ["backpressure", "drop"]


def _lockstep(shape, depth, mode, storage, *, seed, replay, cycles, pattern="random"):
    return lockstep_in_amaranth(
        hdl.BoundedSlique(shape, depth, on_full=mode, storage=storage),
        sim.BoundedSlique(shape, depth, on_full=mode, storage=storage),
        seed=seed, cycles=cycles, pattern=pattern, hint=f"seed={seed}; replay with: {replay}")


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("depth", [1, 2, 3, 5, 16])
@pytest.mark.parametrize("pattern", ["random", *PATTERNS])
def test_matches_golden_model(depth, mode, storage, pattern, seed, replay, cycles):
    result = _lockstep(32, depth, mode, storage, seed=seed, replay=replay, cycles=cycles(600),
                       pattern=pattern)
    assert result.offered == result.delivered + result.dropped
    assert result.offered > 0
    if mode == "backpressure":
        assert result.dropped == 0


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("storage", STORAGES)
def test_payload_shapes(shape, storage, seed, replay, cycles):
    result = _lockstep(SHAPES[shape], 4, "drop", storage, seed=seed, replay=replay,
                       cycles=cycles(600), pattern="slow-consumer")
    assert result.offered == result.delivered + result.dropped
    assert result.dropped > 0


@pytest.mark.parametrize("storage", STORAGES)
def test_saturating_traffic_fills_and_drops(storage, seed, replay, cycles):
    result = _lockstep(8, 3, "drop", storage, seed=seed, replay=replay, cycles=cycles(400),
                       pattern="slow-consumer")
    assert result.high_water == 3
    assert result.dropped > 0
    assert result.offered == result.delivered + result.dropped


def _beats_per_cycle_when_full(dut, *, w_en, w_rdy, r_en, r_rdy, level, depth, cycles=64,
                               refused=None):
    """Fill ``dut``, then offer and take every cycle; return output transfers per cycle.

    ``refused`` (a list), if given, receives for each of those cycles whether the input was
    refused; without it, the input must be taken in every cycle (``level >= depth - 1``)."""
    outcome = {}

    async def testbench(ctx):
        ctx.set(w_en, 1)
        while ctx.get(level) != depth:
            await ctx.tick()
        ctx.set(r_en, 1)
        transfers = 0
        for _ in range(cycles):
            transfers += ctx.get(r_rdy)
            if refused is None:
                assert ctx.get(level) >= depth - 1
            else:
                refused.append(not ctx.get(w_rdy))
            await ctx.tick()
        outcome["rate"] = transfers / cycles

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outcome["rate"]


def _slique_rate(depth, storage, refused=None):
    dut = hdl.BoundedSlique(8, depth, storage=storage)
    return _beats_per_cycle_when_full(dut, w_en=dut.w_en, w_rdy=dut.w_rdy, r_en=dut.r_en,
                                      r_rdy=dut.r_rdy, level=dut.level, depth=depth,
                                      refused=refused)


@pytest.mark.parametrize("storage, depth", [("systolic", 1), ("systolic", 2), ("ring", 2),
                                            ("ring", 3), ("ring", 16)])
def test_full_throughput_when_full(depth, storage):
    """A full slique whose consumer takes a beat takes one in the same cycle."""
    assert hdl.BoundedSlique(8, depth, storage=storage).writes_when_full_and_read
    assert _slique_rate(depth, storage) == 1.0


@pytest.mark.parametrize("depth", [3, 4, 5, 16, 17])
def test_systolic_chain_full_throughput_after_the_free_slot_walks_up(depth):
    """A full chain of two cells or more gives one beat per cycle; its input is refused until
    the slot freed at cell 0 has walked up to the input cell (``cells`` cycles at most), then
    taken every cycle: one beat per cycle in and out."""
    assert not hdl.BoundedSlique(8, depth, storage="systolic").writes_when_full_and_read
    refused = []
    assert _slique_rate(depth, "systolic", refused) == 1.0
    cells = hdl.SystolicStorage.cells_for(depth)
    waited = refused.index(False)
    assert 1 <= waited <= cells
    assert not any(refused[waited:])


def test_ring_of_depth_one_alternates():
    """Documented: a one-entry ring holds its entry in flight for a cycle (auto picks systolic)."""
    assert _slique_rate(1, "ring") == pytest.approx(0.5, abs=0.02)
    assert hdl.choose_storage(8, 1) == "systolic"


def test_anchor_sync_fifo_buffered_is_slower_when_full():
    """The measured anchor of the issue: SyncFIFOBuffered(depth=2) moves one beat per two cycles."""
    dut = fifo.SyncFIFOBuffered(width=8, depth=2)
    rate = _beats_per_cycle_when_full(dut, w_en=dut.w_en, w_rdy=dut.w_rdy, r_en=dut.r_en,
                                      r_rdy=dut.r_rdy, level=dut.level, depth=2)
    assert rate == pytest.approx(0.5, abs=0.02)


def test_is_a_fifo_interface_drop_in():
    dut = hdl.BoundedSlique(16, 5)
    assert isinstance(dut, fifo.FIFOInterface)
    assert (dut.width, dut.depth) == (16, 5)
    assert dut.w_data is dut.i_stream.payload and dut.r_data is dut.o_stream.payload
    assert dut.w_en is dut.i_stream.valid and dut.w_rdy is dut.i_stream.ready
    assert dut.r_en is dut.o_stream.ready and dut.r_rdy is dut.o_stream.valid
    assert dut.w_level is dut.level and dut.r_level is dut.level
    assert Shape.cast(dut.w_stream.payload.shape()).width == 16


def test_fifo_interface_order_and_levels():
    """Written through the FIFOInterface names, entries come out in order with exact levels."""
    dut = hdl.BoundedSlique(16, 5)
    seen = []

    async def testbench(ctx):
        for value in range(7):
            ctx.set(dut.w_data, value)
            ctx.set(dut.w_en, 1)
            accepted = ctx.get(dut.w_rdy)
            await ctx.tick()
            assert ctx.get(dut.w_level) == min(value + 1, 5) or not accepted
        ctx.set(dut.w_en, 0)
        assert ctx.get(dut.level) == 5
        ctx.set(dut.r_en, 1)
        for _ in range(8):
            if ctx.get(dut.r_rdy):
                seen.append(ctx.get(dut.r_data))
            await ctx.tick()
        assert ctx.get(dut.r_level) == 0

    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    assert seen == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("arguments, error, message", [
    ((8, 0), ValueError, "ZeroSlique"),
    ((8, -3), ValueError, "at least 1"),
    ((8, 2.5), TypeError, "integer"),
    (("wide", 4), TypeError, "shape-like"),
])
def test_bad_parameters_raise_with_what_is_allowed(arguments, error, message):
    with pytest.raises(error, match=message):
        hdl.BoundedSlique(*arguments)
    with pytest.raises(error, match=message):
        sim.BoundedSlique(*arguments)


@pytest.mark.parametrize("keyword, value", [("on_full", "block"), ("storage", "bram")])
def test_unknown_modes_raise_with_the_choices(keyword, value):
    with pytest.raises(ValueError, match="must be one of"):
        hdl.BoundedSlique(8, 4, **{keyword: value})
    with pytest.raises(ValueError, match="must be one of"):
        sim.BoundedSlique(8, 4, **{keyword: value})


def test_auto_storage_follows_the_documented_rule():
    for depth in [1, 4, 5, 64, 512]:
        assert hdl.BoundedSlique(32, depth).storage == hdl.choose_storage(32, depth)
        assert sim.BoundedSlique(32, depth).storage == hdl.choose_storage(32, depth)
