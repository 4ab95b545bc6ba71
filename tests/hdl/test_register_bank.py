# amaranth: UnusedElaboratable=no
"""RegisterBank in the Amaranth simulator against its golden model; every access mode, byte
selects, unmapped offsets, both handshakes; the checks of the description and of the Wishbone
signature."""

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slique.hdl import wishbone
from slique.hdl.register_bank import RegisterBank
from slique.hdl.registers import Field, Register, RegisterArray, RegisterMap
from slique.sim import register_bank as golden
from slique.sim.lockstep import AmaranthPorts
from slique.sim.register_bank import (SAMPLE_REGISTERS, compare_outputs, lockstep_in_amaranth,
                                      random_accesses, simulate)
from slique.sim.registers import RegisterFile
from slique.sim.wishbone import WishboneAccess, WishboneMaster


MODES = [(False, "ack"), (False, "err"), (True, "ack"), (True, "err")]
MODE_IDS = ["classic-ack", "classic-err", "pipelined-ack", "pipelined-err"]
REGS = SAMPLE_REGISTERS


def _offset(name, index=None):
    register = REGS[name]
    return register.offset_of(index)


class BankBench:
    """Gateware and model side by side, every output compared every cycle; block inputs are
    held (``hold``) or given for one cycle (``cycle(**pulse)``)."""

    def __init__(self, ctx, dut, model, hint):
        self.ports = AmaranthPorts(ctx, dut)
        self.model = model
        self.master = WishboneMaster(pipelined=model.pipelined)
        self.inputs = dict.fromkeys(model.port_names()[0], 0)
        self.hint = hint
        self.held = {}
        self.history = []

    def hold(self, **values):
        self.held.update(values)

    async def cycle(self, **pulse):
        inputs = {**self.inputs, **self.held, **self.master.drive(), **pulse}
        self.ports.drive(**inputs)
        await self.ports.settle()
        observed = compare_outputs(len(self.history), self.model.step(**inputs), self.ports,
                                   self.hint)
        self.master.advance(**{keyword: observed[name] for keyword, name in
                               self.master.answer_names(self.ports.has).items()})
        self.history.append(observed)
        await self.ports.tick()
        return observed

    async def run(self, *accesses, **pulse):
        """Run ``accesses`` to completion (``pulse`` inputs in the first cycle only)."""
        first = len(self.master.results)
        self.master.submit(*accesses)
        while not self.master.idle:
            await self.cycle(**pulse)
            pulse = {}
        return self.master.results[first:]

    async def read(self, offset, sel=0xF):
        result, = await self.run(WishboneAccess(offset, sel=sel))
        return result.data

    async def write(self, offset, data, sel=0xF):
        result, = await self.run(WishboneAccess(offset, write=True, data=data, sel=sel))
        return result.response


def _simulate(body, registers=REGS, *, pipelined=False, unmapped="ack", latency=1,
              hint="directed"):
    dut = RegisterBank(registers, pipelined=pipelined, unmapped=unmapped, latency=latency)
    model = golden.RegisterBank(registers, pipelined=pipelined, unmapped=unmapped,
                                latency=latency)
    return simulate(dut, lambda ctx: body(BankBench(ctx, dut, model, hint)))


# -- lockstep against the model ------------------------------------------------------------

@pytest.mark.parametrize("latency", [1, 2])
@pytest.mark.parametrize("pipelined, unmapped", MODES, ids=MODE_IDS)
def test_random_accesses_match_golden_model(pipelined, unmapped, latency, seed, replay, cycles):
    accesses = random_accesses(random.Random(seed), REGS, cycles(400) // 2)
    result = lockstep_in_amaranth(REGS, seed=seed, accesses=accesses, pipelined=pipelined,
                                  unmapped=unmapped, latency=latency,
                                  hint=f"seed={seed}; replay with: {replay}")
    assert result.offered == result.delivered + result.dropped["unmapped"] == len(accesses)
    assert result.dropped["unmapped"] > 0 and result.cleared > 0
    for kind in ["rw/read", "rw/write", "r/read", "w/write", "rc/read", "w1c/write",
                 "w1s/write"]:
        assert result.by_access.get(kind, 0) > 0, kind


_access = st.builds(
    lambda offset, write, data, sel, gap: WishboneAccess(offset, write=write, data=data, sel=sel,
                                                         gap=gap),
    offset=st.one_of(st.sampled_from([instance.offset for instance in REGS.instances()]),
                     st.integers(0, (1 << REGS.addr_width) - 1).map(lambda word: 4 * word)),
    write=st.booleans(), data=st.integers(0, 2**32 - 1),
    sel=st.one_of(st.just(0xF), st.integers(0, 15)), gap=st.integers(0, 2))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accesses=st.lists(_access, min_size=1, max_size=24), activity=st.integers(0, 2**32),
       rate=st.sampled_from([0.0, 0.3, 1.0]), mode=st.sampled_from(MODES),
       latency=st.sampled_from([1, 2]))
def test_hypothesis_access_sequences_match_golden_model(accesses, activity, rate, mode, latency):
    pipelined, unmapped = mode
    result = lockstep_in_amaranth(REGS, seed=activity, accesses=accesses, pipelined=pipelined,
                                  unmapped=unmapped, latency=latency, rate=rate)
    assert result.offered == len(accesses) == result.delivered + result.dropped["unmapped"]


# -- the access modes, directed ------------------------------------------------------------

def test_reset_values_and_reserved_bits():
    async def body(bench):
        assert await bench.read(_offset("CTRL")) == 0x0000_0A05
        assert await bench.read(_offset("SCRATCH")) == 0xFFFF_FFFF
        assert await bench.read(_offset("RDBAL", 1)) == 0
        await bench.write(_offset("CTRL"), 0xFFFF_FFFF)
        # fields cover 11:0 and 23:16 (rw) and 31 (w, reads 0): the rest is reserved
        assert await bench.read(_offset("CTRL")) == 0x00FF_0FFF
    _simulate(body)


@pytest.mark.parametrize("pipelined, latency", [(False, 1), (True, 1), (True, 2)])
def test_byte_selects_write_only_the_selected_bytes(pipelined, latency):
    async def body(bench):
        offset = _offset("RDBAL", 0)
        await bench.write(offset, 0x1122_3344)
        for sel, data, expected in [(0b0100, 0xAABB_CCDD, 0x11BB_3344),
                                    (0b1001, 0xEEFF_0099, 0xEEBB_3399),
                                    (0b0000, 0x0000_0000, 0xEEBB_3399)]:
            await bench.write(offset, data, sel)
            assert await bench.read(offset) == expected
        # a field across two byte lanes: only its selected lane changes
        await bench.write(_offset("CTRL"), 0x0000_0FF0, sel=0b0010)
        assert (await bench.read(_offset("CTRL")) >> 4) & 0xFF == 0xF0
    _simulate(body, pipelined=pipelined, latency=latency)


def test_rw_strobe_marks_the_first_cycle_of_the_new_value():
    async def body(bench):
        offset = _offset("RDT", 1)
        await bench.run(WishboneAccess(offset, write=True, data=77))
        strobes = [cycle["RDT__1__w_stb"] for cycle in bench.history]
        values = [cycle["RDT__1__data"] for cycle in bench.history]
        assert strobes == [0, 1] and values == [0, 77]
        assert all(cycle["RDT__0__w_stb"] == 0 for cycle in bench.history)
    _simulate(body)


def test_hardware_load_and_bus_write_wins():
    async def body(bench):
        await bench.cycle(RDH__0__hw_stb=1, RDH__0__hw_data=5)
        assert await bench.read(_offset("RDH", 0)) == 5
        # the same cycle: the bus write is accepted while the block loads 9; the bus wins
        await bench.run(WishboneAccess(_offset("RDH", 0), write=True, data=3),
                        RDH__0__hw_stb=1, RDH__0__hw_data=9)
        assert await bench.read(_offset("RDH", 0)) == 3
    _simulate(body)


def test_write_only_field_strobes_and_reads_zero():
    async def body(bench):
        await bench.run(WishboneAccess(_offset("CTRL"), write=True, data=0x8000_0A05))
        assert [cycle["CTRL__SWRESET__w_stb"] for cycle in bench.history] == [0, 1]
        assert bench.history[-1]["CTRL__SWRESET__w_data"] == 1
        await bench.cycle()
        assert bench.history[-1]["CTRL__SWRESET__w_stb"] == 0
        assert await bench.read(_offset("CTRL")) == 0x0000_0A05
        await bench.write(_offset("EICS"), 0x0F0F_0F0F, sel=0b0101)
        assert bench.history[-1]["EICS__w_stb"] == 1
        assert bench.history[-1]["EICS__w_data"] == 0x000F_000F
        assert await bench.read(_offset("EICS")) == 0
    _simulate(body)


def test_status_reads_the_block_and_strobes_in_the_accept_cycle():
    async def body(bench):
        bench.hold(STATUS__LEVEL__r_data=0x123, STATUS__FULL__r_data=1,
                   STATUS__HEAD__r_data=0xAB)
        assert await bench.read(_offset("STATUS")) == 0xAB01_0123
        accept = bench.history[-2]
        assert (accept["STATUS__LEVEL__r_stb"], accept["STATUS__HEAD__r_stb"]) == (1, 1)
        assert bench.history[-1]["STATUS__LEVEL__r_stb"] == 0
        await bench.read(_offset("STATUS"), sel=0b1000)  # only HEAD's lane
        accept = bench.history[-2]
        assert (accept["STATUS__LEVEL__r_stb"], accept["STATUS__HEAD__r_stb"]) == (0, 1)
        await bench.write(_offset("STATUS"), 0)  # ignored
        assert all(cycle["STATUS__HEAD__r_stb"] == 0 for cycle in bench.history[-2:])
    _simulate(body)


@pytest.mark.parametrize("latency, counts", [(1, (5, 1)), (2, (6, 0))])
def test_read_to_clear_keeps_the_events_of_the_clearing_cycle(latency, counts):
    async def body(bench):
        for _ in range(5):
            await bench.cycle(MPC__inc=1)
        # one more event in the cycle the read is accepted: with latency 1 the clearing cycle
        # (kept for the next read), with latency 2 the cycle before it (read now)
        result, = await bench.run(WishboneAccess(_offset("MPC")), MPC__inc=1)
        assert result.data == counts[0]
        assert await bench.read(_offset("MPC")) == counts[1]
        assert await bench.read(_offset("MPC")) == 0
        await bench.write(_offset("MPC"), 0xFFFF)  # ignored
        assert await bench.read(_offset("MPC")) == 0
    _simulate(body, latency=latency)


def test_read_to_clear_only_when_every_byte_is_selected():
    async def body(bench):
        await bench.cycle(GORC__inc=0x1234)
        await bench.cycle(GORC__inc=0x1234)
        assert await bench.read(_offset("GORC"), sel=0b0011) == 0x2468
        assert await bench.read(_offset("GORC"), sel=0b0111) == 0x2468
        assert await bench.read(_offset("GORC")) == 0x2468
        assert await bench.read(_offset("GORC")) == 0
        # narrow counters in one register clear independently, by their own byte lanes
        await bench.cycle(SMALL__EVENTS__inc=3, SMALL__OTHERS__inc=1)
        assert await bench.read(_offset("SMALL"), sel=0b0010) == 0x0103
        assert await bench.read(_offset("SMALL")) == 0x0003
    _simulate(body)


def test_counters_saturate():
    wide = RegisterMap("wide", [Register("BYTES", 0x0, "rc", inc_width=32)])

    async def small(bench):
        for _ in range(10):
            await bench.cycle(SMALL__EVENTS__inc=3)
        assert bench.history[-1]["SMALL__EVENTS__data"] == 15
        assert await bench.read(_offset("SMALL")) == 15
        assert await bench.read(_offset("SMALL")) == 0

    async def full(bench):
        await bench.cycle(BYTES__inc=0xFFFF_FFF0)
        await bench.cycle(BYTES__inc=0xFFFF_FFF0)
        assert await bench.read(0) == 0xFFFF_FFFF
        assert await bench.read(0) == 0
    # a strobe (inc_width 1) into a 2-bit count: it stops at 3
    strobed = RegisterMap("strobed", [Register("TICKS", 0x0, fields=[
        ("COUNT", (1, 0), "rc", "A strobe's count.")])])

    async def strobe(bench):
        for _ in range(5):
            await bench.cycle(TICKS__COUNT__inc=1)
        assert bench.history[-1]["TICKS__COUNT__data"] == 3
        assert await bench.read(0) == 3
        assert await bench.read(0) == 0
        # counts again after the clear, one by one, and stops at 3 again
        for expected in (1, 2, 3, 3):
            await bench.cycle(TICKS__COUNT__inc=1)
            await bench.cycle(TICKS__COUNT__inc=0)
            assert bench.history[-1]["TICKS__COUNT__data"] == expected
    _simulate(small)
    _simulate(full, wide)
    _simulate(strobe, strobed)


def test_write_one_to_clear():
    async def body(bench):
        await bench.cycle(EICR__RXQ__set=0b11, EICR__TXQ__set=0b10, EICR__OTHER__set=1)
        assert await bench.read(_offset("EICR")) == 0x8000_0203
        await bench.write(_offset("EICR"), 0x0000_0201)
        assert await bench.read(_offset("EICR")) == 0x8000_0002
        await bench.write(_offset("EICR"), 0xFFFF_FFFF, sel=0b0111)  # OTHER's lane unselected
        assert await bench.read(_offset("EICR")) == 0x8000_0000
        # a bit set in the cycle it is cleared stays set
        await bench.run(WishboneAccess(_offset("EICR"), write=True, data=0x8000_0000),
                        EICR__OTHER__set=1)
        assert await bench.read(_offset("EICR")) == 0x8000_0000
        await bench.write(_offset("EICR"), 0x8000_0000)
        assert await bench.read(_offset("EICR")) == 0
    _simulate(body)


def test_write_one_to_set():
    async def body(bench):
        await bench.write(_offset("EIMS"), 0x0000_0013)
        assert await bench.read(_offset("EIMS")) == 0x13
        await bench.write(_offset("EIMS"), 0xFFFF_FF04, sel=0b0001)  # only lane 0 sets
        assert await bench.read(_offset("EIMS")) == 0x17
        await bench.cycle(EIMS__clear=0x3)
        assert await bench.read(_offset("EIMS")) == 0x14
        # a bit the bus sets in the cycle the block clears it stays set
        await bench.run(WishboneAccess(_offset("EIMS"), write=True, data=0x1),
                        EIMS__clear=0x15)
        assert await bench.read(_offset("EIMS")) == 0x1
    _simulate(body)


@pytest.mark.parametrize("latency", [1, 2])
@pytest.mark.parametrize("pipelined, unmapped", MODES, ids=MODE_IDS)
def test_unmapped_offsets_answer_and_count(pipelined, unmapped, latency):
    async def body(bench):
        for offset in [0x0004, 0xC004, 0x5C10, 4 * ((1 << REGS.addr_width) - 1)]:
            write, = await bench.run(WishboneAccess(offset, write=True, data=0xFFFF_FFFF))
            read, = await bench.run(WishboneAccess(offset))
            assert write.response == read.response == unmapped
            assert read.data == 0
        assert bench.history[-1]["unmapped"] == 8
        # nothing was written anywhere
        assert await bench.read(_offset("RDBAL", 0)) == 0
        assert await bench.read(_offset("CTRL")) == 0x0A05
    _simulate(body, pipelined=pipelined, unmapped=unmapped, latency=latency)


@pytest.mark.parametrize("pipelined, latency, rate", [(False, 1, 0.5), (True, 1, 1.0),
                                                      (False, 2, 1 / 3), (True, 2, 1.0)])
def test_accesses_per_cycle(pipelined, latency, rate):
    async def body(bench):
        accesses = [WishboneAccess(_offset("RETA", index % 4), write=index % 2 == 0, data=index)
                    for index in range(64)]
        results = await bench.run(*accesses)
        assert len(results) == 64
        steady = 63 / (results[-1].accepted - results[0].accepted)
        assert steady == pytest.approx(rate, abs=0.01)
        assert results[0].answered - results[0].accepted == latency
    _simulate(body, pipelined=pipelined, latency=latency)


# -- the description and the bank's parameters ---------------------------------------------

def test_ports_follow_the_description():
    bank = RegisterBank(REGS)
    assert bank.CTRL.ENABLE.data.init == 1 and bank.CTRL.MODE.data.init == 2
    assert len(bank.CTRL.SWRESET.w_data) == 1
    assert len(bank.MPC.data) == 32 and len(bank.MPC.inc) == 1 and len(bank.GORC.inc) == 16
    assert len(bank.RDBAL) == 2 and len(bank.RDBAL[1].data) == 32
    assert hasattr(bank.RDH[0], "hw_stb") and not hasattr(bank.RDT[0], "hw_stb")
    assert bank.SCRATCH.data.init == 0xFFFF_FFFF and len(bank.EIMS.clear) == 32
    names = {"__".join(map(str, path)) for path, _, _ in bank.signature.flatten(bank)}
    inputs, outputs = golden.RegisterBank(REGS).port_names()
    assert names == set(inputs) | set(outputs)
    assert bank.bus.adr.shape().width == REGS.addr_width == 14  # 0xC068 >> 2 needs 14 bits
    pipelined = RegisterBank(REGS, pipelined=True, unmapped="err", addr_width=20)
    assert set(pipelined.signature.members["bus"].signature.features) == \
        {wishbone.Feature.STALL, wishbone.Feature.ERR}
    assert len(pipelined.bus.adr) == 20


def test_model_names_fields_like_the_description():
    regs = RegisterFile(REGS)
    regs.write(_offset("RDT", 1), 12)
    assert regs.value("RDT", index=1) == 12 and regs.value("RDT", index=0) == 0
    regs.increment("SMALL", 20, field="EVENTS")
    assert regs.value("SMALL", field="EVENTS") == 15
    with pytest.raises(KeyError, match="no field"):
        regs.value("CTRL", field="NOPE")
    with pytest.raises(ValueError, match="not 'rc'"):
        regs.increment("CTRL", field="ENABLE")
    with pytest.raises(KeyError, match="no register"):
        regs.value("NOPE")


@pytest.mark.parametrize("build, error, message", [
    (lambda: Register("A", 0x2, "rw"), ValueError, "multiple of 4"),
    (lambda: Register("A", 0x0), ValueError, "neither fields nor an access"),
    (lambda: Register("A", 0x0, "rx"), ValueError, "must be one of"),
    (lambda: Register("9A", 0x0, "rw"), ValueError, "identifier"),
    (lambda: Register("A", 0x0, fields=[("F", (3, 0), "rw"), ("G", (4, 2), "rw")]), ValueError,
     "overlaps"),
    (lambda: Register("A", 0x0, fields=[("F", (32, 0), "rw")]), ValueError, "lsb <= msb < 32"),
    (lambda: Register("A", 0x0, fields=[("F", (2, 3), "rw")]), ValueError, "lsb <= msb"),
    (lambda: Register("A", 0x0, "r", reset=1), ValueError, "reset bits must be 0"),
    (lambda: Register("A", 0x0, fields=[("F", 0, "rw")], reset=2), ValueError, "reserved"),
    (lambda: Register("A", 0x0, fields=[("F", 0, "rw"), ("F", 1, "rw")]), ValueError, "two fields"),
    (lambda: Field("F", 0, "r", hw_write=True), ValueError, "hw_write"),
    (lambda: Field("F", (3, 0), "rc", inc_width=5), ValueError, "wider than the field"),
    (lambda: Field("F", 0, "rw", inc_width=2), ValueError, "inc_width is for 'rc'"),
    (lambda: RegisterArray("A", 0x0, 2, 0, "rw"), ValueError, "non-zero multiple of 4"),
    (lambda: RegisterArray("A", 0x0, 0, 4, "rw"), TypeError, ">= 1"),
    (lambda: RegisterMap("m", []), ValueError, "no register"),
    (lambda: RegisterMap("m", [Register("bus", 0, "rw")]), ValueError, "uses itself"),
    (lambda: RegisterMap("m", [Register("A", 0, "rw"), Register("A", 4, "rw")]), ValueError,
     "two registers are named"),
    (lambda: RegisterMap("m", [RegisterArray("A", 0xC000, 4, 0x40, "rw"),
                               Register("B", 0xC080, "rw")]), ValueError, r"A\[2\] are both"),
    (lambda: RegisterBank(REGS, addr_width=13), ValueError, "addr_width must be"),
    (lambda: RegisterBank(REGS, unmapped="ignore"), ValueError, "must be one of"),
    (lambda: RegisterBank(REGS, latency=3), ValueError, "latency must be one of"),
    (lambda: golden.RegisterBank(REGS, latency=0), ValueError, "latency must be one of"),
    (lambda: RegisterBank([Register("A", 0, "rw")]), TypeError, "RegisterMap"),
    (lambda: golden.RegisterBank(REGS, unmapped="ignore"), ValueError, "must be one of"),
    (lambda: RegisterFile(REGS).key("RETA", "ENTRY0", 4), KeyError, "no field"),
    (lambda: REGS["RETA"].offset_of(4), IndexError, "elements 0 to 3"),
])
def test_bad_descriptions_raise_with_what_is_allowed(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_wishbone_signature_mirrors_amaranth_soc():
    signature = wishbone.Signature(addr_width=10, data_width=32, granularity=8,
                                   features={"err", "stall", "cti", "bte", "lock", "rty"})
    members = signature.members
    assert [name for name in members] == ["adr", "dat_w", "dat_r", "sel", "cyc", "stb", "we",
                                          "ack", "err", "rty", "stall", "lock", "cti", "bte"]
    assert members["sel"].shape == 4 and members["dat_r"].flow.name == "In"
    assert members["cti"].shape is wishbone.CycleType
    assert signature == wishbone.Signature(addr_width=10, data_width=32, granularity=8,
                                           features=[wishbone.Feature.ERR, "stall", "cti",
                                                     "bte", "lock", "rty"])
    assert wishbone.Signature(addr_width=4, data_width=16).members["sel"].shape == 1
    for keywords, message in [(dict(addr_width=-1, data_width=8), "non-negative"),
                              (dict(addr_width=4, data_width=24), "one of 8, 16, 32, 64"),
                              (dict(addr_width=4, data_width=8, granularity=16), "at most"),
                              (dict(addr_width=4, data_width=8, features={"irq"}), "irq")]:
        with pytest.raises((TypeError, ValueError), match=message):
            wishbone.Signature(**keywords)


def test_wishbone_master_never_hangs():
    from slique.sim.wishbone import WishboneProtocolError, WishboneTimeout

    master = WishboneMaster(timeout=5)
    master.submit(WishboneAccess(0x10, gap=2))
    with pytest.raises(WishboneTimeout, match="no answer within 5"):
        for _ in range(20):
            master.drive()
            master.advance(ack=0)
    master = WishboneMaster(pipelined=True)
    master.drive()
    with pytest.raises(WishboneProtocolError, match="no request outstanding"):
        master.advance(ack=1)
    with pytest.raises(WishboneProtocolError, match="ack and err"):
        master.advance(ack=1, err=1)
    with pytest.raises(ValueError, match="multiple of 4"):
        master.submit(WishboneAccess(0x3))


@pytest.mark.parametrize("pipelined, acks, strobes, addresses", [
    (False, (2, 4), [0, 1, 1, 1, 1, 0], [2, 2, 3, 3]),   # the request held until its answer
    (True, (2, 3), [0, 1, 1, 0, 0, 0], [2, 3]),          # one request a cycle, answered later
])
def test_wishbone_master_handshake(pipelined, acks, strobes, addresses):
    """The initiator's own timing: the gap, then the requests, answers matched in order."""
    master = WishboneMaster(pipelined=pipelined)
    master.submit(WishboneAccess(0x8, gap=1), WishboneAccess(0xC, write=True, data=5, sel=0x3))
    driven = []
    for cycle in range(6):
        driven.append(master.drive())
        master.advance(ack=int(cycle in acks), dat_r=7)
    assert [outputs["bus__stb"] for outputs in driven] == strobes
    assert [outputs["bus__adr"] for outputs in driven if outputs["bus__stb"]] == addresses
    assert [outputs["bus__we"] for outputs in driven if outputs["bus__stb"]][-1] == 1
    assert [(result.access.offset, result.response, result.data, result.answered)
            for result in master.results] == [(0x8, "ack", 7, acks[0]), (0xC, "ack", 0, acks[1])]
    assert master.idle and driven[-1]["bus__cyc"] == 0
