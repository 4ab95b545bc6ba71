"""Golden model of :class:`slique.hdl.RegisteredBlock`: a block's golden model behind the golden
register bank, wired by the same binding as the gateware, and its lockstep scoreboard.

:class:`RegisteredBlock` steps one clock cycle at a time with the gateware's flattened port
names: the bus (``bus__cyc``, ...) and the block's own unbound ports (``i_stream__valid``,
``o_stream__ready``, ...). In each cycle the block's configuration is what the bank holds at the
start of the cycle (as the gateware's registers), the counters' increments and the status go
to the bank in the same cycle, and a :class:`~slique.hdl.block_registers.Command` reaches the
block the cycle after the bank's strobe.

:func:`run_registered_lockstep` drives a :class:`~slique.sim.wishbone.WishboneMaster` and a
traffic source into the gateware (through a port adapter) and the model, compares every output
every cycle, and returns the answers of the bus accesses.
"""

from dataclasses import fields, is_dataclass

from slique.hdl.block_registers import Command, Config, Counter, Status, Table, Words, \
    bound_ports

from .lockstep import compare_outputs
from .register_bank import RegisterBank


__all__ = ["RegisteredBlock", "input_widths", "run_registered_lockstep", "register_name"]


def input_widths(component):
    """``{flattened name: width}`` of every port of a gateware component."""
    from amaranth import Value

    return {"__".join(map(str, path)): len(Value.cast(value))
            for path, _flow, value in component.signature.flatten(component)}


def register_name(registers, register, port, *, index=None, field=None):
    """Flattened name of a bank port: ``"RETA__3__ENTRY1__data"``, ``"MPC__inc"``."""
    path = [register] + ([index] if index is not None else [])
    if not registers[register].single:
        path.append(field)
    return "__".join(map(str, path + [port]))


def _outputs(ports):
    if isinstance(ports, dict):
        return dict(ports)
    if is_dataclass(ports):
        return {item.name: getattr(ports, item.name) for item in fields(ports)}
    raise TypeError(f"A golden model's outputs must be a dict or a dataclass, not {ports!r}")


def _saturate(value, width):
    return min(value, (1 << width) - 1)


class RegisteredBlock:
    """Cycle-accurate golden model of a block behind its register bank.

    Parameters
    ----------
    model
        The block's golden model (``step(**inputs)``).
    registers, binding
        As for the gateware.
    widths : dict
        ``{port: width}`` of the block's ports (:func:`input_widths` of the gateware block).
    pipelined, latency, unmapped
        As for the bank.
    """

    def __init__(self, model, registers, binding, *, widths, pipelined=False, latency=1,
                 unmapped="ack"):
        self.model = model
        self.registers = registers
        self.binding = tuple(binding)
        self.widths = dict(widths)
        self.bank = RegisterBank(registers, pipelined=pipelined, latency=latency,
                                 unmapped=unmapped)
        self._bound = bound_ports(self.binding)
        self._last = {}        # Counter: the low bits of the counter a cycle before
        self._scrub = {}       # Table: the entry copied this cycle
        self._commands = {}    # Command: the block's inputs, registered
        for item in self.binding:
            if isinstance(item, Command):
                self._commands[item.register] = {item.write: 0, **{port: 0 for port, _ in
                                                                   item.ports}}

    def _value(self, register, field=None, index=None):
        description = self.registers[register]
        file = self.bank.file
        if field is not None or description.single:
            return file.value(register, field, index)
        return sum(file.value(register, each.name, index) << each.lsb
                   for each in description.fields)

    def _block_inputs(self):
        """The block's inputs driven by the bank in this cycle."""
        inputs = {}
        for item in self.binding:
            if isinstance(item, Config):
                inputs[item.port] = _saturate(self._value(item.register, item.field),
                                              self.widths[item.port])
            elif isinstance(item, Words):
                count = self.registers[item.register].count
                words = sum(self._value(item.register, index=index) << (32 * index)
                            for index in range(count))
                width = self.widths[item.port]
                if item.byte_order == "rssrk":
                    data = words.to_bytes(4 * count, "little")[:width // 8]
                    inputs[item.port] = int.from_bytes(data, "big")
                else:
                    inputs[item.port] = words & ((1 << width) - 1)
            elif isinstance(item, Table):
                entry = self._scrub.get(item.register, 0)
                per_register = len(item.fields)
                value = self._value(item.register, item.fields[entry % per_register],
                                    entry // per_register)
                inputs.update({item.index: entry, item.write: 1,
                               item.value: value & ((1 << self.widths[item.value]) - 1)})
            elif isinstance(item, Command):
                for port, value in self._commands[item.register].items():
                    inputs[port] = value & ((1 << self.widths[port]) - 1)
        return inputs

    def step(self, **inputs):
        """Outputs during one cycle with these inputs (bus and block ports); then the clock
        edge."""
        bus = {name: value for name, value in inputs.items() if name.startswith("bus__")}
        traffic = {name: value for name, value in inputs.items() if not name.startswith("bus__")}
        block = _outputs(self.model.step(**traffic, **self._block_inputs()))

        bank_inputs = {}
        registers = self.registers
        for item in self.binding:
            if isinstance(item, Counter):
                width = registers[item.register].fields[0].inc_width
                mask = (1 << width) - 1
                counter = block[item.port] & mask
                inc = (counter - self._last.get(item.port, 0)) & mask
                self._last[item.port] = counter
                bank_inputs[register_name(registers, item.register, "inc",
                                          index=item.index)] = inc
                if item.cause is not None:
                    register, field = item.cause
                    name = register_name(registers, register, "set", field=field)
                    bank_inputs[name] = bank_inputs.get(name, 0) | int(inc != 0)
            elif isinstance(item, Status):
                bank_inputs[register_name(registers, item.register, "r_data",
                                          index=item.index)] = block[item.port]
        bank = self.bank.step(**bus, **bank_inputs)

        # The clock edge of the wrapper's own registers.
        for item in self.binding:
            if isinstance(item, Table):
                entry = self._scrub.get(item.register, 0)
                self._scrub[item.register] = (entry + 1) % item.entries
            elif isinstance(item, Command):
                strobe = bank[register_name(registers, item.register, "w_stb",
                                            field=item.strobe)]
                state = self._commands[item.register]
                state[item.write] = strobe
                if strobe:
                    for port, field in item.ports:
                        state[port] = bank[register_name(registers, item.register, "w_data",
                                                         field=field)]

        outputs = {name: value for name, value in bank.items()
                   if name.startswith("bus__") or name == "unmapped"}
        outputs.update({name: value for name, value in block.items()
                        if name.split("__")[0] not in self._bound})
        return outputs


async def run_registered_lockstep(ports, model, master, traffic, *, hint, cycles=0, until=None,
                                  limit=100_000):
    """Run the master's queued accesses and ``traffic`` on the gateware behind ``ports`` and on
    ``model`` (a :class:`RegisteredBlock`) in lockstep, every output compared every cycle, for
    at least ``cycles`` cycles and until the master is idle and ``until()`` (if given) is true;
    return the cycles run.

    ``traffic`` has ``inputs()`` (this cycle's block inputs) and ``advance(observed)`` (the
    clock edge, with the outputs as observed)."""
    answers = master.answer_names(ports.has)
    cycle = 0
    while cycle < cycles or not master.idle or (until is not None and not until()):
        if cycle >= limit:
            raise AssertionError(f"not done after {limit} cycles; {hint}")
        inputs = {**traffic.inputs(), **master.drive()}
        ports.drive(**inputs)
        await ports.settle()
        observed = compare_outputs(cycle, model.step(**inputs), ports, hint)
        master.advance(**{keyword: observed[name] for keyword, name in answers.items()})
        traffic.advance(observed)
        await ports.tick()
        cycle += 1
    return cycle
