"""The Colorlight 5A-75B's top: a two-port Gigabit policer and RSS bridge.

::

    PHY 0 -- RgmiiRx, MacRx (eth0_rx) --AsyncFIFO--> FlowPipeline A --> SkidBuffer, FrameBuffer --> MacTx, RgmiiTx -- PHY 1
    PHY 1 -- RgmiiRx, MacRx (eth1_rx) --AsyncFIFO--> FlowPipeline B --> SkidBuffer, FrameBuffer --> MacTx, RgmiiTx -- PHY 0
    J19 (uart 0) -- UartBridge --Wishbone--> bank 0 (bridge) | bank 1 (COLORLIGHT_REGISTERS)

Clocks: ``sync`` is 125 MHz from the ECP5 PLL (``EHXPLLL``) on the board's 25 MHz
oscillator; it runs the flow path, both transmit MACs (``tx_clk`` is sent with the data) and
the bridge. Each receive MAC runs on its PHY's ``rx_clk`` (``eth0_rx``, ``eth1_rx``, 125 MHz
constraints); frames cross to ``sync`` through an :class:`~amaranth.lib.fifo.AsyncFIFO` after
the receive MAC's store-and-forward buffer, then a :class:`~slique.hdl.mac.SkidBuffer` (so that
the flow pipeline's ``ready`` ends in flip-flops), and each frame's outcome crosses through a
small one to be counted in the register bank (read-to-clear, saturating; the counters' ``inc``
are registered, so they count a clock late).

``sync`` must be 125 MHz, not only the receive clocks: it makes the RGMII transmit clock, and
the flow path moves one byte a clock, so it needs 1514 / 1538 of 125 MHz (123 MHz: a
1514-byte frame with its preamble, SFD, FCS and gap takes 1538 byte times) to keep up with
the wire. Everything on it was built for 125 MHz: the UART bridge drives its bus and its
buffer from registers, both banks decode a registered request (latency 2), the MACs'
:class:`~slique.hdl.mac.FrameBuffer` leaves no logic after its block RAM, and a
:class:`~slique.hdl.mac.SkidBuffer` between it and the :class:`~slique.hdl.mac.MacTx` starts the
MAC's state machine and CRC from flip-flops.

Both PHYs share one reset pin, MDC and MDIO (the platform's two ``eth_rgmii`` resources name
the same pins), so the top adds resources of its own: ``eth_phy`` 0 (the shared pins) and
``eth_rgmii_data`` 0 and 1 (each port's data and clock pins, with the 125 MHz constraint on
``rx_clk``); one :class:`~slique.hdl.mac.PhyReset` resets both PHYs; MDIO is not
driven (the B50612D's strapped defaults: auto-negotiation, RGMII with its internal delays).

Each direction has a :class:`~slique.hdl.FlowPipeline` with one queue (RSS steering is
configured off: everything goes to queue 0), whose admission is set through the bank (shared
by the two directions); the frames leave through a store-and-forward :class:`FrameBuffer`
because the transmit MAC cannot pause a frame.
"""

from amaranth import *
from amaranth.build import Attrs, Clock, Pins, PinsN, Resource, Subsignal
from amaranth.lib import fifo, io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from slique.hdl.flow_pipeline import FlowPipeline
from slique.hdl.mac import FrameBuffer, MacRx, MacTx, PhyReset, RgmiiRx, RgmiiTx, RxOutcome, \
    SkidBuffer, TxOutcome
from slique.hdl.mac.mac_rx import rx_counters_layout
from slique.hdl.mac.mac_tx import tx_counters_layout
from slique.hdl.registers import Register, RegisterMap

from .soc import BridgeSoC, bank


__all__ = ["ColorlightTop", "ColorlightCore", "COLORLIGHT_REGISTERS", "colorlight_top", "counter_register_name",
           "SYNC_HZ", "UART_DIVISOR"]


#: The ``sync`` clock (the RGMII transmit clock at 1 Gbit/s).
SYNC_HZ = 125e6
#: Clocks per UART bit: 1 Mbaud at 125 MHz.
UART_DIVISOR = 125

_ALL_ONES = (1 << 32) - 1

#: Each flow pipeline's admission setting -> its register in the bank.
_ADMISSION_SETTINGS = {"steady_depth": "ADMISSION_STEADY", "burst_depth": "ADMISSION_BURST",
                       "bucket_capacity": "ADMISSION_CAPACITY", "refill_rate": "ADMISSION_RATE",
                       "refill_denominator": "ADMISSION_DENOMINATOR"}


def counter_register_name(direction, port, outcome):
    """``RX0_GOOD``, ``TX1_UNDERRUN``, ...: the bank's counter of ``outcome`` on ``port``."""
    return f"{direction}{port}_{outcome.name}"


def _registers():
    registers = [
        Register("PHY_CTRL", 0x00, "w", doc="Write (any value): reset both PHYs again."),
        Register("PHY_STATUS", 0x04, "r", doc="1 once the PHYs are out of reset and settled."),
        Register("ADMISSION_STEADY", 0x10, "rw", reset=_ALL_ONES, doc="S of both admissions."),
        Register("ADMISSION_BURST", 0x14, "rw", reset=_ALL_ONES, doc="B of both admissions."),
        Register("ADMISSION_CAPACITY", 0x18, "rw", doc="C of both admissions."),
        Register("ADMISSION_RATE", 0x1C, "rw", doc="r (16.16) of both admissions."),
        Register("ADMISSION_DENOMINATOR", 0x20, "rw", doc="D of both admissions."),
    ]
    offset = 0x40
    for port in range(2):
        registers.append(Register(f"FLOW{port}_OFFERED", offset, "r",
                                  doc=f"Frames from port {port} into its flow path."))
        registers.append(Register(f"FLOW{port}_DELIVERED", offset + 4, "r",
                                  doc=f"Frames of port {port} out of its flow path."))
        offset += 8
    for port in range(2):
        for outcome in RxOutcome:
            registers.append(Register(counter_register_name("RX", port, outcome), offset, "rc",
                                      doc=f"Frames received on port {port}: {outcome.name}."))
            offset += 4
        for outcome in TxOutcome:
            registers.append(Register(counter_register_name("TX", port, outcome), offset, "rc",
                                      doc=f"Frames sent on port {port}: {outcome.name}."))
            offset += 4
    return RegisterMap("colorlight", registers=registers, doc=(
        "The Colorlight 5A-75B top (`slique.boards.colorlight`): PHY reset, the admission of "
        "both flow paths, and the MACs' outcome counters (read-to-clear): for each port, "
        "bursts received == sum of its RX counters, frames taken by its MacTx == TX_SENT + "
        "TX_UNDERRUN."))


COLORLIGHT_REGISTERS = _registers()


#: The data pins of the two RGMII ports (as on amaranth-boards' ``eth_rgmii`` 0 and 1) without
#: the reset / MDC / MDIO pins they share, which are ``eth_phy`` 0; ``rx_clk`` carries its
#: 125 MHz constraint (nextpnr derives ``sync``'s from the PLL and ``clk25``).
_PINS = {0: ("M2", "M3", "L1 L3 P2 L4", "M1", "N6", "N1 M5 N5 M6"),
         1: ("M12", "R15", "T14 R12 R13 R14", "M16", "L15", "P13 N13 P14 M15")}


def _resources():
    resources = [Resource("eth_phy", 0,
                          Subsignal("rst", PinsN("P5", dir="o")),
                          Subsignal("mdc", Pins("P3", dir="o")),
                          Subsignal("mdio", Pins("T2", dir="io")),
                          Attrs(IO_TYPE="LVCMOS33"))]
    for port, (tx_clk, tx_ctl, tx_data, rx_clk, rx_ctl, rx_data) in _PINS.items():
        resources.append(Resource(
            "eth_rgmii_data", port,
            Subsignal("tx_clk", Pins(tx_clk, dir="o")),
            Subsignal("tx_ctl", Pins(tx_ctl, dir="o")),
            Subsignal("tx_data", Pins(tx_data, dir="o")),
            Subsignal("rx_clk", Pins(rx_clk, dir="i"), Clock(SYNC_HZ)),
            Subsignal("rx_ctl", Pins(rx_ctl, dir="i")),
            Subsignal("rx_data", Pins(rx_data, dir="i")),
            Attrs(IO_TYPE="LVCMOS33")))
    return resources


class ColorlightCore(wiring.Component):
    """Everything of the two-port bridge but the clock generator and the I/O buffers.

    With ``pins`` (the two ``eth_rgmii_data`` resources) the RGMII adapters use the platform's
    DDR buffers; without, the signature has the simulation pins of both ports (``p0_rx_clk``,
    ``p0_rx_ctl``,
    ``p0_rx_data``, ``p0_tx_clk``, ``p0_tx_ctl``, ``p0_tx_data``, and ``p1_...``; see
    :class:`~slique.hdl.mac.RgmiiRx` and :class:`~slique.hdl.mac.RgmiiTx` for the model of the
    DDR pins) and each MAC's own counters (``p0_rx_counters``, ``p0_tx_counters``, ...), so
    that a bench can drive the whole core. The ``eth0_rx`` and ``eth1_rx`` domains are
    created here, their clocks driven by the user (the PHYs' ``rx_clk``; in simulation, from
    ``p0_rx_clk`` and ``p1_rx_clk``).

    Parameters
    ----------
    pins : list of two resources, or None
    queue_depth, demux_depth : int
        Of each :class:`~slique.hdl.FlowPipeline` (beats).
    phy_reset_cycles : int
        Of the :class:`~slique.hdl.mac.PhyReset` (reset held and settling time, each).

    Attributes
    ----------
    rx : ``In(1)``, tx : ``Out(1)``
        The UART of the bridge.
    phy_reset : ``Out(1)``
        Both PHYs' reset, active high.
    """

    def __init__(self, pins=None, *, queue_depth=16, demux_depth=2048,
                 phy_reset_cycles=1_250_000):
        self._pins = pins
        self.queue_depth = queue_depth
        self.demux_depth = demux_depth
        self.phy_reset_cycles = phy_reset_cycles
        # latency 2: the bridge's request is registered before the bank decodes it (125 MHz)
        self.board_bank = bank(COLORLIGHT_REGISTERS, latency=2)
        self.soc = BridgeSoC([self.board_bank], divisor=UART_DIVISOR,
                             timeout=int(SYNC_HZ // 1000))
        members = {"rx": In(1, init=1), "tx": Out(1, init=1), "phy_reset": Out(1)}
        if pins is None:
            for port in range(2):
                members.update({f"p{port}_rx_clk": In(1),
                                f"p{port}_rx_ctl": In(1), f"p{port}_rx_data": In(4),
                                f"p{port}_tx_clk": Out(1), f"p{port}_tx_ctl": Out(1),
                                f"p{port}_tx_data": Out(4),
                                f"p{port}_rx_counters": Out(rx_counters_layout()),
                                f"p{port}_tx_counters": Out(tx_counters_layout())})
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        simulated = self._pins is None
        m.submodules.phy_reset = phy_reset = PhyReset(reset_cycles=self.phy_reset_cycles,
                                                      settle_cycles=self.phy_reset_cycles)
        m.submodules.soc = soc = self.soc
        regs = self.board_bank
        m.d.comb += [
            self.phy_reset.eq(phy_reset.phy_reset),
            soc.rx.eq(self.rx), self.tx.eq(soc.tx),
            phy_reset.request.eq(regs.PHY_CTRL.w_stb),
            regs.PHY_STATUS.r_data.eq(phy_reset.ready),
        ]

        receivers = []
        for port in range(2):
            domain = f"eth{port}_rx"
            m.domains += ClockDomain(domain)
            m.submodules[f"{domain}_reset"] = ResetSynchronizer(~phy_reset.ready,
                                                                domain=domain)
            rgmii_rx = DomainRenamer(domain)(RgmiiRx(None if simulated else self._pins[port]))
            mac_rx = DomainRenamer(domain)(MacRx())
            m.submodules[f"rgmii_rx{port}"] = rgmii_rx
            m.submodules[f"mac_rx{port}"] = mac_rx
            m.d.comb += mac_rx.gmii.eq(rgmii_rx.gmii)
            if simulated:
                m.d.comb += [ClockSignal(domain).eq(getattr(self, f"p{port}_rx_clk")),
                             rgmii_rx.rx_ctl.eq(getattr(self, f"p{port}_rx_ctl")),
                             rgmii_rx.rx_data.eq(getattr(self, f"p{port}_rx_data")),
                             getattr(self, f"p{port}_rx_counters").eq(mac_rx.counters)]

            frames = fifo.AsyncFIFO(width=len(Value.cast(mac_rx.o_stream.payload)), depth=16,
                                    r_domain="sync", w_domain=domain)
            outcomes = fifo.AsyncFIFO(width=len(Value.cast(mac_rx.outcome.payload)), depth=4,
                                      r_domain="sync", w_domain=domain)
            m.submodules[f"rx_frames{port}"] = frames
            m.submodules[f"rx_outcomes{port}"] = outcomes
            m.d.comb += [
                frames.w_data.eq(mac_rx.o_stream.payload), frames.w_en.eq(mac_rx.o_stream.valid),
                mac_rx.o_stream.ready.eq(frames.w_rdy),
                outcomes.w_data.eq(mac_rx.outcome.payload),
                outcomes.w_en.eq(mac_rx.outcome.valid),
                outcomes.r_en.eq(1),
            ]
            # the counters count from registers (one clock late): nothing in front of their
            # adders but a flip-flop
            for outcome in RxOutcome:
                m.d.sync += getattr(regs, counter_register_name("RX", port, outcome)).inc.eq(
                    outcomes.r_rdy & (outcomes.r_data == outcome))
            # a skid buffer after the crossing: the pipeline's ready ends in its registers
            m.submodules[f"rx_skid{port}"] = skid = SkidBuffer(mac_rx.o_stream.payload.shape())
            m.d.comb += [skid.i_stream.payload.eq(frames.r_data),
                         skid.i_stream.valid.eq(frames.r_rdy),
                         frames.r_en.eq(skid.i_stream.ready)]
            receivers.append(skid.o_stream)

        for port, frames in enumerate(receivers):
            out_port = 1 - port
            pipeline = FlowPipeline(8, 1, queue_depth=self.queue_depth,
                                    demux_depth=self.demux_depth, flow_entries=1, handover=True)
            m.submodules[f"flow{port}"] = pipeline
            m.d.comb += [
                pipeline.i_stream.payload.eq(frames.payload),
                pipeline.i_stream.valid.eq(frames.valid),
                frames.ready.eq(pipeline.i_stream.ready),
                pipeline.trace_stream.ready.eq(1),
                pipeline.rst_stream.ready.eq(1),
            ]
            # The admission settings reach each pipeline through registers of its own (a write
            # takes effect a cycle later): the bank is across the chip, and the admission
            # compares them with its level as they arrive.
            for name, register in _ADMISSION_SETTINGS.items():
                setting = getattr(pipeline, name)
                copy = Signal.like(setting, name=f"flow{port}_{name}")
                m.d.sync += copy.eq(getattr(regs, register).data)
                m.d.comb += setting.eq(copy)
            # The counters reach the bank through a register (a read sees them a cycle late):
            # the demux's offered count comes through an adder, and the bank is across the chip.
            m.d.sync += [
                getattr(regs, f"FLOW{port}_OFFERED").r_data.eq(pipeline.demux_offered),
                getattr(regs, f"FLOW{port}_DELIVERED").r_data.eq(
                    pipeline.admission_delivered[0]),
            ]
            # a skid buffer between the pipeline and the frame buffer: the admission's level and
            # decision registers see a ready from flip-flops near them, not the buffer's from
            # across the chip (at seed 1 of 3c0d36e tx_buffer1's ready ran 3.2 ns across the die
            # into flow0's admission and on into its accept_ready, 8.40 ns)
            m.submodules[f"tx_handover{out_port}"] = tx_handover = SkidBuffer(
                pipeline.o_streams[0].payload.shape())
            m.submodules[f"tx_buffer{out_port}"] = tx_buffer = FrameBuffer()
            # a skid buffer between them: the MAC's state machine and CRC start from flip-flops,
            # not from the buffer's output queue (its read pointer and word multiplexer). It
            # passes a frame on without gaps, as the MAC needs.
            m.submodules[f"tx_skid{out_port}"] = tx_skid = SkidBuffer(
                tx_buffer.o_stream.payload.shape())
            m.submodules[f"mac_tx{out_port}"] = mac_tx = MacTx()
            rgmii_tx = RgmiiTx(None if simulated else self._pins[out_port])
            m.submodules[f"rgmii_tx{out_port}"] = rgmii_tx
            m.d.comb += [
                tx_handover.i_stream.payload.eq(pipeline.o_streams[0].payload),
                tx_handover.i_stream.valid.eq(pipeline.o_streams[0].valid),
                pipeline.o_streams[0].ready.eq(tx_handover.i_stream.ready),
                rgmii_tx.gmii.eq(mac_tx.gmii),
            ]
            wiring.connect(m, tx_handover.o_stream, tx_buffer.i_stream)
            wiring.connect(m, tx_buffer.o_stream, tx_skid.i_stream)
            wiring.connect(m, tx_skid.o_stream, mac_tx.i_stream)
            if simulated:
                m.d.comb += [getattr(self, f"p{out_port}_tx_{name}").eq(
                    getattr(rgmii_tx, f"tx_{name}")) for name in ("clk", "ctl", "data")]
                m.d.comb += getattr(self, f"p{out_port}_tx_counters").eq(mac_tx.counters)
            for outcome in TxOutcome:
                m.d.sync += getattr(regs, counter_register_name("TX", out_port, outcome)).inc.eq(
                    mac_tx.outcome.valid & (mac_tx.outcome.payload == outcome))
        return m


class ColorlightTop(Elaboratable):
    """The board top: the PLL, the pins, and a :class:`ColorlightCore`.

    Parameters
    ----------
    queue_depth, demux_depth : int
        Of each :class:`~slique.hdl.FlowPipeline` (beats).
    """

    def __init__(self, *, queue_depth=16, demux_depth=2048):
        self.queue_depth = queue_depth
        self.demux_depth = demux_depth

    def _pll(self, m, clk25):
        locked = Signal()
        clk125 = Signal()
        m.d.comb += ClockSignal("sync").eq(clk125)
        m.submodules.pll = Instance(
            "EHXPLLL",
            a_FREQUENCY_PIN_CLKI="25", a_FREQUENCY_PIN_CLKOP="125", a_ICP_CURRENT="12",
            a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
            p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=1, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=5, p_CLKOP_CPHASE=4,
            p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=5,
            i_CLKI=clk25, i_CLKFB=clk125, i_RST=0, i_STDBY=0,
            i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0,
            o_CLKOP=clk125, o_LOCK=locked)
        return clk125, locked

    def elaborate(self, platform):
        m = Module()
        platform.add_resources(_resources())
        m.domains.sync = ClockDomain()
        m.submodules.clk25 = clk25 = io.Buffer("i", platform.request("clk25", dir="-"))
        _clk125, locked = self._pll(m, clk25.i)
        m.submodules.sync_reset = ResetSynchronizer(~locked, domain="sync")

        ports = [platform.request("eth_rgmii_data", port, dir="-") for port in range(2)]
        m.submodules.core = core = ColorlightCore(ports, queue_depth=self.queue_depth,
                                                  demux_depth=self.demux_depth)
        phy = platform.request("eth_phy", 0, dir="-")
        m.submodules.phy_rst_pin = phy_rst_pin = io.Buffer("o", phy.rst)
        m.d.comb += phy_rst_pin.o.eq(core.phy_reset)
        for port, pins in enumerate(ports):
            m.submodules[f"rx_clk{port}"] = rx_clk = io.Buffer("i", pins.rx_clk)
            m.d.comb += ClockSignal(f"eth{port}_rx").eq(rx_clk.i)

        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.uart_rx = uart_rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.rx.eq(uart_rx.i), uart_tx.o.eq(core.tx)]
        return m


def colorlight_top(board):
    """``slique build --design colorlight`` entry point."""
    return ColorlightTop()
