"""A block behind its register bank: one Wishbone slave for its configuration and counters."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from .block_registers import Command, Config, Counter, Status, Table, Words, bound_ports
from .register_bank import RegisterBank
from .registers import REGISTER_WIDTH, RegisterMap


__all__ = ["RegisteredBlock", "port_of"]


def port_of(component, name):
    """The port of ``component`` with flattened name ``name`` (``"delivered__2"``), as a
    :class:`Value` (the raw bits of a view)."""
    value = component
    for part in name.split("__"):
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return Value.cast(value)


def _saturated(value, width):
    """``value`` cut to ``width`` bits, or all ones when it does not fit."""
    value = Value.cast(value)
    if len(value) <= width:
        return value
    return Mux(value[width:].any(), (1 << width) - 1, value[:width])


class RegisteredBlock(wiring.Component):
    """A block and a :class:`~slique.hdl.RegisterBank` of its registers, wired by a binding
    (:mod:`slique.hdl.block_registers` describes the kinds): the block's configuration comes
    from the bank, its counters and status go to the bank, and the rest of its ports (streams,
    trace) are the wrapper's own, with the same names.

    Parameters
    ----------
    block : wiring.Component
        The block (elaborated as the submodule ``block``).
    registers : RegisterMap
        Its register map.
    binding : tuple
        The binding (``admission_binding()``, ...).
    pipelined, latency, unmapped
        As for :class:`~slique.hdl.RegisterBank`.

    Attributes
    ----------
    bus : ``In(wishbone.Signature(...))``
        The bank's Wishbone slave port.
    unmapped : ``Out(32)``
        The bank's count of accesses at unmapped offsets.
    <port>
        Every port of the block that the binding does not use.
    """

    def __init__(self, block, registers, binding, *, pipelined=False, latency=1,
                 unmapped="ack"):
        if not isinstance(registers, RegisterMap):
            raise TypeError(f"RegisteredBlock needs a RegisterMap, not {registers!r}")
        self._block = block
        self._binding = tuple(binding)
        self._bank = RegisterBank(registers, pipelined=pipelined, latency=latency,
                                  unmapped=unmapped)
        self._bound = bound_ports(self._binding)
        members = {
            "bus": self._bank.signature.members["bus"],
            "unmapped": Out(self._bank.signature.members["unmapped"].shape),
        }
        for name, member in block.signature.members.items():
            if name not in self._bound:
                if name in members:
                    raise ValueError(f"The block's port {name!r} has the name of a port of the "
                                     f"register bank")
                members[name] = member
        super().__init__(members)

    block = property(lambda self: self._block, doc="The block.")
    bank = property(lambda self: self._bank, doc="The register bank.")
    registers = property(lambda self: self._bank.registers, doc="The register map.")
    binding = property(lambda self: self._binding, doc="The binding.")

    def elaborate(self, platform):
        m = Module()
        m.submodules.block = block = self._block
        m.submodules.bank = bank = self._bank
        wiring.connect(m, wiring.flipped(self.bus), bank.bus)
        m.d.comb += self.unmapped.eq(bank.unmapped)

        own = {"__".join(map(str, path)): value
               for path, _member, value in self.signature.flatten(self)}
        for path, member, value in block.signature.flatten(block):
            name = "__".join(map(str, path))
            if path[0] in self._bound:
                continue
            if isinstance(Value.cast(value), Const):
                continue  # a constant member (a trace port's ``ready``)
            if member.flow == Out:
                m.d.comb += own[name].eq(value)
            else:
                m.d.comb += value.eq(own[name])

        registers = self.registers
        for item in self._binding:
            if isinstance(item, Config):
                port = port_of(block, item.port)
                m.d.comb += port.eq(_saturated(self._word(m, bank, item.register, item.field),
                                               len(port)))
            elif isinstance(item, Status):
                group = self._group(bank, item.register, item.index)
                m.d.comb += group.r_data.eq(port_of(block, item.port))
            elif isinstance(item, Counter):
                self._counter(m, registers, bank, block, item)
            elif isinstance(item, Words):
                self._words(m, bank, block, item)
            elif isinstance(item, Table):
                self._table(m, bank, block, item)
            elif isinstance(item, Command):
                self._command(m, bank, block, item)
            else:
                raise TypeError(f"Unknown binding {item!r}")
        return m

    @staticmethod
    def _group(bank, register, index=None, field=None):
        group = getattr(bank, register)
        if index is not None:
            group = group[index]
        if field is not None and not bank.registers[register].single:
            group = getattr(group, field)
        return group

    def _word(self, m, bank, register, field=None):
        """The value an ``rw`` register (or one of its fields) holds, shifted down."""
        description = bank.registers[register]
        if field is not None or description.single:
            return self._group(bank, register, None, field or register).data
        word = Signal(REGISTER_WIDTH, name=f"{register.lower()}_word")
        for each in description.fields:
            m.d.comb += word[each.lsb:each.msb + 1].eq(
                self._group(bank, register, None, each.name).data)
        return word

    def _counter(self, m, registers, bank, block, item):
        """``inc`` = the counter's increase since the previous cycle, on the field's
        ``inc_width`` low bits (a counter that moves by less than ``2**inc_width`` a cycle)."""
        field = registers[item.register].fields[0]
        width = field.inc_width
        counter = port_of(block, item.port)[:width]
        last = Signal(width, name=f"{item.port}_last")
        inc = Signal(width, name=f"{item.port}_inc")
        m.d.sync += last.eq(counter)
        m.d.comb += [inc.eq(counter - last),
                     self._group(bank, item.register, item.index).inc.eq(inc)]
        if item.cause is not None:
            register, name = item.cause
            m.d.comb += self._group(bank, register, None, name).set.eq(inc.any())

    def _words(self, m, bank, block, item):
        port = port_of(block, item.port)
        words = Cat(element.data for element in getattr(bank, item.register))
        if item.byte_order == "rssrk":
            count = len(port) // 8
            m.d.comb += port.eq(Cat(words[8 * byte:8 * byte + 8]
                                    for byte in reversed(range(count))))
        else:
            m.d.comb += port.eq(words[:len(port)])

    def _table(self, m, bank, block, item):
        """Copy every entry into the block's table, one a cycle, round robin."""
        entry = Signal(range(item.entries), name=f"{item.register.lower()}_scrub")
        m.d.sync += entry.eq(Mux(entry == item.entries - 1, 0, entry + 1))
        values = Array(getattr(element, field).data
                       for element in getattr(bank, item.register) for field in item.fields)
        if len(values) != item.entries:
            raise ValueError(f"{item.register} holds {len(values)} table entries, not "
                             f"{item.entries}")
        m.d.comb += [
            port_of(block, item.index).eq(entry),
            port_of(block, item.value).eq(values[entry]),
            port_of(block, item.write).eq(1),
        ]

    def _command(self, m, bank, block, item):
        group = getattr(bank, item.register)
        m.d.sync += port_of(block, item.write).eq(getattr(group, item.strobe).w_stb)
        with m.If(getattr(group, item.strobe).w_stb):
            for port, field in item.ports:
                m.d.sync += port_of(block, port).eq(getattr(group, field).w_data)
