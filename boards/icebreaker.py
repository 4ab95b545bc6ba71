"""The iCEBreaker's flow top: an on-chip packet generator, per-queue packet admission and
sliques, the trace stream, all behind the UART bridge.

::

    PacketGenerator --+
                      +--(queue = flow label mod queues)--> PacketAdmission q (+ slique) --> drain
    frame port INJECT-+                                          |            | trace    or host
            |                                                    |            +--> TraceStream
            +-- board bank (generator, drain, trace head)        +--> frame port FRAME_HEAD q
    UartBridge --Wishbone--> bank 0 (bridge) | 1 (board) | 2 + q (admission q) | 2 + queues (frames)

The frame port (:class:`HostFramePort`, :data:`FRAME_REGISTERS`) lets the host use the flow path
as a NIC's receive path (:class:`slique.firmware.board_nic.BoardNIC` does): frames written to
FRAME_INJECT enter the flow path beside the generator (steered by their first byte like the
generator's packets), the queues' outputs are read beat by beat from FRAME_HEAD instead of going
to the drain, and FRAME_TX is the board's transmit port: the iCEBreaker has no Ethernet PHY, so
it takes a frame's beats and counts the frames (FRAME_TX_FRAMES), and nothing leaves the board.

Why not the whole :class:`~slique.hdl.FlowPipeline`: its flow demux alone (header parser,
Toeplitz hash, RETA, flow table; 8-bit, two queues, one flow entry, the smallest it allows)
synthesizes to 3032 LUT4 and 3866 flip-flops on the UP5K (measured with ``synth_ice40``), and
the device has 5280 logic cells for both, so with the bridge (about 1300 LUT4 and 700
flip-flops) and the admissions it cannot fit. Here the generator's flow label steers each
packet (the label is its first byte, a byte of its LFSR); the Colorlight (ECP5-25F) is the
board for the demux.

The host drives it with :class:`slique.boards.flow_client.FlowBoardClient`.
"""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from slique.hdl import wishbone

from slique.hdl.block_registers import admission_binding, admission_registers
from slique.hdl.packet_admission import PacketAdmission
from slique.hdl.packet import packet_layout
from slique.hdl.packet_generator import PacketGenerator
from slique.hdl.registered_block import RegisteredBlock
from slique.hdl.registers import Field, Register, RegisterArray, RegisterMap
from slique.hdl.trace_event import TraceBlock
from slique.hdl.trace_stream import TraceStream
from slique.hdl.uart_bridge import DEFAULT_DIVISOR, DEFAULT_TIMEOUT

from .soc import BridgeSoC, bank


__all__ = ["FlowBoardCore", "BOARD_REGISTERS", "BOARD_BANK", "ADMISSION_BANK",
           "admission_bank_registers", "icebreaker_flow_top", "FRACTION_BITS", "TOKEN_BITS",
           "HostFramePort", "FRAME_REGISTERS", "frame_registers", "frame_bank",
           "TX_FRAMES_WIDTH"]


#: Bank of :data:`BOARD_REGISTERS`; admission ``q`` is bank ``ADMISSION_BANK + q``.
BOARD_BANK = 1
ADMISSION_BANK = 2

#: The admissions' bucket: 8.8 fixed point rate, 8-bit tokens (small enough for the UP5K).
FRACTION_BITS = 8
TOKEN_BITS = 8

BOARD_REGISTERS = RegisterMap("board", doc=(
    "The iCEBreaker flow top (`slique.boards.icebreaker`): the packet generator, the drain "
    "that empties the queues, and the trace stream. Read TRACE_HEAD_CYCLE, TRACE_HEAD_EVENT "
    "and TRACE_HEAD_TAG in one burst: the read of TRACE_HEAD_TAG takes the record."), registers=[
    Register("GEN_CTRL", 0x00, doc="Generator control.", fields=[
        Field("ENABLE", 0, "rw", "Make packets."),
    ]),
    Register("GEN_SEED", 0x04, "rw", reset=1, doc="The LFSR seed GEN_SEED_LOAD loads."),
    Register("GEN_SEED_LOAD", 0x08, "w", doc=(
        "Write (any value): load GEN_SEED between packets, restart the count and the burst.")),
    Register("GEN_LENGTH", 0x0C, doc="Packet length in bytes: MIN + (random & MASK).", fields=[
        Field("MIN", (7, 0), "rw", "Shortest packet (0 acts as 1)."),
        Field("MASK", (15, 8), "rw", "Mask on the random part."),
    ]),
    Register("GEN_SHAPE", 0x10, doc="Gaps and bursts.", fields=[
        Field("GAP", (7, 0), "rw", "Idle cycles after every packet."),
        Field("BURST", (15, 8), "rw", "Packets per burst (0: no bursts)."),
        Field("BURST_GAP", (31, 16), "rw", "Idle cycles more after every burst."),
    ]),
    Register("GEN_COUNT", 0x14, "rw", doc="Packets to send after a seed load (0: no limit)."),
    Register("GEN_SENT", 0x18, "r", doc="Packets sent since reset (saturating)."),
    Register("DRAIN_PERIOD", 0x1C, doc="The queues' consumer.", fields=[
        Field("PERIOD", (15, 0), "rw", "Take a beat from every queue once every PERIOD cycles "
                                       "(0 and 1: every cycle)."),
    ]),
    Register("TRACE_LOST", 0x20, "r", doc="Trace records lost (saturating)."),
    Register("TRACE_LEVEL", 0x24, "r", doc="Trace records waiting."),
    Register("TRACE_CYCLE", 0x28, "r", doc="The cycle counter that stamps the records."),
    Register("TRACE_HEAD_CYCLE", 0x30, "r", doc="The oldest record's cycle."),
    Register("TRACE_HEAD_EVENT", 0x34, doc="The oldest record.", fields=[
        Field("QUEUE", (7, 0), "r", "Queue."),
        Field("REASON", (15, 8), "r", "TraceReason."),
        Field("BLOCK", (19, 16), "r", "TraceBlock."),
        Field("VALID", 31, "r", "A record is there (the other fields are 0 otherwise)."),
    ]),
    Register("TRACE_HEAD_TAG", 0x38, "r", doc="The oldest record's tag; reading takes it."),
])


def admission_bank_registers(queue):
    """The register map of queue ``queue``'s admission (bank ``ADMISSION_BANK + queue``)."""
    return admission_registers(fraction_bits=FRACTION_BITS, token_bits=TOKEN_BITS,
                               name=f"admission{queue}")


def frame_bank(queues):
    """The bank of the frame port on a board of ``queues`` queues (after the admissions)."""
    return ADMISSION_BANK + queues


#: Bits of FRAME_TX_FRAMES (a wrapping count: the host compares it modulo ``2**16``).
TX_FRAMES_WIDTH = 16


def _beat_fields(access, what):
    return [Field("DATA", (7, 0), access, f"The {what} byte."),
            Field("FIRST", 8, access, "The frame's first beat."),
            Field("LAST", 9, access, "The frame's last beat.")]


def frame_registers(queues):
    """The register map of the frame port of a board of ``queues`` queues (bank
    :func:`frame_bank`)."""
    return RegisterMap("frames", doc=(
        "The iCEBreaker flow top's frame port (`slique.boards.icebreaker.HostFramePort`, bank "
        "2 + queues: 4 on the two-queue top): the host's way into the flow path and out of "
        "its queues, one beat (byte) per word. "
        "Write a frame to FRAME_INJECT with a fixed-address burst; read a queue with "
        "fixed-address bursts of FRAME_HEAD."), registers=[
        Register("FRAME_INJECT", 0x00, doc=(
            "A beat into the flow path, beside the generator (which goes first: inject with "
            "the generator off). The write is acknowledged when the flow path takes the beat; "
            "while the beat's queue has no room (an admitted frame waits for room) it is not, "
            "and the bridge answers BUS_TIMEOUT with DONE = the beats taken."),
            fields=_beat_fields("w", "frame's")),
        Register("FRAME_TX", 0x04, doc=(
            "A beat to the board's transmit port. The iCEBreaker has no Ethernet PHY: the port "
            "takes the beat at once and counts the frames (FRAME_TX_FRAMES); nothing leaves "
            "the board."), fields=_beat_fields("w", "frame's")),
        Register("FRAME_TX_FRAMES", 0x08, "r", doc=(
            f"Beats with LAST taken by FRAME_TX, {TX_FRAMES_WIDTH}-bit, wrapping.")),
        Register("FRAME_HOST", 0x0C, doc="Who empties the queues.", fields=[
            Field("HOST", 0, "rw", "The host, by reads of FRAME_HEAD (the drain is off); "
                                   "0: the drain (DRAIN_PERIOD of the board bank)."),
        ]),
        RegisterArray("FRAME_HEAD", 0x10, queues, 4, doc=(
            "Queue n's oldest beat; with HOST set, reading takes it."), fields=[
            *_beat_fields("r", "beat's"),
            Field("LEVEL", (23, 16), "r", "Beats in the queue, this one included (saturating "
                                          "at 255)."),
            Field("VALID", 31, "r", "A beat is there (the other fields are 0 otherwise)."),
        ]),
    ])


#: The frame port of the default two-queue top (for the register map document).
FRAME_REGISTERS = frame_registers(2)


class HostFramePort(wiring.Component):
    """The frame port: a classic 32-bit Wishbone slave for a
    :class:`~slique.boards.soc.BridgeSoC` bank, with :func:`frame_registers` at its offsets.

    It is not a :class:`~slique.hdl.RegisterBank` because a write of FRAME_INJECT waits for
    the flow path to take its beat (the acknowledge is the stream's handshake), which is the
    flow control of a host that writes frames faster than a full queue drains. Every other
    access is acknowledged the cycle after it is requested; an offset with no register reads 0
    and ignores writes.

    Parameters
    ----------
    queues : int
    level_width : int
        Bits of the queues' ``levels``.

    Attributes
    ----------
    bus : ``In(wishbone.Signature(addr_width=3 + ..., data_width=32, granularity=8))``
    o_stream : ``Out(stream.Signature(packet_layout(8)))``
        The injected beats.
    i_streams : ``In(stream.Signature(packet_layout(8))).array(queues)``
        The queues' outputs; ``ready`` is a read of FRAME_HEAD n while ``host`` is set.
    levels : ``In(level_width).array(queues)``
    host : ``Out(1)``
        FRAME_HOST.HOST.
    tx_frames : ``Out(16)``
        FRAME_TX_FRAMES.
    """

    def __init__(self, queues, level_width):
        self.queues = queues
        self.registers = frame_registers(queues)
        addr_width = (self.registers.size - 1).bit_length() - 2
        beat = stream.Signature(packet_layout(8))
        super().__init__({
            "bus": In(wishbone.Signature(addr_width=addr_width, data_width=32, granularity=8)),
            "o_stream": Out(beat),
            "i_streams": In(beat).array(queues),
            "levels": In(level_width).array(queues),
            "host": Out(1),
            "tx_frames": Out(TX_FRAMES_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        registers = self.registers

        def at(name, index=None):
            return bus.adr == registers[name].offset_of(index) >> 2

        request = Signal()  # a new access (the cycle of its acknowledge is not one)
        m.d.comb += request.eq(bus.cyc & bus.stb & ~bus.ack)
        write = request & bus.we
        read = request & ~bus.we
        beat = bus.dat_w[:Shape.cast(packet_layout(8)).width]

        m.d.comb += [self.o_stream.valid.eq(write & at("FRAME_INJECT")),
                     self.o_stream.payload.eq(beat)]
        m.d.sync += bus.ack.eq(request & (~(bus.we & at("FRAME_INJECT")) |
                                          self.o_stream.ready))

        with m.If(write & at("FRAME_TX") & beat[9]):
            m.d.sync += self.tx_frames.eq(self.tx_frames + 1)
        with m.If(write & at("FRAME_HOST")):
            m.d.sync += self.host.eq(bus.dat_w[0])

        data = Signal(32)
        with m.If(at("FRAME_TX_FRAMES")):
            m.d.comb += data.eq(self.tx_frames)
        with m.Elif(at("FRAME_HOST")):
            m.d.comb += data.eq(self.host)
        for queue, head in enumerate(self.i_streams):
            with m.Elif(at("FRAME_HEAD", queue)):
                level = self.levels[queue]
                saturated = Signal(8)
                m.d.comb += saturated.eq(Mux(level > 255, 255, level) if len(level) > 8
                                         else level)
                m.d.comb += data.eq(Mux(head.valid, Cat(Value.cast(head.payload), C(0, 6),
                                                        saturated, C(0, 7), 1), 0))
                m.d.comb += head.ready.eq(read & self.host)
        m.d.sync += bus.dat_r.eq(data)
        return m


class FlowBoardCore(wiring.Component):
    """Generator, admissions, trace stream and bridge (see the module documentation).

    Parameters
    ----------
    queues : int
        1, 2 or 4 (the frame port is bank ``2 + queues``).
    queue_depth : int
        Beats of each queue's slique.
    trace_depth : int
        Records of the trace slique.
    divisor, timeout
        Of the :class:`~slique.hdl.UartBridge`.

    Attributes
    ----------
    rx : ``In(1)``
    tx : ``Out(1)``
    """

    def __init__(self, *, queues=2, queue_depth=16, trace_depth=8, divisor=DEFAULT_DIVISOR,
                 timeout=DEFAULT_TIMEOUT):
        if queues not in (1, 2, 4):
            raise ValueError(f"queues must be 1, 2 or 4 (a queue is chosen by the low bits of "
                             f"the flow label), not {queues!r}")
        self.queues = queues
        self.generator = PacketGenerator()
        self.admissions = [
            # No register stage: at 12 MHz it is not needed, and the UP5K is full.
            RegisteredBlock(PacketAdmission(8, queue_depth, fraction_bits=FRACTION_BITS,
                                            token_bits=TOKEN_BITS, queue=queue,
                                            register_stage=False),
                            admission_bank_registers(queue), admission_binding(),
                            unmapped="err")
            for queue in range(queues)]
        self.trace = TraceStream([TraceBlock.ADMISSION] * queues, trace_depth)
        self.board_bank = bank(BOARD_REGISTERS)
        self.frame_port = HostFramePort(queues, len(self.admissions[0].block.level))
        self.soc = BridgeSoC([self.board_bank, *self.admissions, self.frame_port],
                             divisor=divisor, timeout=timeout, counter_bits=16, latency=1)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.soc = soc = self.soc
        m.submodules.generator = generator = self.generator
        m.submodules.trace = trace = self.trace
        m.d.comb += [soc.rx.eq(self.rx), self.tx.eq(soc.tx)]
        regs = self.board_bank

        # Generator configuration and status.
        m.d.comb += [
            generator.enable.eq(regs.GEN_CTRL.ENABLE.data),
            generator.seed.eq(regs.GEN_SEED.data),
            generator.seed_load.eq(regs.GEN_SEED_LOAD.w_stb),
            generator.min_length.eq(regs.GEN_LENGTH.MIN.data),
            generator.length_mask.eq(regs.GEN_LENGTH.MASK.data),
            generator.gap.eq(regs.GEN_SHAPE.GAP.data),
            generator.burst.eq(regs.GEN_SHAPE.BURST.data),
            generator.burst_gap.eq(regs.GEN_SHAPE.BURST_GAP.data),
            generator.count.eq(regs.GEN_COUNT.data),
            regs.GEN_SENT.r_data.eq(generator.sent),
        ]

        # The flow path's input: the generator's packets, and between them the host's frames.
        port = self.frame_port
        generated, injected = generator.o_stream, port.o_stream
        source = stream.Signature(packet_layout(8)).create()
        m.d.comb += [
            source.valid.eq(generated.valid | injected.valid),
            source.payload.eq(Mux(generated.valid, generated.payload, injected.payload)),
            generated.ready.eq(source.ready),
            injected.ready.eq(source.ready & ~generated.valid),
        ]

        # Steering: a packet goes to the queue its flow label (first byte) names.
        queue_bits = (self.queues - 1).bit_length()
        held_queue = Signal(range(self.queues))
        queue = Signal(range(self.queues))
        if queue_bits:
            m.d.comb += queue.eq(Mux(source.payload.first, source.payload.data[:queue_bits],
                                     held_queue))
            with m.If(source.valid & source.ready & source.payload.first):
                m.d.sync += held_queue.eq(source.payload.data[:queue_bits])

        # The drain: every queue's consumer is ready once every PERIOD cycles.
        period = regs.DRAIN_PERIOD.PERIOD.data
        drain_count = Signal(16)
        drain_tick = Signal()
        m.d.comb += drain_tick.eq(drain_count + 1 >= period)
        m.d.sync += drain_count.eq(Mux(drain_tick, 0, drain_count + 1))

        for index, admission in enumerate(self.admissions):
            m.d.comb += [
                admission.i_stream.payload.eq(source.payload),
                admission.i_stream.valid.eq(source.valid & (queue == index)),
                port.i_streams[index].valid.eq(admission.o_stream.valid),
                port.i_streams[index].payload.eq(admission.o_stream.payload),
                admission.o_stream.ready.eq(Mux(port.host, port.i_streams[index].ready,
                                                drain_tick)),
                port.levels[index].eq(admission.block.level),
            ]
            with m.If(queue == index):
                m.d.comb += source.ready.eq(admission.i_stream.ready)
            wiring.connect(m, admission.trace, trace.i_trace[index])

        # Trace stream status and the head record, taken by a read of TRACE_HEAD_TAG.
        head = trace.o_stream.payload
        valid = trace.o_stream.valid
        m.d.comb += [
            regs.TRACE_LOST.r_data.eq(trace.lost),
            regs.TRACE_LEVEL.r_data.eq(trace.level),
            regs.TRACE_CYCLE.r_data.eq(trace.cycle),
            regs.TRACE_HEAD_CYCLE.r_data.eq(Mux(valid, head.cycle, 0)),
            regs.TRACE_HEAD_EVENT.QUEUE.r_data.eq(Mux(valid, head.queue, 0)),
            regs.TRACE_HEAD_EVENT.REASON.r_data.eq(Mux(valid, head.reason.as_value(), 0)),
            regs.TRACE_HEAD_EVENT.BLOCK.r_data.eq(Mux(valid, head.block.as_value(), 0)),
            regs.TRACE_HEAD_EVENT.VALID.r_data.eq(valid),
            regs.TRACE_HEAD_TAG.r_data.eq(Mux(valid, head.tag, 0)),
            trace.o_stream.ready.eq(regs.TRACE_HEAD_TAG.r_stb),
        ]
        return m


def icebreaker_flow_top(board=None):
    """The ``flow`` design of ``slique build --board icebreaker``."""
    from .uart_top import UartBoardTop
    return UartBoardTop(FlowBoardCore())
