"""The lockstep scoreboard can fail: wrong models, lost beats and stuck queues are reported."""

import asyncio
import copy
import dataclasses
import re

import pytest

from slique import hdl, sim
from slique.sim._ports import SliquePorts
from slique.sim.lockstep import Mismatch, lockstep_in_amaranth, replay_hint, run_lockstep
from slique.sim.traffic import make_traffic


DEPTH = 4


def _hint(seed, replay):
    return replay_hint(seed, replay)


def _mismatch_cycle(error):
    match = re.match(r"cycle (\d+): ", str(error.value))
    assert match, str(error.value)
    return int(match.group(1))


# --- wrong golden models against the real gateware (Amaranth simulator) --------------------------

class LevelOffByOne(sim.BoundedSlique):
    """Reports one entry more than it holds."""

    def step(self, **inputs):
        ports = super().step(**inputs)
        return dataclasses.replace(ports, level=ports.level + 1)


class LosesOneBeat(sim.BoundedSlique):
    """Silently loses the ``lose``-th accepted beat (systolic storage)."""

    def __init__(self, *args, lose=3, **keywords):
        super().__init__(*args, storage="systolic", **keywords)
        self.lose = lose
        self.steps = 0
        self.lost_at = None

    def step(self, **inputs):
        accepted = self.accepted
        ports = super().step(**inputs)
        if self.accepted > accepted and self.accepted == self.lose and self.lost_at is None:
            newest = self._cells.cells[-1]  # the beat just written vanishes from the input cell
            if newest.skid_valid:
                newest.skid_valid = False
            else:
                newest.valid = False
            self.level -= 1
            self.accepted -= 1
            self.offered -= 1
            self.lost_at = self.steps
        self.steps += 1
        return ports


class CorruptsOnePayload(sim.BoundedSlique):
    """Delivers the ``nth`` output beat with one bit flipped."""

    def __init__(self, *args, nth=5, **keywords):
        super().__init__(*args, **keywords)
        self.nth = nth
        self.shown = 0

    def step(self, *, o_stream__ready, **inputs):
        ports = super().step(o_stream__ready=o_stream__ready, **inputs)
        if ports.o_stream__valid:
            if self.shown + 1 == self.nth:
                ports = dataclasses.replace(ports, o_stream__payload=ports.o_stream__payload ^ 1)
            self.shown += bool(o_stream__ready)
        return ports


def _gateware(on_full="drop", storage="systolic"):
    return hdl.BoundedSlique(8, DEPTH, on_full=on_full, storage=storage)


def test_the_real_model_passes(seed, replay):
    """The control: with the true golden model the same runs pass."""
    for on_full in ("backpressure", "drop"):
        result = lockstep_in_amaranth(
            _gateware(on_full), sim.BoundedSlique(8, DEPTH, on_full=on_full, storage="systolic"),
            seed=seed, cycles=200, pattern="slow-consumer", hint=_hint(seed, replay))
        assert result.offered == result.delivered + result.dropped > 0


def test_wrong_level_is_a_mismatch_at_cycle_zero(seed, replay):
    with pytest.raises(Mismatch) as error:
        lockstep_in_amaranth(_gateware(), LevelOffByOne(8, DEPTH, on_full="drop",
                                                        storage="systolic"),
                             seed=seed, cycles=200, hint=_hint(seed, replay))
    message = str(error.value)
    assert message.startswith("cycle 0: level is 0 in the gateware but 1 in the golden model")
    assert message.endswith(_hint(seed, replay))
    assert f"seed={seed}" in message and replay in message


def test_lost_beat_is_a_mismatch_the_cycle_after(seed, replay):
    model = LosesOneBeat(8, DEPTH, on_full="backpressure")
    with pytest.raises(Mismatch) as error:
        lockstep_in_amaranth(_gateware("backpressure"), model, seed=seed, cycles=200,
                             pattern="slow-consumer", hint=_hint(seed, replay))
    assert model.lost_at is not None
    assert _mismatch_cycle(error) == model.lost_at + 1
    assert str(error.value).endswith(_hint(seed, replay))


@pytest.mark.parametrize("storage", ["systolic", "ring"])
def test_corrupt_payload_is_a_mismatch(storage, seed, replay):
    model = CorruptsOnePayload(8, DEPTH, on_full="drop", storage=storage)
    with pytest.raises(Mismatch, match=r"^cycle \d+: o_stream__payload is (0x[0-9a-f]+|\d) in the "
                                       r"gateware but (0x[0-9a-f]+|\d) in the golden model") as error:
        lockstep_in_amaranth(_gateware("drop", storage), model, seed=seed, cycles=200,
                             pattern="saturate", hint=_hint(seed, replay))
    assert model.shown == model.nth  # failed on the corrupted beat, not before or after
    assert replay in str(error.value)


def test_hint_defaults_to_the_seed(seed):
    with pytest.raises(Mismatch, match=rf"; seed={seed}$"):
        lockstep_in_amaranth(_gateware(), LevelOffByOne(8, DEPTH, on_full="drop",
                                                        storage="systolic"),
                             seed=seed, cycles=50)


# --- the scoreboard alone, on fake port adapters (no simulator) ----------------------------------

class ModelPorts:
    """A fake port adapter whose "gateware" is a Python model stepped one cycle per tick."""

    def __init__(self, dut):
        self.dut = dut
        self.inputs = dict(i_stream__valid=0, i_stream__payload=0, o_stream__ready=0)
        self.outputs = None

    def has(self, name):
        return name in SliquePorts.names() and name in self.outputs.present()

    def drive(self, **values):
        self.inputs.update(values)

    async def settle(self):  # this cycle's outputs, without the clock edge
        self.outputs = copy.deepcopy(self.dut).step(**self.inputs)

    def sample(self, name):
        value = getattr(self.outputs, name)
        return 0 if value is None else value

    async def tick(self):
        self.dut.step(**self.inputs)


class StuckQueue:
    """Accepts up to ``depth`` beats and never delivers one."""

    def __init__(self, depth):
        self.depth = depth
        self.level = 0

    def step(self, *, i_stream__valid, i_stream__payload, o_stream__ready):
        ports = SliquePorts(i_stream__ready=int(self.level < self.depth), o_stream__valid=0,
                            o_stream__payload=None, level=self.level, high_water=self.level,
                            dropped=0, drop=0)
        self.level += bool(i_stream__valid and self.level < self.depth)
        return ports


def _run_fake(dut, model, *, seed, pattern="slow-consumer", cycles=200, depth=DEPTH):
    producer, consumer = make_traffic(seed, 8, pattern)
    return asyncio.run(run_lockstep(ModelPorts(dut), model, producer, consumer, cycles=cycles,
                                    depth=depth, hint=f"seed={seed}; fake", record=True))


@pytest.mark.parametrize("on_full", ["backpressure", "drop"])
def test_fake_adapter_of_a_good_queue_passes(on_full, seed):
    """The control: the fake adapter itself is sound."""
    def model():
        return sim.BoundedSlique(8, DEPTH, on_full=on_full, storage="systolic")

    result = _run_fake(model(), model(), seed=seed)
    assert result.offered == result.delivered + result.dropped > 0
    assert result.levels == result.model_levels and max(result.levels) == DEPTH
    assert (result.dropped > 0) == (on_full == "drop")


def test_conservation_catches_a_beat_lost_by_model_and_gateware_alike(seed):
    """Gateware and model agree on every port, but both lose a beat: only conservation sees it."""
    dut = LosesOneBeat(8, DEPTH, on_full="backpressure")
    model = LosesOneBeat(8, DEPTH, on_full="backpressure")
    with pytest.raises(Mismatch, match=r"conservation broken: offered (\d+) != delivered \d+ "
                                       r"\+ dropped 0 \+ level \d+; seed=") as error:
        _run_fake(dut, model, seed=seed)
    assert _mismatch_cycle(error) == model.lost_at + 1


def test_a_slique_that_does_not_drain_is_reported(seed):
    with pytest.raises(Mismatch, match=rf"did not drain: level {DEPTH} after \d+ cycles"):
        _run_fake(StuckQueue(DEPTH), StuckQueue(DEPTH), seed=seed, pattern="saturate")
