"""UART-to-Wishbone bridge: the host reads and writes the register banks over a serial line.

Protocol (version 1)
====================
Bytes are 8N1. Every request gets exactly one reply; the host sends the next request only
after the reply to the last one (bytes that arrive while the bridge executes or replies are
dropped and counted). Multi-byte fields are big-endian. The checksum is CRC-16/IBM-3740
(CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR) over
every byte after the start byte, sent high byte first.

Request::

    0xA5 | TAG | OP | COUNT | ADDR_H | ADDR_L | DATA (4 x COUNT bytes, writes only) | CRC_H | CRC_L

Reply::

    0x5A | TAG | OP | STATUS | DONE | DATA (4 x DONE bytes, reads only) | CRC_H | CRC_L

- ``TAG`` is any byte the host chooses; the reply carries it back (0 when the frame ended
  before its tag), so a host matches replies to requests and drops stale ones. The reply
  carries ``OP`` back too (0 when the frame ended before it), so that it tells its own length:
  ``DATA`` is there when ``OP`` is a read (bit 0 clear), ``4 x DONE`` bytes.
- ``OP`` (:class:`Opcode`): bit 0 write, bit 1 fixed address (every word at ``ADDR``, to pop a
  FIFO-like register; otherwise ``ADDR, ADDR + 1, ...``); other bits must be 0.
- ``COUNT``: words, 1 to ``max_burst`` (64 by default).
- ``ADDR``: the Wishbone word address of the first word (register byte offset >> 2).
- ``DONE``: words completed; equal to ``COUNT`` when ``STATUS`` is ``OK``.
- ``STATUS`` (:class:`Status`): ``OK``; ``BAD_CRC``, ``BAD_OPCODE``, ``BAD_COUNT``,
  ``TRUNCATED`` (more than ``timeout`` clocks between two bytes of a frame), ``FRAMING`` (a
  byte of the frame had a low stop bit, or the line went to break): nothing was executed, and
  ``BAD_OPCODE`` / ``BAD_COUNT`` are sent as soon as the faulty byte arrives; ``BUS_ERROR``
  (the bus answered ``err``) and ``BUS_TIMEOUT`` (no answer in ``bus_timeout`` clocks): the
  first ``DONE`` words were done, the rest not.

A write burst is executed only after its checksum is checked (it is held in a buffer of
``max_burst`` words, one or two block RAMs), so a corrupted frame never writes. Bytes outside
a frame that are not 0xA5 are garbage: dropped and counted; after any error the bridge hunts
for 0xA5 again, so garbage on the line costs at most one error reply (when it holds a 0xA5)
and a timeout. The host recovers from anything by waiting ``timeout`` clocks, emptying its
input and resending (:class:`slique.boards.bridge.BridgeClient` does).

Baud rate
=========
The iCEBreaker's FT2232H makes its baud rates from 12 MHz (FTDI AN_120): 12 and 8 Mbaud
(divisors 0 and 1), then 12 MHz / (n + k / 8) for n >= 2: 6, 4, 3 Mbaud exactly, and
fractional rates in between. The bridge runs in the board's 12 MHz clock domain and its
receiver needs at least 4 clocks per bit to find the middle of a bit to within a clock, so
3 Mbaud (``divisor = 4``, exactly 12 MHz / 4 on both sides) is the fastest rate the link holds
at 12 MHz: 300 kB/s, a 4-byte read in about 50 us of line time (the simulated receiver takes
bytes from a host whose clock is 2 % off). Faster needs a PLL clock for the UART (48 MHz would
give 12 Mbaud at 4 clocks a bit), left for later.

Events
======
``frame_done`` is valid for one cycle per reply, with its :class:`Status`, in the clock after
the last byte of the reply is taken by the transmitter; ``stray_byte`` for one cycle per byte
that is not part of a frame, two clocks after the receiver delivers it (the bridge takes a
byte a clock after its receiver has it; :class:`StrayByte`: ``GARBAGE``
while hunting, ``LINE_FRAMING`` for a framing error while hunting, ``DROPPED`` while the bridge
checks, executes or replies). The two may
fire in the same cycle. So ``frames started == replies == frame_done beats``, and ``bytes on
the line == bytes in frames + stray_byte beats`` (the receiver is always read: it never
overruns).
"""

import enum as py_enum

from amaranth import *
from amaranth.lib import enum, stream, wiring
from amaranth.lib.crc import catalog
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import wishbone
from .registers import Register, RegisterMap
from .uart_rx import UartRx, check_divisor
from .uart_tx import UartTx


__all__ = ["UartBridge", "Opcode", "Status", "StrayByte", "REQUEST_START", "REPLY_START",
           "CRC", "DEFAULT_DIVISOR", "DEFAULT_MAX_BURST", "DEFAULT_TIMEOUT", "ADDR_WIDTH",
           "OPCODE_MASK", "BRIDGE_REGISTERS", "bridge_registers", "BRIDGE_ID", "frame_counter_name",
           "stray_counter_name"]


REQUEST_START = 0xA5
REPLY_START = 0x5A

#: The checksum of requests and replies: CRC-16/IBM-3740 over 8-bit words.
CRC = catalog.CRC16_IBM_3740(data_width=8)

#: 3 Mbaud at the iCEBreaker's 12 MHz.
DEFAULT_DIVISOR = 4
DEFAULT_MAX_BURST = 64
#: 1 ms at 12 MHz: longer than any gap inside a USB transfer from the host.
DEFAULT_TIMEOUT = 12_000
DEFAULT_BUS_TIMEOUT = 255

#: Width of ``ADDR`` and of the bridge's Wishbone ``adr`` (a word address).
ADDR_WIDTH = 16

#: The bits of ``OP`` that mean something.
OPCODE_MASK = 0b11


class Opcode(py_enum.IntEnum):
    """``OP`` of a request."""
    READ = 0b00
    WRITE = 0b01
    READ_FIXED = 0b10
    WRITE_FIXED = 0b11


class Status(enum.Enum, shape=8):
    """``STATUS`` of a reply."""
    OK = 0
    BAD_CRC = 1
    BAD_OPCODE = 2
    BAD_COUNT = 3
    TRUNCATED = 4
    FRAMING = 5
    BUS_ERROR = 6
    BUS_TIMEOUT = 7


class StrayByte(enum.Enum, shape=2):
    """Why a byte was not part of a frame (``stray_byte``)."""
    GARBAGE = 0
    LINE_FRAMING = 1
    DROPPED = 2


#: What ``BRIDGE_ID`` reads: "SLQ" and the protocol version.
BRIDGE_ID = 0x534C5101


def frame_counter_name(status):
    """``"BRIDGE_FRAMES_OK"``: the counter of replies with ``status``."""
    return f"BRIDGE_FRAMES_{status.name}"


def stray_counter_name(reason):
    """``"BRIDGE_STRAY_GARBAGE"``: the counter of stray bytes for ``reason``."""
    return f"BRIDGE_STRAY_{reason.name}"


def _counter_register(name, offset, doc, counter_bits):
    """A read-to-clear counter register of ``counter_bits`` bits (its one field has the
    register's name; 32 bits: a register without fields)."""
    doc = f"{doc} Read-to-clear, saturating at {(1 << counter_bits) - 1}."
    if counter_bits == 32:
        return Register(name, offset, "rc", doc=doc)
    return Register(name, offset, fields=[(name, (counter_bits - 1, 0), "rc", doc)], doc=doc)


def bridge_registers(counter_bits=32):
    """The bridge's own registers (bank 0 of a :class:`slique.boards.soc.BridgeSoC`), with
    counters of ``counter_bits`` bits (16 on the iCEBreaker, where the device is full)."""
    return RegisterMap("bridge", doc=(
        "The UART-to-Wishbone bridge (`slique.hdl.UartBridge`): identification, a scratch "
        "register and its outcome counters. Every request gets one reply, so the sum of the "
        "BRIDGE_FRAMES_* counters is the number of frames started; bytes on the line are the "
        "bytes in frames plus the sum of the BRIDGE_STRAY_* counters. A read of a counter "
        "through the bridge is itself counted once its reply has gone out, so it shows in the "
        "next read. The counters are 32-bit (16-bit on the iCEBreaker top)."),
        registers=[
            Register("BRIDGE_ID", 0x00, "r", doc=f"Reads {BRIDGE_ID:#010x}: \"SLQ\" and the "
                                                 f"protocol version (1)."),
            Register("BRIDGE_SCRATCH", 0x04, "rw", doc="Any value; for link tests."),
            *[_counter_register(frame_counter_name(status), 0x10 + 4 * status.value,
                                f"Replies with status {status.name}.", counter_bits)
              for status in Status],
            *[_counter_register(stray_counter_name(reason), 0x30 + 4 * reason.value,
                                f"Bytes outside frames: {reason.name}.", counter_bits)
              for reason in StrayByte],
        ])


#: The bridge's own registers with 32-bit counters (see :func:`bridge_registers`).
BRIDGE_REGISTERS = bridge_registers()


class UartBridge(wiring.Component):
    """A Wishbone initiator driven by framed requests on a UART (see the module documentation).

    Parameters
    ----------
    divisor : int
        Clocks per bit of the UART, at least 4 (4: 3 Mbaud at 12 MHz).
    max_burst : int
        Largest ``COUNT``, 1 to 255.
    timeout : int
        Clocks of silence inside a frame after which it is ``TRUNCATED``.
    bus_timeout : int
        Clocks the bus has to answer an access before ``BUS_TIMEOUT``.

    Attributes
    ----------
    rx : ``In(1)``
        The host's transmit line.
    tx : ``Out(1)``
        The line to the host.
    bus : ``Out(wishbone.Signature(addr_width=16, data_width=32, granularity=8, features={"err"}))``
        The initiator; classic cycles, every byte selected.
    frame_done : ``Out(stream.Signature(Status, always_ready=True))``
        One beat per reply, with its status.
    stray_byte : ``Out(stream.Signature(StrayByte, always_ready=True))``
        One beat per byte outside a frame, with the reason.
    """

    def __init__(self, *, divisor=DEFAULT_DIVISOR, max_burst=DEFAULT_MAX_BURST,
                 timeout=DEFAULT_TIMEOUT, bus_timeout=DEFAULT_BUS_TIMEOUT):
        self.divisor = check_divisor(divisor)
        if isinstance(max_burst, bool) or not isinstance(max_burst, int) or \
                not 1 <= max_burst <= 255:
            raise ValueError(f"max_burst must be an integer from 1 to 255 (COUNT is one byte), "
                             f"not {max_burst!r}")
        for name, value in [("timeout", timeout), ("bus_timeout", bus_timeout)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive number of clocks, not {value!r}")
        if timeout <= 10 * divisor:
            raise ValueError(f"timeout ({timeout} clocks) must be longer than one byte "
                             f"({10 * divisor} clocks)")
        self.max_burst = max_burst
        self.timeout = timeout
        self.bus_timeout = bus_timeout
        super().__init__({
            "rx": In(1, init=1),
            "tx": Out(1, init=1),
            "bus": Out(wishbone.Signature(addr_width=ADDR_WIDTH, data_width=32, granularity=8,
                                          features={"err"})),
            "frame_done": Out(stream.Signature(Status, always_ready=True)),
            "stray_byte": Out(stream.Signature(StrayByte, always_ready=True)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = receiver = UartRx(self.divisor)
        m.submodules.transmitter = transmitter = UartTx(self.divisor)
        m.d.comb += [receiver.rx.eq(self.rx), self.tx.eq(transmitter.tx)]
        m.submodules.rx_crc = rx_crc = CRC.create()
        m.submodules.tx_crc = tx_crc = CRC.create()
        m.submodules.buffer = buffer = Memory(shape=32, depth=self.max_burst, init=[],
                                              attrs={"no_rw_check": 1})
        write_port = buffer.write_port()
        # A combinational read port into a flip-flop (which Yosys merges into the block RAM's
        # read register), then a second flip-flop, so that no logic follows the memory's slow
        # output: a word is in `staged` two clocks after its address. The memory is never read
        # in a clock it is written where the word matters, hence no collision logic.
        read_port = buffer.read_port(domain="comb")
        fetched = Signal(32)
        staged = Signal(32)
        m.d.sync += [fetched.eq(read_port.data), staged.eq(fetched)]

        # The state machine takes a byte in the clock after the receiver delivers it, when
        # what it asks of the byte (the start byte? a good OP? a good COUNT?) is decided in
        # registers, so that its enables (status, done, the state) start one LUT level after
        # flip-flops (125 MHz on the ECP5: at seed 1 of 95351bf the receiver's byte through
        # the opcode and count checks into status's enable was the Colorlight's worst path,
        # 8.14 ns). The receiver's payload is still the byte then: UartRx loads it only when a
        # byte completes, ten bits after the one before.
        byte = receiver.o_stream.payload
        m.d.comb += receiver.o_stream.ready.eq(1)  # the receiver is always read
        arrived = Signal()  # the byte in the receiver's payload came in the last clock
        is_start = Signal()
        bad_opcode = Signal()
        bad_count = Signal()
        m.d.sync += [arrived.eq(receiver.o_stream.valid),
                     is_start.eq(byte.data == REQUEST_START),
                     bad_opcode.eq(byte.data[2:] != 0),
                     bad_count.eq((byte.data == 0) | (byte.data > self.max_burst))]

        tag = Signal(8)
        opcode = Signal(8)
        last_word = Signal(8)        # COUNT - 1: the index of the frame's last word
        address = Signal(ADDR_WIDTH)
        word = Signal(32)            # read data being sent
        # the last four bytes received, whatever the state (its only enable is a byte's
        # arrival): a write word is complete in it with its fourth byte
        received = Signal(32)
        with m.If(arrived):
            m.d.sync += received.eq(Cat(byte.data, received[:24]))
        byte_index = Signal(2)       # byte of the word
        word_index = Signal(range(self.max_burst + 1))
        # The read port always points at word_index, and the write port is driven from
        # registers (a word is written in the clock after it is complete), so that no state
        # decoder or bus multiplexer sits in front of the memory's slow address and data setup.
        store = Signal()
        store_address = Signal(range(self.max_burst))
        store_data = Signal(32)
        m.d.comb += [read_port.addr.eq(word_index), write_port.addr.eq(store_address),
                     write_port.data.eq(store_data), write_port.en.eq(store)]
        m.d.sync += store.eq(0)

        def store_word(value):
            m.d.sync += [store.eq(1), store_address.eq(word_index), store_data.eq(value)]
        status = Signal(Status)
        done = Signal(8)
        # done - 1, kept in a register beside it (-1 while done is 0), so that the reply's
        # last-word compare has no subtractor (125 MHz on the ECP5).
        done_before = Signal(signed(9), init=-1)
        silence = Signal(range(self.timeout + 1))
        silent_too_long = Signal()   # silence == timeout - 1, kept in a register beside it
        bus_wait = Signal(range(self.bus_timeout + 1))
        bus_timed_out = Signal()     # bus_wait == bus_timeout - 1, kept in a register beside it
        # The bus request comes from registers (set up in FETCH and LOAD), so that the banks'
        # decoders start from flip-flops (125 MHz on the ECP5).
        bus_active = Signal()
        bus_address = Signal(ADDR_WIDTH)
        writing = opcode[0]
        fixed = opcode[1]

        m.d.comb += [
            self.bus.cyc.eq(bus_active),
            self.bus.stb.eq(bus_active),
            self.bus.we.eq(writing),
            self.bus.sel.eq(0b1111),
            self.bus.adr.eq(bus_address),
            self.bus.dat_w.eq(staged),
        ]
        # The events leave through registers (one clock late), so that the counters they feed
        # start from flip-flops.
        frame_event = Signal()
        byte_event = Signal()
        byte_event_kind = Signal(StrayByte)
        m.d.sync += [self.frame_done.valid.eq(frame_event), self.frame_done.payload.eq(status),
                     self.stray_byte.valid.eq(byte_event),
                     self.stray_byte.payload.eq(byte_event_kind)]

        def fail(reason):
            m.d.sync += status.eq(reason)  # done is still 0 (from HUNT)
            m.next = "REPLY_START"

        # Inside a frame: every byte goes into the checksum, silence is timed.
        in_frame = Signal()
        m.d.comb += [rx_crc.data.eq(byte.data), rx_crc.valid.eq(in_frame & arrived)]
        with m.If(in_frame):
            with m.If(arrived):
                m.d.sync += [silence.eq(0), silent_too_long.eq(0)]
            with m.Else():
                m.d.sync += [silence.eq(silence + 1),
                             silent_too_long.eq(silence == self.timeout - 2)]

        def frame_byte(then):
            """In a frame state: a byte moves on with ``then(data)``; a framing error or
            silence ends the frame."""
            m.d.comb += in_frame.eq(1)
            with m.If(arrived & byte.framing_error):
                fail(Status.FRAMING)
            with m.Elif(arrived):
                then(byte.data)
            with m.Elif(silent_too_long):
                fail(Status.TRUNCATED)

        with m.FSM():
            with m.State("HUNT"):
                # The indices and the words done start from 0 while the bridge hunts, so that
                # later states set them only by counting (their enables have few terms: 125 MHz
                # on the ECP5, where done_before's and word_index's were the worst paths).
                m.d.sync += [word_index.eq(0), byte_index.eq(0), done.eq(0), done_before.eq(-1)]
                with m.If(arrived):
                    with m.If(byte.framing_error):
                        m.d.comb += [byte_event.eq(1),
                                     byte_event_kind.eq(StrayByte.LINE_FRAMING)]
                    with m.Elif(is_start):
                        m.d.comb += rx_crc.start.eq(1)
                        m.d.sync += [silence.eq(0), silent_too_long.eq(0), tag.eq(0),
                                     opcode.eq(0)]
                        m.next = "TAG"
                    with m.Else():
                        m.d.comb += [byte_event.eq(1), byte_event_kind.eq(StrayByte.GARBAGE)]

            with m.State("TAG"):
                def take_tag(value):
                    m.d.sync += tag.eq(value)
                    m.next = "OP"
                frame_byte(take_tag)

            with m.State("OP"):
                def take_opcode(value):
                    m.d.sync += opcode.eq(value)
                    with m.If(bad_opcode):
                        fail(Status.BAD_OPCODE)
                    with m.Else():
                        m.next = "COUNT"
                frame_byte(take_opcode)

            with m.State("COUNT"):
                def take_count(value):
                    m.d.sync += last_word.eq(value - 1)
                    with m.If(bad_count):
                        fail(Status.BAD_COUNT)
                    with m.Else():
                        m.next = "ADDR_H"
                frame_byte(take_count)

            with m.State("ADDR_H"):
                def take_high(value):
                    m.d.sync += address[8:].eq(value)
                    m.next = "ADDR_L"
                frame_byte(take_high)

            with m.State("ADDR_L"):
                def take_low(value):
                    m.d.sync += address[:8].eq(value)
                    with m.If(writing):
                        m.next = "DATA"
                    with m.Else():
                        m.next = "CRC_H"
                frame_byte(take_low)

            with m.State("DATA"):
                def take_data(value):
                    assembled = Cat(value, received[:24])
                    m.d.sync += byte_index.eq(byte_index + 1)
                    with m.If(byte_index == 3):
                        store_word(assembled)
                        m.d.sync += word_index.eq(word_index + 1)
                        with m.If(word_index == last_word):
                            m.next = "CRC_H"
                frame_byte(take_data)

            with m.State("CRC_H"):
                def take_crc_high(value):
                    m.next = "CRC_L"
                frame_byte(take_crc_high)

            with m.State("CRC_L"):
                def take_crc_low(value):
                    m.next = "CHECK"
                frame_byte(take_crc_low)

            with m.State("CHECK"):  # the checksum register has taken the last byte
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += word_index.eq(0)  # the words are fetched from the first
                with m.If(rx_crc.match_detected):
                    m.d.sync += status.eq(Status.OK)
                    m.next = "FETCH"
                with m.Else():
                    fail(Status.BAD_CRC)

            with m.State("FETCH"):  # the buffer's word at word_index is in `staged` in ACCESS
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += [bus_wait.eq(0), bus_timed_out.eq(self.bus_timeout == 1),
                             bus_address.eq(Mux(fixed, address, address + word_index))]
                m.next = "LOAD"

            with m.State("LOAD"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += bus_active.eq(1)
                m.next = "ACCESS"

            with m.State("ACCESS"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += [bus_wait.eq(bus_wait + 1),
                             bus_timed_out.eq(bus_wait == self.bus_timeout - 2)]
                with m.If(self.bus.ack | self.bus.err | bus_timed_out):
                    m.d.sync += bus_active.eq(0)
                with m.If(self.bus.ack):
                    with m.If(~writing):
                        store_word(self.bus.dat_r)
                    m.d.sync += [word_index.eq(word_index + 1), done.eq(done + 1),
                                 done_before.eq(done)]
                    with m.If(word_index == last_word):
                        m.next = "REPLY_START"
                    with m.Else():
                        m.next = "FETCH"
                with m.Elif(self.bus.err):
                    m.d.sync += status.eq(Status.BUS_ERROR)
                    m.next = "REPLY_START"
                with m.Elif(bus_timed_out):
                    m.d.sync += status.eq(Status.BUS_TIMEOUT)
                    m.next = "REPLY_START"

            # The reply: start byte, then TAG, STATUS, DONE, read data and the CRC, each byte
            # offered to the transmitter until it takes it.
            sent = Signal()
            m.d.comb += [sent.eq(transmitter.i_stream.valid & transmitter.i_stream.ready),
                         tx_crc.data.eq(transmitter.i_stream.payload)]

            def send(value, then, checksum=True):
                m.d.comb += [transmitter.i_stream.payload.eq(value),
                             transmitter.i_stream.valid.eq(1),
                             tx_crc.valid.eq(sent & checksum)]
                with m.If(sent):
                    then()

            def go(state):
                return lambda: setattr(m, "next", state)

            with m.State("REPLY_START"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.comb += tx_crc.start.eq(1)
                send(REPLY_START, go("REPLY_TAG"), checksum=False)
            with m.State("REPLY_TAG"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                send(tag, go("REPLY_OP"))
            with m.State("REPLY_OP"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                send(opcode, go("REPLY_STATUS"))
            with m.State("REPLY_STATUS"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                send(status.as_value(), go("REPLY_DONE"))
            with m.State("REPLY_DONE"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += word_index.eq(0)  # the read data is sent from the first word

                def after_done():
                    with m.If(~writing & (done != 0)):  # read data, also before a bus error
                        m.next = "REPLY_LOAD"
                    with m.Else():
                        m.next = "REPLY_CRC_H"
                send(done, after_done)
            with m.State("REPLY_LOAD"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += byte_index.eq(0)
                m.next = "REPLY_WAIT"
            with m.State("REPLY_WAIT"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.next = "REPLY_WORD"
            with m.State("REPLY_WORD"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                m.d.sync += word.eq(staged)
                m.next = "REPLY_DATA"
            with m.State("REPLY_DATA"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)

                def after_byte():
                    m.d.sync += [word.eq(Cat(C(0, 8), word[:24])),
                                 byte_index.eq(byte_index + 1)]
                    with m.If(byte_index == 3):
                        m.d.sync += word_index.eq(word_index + 1)
                        with m.If(word_index == done_before):
                            m.next = "REPLY_CRC_H"
                        with m.Else():
                            m.next = "REPLY_LOAD"
                send(word[24:], after_byte)
            with m.State("REPLY_CRC_H"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)
                send(tx_crc.crc[8:], go("REPLY_CRC_L"), checksum=False)
            with m.State("REPLY_CRC_L"):
                drop_while_busy(m, arrived, byte_event, byte_event_kind)

                def finish():
                    m.d.comb += frame_event.eq(1)
                    m.next = "HUNT"
                send(tx_crc.crc[:8], finish, checksum=False)
        return m


def drop_while_busy(m, arrived, byte_event, byte_event_kind):
    """A byte that arrives while the bridge checks, executes or replies is dropped (counted)."""
    with m.If(arrived):
        m.d.comb += [byte_event.eq(1), byte_event_kind.eq(StrayByte.DROPPED)]
