"""The register side of a board: a UART bridge in front of register banks.

:class:`BridgeSoC` puts a :class:`~slique.hdl.UartBridge` in front of a list of
:class:`~slique.hdl.RegisterBank`: bank ``i`` answers the word addresses
``i * BANK_WORDS .. (i + 1) * BANK_WORDS - 1`` (byte offsets ``i * 0x4000 + offset``); bank 0
is the bridge's own (:data:`~slique.hdl.uart_bridge.BRIDGE_REGISTERS`, its counters wired
here). An address in no bank is answered with ``err`` the cycle after it is requested, so the
host gets ``BUS_ERROR`` rather than a hang. The board top drives the other banks' ports.
"""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from slique.hdl.register_bank import RegisterBank
from slique.hdl.uart_bridge import (ADDR_WIDTH, BRIDGE_ID, DEFAULT_DIVISOR, DEFAULT_MAX_BURST,
                                    DEFAULT_TIMEOUT, Status, StrayByte, UartBridge,
                                    bridge_registers, frame_counter_name, stray_counter_name)


__all__ = ["BridgeSoC", "BANK_ADDR_WIDTH", "BANK_WORDS", "register_address", "bank"]


#: Word-address bits inside one bank's window.
BANK_ADDR_WIDTH = 12
BANK_WORDS = 1 << BANK_ADDR_WIDTH


def bank(registers, **options):
    """A :class:`RegisterBank` for a :class:`BridgeSoC` window (``unmapped="err"``)."""
    return RegisterBank(registers, unmapped="err", addr_width=BANK_ADDR_WIDTH, **options)


def register_address(bank_index, offset):
    """The bridge's word address of the register at byte ``offset`` of bank ``bank_index``."""
    return bank_index * BANK_WORDS + offset // 4


class BridgeSoC(wiring.Component):
    """A UART bridge and register banks.

    Parameters
    ----------
    banks : list of wiring.Component
        Banks 1, 2, ...: components with a classic Wishbone slave port ``bus`` (32-bit data,
        byte granularity, ``addr_width`` at most :data:`BANK_ADDR_WIDTH`): a
        :class:`RegisterBank` made with :func:`bank`, or a
        :class:`~slique.hdl.registered_block.RegisteredBlock`. Bank 0 is the bridge's own. In
        a bank's window, addresses beyond its ``addr_width`` are answered with ``err``.
    divisor, max_burst, timeout : int
        Of the :class:`~slique.hdl.UartBridge`.
    counter_bits : int
        Of bank 0's counters (:func:`~slique.hdl.uart_bridge.bridge_registers`).
    latency : 1 or 2
        Of bank 0 (see :class:`~slique.hdl.register_bank.RegisterBank`): 2, the default, decodes
        a registered request (for 125 MHz on the Colorlight's ECP5); 1 saves the request
        registers where the clock is slow and the device full (the iCEBreaker).

    Attributes
    ----------
    rx : ``In(1)``
    tx : ``Out(1)``
    banks : list of RegisterBank
        Every bank, the bridge's first.
    """

    def __init__(self, banks=(), *, divisor=DEFAULT_DIVISOR, max_burst=DEFAULT_MAX_BURST,
                 timeout=DEFAULT_TIMEOUT, counter_bits=32, latency=2):
        self.bridge = UartBridge(divisor=divisor, max_burst=max_burst, timeout=timeout)
        self.banks = [bank(bridge_registers(counter_bits), latency=latency), *banks]
        if len(self.banks) > 1 << (ADDR_WIDTH - BANK_ADDR_WIDTH):
            raise ValueError(f"At most {1 << (ADDR_WIDTH - BANK_ADDR_WIDTH)} banks, not "
                             f"{len(self.banks)}")
        for index, register_bank in enumerate(self.banks):
            bus = getattr(register_bank, "bus", None)
            if bus is None or len(bus.adr) > BANK_ADDR_WIDTH or len(bus.dat_w) != 32 or \
                    hasattr(bus, "stall"):
                raise ValueError(f"Bank {index} needs a classic 32-bit Wishbone port `bus` with "
                                 f"addr_width at most {BANK_ADDR_WIDTH}, as slique.boards.soc."
                                 f"bank() makes")
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.bridge = bridge = self.bridge
        m.d.comb += [bridge.rx.eq(self.rx), self.tx.eq(bridge.tx)]

        own = self.banks[0]
        m.d.comb += own.BRIDGE_ID.r_data.eq(BRIDGE_ID)
        def counter(name):
            ports = getattr(own, name)
            return getattr(ports, name, ports)  # a field of the register's name, or the register

        for status in Status:
            m.d.comb += counter(frame_counter_name(status)).inc.eq(
                bridge.frame_done.valid & (bridge.frame_done.payload == status))
        for reason in StrayByte:
            m.d.comb += counter(stray_counter_name(reason)).inc.eq(
                bridge.stray_byte.valid & (bridge.stray_byte.payload == reason))

        bus = bridge.bus
        select = bus.adr[BANK_ADDR_WIDTH:]
        hit = Signal()
        acks, errors = [], []
        for index, register_bank in enumerate(self.banks):
            m.submodules[f"bank{index}"] = register_bank
            target = register_bank.bus
            width = len(target.adr)
            chosen = (select == index) & (bus.adr[width:BANK_ADDR_WIDTH] == 0)
            m.d.comb += [
                target.adr.eq(bus.adr[:width]),
                target.dat_w.eq(bus.dat_w),
                target.sel.eq(bus.sel),
                target.we.eq(bus.we),
                target.cyc.eq(bus.cyc & chosen),
                target.stb.eq(bus.stb & chosen),
            ]
            with m.If(chosen):
                m.d.comb += [hit.eq(1), bus.dat_r.eq(target.dat_r)]
            # A bank answers only a request it was given (its cyc and stb are gated by
            # `chosen`), while the bridge still holds the address: its ack and err need no
            # address decoder in front of the bridge's state machine.
            acks.append(target.ack)
            if hasattr(target, "err"):
                errors.append(target.err)
        # No bank there: err, the cycle after the request (and not again until it is dropped).
        nowhere = Signal()
        m.d.sync += nowhere.eq(bus.cyc & bus.stb & ~hit & ~nowhere)
        m.d.comb += [bus.ack.eq(Cat(acks).any()), bus.err.eq(Cat(*errors, nowhere).any())]
        return m
