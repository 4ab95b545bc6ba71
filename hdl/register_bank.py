"""The register bank: a 32-bit Wishbone B4 slave generated from a register description."""

from functools import reduce
from operator import or_

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from . import wishbone
from ._parameters import check_choice
from .bounded_slique import COUNTER_WIDTH
from .registers import REGISTER_BYTES, REGISTER_WIDTH, RegisterMap


__all__ = ["RegisterBank", "UNMAPPED_MODES", "LATENCIES"]


#: Cycles from an accepted request to its answer.
LATENCIES = (1, 2)

#: What the bank answers to an access at an offset where no register is: ``"ack"`` (read data
#: 0, writes ignored) or ``"err"`` (the bus's ``err``). Both count it in ``unmapped``.
UNMAPPED_MODES = ("ack", "err")


class RegisterBank(wiring.Component):
    """A 32-bit Wishbone B4 slave holding the registers of one block.

    Built from a :class:`~slique.hdl.registers.RegisterMap`: every register becomes a port group
    named after it (an array of groups for a :class:`~slique.hdl.registers.RegisterArray`), with
    one group per field (a register without fields is its own single field). What each access
    mode drives and reads is in :mod:`slique.hdl.registers`: configuration (``rw``) and commands
    (``w``) are ``Out`` ports driving the block; status (``r``) is an ``In`` port read from it;
    read-to-clear counters (``rc``), write-1-to-clear cause bits (``w1c``) and write-1-to-set
    masks (``w1s``) are kept here, with ``In`` event ports (``inc``, ``set``, ``clear``) and an
    ``Out`` port with the value (``data``).

    Bus protocol
    ------------
    ``adr`` is a word address: the register at byte offset ``o`` answers ``adr == o >> 2``,
    every address bit compared. ``sel`` selects bytes of a write (unselected bytes keep their
    value); reads return the whole word whatever ``sel`` is, and only ``rc`` counters look at
    it (a read clears a counter only if it selects all of the counter's bytes).

    - Classic (``pipelined=False``): a request (``cyc & stb``) is accepted when no earlier one
      is in flight, and answered ``latency`` cycles later (registered ``ack``, ``dat_r``) while
      the initiator still holds it; one access per ``latency + 1`` cycles. ``cti`` / ``bte``
      are not needed: as Wishbone B4 lets a slave do, every access is served as a classic one,
      so burst initiators work (at one beat per ``latency + 1`` cycles).
    - Pipelined (``pipelined=True``, the bus has ``stall``, always low): every cycle with
      ``cyc & stb`` is a request, answered ``latency`` cycles later, in order; one access per
      cycle.

    ``latency=1``: the access is decoded in the cycle it is accepted and takes effect at that
    clock edge. ``latency=2``: the request is registered first and decoded in the next cycle,
    where it takes effect; the address decoder and the read multiplexer then have a cycle of
    their own (for large maps, or a fast clock). Either way an access takes effect at the edge
    that captures its ``dat_r`` (``r_stb`` is high in that cycle, the write is visible and the
    counter cleared from the answer's cycle on), accesses take effect in order, and an
    initiator dropping ``cyc`` before the answer does not undo one.

    Unmapped offsets (no register there) never hang the bus: with ``unmapped="ack"`` (the
    default, as the i225 does for reserved offsets) the access is acknowledged with
    ``dat_r == 0`` and has no effect; with ``unmapped="err"`` it is answered with ``err``
    instead. Either way ``unmapped`` counts it (32-bit, saturating), so
    ``accesses == acknowledged mapped accesses + unmapped``.

    Parameters
    ----------
    registers : RegisterMap
        The description.
    pipelined : bool
        Pipelined handshake (a ``stall`` signal) rather than classic.
    unmapped : ``"ack"`` or ``"err"``
        Answer to an access where no register is; ``"err"`` adds ``err`` to the bus.
    addr_width : int or None
        Width of ``bus.adr``; at least ``registers.addr_width`` (the default).
    latency : 1 or 2
        Cycles from an accepted request to its answer (see above).

    Attributes
    ----------
    bus : ``In(wishbone.Signature(addr_width, data_width=32, granularity=8, features))``
        The slave port.
    unmapped : ``Out(32)``
        Accesses at unmapped offsets; saturates.
    <register name> : ``Out(register.signature)`` (or an array of them)
        The register's ports, e.g. ``bank.CTRL.ENABLE.data``, ``bank.MPC.inc``,
        ``bank.RDBAL[1].data``.
    """

    def __init__(self, registers, *, pipelined=False, unmapped="ack", addr_width=None, latency=1):
        if not isinstance(registers, RegisterMap):
            raise TypeError(f"RegisterBank needs a RegisterMap, not {registers!r}")
        self._registers = registers
        self._pipelined = bool(pipelined)
        self._unmapped_mode = check_choice("unmapped", unmapped, UNMAPPED_MODES)
        self._latency = check_choice("latency", latency, LATENCIES)
        if addr_width is None:
            addr_width = registers.addr_width
        if isinstance(addr_width, bool) or not isinstance(addr_width, int) \
                or addr_width < registers.addr_width:
            raise ValueError(f"addr_width must be an integer >= {registers.addr_width} (to reach "
                             f"offset {registers.size - REGISTER_BYTES:#x}), not {addr_width!r}")
        features = set()
        if self._pipelined:
            features.add(wishbone.Feature.STALL)
        if unmapped == "err":
            features.add(wishbone.Feature.ERR)
        members = {
            "bus": In(wishbone.Signature(addr_width=addr_width, data_width=REGISTER_WIDTH,
                                         granularity=8, features=features)),
            "unmapped": Out(COUNTER_WIDTH),
        }
        for register in registers:
            members[register.name] = register.member
        super().__init__(members)

    registers = property(lambda self: self._registers, doc="The description.")
    pipelined = property(lambda self: self._pipelined, doc="Whether the bus is pipelined.")
    unmapped_mode = property(lambda self: self._unmapped_mode,
                             doc='``"ack"`` or ``"err"``.')
    latency = property(lambda self: self._latency, doc="Cycles from request to answer.")

    def ports_of(self, instance, field=None):
        """The port group of a :class:`~slique.hdl.registers.RegisterInstance` (of one of its
        fields, by name, for a register with fields)."""
        group = getattr(self, instance.register.name)
        if instance.index is not None:
            group = group[instance.index]
        if field is not None and not instance.register.single:
            group = getattr(group, field)
        return group

    def elaborate(self, platform):
        m = Module()
        bus = self.bus

        answered = Signal()  # ack or err in this cycle
        request, hits, mapped = self._request(m, answered)
        read = Signal()
        write = Signal()
        lanes = Signal(REGISTER_WIDTH)
        m.d.comb += [
            read.eq(request.valid & ~request.we),
            write.eq(request.valid & request.we),
            lanes.eq(Cat(bit.replicate(8) for bit in request.sel)),
        ]

        words = []
        for instance, hit in zip(self._registers.instances(), hits):
            word = self._register(m, instance, request, hit=hit, read=read, write=write,
                                  lanes=lanes)
            words.append(Mux(hit, word, 0))

        m.d.sync += [
            answered.eq(request.valid),
            bus.dat_r.eq(Mux(read & mapped, reduce(or_, words), 0)),
        ]
        if self._unmapped_mode == "err":
            m.d.sync += [bus.ack.eq(request.valid & mapped),
                         bus.err.eq(request.valid & ~mapped)]
        else:
            m.d.sync += bus.ack.eq(request.valid)
        with m.If(request.valid & ~mapped & (self.unmapped != (1 << COUNTER_WIDTH) - 1)):
            m.d.sync += self.unmapped.eq(self.unmapped + 1)
        return m

    def _request(self, m, answered):
        """The request decoded in this cycle, its address decoded (one ``hit`` per register)
        and whether it is ``mapped``: the bus's, as it is accepted (``latency=1``), or the one
        accepted in the previous cycle, registered with its decoded address (``latency=2``)."""
        bus = self.bus
        request = Signal(data.StructLayout({
            "valid": 1, "we": 1, "sel": len(bus.sel), "dat_w": len(bus.dat_w)}))
        if self._pipelined:
            m.d.comb += bus.stall.eq(0)
        accept = Signal()
        incoming = Cat(accept, bus.we, bus.sel, bus.dat_w)
        instances = self._registers.instances()
        hits = [Signal(name=f"hit_{'_'.join(map(str, instance.path))}")
                for instance in instances]
        decoded = [bus.adr == instance.offset // REGISTER_BYTES for instance in instances]
        mapped = Signal()
        if self._latency == 1:
            busy = answered
            domain = m.d.comb
        else:
            busy = answered | request.valid
            domain = m.d.sync
        domain += [request.eq(incoming), mapped.eq(Cat(decoded).any()),
                   *[hit.eq(value) for hit, value in zip(hits, decoded)]]
        m.d.comb += accept.eq(bus.cyc & bus.stb & (C(self._pipelined) | ~busy))
        return request, hits, mapped

    def _register(self, m, instance, request, *, hit, read, write, lanes):
        """The logic of one register; returns its read value."""
        register = instance.register
        word = Signal(REGISTER_WIDTH, name=f"word_{'_'.join(map(str, instance.path))}")
        for field in register.fields:
            ports = self.ports_of(instance, field.name)
            bits = slice(field.lsb, field.msb + 1)
            selected = (request.sel & field.lanes).any()
            whole = (request.sel & field.lanes) == field.lanes
            wmask = lanes[bits]
            wdata = request.dat_w[bits] & wmask
            value = _FIELD_LOGIC[field.access](
                m, field, ports, hit=hit, read=read, write=write, selected=selected,
                whole=whole, wmask=wmask, wdata=wdata)
            m.d.comb += word[bits].eq(value)
        return word


def _rw(m, field, ports, *, hit, write, selected, wmask, wdata, **_):
    bus_write = write & hit & selected
    with m.If(bus_write):
        m.d.sync += ports.data.eq(ports.data & ~wmask | wdata)
    if field.hw_write:
        with m.Elif(ports.hw_stb):
            m.d.sync += ports.data.eq(ports.hw_data)
    m.d.sync += ports.w_stb.eq(bus_write)
    return ports.data


def _r(m, field, ports, *, hit, read, selected, **_):
    m.d.comb += ports.r_stb.eq(read & hit & selected)
    return ports.r_data


def _w(m, field, ports, *, hit, write, selected, wdata, **_):
    bus_write = write & hit & selected
    m.d.sync += ports.w_stb.eq(bus_write)
    with m.If(bus_write):
        m.d.sync += ports.w_data.eq(wdata)
    return C(0, field.width)


def _rc(m, field, ports, *, hit, read, whole, **_):
    # The clearing read only selects, at the end: the adder and its saturation see the count
    # and the events alone, not the address decoder (events in the clearing cycle are kept,
    # and fit, since ``inc`` is no wider than the field).
    if field.inc_width == 1:
        # A strobe: the count moves on unless it is at its maximum, which a flip-flop beside
        # the count says (set as the count steps onto it), so that the adder's carry in is one
        # gate from flip-flops and no compare lies before the carry chain.
        at_maximum = Signal(name=f"{field.name}_at_maximum",
                            init=int(ports.data.init == field.maximum))
        step = ports.inc & ~at_maximum
        saturated = (ports.data + step)[:field.width]
        m.d.sync += at_maximum.eq(Mux(read & hit & whole, ports.inc == field.maximum,
                                      Mux(step, ports.data == field.maximum - 1, at_maximum)))
    else:
        total = Signal(field.width + 1, name=f"{field.name}_total")
        m.d.comb += total.eq(ports.data + ports.inc)
        saturated = Mux(total[-1], field.maximum, total[:-1])
    m.d.sync += ports.data.eq(Mux(read & hit & whole, ports.inc, saturated))
    return ports.data


def _w1c(m, field, ports, *, hit, write, wdata, **_):
    cleared = Mux(write & hit, wdata, 0)
    m.d.sync += ports.data.eq(ports.data & ~cleared | ports.set)
    return ports.data


def _w1s(m, field, ports, *, hit, write, wdata, **_):
    raised = Mux(write & hit, wdata, 0)
    m.d.sync += ports.data.eq(ports.data & ~ports.clear | raised)
    return ports.data


_FIELD_LOGIC = {"rw": _rw, "r": _r, "w": _w, "rc": _rc, "w1c": _w1c, "w1s": _w1s}
