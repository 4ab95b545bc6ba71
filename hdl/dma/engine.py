"""The i225-compatible descriptor DMA engine: register bank, queues, bus arbiter and master."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..packet import packet_layout
from ..register_bank import RegisterBank
from .bus_arbiter import BusArbiter
from .registers import COUNTERS, RxQueueError, TxQueueError, check_queues, dma_registers
from .ring import window_layout
from .rx_queue import RxQueue, rx_beat_layout
from .tx_queue import TxQueue
from ..mac.skid_buffer import SkidBuffer
from .wishbone_master import BUS_WIDTHS, WishboneBurstMaster, write_beat_layout
from .._parameters import check_choice


__all__ = ["DmaEngine"]


#: Bits of the master's tag: the queue kind (TX / RX) and its index above the 2-bit kind.
def _tag_width(queues):
    return 2


class DmaEngine(wiring.Component):
    """The i225-compatible descriptor DMA engine (queue pairs at the i225's register offsets).

    Registers (``csr``, a 32-bit Wishbone B4 slave, classic handshake, answered two cycles
    after a request: the bank registers the request before it decodes it, for Fmax) are
    :func:`~slique.hdl.dma.registers.dma_registers` ``(queues, window=True)``, whose
    documentation is the engine's contract: every bad input and its outcome is there. The
    engine masters host memory through ``host``, a Wishbone B4 *pipelined* bus of
    ``data_width`` bits (bursts, ``stall``, ``err``), shared by the queues through a
    round-robin :class:`~slique.hdl.dma.bus_arbiter.BusArbiter`, one burst at a time.

    - TX (:class:`~slique.hdl.dma.tx_queue.TxQueue`): frames from the TX rings leave on
      ``tx_stream`` (packet beats, ``keep`` on the last), whole (store-and-forward), queues
      taking turns frame by frame.
    - RX (:class:`~slique.hdl.dma.rx_queue.RxQueue`): frames on ``rx_stream`` (never
      back-pressured: the engine drops and counts what it cannot take) go to the RX ring of
      the queue their ``queue`` member names, with their ``rss_hash`` / ``rss_type`` in the
      write-back.
    - ``irq`` is high while ``EICR & EIMS`` is non-zero.

    Parameters
    ----------
    queues : int
        Queue pairs, 1 to 4.
    data_width : 32 or 64
        Host bus width (and the packet streams').
    addr_width : int
        Byte address bits of the host bus.
    max_beats : int
        Longest burst.

    Attributes
    ----------
    csr : ``In(wishbone.Signature(addr_width=14, data_width=32, granularity=8))``
    host : ``Out(wishbone.Signature(...))`` (pipelined master)
    tx_stream : ``Out(stream.Signature(packet_layout(data_width)))``
    rx_stream : ``In(stream.Signature(rx_beat_layout(data_width)))``
    irq : ``Out(1)``
    """

    def __init__(self, *, queues=1, data_width=64, addr_width=32, max_beats=32):
        self._queues = check_queues(queues)
        self._data_width = check_choice("data_width", data_width, BUS_WIDTHS)
        self._addr_width = addr_width
        self._max_beats = max_beats
        self._registers = dma_registers(queues, window=True)
        self._bank = RegisterBank(self._registers, latency=2)
        self._master = WishboneBurstMaster(data_width=data_width, addr_width=addr_width,
                                           max_beats=max_beats, tag_width=_tag_width(queues))
        super().__init__({
            "csr": self._bank.signature.members["bus"],
            "host": Out(self._master.bus.signature),
            "tx_stream": Out(stream.Signature(packet_layout(data_width))),
            "rx_stream": In(stream.Signature(rx_beat_layout(data_width))),
            "irq": Out(1),
        })

    queues = property(lambda self: self._queues)
    data_width = property(lambda self: self._data_width)
    registers = property(lambda self: self._registers, doc="The register map.")

    def elaborate(self, platform):
        m = Module()
        queues = self._queues
        m.submodules.bank = bank = self._bank
        m.submodules.master = master = self._master
        wiring.connect(m, wiring.flipped(self.csr), bank.bus)
        wiring.connect(m, wiring.flipped(self.host), master.bus)
        common = dict(data_width=self._data_width, addr_width=self._addr_width,
                      max_beats=self._max_beats, tag_width=_tag_width(queues))
        m.submodules.arbiter = arbiter = BusArbiter(
            2 * queues, data_width=self._data_width,
            word_addr_width=len(master.cmd.payload.address),
            beats_width=len(master.cmd.payload.beats), tag_width=_tag_width(queues))
        wiring.connect(m, arbiter.master.cmd, master.cmd)
        # write beats reach the master through registers: the clients' ``write.valid`` (a
        # FIFO's output, a write-back word counter) never meets the bus handshake in one
        # cycle. No request moves: a client offers its first beat in the cycle its command
        # is taken, the master puts it on the bus from the next cycle on.
        m.submodules.write_skid = write_skid = SkidBuffer(write_beat_layout(self._data_width))
        wiring.connect(m, arbiter.master.write, write_skid.i_stream)
        wiring.connect(m, write_skid.o_stream, master.write)
        wiring.connect(m, master.read, arbiter.master.read)
        wiring.connect(m, master.done, arbiter.master.done)

        window = Signal(window_layout())
        m.d.comb += [
            window.enable.eq(bank.DMAWBAL.ENABLE.data),
            window.base.eq(Cat(C(0, 12), bank.DMAWBAL.BASE.data, bank.DMAWBAH.data)),
            window.limit.eq(Cat(C(0, 12), bank.DMAWLAL.LIMIT.data, bank.DMAWLAH.data)),
        ]

        events = {name: [] for name in COUNTERS}
        octets = {"GOTCL": [], "GORCL": []}
        causes = {"TXQ": [], "RXQ": [], "TXERR": [], "RXERR": []}
        queue_counters = []                   # (name, sources, inc port) of per-queue ones

        tx_queues = []
        rx_queues = []
        for n in range(queues):
            tx = TxQueue(**common)
            m.submodules[f"tx{n}"] = tx
            tx_queues.append(tx)
            wiring.connect(m, tx.bus, arbiter.clients[2 * n])
            tx_error = self._connect_ring(m, bank, tx, "T", "TXDCTL", n, window)
            for error in TxQueueError:
                m.d.comb += getattr(bank.TQERR[n], error.name).set.eq(tx_error[error])
            causes["TXQ"].append(tx.written_back)
            causes["TXERR"].append(tx_error.any())
            events["TPT"].append(tx.taken)
            events["HTDPMC"].append(tx.discarded)
            events["GPTC"].append(tx.sent)
            octets["GOTCL"].append(Mux(tx.sent, tx.sent_bytes, 0))

            rx = RxQueue(**common)
            m.submodules[f"rx{n}"] = rx
            rx_queues.append(rx)
            wiring.connect(m, rx.bus, arbiter.clients[2 * n + 1])
            rx_error = self._connect_ring(m, bank, rx, "R", "RXDCTL", n, window)
            m.d.comb += [
                rx.buffer_size.eq(bank.SRRCTL[n].BSIZEPKT.data),
                rx.descriptor_type.eq(bank.SRRCTL[n].DESCTYPE.data),
            ]
            queue_counters.append((f"RQDPC{n}", [rx.dropped], bank.RQDPC[n].inc))
            for error in RxQueueError:
                m.d.comb += getattr(bank.RQERR[n], error.name).set.eq(rx_error[error])
            causes["RXQ"].append(rx.written_back)
            causes["RXERR"].append(rx_error.any())
            events["GPRC"].append(rx.delivered)
            events["MPC"].append(rx.missed)
            events["RNBC"].append(rx.missed)
            octets["GORCL"].append(Mux(rx.delivered, rx.delivered_bytes, 0))

        self._tx_mux(m, tx_queues)
        self._rx_demux(m, rx_queues, events)

        # counters: several queues may count in one cycle; a small accumulator per counter
        # passes the events on as fast as the counter's increment width allows. Events reach
        # the counters two cycles late (three when merged): the queues' event logic, the
        # accumulators' adders and the counters' are never in one cycle (a read cannot tell
        # the difference)
        counters = [(name, sources, getattr(bank, name).inc)
                    for name, sources in {**events, **octets}.items()] + queue_counters
        for name, sources, port in counters:
            # every event leaves its queue through a register
            registered = []
            for index, source in enumerate(sources):
                registered.append(Signal(len(Value.cast(source)), name=f"{name}_event{index}"))
                m.d.sync += registered[-1].eq(source)
            if not sources:
                m.d.comb += port.eq(0)
            elif len(sources) == 1 and len(Value.cast(sources[0])) <= len(port):
                m.d.sync += port.eq(registered[0])
            else:
                _merge_events(m, name, registered, port)
        m.d.comb += [bank.GOTCH.r_data.eq(0), bank.GORCH.r_data.eq(0)]

        # interrupt causes, set, mask
        pending = []
        for field, bits in causes.items():
            cause = getattr(bank.EICR, field)
            mask = getattr(bank.EIMS, field)
            cause_set = getattr(bank.EICS, field)
            mask_clear = getattr(bank.EIMC, field)
            # the queues' causes through a register (a cycle late): a queue's completion logic
            # and the bank's cause bits are never in one cycle
            raised = Signal(len(bits), name=f"{field}_raised")
            m.d.sync += raised.eq(Cat(bits))
            m.d.comb += [
                cause.set.eq(raised | Mux(cause_set.w_stb, cause_set.w_data, 0)),
                mask.clear.eq(Mux(mask_clear.w_stb, mask_clear.w_data, 0)),
            ]
            pending.append((cause.data & mask.data).any())
        m.d.sync += self.irq.eq(Cat(pending).any())
        return m

    def _connect_ring(self, m, bank, queue, prefix, control, n, window):
        """Ring registers -> the queue's config; the queue's head and disable -> the bank.
        Returns the queue's errors as the bank takes them: a stop's errors and its clearing of
        ENABLE reach the bank through registers, together (a cycle late)."""
        base_low = getattr(bank, f"{prefix}DBAL")[n].ADDRESS.data
        error = Signal.like(queue.error, name=f"{prefix}QERR{n}_raised")
        disable = Signal(name=f"{control}{n}_disable")
        m.d.sync += [error.eq(queue.error), disable.eq(queue.disable)]
        m.d.comb += [
            queue.config.base.eq(Cat(C(0, 7), base_low, getattr(bank, f"{prefix}DBAH")[n].data)),
            queue.config.length.eq(getattr(bank, f"{prefix}DLEN")[n].LENGTH.data),
            queue.config.head.eq(getattr(bank, f"{prefix}DH")[n].HEAD.data),
            queue.config.tail.eq(getattr(bank, f"{prefix}DT")[n].TAIL.data),
            queue.config.enable.eq(getattr(bank, control)[n].ENABLE.data),
            queue.config.wthresh.eq(getattr(bank, control)[n].WTHRESH.data),
            getattr(bank, control)[n].ENABLE.hw_data.eq(0),
            getattr(bank, control)[n].ENABLE.hw_stb.eq(disable),
            queue.window.eq(window),
        ]
        # the head reaches TDH / RDH through registers (a cycle late), like the causes
        m.d.sync += [
            getattr(bank, f"{prefix}DH")[n].HEAD.hw_data.eq(queue.head),
            getattr(bank, f"{prefix}DH")[n].HEAD.hw_stb.eq(queue.head_stb),
        ]
        return error

    def _tx_mux(self, m, tx_queues):
        """TX streams of the queues onto ``tx_stream``, frame by frame, round-robin."""
        if len(tx_queues) == 1:
            wiring.connect(m, tx_queues[0].tx_stream, wiring.flipped(self.tx_stream))
            return
        count = len(tx_queues)
        grant = Signal(range(count))
        busy = Signal()                       # in the middle of the granted queue's frame
        out = self.tx_stream
        for index, queue in enumerate(tx_queues):
            with m.If(grant == index):
                m.d.comb += [out.valid.eq(queue.tx_stream.valid),
                             out.payload.eq(queue.tx_stream.payload),
                             queue.tx_stream.ready.eq(out.ready)]
        with m.If(out.valid & out.ready):
            m.d.sync += busy.eq(~out.payload.last)
        with m.If(~busy & ~(out.valid & out.ready)):
            # move on to the next queue with a frame, when the granted one has none
            with m.If(~out.valid):
                m.d.sync += grant.eq(Mux(grant == count - 1, 0, grant + 1))
        with m.If(out.valid & out.ready & out.payload.last):
            m.d.sync += grant.eq(Mux(grant == count - 1, 0, grant + 1))

    def _rx_demux(self, m, rx_queues, events):
        """``rx_stream`` to the queue each frame names (a frame for a queue that does not
        exist goes to queue 0), a cycle later. The stream is never back-pressured."""
        beat = self.rx_stream.payload
        m.d.comb += self.rx_stream.ready.eq(1)
        target = Signal(range(max(2, len(rx_queues))))
        current = Signal.like(target)
        in_frame = Signal()
        with m.If(~in_frame & (beat.queue < len(rx_queues))):
            m.d.comb += target.eq(beat.queue)
        with m.Elif(in_frame):
            m.d.comb += target.eq(current)
        with m.If(self.rx_stream.valid):
            m.d.sync += [in_frame.eq(~beat.last), current.eq(target)]
        frame_end = self.rx_stream.valid & beat.last
        # each queue's beats from registers (a cycle later): the queue's input logic and
        # its frame FIFO's write enables start near it, not at the engine's port
        for index, queue in enumerate(rx_queues):
            m.d.sync += [
                queue.rx_stream.valid.eq(self.rx_stream.valid & (target == index)),
                queue.rx_stream.payload.eq(beat),
            ]
        events["TPR"].append(frame_end)
        events["ROC"].extend(queue.oversize for queue in rx_queues)


def _merge_events(m, name, sources, port):
    """Drive a counter's ``inc`` with the events of ``sources`` (one value per cycle each):
    what does not fit in the increment width waits in an accumulator, nothing is lost. The
    events' sum is registered, and so is ``inc``: events reach the counter two cycles late."""
    total_width = max(len(port), max(len(Value.cast(source)) for source in sources)) + 8
    pending = Signal(total_width, name=f"{name}_pending")
    arriving = Signal(total_width, name=f"{name}_arriving")
    limit = (1 << len(port)) - 1
    # ``arriving - limit`` registered beside ``arriving``: what stays pending when the
    # increment is full is one adder from registers, beside the one that sums ``available``,
    # and whether it is full is the sum's upper bits (no compare after the adder)
    arriving_less = Signal(signed(total_width + 1), name=f"{name}_arriving_less")
    total = sum(Value.cast(source) for source in sources)
    m.d.sync += [arriving.eq(total), arriving_less.eq(total - limit)]
    available = Signal(total_width + 1, name=f"{name}_available")
    m.d.comb += available.eq(pending + arriving)
    over = available[len(port):].any()
    m.d.sync += [port.eq(Mux(over, limit, available[:len(port)])),
                 pending.eq(Mux(over, pending + arriving_less, 0))]
