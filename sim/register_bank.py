"""Golden model of :class:`slique.hdl.RegisterBank`, its lockstep scoreboard, and a sample map.

:class:`RegisterBank` steps a :class:`~slique.sim.registers.RegisterFile` one clock cycle at a
time behind the bank's Wishbone handshake: ``step(**inputs) -> outputs``, both by the gateware's
flattened port names (``bus__cyc``, ``CTRL__ENABLE__data``, ``RDBAL__1__data``, ``MPC__inc``).

:func:`run_register_lockstep` is the scoreboard: a :class:`~slique.sim.wishbone.WishboneMaster`
and a :class:`BlockActivity` (the block's side: counter events, cause bits, status values) drive
the gateware (through a port adapter) and the model; every output is compared every cycle, and
conservation is checked on the gateware's own outputs every cycle.

:data:`SAMPLE_REGISTERS` is an i225-flavoured description with every access mode, byte-lane
fields, a saturating narrow counter, sparse per-queue arrays and unmapped gaps: the tests', the
bench's and the benchmark's register map.
"""

import random
from dataclasses import dataclass, field as dataclass_field

from slique.hdl._parameters import check_choice
from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.hdl.register_bank import LATENCIES, UNMAPPED_MODES
from slique.hdl.registers import (REGISTER_BYTES, Field, Register, RegisterArray, RegisterMap,
                                  port_name)

from .lockstep import Mismatch, compare_outputs
from .registers import STORED, RegisterFile
from .wishbone import WishboneAccess


__all__ = ["RegisterBank", "SAMPLE_REGISTERS", "BlockActivity", "RegisterLockstepResult",
           "run_register_lockstep", "compare_outputs", "random_accesses", "load_description",
           "lockstep_in_amaranth", "simulate"]


_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1


class RegisterBank:
    """Cycle-accurate golden model of the register bank, with the gateware's parameters.

    Call :meth:`step` once per clock cycle with that cycle's inputs (missing ones are 0); it
    returns the outputs during that cycle (a dict by port name) and then applies the clock
    edge. :attr:`file` is the register state.

    Parameters
    ----------
    registers, pipelined, unmapped, addr_width, latency
        As for :class:`slique.hdl.RegisterBank`.
    """

    def __init__(self, registers, *, pipelined=False, unmapped="ack", addr_width=None,
                 latency=1):
        self.file = RegisterFile(registers)
        self.registers = registers
        self.pipelined = bool(pipelined)
        self.unmapped_mode = check_choice("unmapped", unmapped, UNMAPPED_MODES)
        self.latency = check_choice("latency", latency, LATENCIES)
        self._stage = None  # latency 2: the request accepted in the previous cycle
        self.addr_width = registers.addr_width if addr_width is None else addr_width
        if self.addr_width < registers.addr_width:
            raise ValueError(f"addr_width must be an integer >= {registers.addr_width}, not "
                             f"{addr_width!r}")
        self._answered = 0
        self._ack = self._err = self._dat_r = 0
        # (key, field, {port: flattened name}, RegisterFile address) of every field
        self._fields = []
        for instance, field in self.file.fields():
            key = (instance.path, field.name)
            names = {port: port_name(instance, field, port) for port in field.ports}
            index = instance.index
            self._fields.append((key, field, names, (instance.register.name, field.name, index)))
        self._w_stb = {}
        self._w_data = {}

    def port_names(self):
        """``(inputs, outputs)``: the flattened names of the bank's ports."""
        inputs = ["bus__cyc", "bus__stb", "bus__we", "bus__adr", "bus__dat_w", "bus__sel"]
        outputs = ["bus__ack", "bus__dat_r", "unmapped"]
        if self.unmapped_mode == "err":
            outputs.append("bus__err")
        if self.pipelined:
            outputs.append("bus__stall")
        for _key, field, names, _address in self._fields:
            for port, (direction, _width) in field.ports.items():
                (inputs if direction == "in" else outputs).append(names[port])
        return inputs, outputs

    def step(self, **inputs):
        """Outputs during one cycle with these inputs; then the clock edge."""
        get = inputs.get
        regs = self.file
        outputs = {"bus__ack": self._ack, "bus__dat_r": self._dat_r, "unmapped": regs.unmapped}
        if self.unmapped_mode == "err":
            outputs["bus__err"] = self._err
        if self.pipelined:
            outputs["bus__stall"] = 0
        strobes = {}
        for key, field, names, (name, field_name, index) in self._fields:
            if field.access in STORED:
                outputs[names["data"]] = regs.value(name, field_name, index)
            if field.access in ("rw", "w"):
                outputs[names["w_stb"]] = self._w_stb.get(key, 0)
            if field.access == "w":
                outputs[names["w_data"]] = self._w_data.get(key, 0)
            if field.access == "r":
                regs.set_status(name, get(names["r_data"], 0), field_name, index)
                outputs[names["r_stb"]] = 0
                strobes[key] = names["r_stb"]

        busy = self._answered or self._stage is not None
        incoming = None
        if get("bus__cyc", 0) and get("bus__stb", 0) and (self.pipelined or not busy):
            offset = (get("bus__adr", 0) & ((1 << self.addr_width) - 1)) * REGISTER_BYTES
            incoming = (offset, bool(get("bus__we", 0)), get("bus__dat_w", 0),
                        get("bus__sel", 0))
        if self.latency == 1:
            request = incoming
        else:
            request, self._stage = self._stage, incoming
        access = None
        write = request is not None and request[1]
        if request is not None:
            offset, write, dat_w, sel = request
            access = regs.access(offset, write=write, data=dat_w, sel=sel)
            for key in access.strobed:
                outputs[strobes[key]] = 1
        written = access.written if access is not None else {}
        self._block_side(get, written)
        mapped = access is not None and access.mapped
        answered = request is not None
        self._answered = int(answered)
        self._ack = int(answered and (mapped or self.unmapped_mode == "ack"))
        self._err = int(answered and not mapped and self.unmapped_mode == "err")
        self._dat_r = access.value if mapped and not write else 0
        for key, field, _names, _address in self._fields:
            if field.access in ("rw", "w"):
                self._w_stb[key] = int(key in written)
            if field.access == "w" and key in written:
                self._w_data[key] = written[key]
        return outputs

    def _block_side(self, get, written):
        """The block's inputs at the clock edge, after the bus access: a bus write beats a
        hardware load, a clearing read keeps the events of its cycle, a set beats a clear
        (the block's ``set`` of ``w1c`` bits, the bus's set of ``w1s`` bits)."""
        regs = self.file
        for key, field, names, (name, field_name, index) in self._fields:
            if field.access == "rw" and field.hw_write and get(names["hw_stb"], 0) \
                    and key not in written:
                regs.load(name, get(names["hw_data"], 0), field_name, index)
            elif field.access == "rc" and get(names["inc"], 0):
                regs.increment(name, get(names["inc"], 0), field_name, index)
            elif field.access == "w1c" and get(names["set"], 0):
                regs.raise_bits(name, get(names["set"], 0), field_name, index)
            elif field.access == "w1s" and get(names["clear"], 0):
                # a bit the bus set in this cycle stays set
                regs.clear_bits(name, get(names["clear"], 0) & ~written.get(key, 0), field_name,
                                index)


# -- the sample description ----------------------------------------------------------------

#: Queues in :data:`SAMPLE_REGISTERS`' per-queue arrays.
SAMPLE_QUEUES = 2

SAMPLE_REGISTERS = RegisterMap("sample", doc=(
    "An i225-flavoured register map with every access mode, used by the register bank's tests, "
    "bench and benchmark."), registers=[
    Register("CTRL", 0x0000, reset=0x0000_0A05, doc="Control.", fields=[
        Field("ENABLE", 0, "rw", "Enable the block."),
        Field("MODE", (3, 1), "rw", "Operating mode."),
        Field("THRESHOLD", (11, 4), "rw", "A threshold across byte lanes 0 and 1."),
        Field("SPAN", (23, 16), "rw", "A byte in lane 2."),
        Field("SWRESET", 31, "w", "Write 1: a one-cycle software reset strobe."),
    ]),
    Register("STATUS", 0x0008, doc="Status from the block.", fields=[
        Field("LEVEL", (9, 0), "r", "Entries held."),
        Field("FULL", 16, "r", "Full."),
        Field("HEAD", (31, 24), "r", "Status in lane 3 (`r_stb` says when it is read)."),
    ]),
    Register("EICS", 0x1520, "w", doc="Cause set: write 1s to raise causes (a command)."),
    Register("EICR", 0x1580, doc="Cause bits, write 1 to clear.", fields=[
        Field("RXQ", (1, 0), "w1c", "RX queue causes."),
        Field("TXQ", (9, 8), "w1c", "TX queue causes."),
        Field("OTHER", 31, "w1c", "Other causes."),
    ]),
    Register("EIMS", 0x1524, "w1s", doc="Interrupt mask set: write 1s to unmask; reads the "
                                        "mask."),
    Register("EIMC", 0x1528, "w", doc="Interrupt mask clear: write 1s to mask (the block wires "
                                      "`w_data` to EIMS's `clear`)."),
    Register("MPC", 0x4010, "rc", doc="Missed packets (read-to-clear, 32-bit, saturating)."),
    Register("GORC", 0x4088, "rc", inc_width=16, doc="Good octets received: up to 65535 a cycle."),
    Register("SMALL", 0x4100, doc="Narrow saturating counters.", fields=[
        Field("EVENTS", (3, 0), "rc", "Saturates at 15.", inc_width=2),
        Field("OTHERS", (15, 8), "rc", "Saturates at 255."),
    ]),
    Register("SCRATCH", 0x5000, "rw", reset=0xFFFF_FFFF, doc="All ones at reset."),
    RegisterArray("RETA", 0x5C00, 4, 4, doc="Indirection table, four entries a register.",
                  fields=[(f"ENTRY{entry}", (8 * entry + 7, 8 * entry), "rw")
                          for entry in range(4)]),
    RegisterArray("RDBAL", 0xC000, SAMPLE_QUEUES, 0x40, "rw", doc="RX ring base, low."),
    RegisterArray("RDH", 0xC010, SAMPLE_QUEUES, 0x40, "rw", hw_write=True,
                  doc="RX head: software initialises it, hardware advances it."),
    RegisterArray("RDT", 0xC018, SAMPLE_QUEUES, 0x40, "rw", doc="RX tail (a doorbell: w_stb)."),
    RegisterArray("RXDCTL", 0xC028, SAMPLE_QUEUES, 0x40, doc="RX queue control.", fields=[
        Field("PTHRESH", (4, 0), "rw", "Prefetch threshold."),
        Field("ENABLE", 25, "rw", "Queue enable."),
        Field("SWFLUSH", 26, "w", "Software flush (a strobe)."),
    ]),
])


def load_description(path):
    """The :class:`RegisterMap` named by ``"module:attribute"`` (benches get it by name)."""
    import importlib

    module, _, attribute = path.partition(":")
    description = getattr(importlib.import_module(module), attribute)
    if not isinstance(description, RegisterMap):
        raise TypeError(f"{path} is not a RegisterMap")
    return description


# -- traffic -------------------------------------------------------------------------------

def random_accesses(rng, registers, count, *, unmapped=0.1, partial=0.2, gaps=(0, 0, 0, 1, 3),
                    sweep=True):
    """``count`` random accesses over ``registers``: mapped offsets, unmapped ones with
    probability ``unmapped``, byte selects other than all four with probability ``partial``,
    idle gaps drawn from ``gaps``. With ``sweep``, the first ones write and read every register
    once, in random order (so every access mode is exercised whatever the seed)."""
    offsets = [instance.offset for instance in registers.instances()]
    top = (1 << registers.addr_width) * REGISTER_BYTES
    accesses = []
    if sweep:
        for offset in rng.sample(offsets, len(offsets)):
            accesses += [WishboneAccess(offset, write=True, data=rng.getrandbits(32)),
                         WishboneAccess(offset)]
    while len(accesses) < count:
        if rng.random() < unmapped:
            offset = rng.randrange(0, top, REGISTER_BYTES)
        else:
            offset = rng.choice(offsets)
        sel = rng.randrange(16) if rng.random() < partial else 0xF
        accesses.append(WishboneAccess(offset, write=rng.random() < 0.5,
                                       data=rng.getrandbits(32), sel=sel, gap=rng.choice(gaps)))
    return accesses


class BlockActivity:
    """The block's side of a register bank, random and seeded: counter events (``inc``),
    cause bits (``set``), mask clears (``clear``), status (``r_data``, changing now and then)
    and hardware loads (``hw_stb``, ``hw_data``).

    Parameters
    ----------
    rng : random.Random
    registers : RegisterMap
    rate : float
        Probability that an event input is active in a cycle.
    """

    def __init__(self, rng, registers, *, rate=0.3):
        self.rng = rng
        self.rate = rate
        self._inputs = []
        for instance in registers.instances():
            for field in instance.register.fields:
                for port, (direction, width) in field.ports.items():
                    if direction == "in":
                        self._inputs.append((port_name(instance, field, port), port, width))
        self._status = {}

    def drive(self):
        """This cycle's inputs, by port name."""
        rng, values = self.rng, {}
        for name, port, width in self._inputs:
            if port == "r_data":
                if name not in self._status or rng.random() < 0.1:
                    self._status[name] = rng.getrandbits(width)
                values[name] = self._status[name]
            elif port in ("inc", "set", "clear", "hw_stb"):
                active = rng.random() < self.rate
                values[name] = (rng.getrandbits(width) or 1) if active else 0
            else:  # hw_data
                values[name] = rng.getrandbits(width)
        return values


# -- the scoreboard ------------------------------------------------------------------------

@dataclass
class RegisterLockstepResult:
    """What the bank did, as observed on its ports.

    Attributes
    ----------
    cycles : int
    offered : int
        Accesses the initiator put on the bus.
    delivered : int
        Accesses answered at a mapped offset.
    dropped : dict
        ``{"unmapped": n}``: accesses at unmapped offsets (answered, without effect).
    events : int
        Counter events driven into ``rc`` fields.
    cleared : int
        Events returned by clearing reads.
    by_access : dict
        Mapped accesses by access mode of the register (``"mixed"`` for mixed registers) and
        direction, e.g. ``{"rc/read": 12}``.
    """
    cycles: int = 0
    offered: int = 0
    delivered: int = 0
    dropped: dict = dataclass_field(default_factory=lambda: {"unmapped": 0})
    events: int = 0
    cleared: int = 0
    by_access: dict = dataclass_field(default_factory=dict)

    def as_dict(self):
        return dict(self.__dict__)


class _CounterLedger:
    """Conservation of the ``rc`` fields, on the gateware's outputs: events driven ==
    counts returned by clearing reads + ``data``, for every field that never saturated."""

    def __init__(self, registers):
        self.fields = [(instance, field) for instance in registers.instances()
                       for field in instance.register.fields if field.access == "rc"]
        self.events = {port_name(i, f, "data"): 0 for i, f in self.fields}
        self.cleared = dict.fromkeys(self.events, 0)
        self.saturated = set()

    def answered(self, result):
        """A read answered: the counts it cleared."""
        access = result.access
        if access.write or result.response != "ack":
            return
        for instance, field in self.fields:
            if instance.offset == access.offset and access.sel & field.lanes == field.lanes:
                self.cleared[port_name(instance, field, "data")] += \
                    (result.data & field.mask) >> field.lsb

    def check(self, cycle, observed, hint):
        for instance, field in self.fields:
            name = port_name(instance, field, "data")
            held = observed[name]
            if held == field.maximum:
                self.saturated.add(name)
            if name in self.saturated:
                continue
            if self.events[name] != self.cleared[name] + held:
                raise Mismatch(f"cycle {cycle}: {name}: {self.events[name]} events != "
                               f"{self.cleared[name]} read and cleared + {held} held; {hint}")

    def driven(self, inputs):
        for instance, field in self.fields:
            self.events[port_name(instance, field, "data")] += \
                inputs.get(port_name(instance, field, "inc"), 0)


async def run_register_lockstep(ports, model, master, activity, *, hint, cycles=None):
    """Run ``master``'s queued accesses (and ``activity`` every cycle) on the gateware behind
    ``ports`` and on ``model``, comparing every output every cycle; return a
    :class:`RegisterLockstepResult`. Runs until the master is idle (or for ``cycles``, if
    more). Every cycle: every access answered once, ``unmapped`` exact, counters conserved."""
    registers = model.registers
    ledger = _CounterLedger(registers)
    result = RegisterLockstepResult()
    answers = master.answer_names(ports.has)
    expected_unmapped = 0
    cycle = 0
    while not master.idle or (cycles is not None and cycle < cycles):
        inputs = {**master.drive(), **activity.drive()}
        ports.drive(**inputs)
        await ports.settle()
        observed = compare_outputs(cycle, model.step(**inputs), ports, hint)
        answered = len(master.results)
        master.advance(**{keyword: observed[name] for keyword, name in answers.items()})
        for outcome in master.results[answered:]:
            ledger.answered(outcome)
            mapped = registers.lookup(outcome.access.offset) is not None
            result.delivered += mapped
            expected_unmapped += not mapped
            if mapped:
                mode = registers.lookup(outcome.access.offset).register.access
                kind = f"{mode}/{'write' if outcome.access.write else 'read'}"
                result.by_access[kind] = result.by_access.get(kind, 0) + 1
        # an access is answered in the cycle its unmapped count shows
        if observed["unmapped"] != min(expected_unmapped, _COUNTER_MAX):
            raise Mismatch(f"cycle {cycle}: unmapped is {observed['unmapped']}, but "
                           f"{expected_unmapped} unmapped accesses were answered; {hint}")
        ledger.check(cycle, observed, hint)
        ledger.driven(inputs)
        await ports.tick()
        cycle += 1
    result.cycles = cycle
    result.offered = len(master.results)
    result.dropped["unmapped"] = expected_unmapped
    result.events = sum(ledger.events.values())
    result.cleared = sum(ledger.cleared.values())
    if result.offered != result.delivered + result.dropped["unmapped"]:
        raise Mismatch(f"conservation broken: offered {result.offered} != delivered "
                       f"{result.delivered} + unmapped {result.dropped['unmapped']}; {hint}")
    return result


def simulate(design, testbench):
    """Run ``await testbench(ctx)`` on ``design`` in the Amaranth simulator with a clock; return
    what it returns."""
    from amaranth.sim import Simulator

    outcome = {}

    async def wrapper(ctx):
        outcome["result"] = await testbench(ctx)

    simulator = Simulator(design)
    simulator.add_clock(1e-8)
    simulator.add_testbench(wrapper)
    simulator.run()
    return outcome["result"]


def lockstep_in_amaranth(registers, *, seed, accesses, pipelined=False, unmapped="ack",
                         latency=1, rate=0.3, hint="", cycles=None):
    """Run :func:`run_register_lockstep` on a fresh gateware bank in the Amaranth simulator
    (``accesses``: a list of :class:`~slique.sim.wishbone.WishboneAccess`); return the result."""
    from slique.hdl.register_bank import RegisterBank as GatewareBank

    from .lockstep import AmaranthPorts
    from .wishbone import WishboneMaster

    dut = GatewareBank(registers, pipelined=pipelined, unmapped=unmapped, latency=latency)
    model = RegisterBank(registers, pipelined=pipelined, unmapped=unmapped, latency=latency)
    master = WishboneMaster(pipelined=pipelined)
    master.submit(*accesses)
    activity = BlockActivity(random.Random(seed), registers, rate=rate)
    return simulate(dut, lambda ctx: run_register_lockstep(
        AmaranthPorts(ctx, dut), model, master, activity, hint=hint or f"seed={seed}",
        cycles=cycles))
