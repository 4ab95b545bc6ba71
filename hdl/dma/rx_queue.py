"""One RX queue of the DMA engine: the RX packet stream -> buffers of the RX descriptor ring."""

from types import SimpleNamespace as _Completion

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..one_hot_fsm import OneHotFSM
from ..packet import packet_layout
from .bus_arbiter import client_signature
from .descriptors import (DESCRIPTOR_BYTES, MAX_FRAME_BYTES, SRRCTL_BSIZEPKT_UNIT,
                          SRRCTL_DESCTYPE_ADV_ONEBUF, RxReadDescriptor, RxWriteBack)
from .descriptor_prefetch import DescriptorPrefetch
from .frame_fifo import FrameFIFO
from .queue_start import registered_start
from .registers import MAX_QUEUES, OCTET_INC_WIDTH, RxQueueError
from .ring import (INDEX_WIDTH, buffer_end, inside_window_from, ring_distance,
                   window_compares, window_layout)
from .tx_queue import (FETCH_DESCRIPTORS, PREFETCH_DESCRIPTORS, TAG_DATA, TAG_FETCH,
                       TAG_WRITE_BACK, queue_config_layout)


__all__ = ["RxQueue", "rx_beat_layout", "RX_FIFO_BYTES"]


#: Bytes of the RX frame FIFO (store and forward): more than one of the largest frames.
RX_FIFO_BYTES = 16384

#: Frames the RX frame FIFO holds at once (a burst of small frames).
RX_FIFO_FRAMES = 128


def rx_beat_layout(data_width):
    """A beat of the engine's RX stream: a packet beat (:func:`~slique.hdl.packet.packet_layout`)
    with the frame's RX ``queue`` (0 to 3; a queue the engine lacks means queue 0),
    ``rss_hash`` and ``rss_type`` (read on its first beat), as the flow path's demux provides
    them."""
    members = dict(packet_layout(data_width).members)
    members.update(queue=range(MAX_QUEUES), rss_hash=32, rss_type=4)
    return data.StructLayout(members)


def _min(a, b):
    return Mux(a < b, a, b)


def fits_buffer(length, buffer_units):
    """``length <= buffer_units * SRRCTL_BSIZEPKT_UNIT`` without the wide compare: the whole
    units of ``length`` below ``buffer_units``, or equal to it with nothing beyond (a compare
    of a few bits and a zero test, beside each other: shallow enough to follow a block RAM's
    output into the FSM's next state)."""
    unit_bits = SRRCTL_BSIZEPKT_UNIT.bit_length() - 1
    units = length[unit_bits:]
    return (units < buffer_units) | ((units == buffer_units) & (length[:unit_bits] == 0))


class RxQueue(wiring.Component):
    """One RX queue: frames from the RX stream into the buffers of the i225 advanced RX ring.

    Frames arrive on ``rx_stream`` (never back-pressured) into a store-and-forward
    :class:`FrameFIFO`; a frame longer than :data:`MAX_FRAME_BYTES` is dropped there
    (``oversize``, ROC), and so is a frame that finds the queue stopped (``dropped``, RQDPC)
    or the FIFO full because the host bus is slower than the stream (``missed``, MPC).
    Each frame then needs ``ceil(length / buffer size)`` descriptors: with fewer free ones
    (from the head up to the tail) it is missed (MPC, RNBC) and nothing is written; otherwise
    its bytes go, in bursts, into the buffers of the descriptors from the head on, and the
    descriptors are written back in one burst after the data (length, DD, EOP on the last,
    the RSS hash and type), the head moving past them. Descriptors are prefetched in bursts
    like the TX queue's.

    A buffer address must be a multiple of the bus width (igc's are page-aligned); one that is
    not, or whose buffer ``[pkt_addr, pkt_addr + buffer size)`` is outside the DMA window, is
    refused before anything is written to it (RQERR.WINDOW). Errors stop the queue as the
    register map documents, and the frame in progress is dropped (RQDPC) with none of its
    descriptors written back.

    Pipeline
    --------
    Every decision starts from flip-flops (125 MHz on ECP5); the figures it needs are
    registered a cycle or two ahead, from state that is settled by then:

    - *Stream side*: the frame's byte count needs no adder after ``keep`` (the count before
      the last beat is a multiple of the bus width; the count plus a full beat is kept in a
      register), the too-long check is a flag registered with the count, the frame FIFO's
      ``full`` is a register and its output word is the block RAM's output register on
      ECP5 (``output_register``); the frame lengths wait in fabric registers
      (``length_register``), so the FSM's frame decisions do not start at the RAM.
    - *Fetch*: the distances from ``fetch`` to the tail and to the ring's end are
      registered, then the batch (towards the tail, not across the ring's end, at most
      :data:`FETCH_DESCRIPTORS`), then whether the prefetch has credit for it: a fetch goes
      out three cycles after the ring state it was decided on (stale figures are safe: the
      tail and the credit only grow but by this queue's own fetch, and after one the next
      command waits for its done). Its address and the ring position after it are registered
      beside.
    - *Descriptor*: the assembled descriptor's buffer is checked in the three cycles after
      it is assembled (its end and the compare with the window's base, then the end's
      compares, then the verdict); the FSM takes it with the verdict.
    - *Frame*: the free descriptors (head up to the tail) are registered: a frame is admitted
      on the count of the cycle before; a frame of several buffers on a compare registered
      after its count of descriptors is settled (state ``ADMIT``, a cycle after ``SIZE``).
      Whether a frame fits one buffer comes from a few bits of its length against
      SRRCTL.BSIZEPKT (:func:`fits_buffer`, no wide compare), registered while the length
      waits at the lengths' output; the frame is taken (its length popped, its figures
      kept) as the FSM leaves IDLE, so the next length is there and checked by the time the
      FSM is back. The head after the frame is computed ahead.
    - *Bursts*: a data burst's beats and bytes are registered from ``buffer_left`` (and set
      beside it on the way to DATA, from ``left`` and a registered ``left <= buffer size``); a
      write-back run's address and length from ``wb_index`` / ``wb_slot`` (set when the frame
      is taken, moved by the write beats, which end before the command's done); the
      write-back's length and EOP from a registered ``bytes left <= buffer size``.
    - *FSM*: one flip-flop per state (:class:`~slique.hdl.one_hot_fsm.OneHotFSM`); its
      conditions are registers set beside what they compare (``buffer_done``,
      ``used_all``, ``wb_all``, ``data_active``, ``wb_writing``), and ``idle_bus`` comes
      from a register of the next ``cmd.valid`` / ``waiting`` (with ``cmd.valid`` for a
      command chosen in the cycle before).
    - *Start / stop*: the configuration is checked in the three cycles before the queue starts
      (a start takes three cycles after ENABLE); the stop's "nothing in flight" is registered,
      and the prefetch is emptied on a flag registered a cycle ahead.

    Against the unregistered design, a bus command goes out at the same cycle but for the
    fetch (three cycles later after a change of the tail), a frame's first word is ready a
    cycle later (never the limit: the FSM takes three cycles to reach its first burst), its
    length reaches the FSM a cycle later (three cycles after the commit), a
    descriptor is usable three cycles after it is assembled, a frame meets the free count
    of the cycle before, and a frame of several buffers takes a cycle more to be admitted.
    :class:`~slique.firmware.dma_timing.DmaTiming` follows (it has no frames of several
    buffers).

    Parameters
    ----------
    data_width, addr_width, max_beats, tag_width
        As :class:`~slique.hdl.dma.tx_queue.TxQueue`'s.
    fifo_bytes : int
        Bytes of the frame FIFO (a power of two, at least :data:`MAX_FRAME_BYTES`).

    Attributes
    ----------
    bus : ``Out(client_signature(...))``
    rx_stream : ``In(stream.Signature(rx_beat_layout(data_width)))`` (``ready`` unused)
    config : ``In(queue_config_layout())``
    buffer_size : ``In(7)``, descriptor_type : ``In(3)``
        SRRCTL.BSIZEPKT and SRRCTL.DESCTYPE.
    window : ``In(window_layout())``
        The DMA window; descriptors are checked against a copy a cycle late (a register
        near the checks: the bank's registers are far away).
    head, head_stb, disable, error, running
        As the TX queue's (RDH, RXDCTL.ENABLE, RQERR).
    written_back, delivered, oversize : ``Out(1)``
        Events: a frame written back (EICR RXQ, GPRC), too long (ROC).
    missed, dropped : ``Out(2)``
        Frames missed (MPC, RNBC) and dropped (RQDPC) in this cycle (the stream side and the
        ring side may each count one). A frame of no bytes (``last`` with ``keep`` 0 on its
        first beat) is dropped.
    delivered_bytes : ``Out(14)``
    """

    def __init__(self, *, data_width=64, addr_width=32, max_beats=32, tag_width=2,
                 fifo_bytes=RX_FIFO_BYTES):
        self._data_width = data_width
        self._addr_width = addr_width
        self._max_beats = max_beats
        self._word_bits = (data_width // 8).bit_length() - 1
        self._fifo_words = fifo_bytes // (data_width // 8)
        word_addr_width = addr_width - self._word_bits
        super().__init__({
            "bus": Out(client_signature(data_width=data_width, word_addr_width=word_addr_width,
                                        beats_width=max_beats.bit_length(),
                                        tag_width=tag_width)),
            "rx_stream": In(stream.Signature(rx_beat_layout(data_width))),
            "config": In(queue_config_layout()),
            "buffer_size": In(7),
            "descriptor_type": In(3),
            "window": In(window_layout()),
            "head": Out(INDEX_WIDTH),
            "head_stb": Out(1),
            "disable": Out(1),
            "error": Out(7),
            "written_back": Out(1),
            "delivered": Out(1),
            "delivered_bytes": Out(OCTET_INC_WIDTH),
            "missed": Out(2),
            "dropped": Out(2),
            "oversize": Out(1),
            "running": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        width = self._data_width
        lanes = width // 8
        word_bits = self._word_bits
        words_per_descriptor = DESCRIPTOR_BYTES // lanes
        max_beats = self._max_beats
        cfg = self.config
        bus = self.bus

        base = Signal(64)
        count = Signal(INDEX_WIDTH + 1)
        buffer_bytes = Signal(17)             # SRRCTL.BSIZEPKT * 1024, latched
        buffer_units = Signal(7)              # SRRCTL.BSIZEPKT, latched
        fetch = Signal(INDEX_WIDTH)
        head = Signal(INDEX_WIDTH)
        enable_seen = Signal()
        stopping = Signal()
        stop_error = Signal(7)
        m.d.sync += enable_seen.eq(cfg.enable)
        m.d.comb += self.head.eq(head)

        # ---- the frame FIFO: frames in from the stream ---------------------------------------
        meta_layout = data.StructLayout({"length": 14, "rss_hash": 32, "rss_type": 4})
        m.submodules.frames = frames = FrameFIFO(data_width=width, depth=self._fifo_words,
                                                 length_width=meta_layout.size,
                                                 frames=RX_FIFO_FRAMES, output_register=True,
                                                 length_register=True)
        beat = self.rx_stream.payload
        incoming = self.rx_stream.valid
        receiving = Signal()                  # in the middle of a frame
        accepting = Signal()                  # this frame goes into the FIFO
        overflowed = Signal()                 # the FIFO was full: the frame is missed
        received = Signal(range(MAX_FRAME_BYTES + lanes + 1))   # a multiple of lanes
        received_more = Signal.like(received) # received + lanes
        frame_hash = Signal(32)
        frame_type = Signal(4)
        beat_bytes = Signal(range(lanes + 1))
        # keep counts on the last beat: the run of set lanes from lane 0
        keep_run = Const(lanes, range(lanes + 1))
        for lane in reversed(range(lanes)):
            keep_run = Mux(beat.keep[lane], keep_run, lane)   # the lowest clear lane, or all
        m.d.comb += beat_bytes.eq(Mux(beat.last, keep_run, lanes))
        # beat_bytes == lanes and beat_bytes != 0 from keep itself (not after its run's mux)
        beat_full = Signal()
        beat_any = Signal()
        m.d.comb += [beat_full.eq(~beat.last | beat.keep.all()),
                     beat_any.eq(~beat.last | beat.keep[0])]
        # The frame's bytes with this beat: every beat but the last has all lanes, so the
        # count before it is a multiple of lanes, and the sum needs no adder after keep: the
        # beat's bytes in the low bits, or the count plus lanes (kept in a register) when the
        # beat is full.
        this_received = Mux(receiving, received, 0)
        this_more = Mux(receiving, received_more, lanes)
        new_received = Signal.like(received)
        m.d.comb += new_received.eq(Mux(beat_full, this_more,
                                        Cat(beat_bytes[:word_bits], this_received[word_bits:])))
        # too long: new_received > MAX_FRAME_BYTES, from flags registered with received, so
        # that the FIFO's write decision needs no adder and no wide compare. received is a
        # multiple of lanes, as MAX_FRAME_BYTES is: a beat makes the frame too long when it
        # brings a byte with received at MAX_FRAME_BYTES, or any beat after that one
        assert MAX_FRAME_BYTES % lanes == 0
        over = Signal()                       # received > MAX_FRAME_BYTES (once, for good)
        at_max = Signal()                     # received == MAX_FRAME_BYTES
        too_long = Signal()
        m.d.comb += too_long.eq(receiving & (over | (at_max & beat_any)))
        this_accepting = Mux(receiving, accepting, self.running & ~stopping)
        this_hash = Mux(receiving, frame_hash, beat.rss_hash)
        this_type = Mux(receiving, frame_type, beat.rss_type)
        this_overflow = Mux(receiving, overflowed, 0)
        meta = Signal(meta_layout)
        space = Signal()                      # the FIFO takes this word (and commits a frame)
        empty_frame = Signal()
        stream_dropped = Signal()
        stream_missed = Signal()
        m.d.comb += [
            space.eq(~frames.full & (~beat.last | frames.commit_ready)),
            empty_frame.eq(beat.last & ~receiving & ~beat_any),
            meta.length.eq(new_received),
            meta.rss_hash.eq(this_hash),
            meta.rss_type.eq(this_type),
            self.rx_stream.ready.eq(1),
            frames.w_stream.payload.data.eq(beat.data),
            frames.w_stream.payload.last.eq(beat.last),
            frames.w_stream.payload.abort.eq(too_long | this_overflow | empty_frame | ~space),
            frames.w_stream.payload.length.eq(meta),
        ]
        with m.If(incoming):
            # (after a last beat, received no longer counts: the next beat starts a frame)
            m.d.sync += [receiving.eq(~beat.last), received.eq(this_more),
                         received_more.eq(this_more + lanes),
                         over.eq(too_long),     # (sticky: received may wrap round)
                         at_max.eq(this_more == MAX_FRAME_BYTES),
                         accepting.eq(this_accepting), frame_hash.eq(this_hash),
                         frame_type.eq(this_type)]
            # a last word always goes in (an abort, when anything went wrong, is always taken)
            m.d.comb += frames.w_stream.valid.eq(
                this_accepting & (beat.last | (~this_overflow & ~too_long & space)))
            with m.If(beat.last):
                m.d.sync += overflowed.eq(0)
                with m.If(too_long):
                    m.d.comb += self.oversize.eq(1)
                with m.Elif(~this_accepting | empty_frame):
                    m.d.comb += stream_dropped.eq(1)
                with m.Elif(this_overflow | ~space):
                    m.d.comb += stream_missed.eq(1)
            with m.Else():
                m.d.sync += overflowed.eq(this_overflow | (this_accepting & ~space))

        # ---- the command in flight ----------------------------------------------------------
        cmd = bus.cmd
        waiting = Signal()
        with m.If(cmd.valid & cmd.ready):
            m.d.sync += [cmd.valid.eq(0), waiting.eq(1)]
        # the completion, a cycle late (as the TX queue sees its own): the master's answer
        # logic and the queue's reaction to it (the FSM, the head, the events) are never in
        # one cycle
        done = _Completion(valid=Signal(), payload=Signal.like(bus.done.payload))
        m.d.sync += [done.valid.eq(bus.done.valid), done.payload.eq(bus.done.payload)]
        with m.If(done.valid):
            m.d.sync += waiting.eq(0)
        # idle_bus == ~cmd.valid & ~waiting, from a register (the next values of both, but
        # for a command chosen now: cmd.valid covers that), so that the command choices
        # start from flip-flops and do not loop into it
        idle_bus = Signal()
        idle_so_far = Signal(init=1)
        fired = cmd.valid & cmd.ready
        m.d.sync += idle_so_far.eq(~(cmd.valid & ~fired) & ~(~done.valid & (waiting | fired)))
        m.d.comb += idle_bus.eq(idle_so_far & ~cmd.valid)

        # ---- descriptor prefetch -------------------------------------------------------------
        m.submodules.prefetch = prefetch = DescriptorPrefetch(
            data_width=width, descriptors=PREFETCH_DESCRIPTORS)
        credit = prefetch.credit
        fetch_ahead = Signal(signed(INDEX_WIDTH + 2))  # tail - fetch, registered
        fetch_to_end = Signal(INDEX_WIDTH + 1)         # count - fetch, registered
        fetch_address = Signal(self._addr_width)       # base + 16 * fetch, registered
        batch = Signal(range(FETCH_DESCRIPTORS + 1))   # registered from the two above
        fetch_failed = Signal()
        m.d.comb += [
            prefetch.fill.payload.data.eq(bus.read.payload.data),
            prefetch.fill.payload.err.eq(bus.read.payload.err),
            prefetch.fill.valid.eq(bus.read.valid & (bus.read.payload.tag == TAG_FETCH)),
        ]
        descriptor = RxReadDescriptor(prefetch.descriptor)
        assembled_err = prefetch.err
        take = prefetch.take                  # the FSM uses the assembled descriptor
        # The assembled descriptor's buffer is checked in the three cycles after it is
        # assembled (it stays until taken): its end and the compare with the window's base
        # first, then the end's compares, then the verdict; the FSM sees it registered.
        staying = Signal()                    # the descriptor is assembled and stays
        m.d.comb += staying.eq(prefetch.valid & ~take & ~prefetch.flush)
        summed = Signal()                     # pkt_end is the assembled descriptor's
        compared = Signal()                   # the compares are the assembled descriptor's
        checked = Signal()                    # refused is the assembled descriptor's
        pkt_end = Signal(66)
        misaligned = Signal()
        within_reach, above_base, below_limit = Signal(), Signal(), Signal()
        refused = Signal()                    # misaligned, or outside the window / reach
        window = Signal(window_layout())
        m.d.sync += window.eq(self.window)
        end_compares = window_compares(window, descriptor.pkt_addr, pkt_end,
                                       self._addr_width)
        m.d.sync += [
            summed.eq(staying),
            pkt_end.eq(buffer_end(descriptor.pkt_addr, buffer_bytes)),
            misaligned.eq(descriptor.pkt_addr[:word_bits] != 0),
            above_base.eq(end_compares[1]),
            compared.eq(staying & summed),
            within_reach.eq(end_compares[0]),
            below_limit.eq(end_compares[2]),
            checked.eq(staying & compared),
            refused.eq(misaligned | ~inside_window_from(window, within_reach, above_base,
                                                        below_limit)),
        ]
        have = Signal()
        m.d.comb += have.eq(prefetch.valid & checked)

        # ---- per frame ----------------------------------------------------------------------
        # The frame waiting at the lengths' output is taken (popped) as the FSM leaves IDLE for
        # it, its figures kept in ``frame``; whether it fits one buffer is registered beside
        # the length (``length_fits``, a cycle after it reached the output: the IDLE decision
        # starts from flip-flops). ``length_checked`` says the flag is the waiting length's:
        # the length was there and stayed (not popped) in the cycle before, and the buffer
        # size did not change then (a start latches it). The FSM comes back to IDLE at least
        # two cycles after a pop, so a frame behind another waits no longer for the flag.
        meta_out = meta_layout(frames.length_stream.payload)
        length_fits = Signal()
        length_checked = Signal()
        frame = Signal(meta_layout)           # the frame taken at IDLE
        frame_length = frame.length
        needed = Signal(range(MAX_FRAME_BYTES // SRRCTL_BSIZEPKT_UNIT + 2))
        covered = Signal(range(MAX_FRAME_BYTES + (1 << 17)))
        used = Signal.like(needed)            # descriptors written so far
        left = Signal(14)                     # bytes of the frame not yet given a buffer
        left_fits = Signal()                  # left <= buffer_bytes: the next buffer is the last
        # a buffer lies inside the master's 2 ** addr_width bytes (the window check): its
        # address needs no more bits
        buffer_address = Signal(self._addr_width)
        buffer_left = Signal(17)              # bytes still to write into this buffer
        frame_error = Signal(7)               # the frame failed: drop it after the drain
        tail_bytes = Signal(range(lanes))
        m.d.comb += tail_bytes.eq(frame_length[:word_bits])
        # free descriptors (head up to the tail), registered: a frame is admitted on the
        # count of the cycle before (the tail only ever adds to it, the head moves a cycle
        # before a frame is looked at)
        free_descriptors = Signal(INDEX_WIDTH + 1)
        # free_descriptors == 0, registered beside it: the distance is 0 exactly when the head
        # (always below the count) is the tail
        no_free_descriptor = Signal()
        m.d.sync += [free_descriptors.eq(ring_distance(head, cfg.tail, count)),
                     no_free_descriptor.eq(head == cfg.tail)]
        # a frame of several buffers: fewer free descriptors than it needs, a cycle behind
        # (its own state, ADMIT, after SIZE: the compare's carry chain ends in a flip-flop)
        short_of_descriptors = Signal()
        m.d.sync += short_of_descriptors.eq(free_descriptors < needed)
        # the head past this frame's descriptors, registered in two steps (the room to the
        # ring's end, then ring_next): head and needed are settled long before a delivery
        head_room = Signal(INDEX_WIDTH + 1)
        head_after = Signal(INDEX_WIDTH)
        head_past_end = Signal(signed(INDEX_WIDTH + 2))
        m.d.comb += head_past_end.eq(needed - head_room)
        m.d.sync += [head_room.eq(count - head),
                     head_after.eq(Mux(head_past_end >= 0, head_past_end, head + needed))]

        # write beats: frame words while a data burst is out, write-back words otherwise
        data_beats = Signal(range(max_beats + 1))
        data_active = Signal()                # data_beats != 0, as a register
        wb_beats = Signal(range(2 * (MAX_FRAME_BYTES // SRRCTL_BSIZEPKT_UNIT + 1) *
                                words_per_descriptor + 1))
        wb_beat = Signal.like(wb_beats)
        wb_writing = Signal()                 # wb_beat != wb_beats, as a register
        # the FSM's conditions as registers, set beside what they compare
        wb_all = Signal()                     # wb_index == needed: all written back
        used_all = Signal()                   # used == needed: every buffer taken
        buffer_done = Signal()                # buffer_left == 0
        wb_index = Signal.like(needed)        # descriptor of the frame being written back
        wb_slot = Signal(INDEX_WIDTH)         # its ring index: ring_next(head, count, wb_index)
        # needed - wb_index and count - wb_slot, kept beside them (no subtractor before the
        # run's minimum)
        wb_remaining = Signal.like(needed)
        wb_to_end = Signal(INDEX_WIDTH + 1)
        wb_slot_last = Signal()               # wb_to_end == 1, a register
        wb_bytes_left = Signal(14)            # frame bytes from wb_index on
        wb_fits = Signal()                    # wb_bytes_left <= buffer_bytes: the EOP one
        write_back = Signal(RxWriteBack)
        wb_length = Signal(17)
        m.d.comb += [
            wb_length.eq(Mux(wb_fits, wb_bytes_left, buffer_bytes)),
            write_back.pkt_info.rss_type.eq(frame.rss_type),
            write_back.rss_hash.eq(frame.rss_hash),
            write_back.status_error.dd.eq(1),
            write_back.status_error.eop.eq(wb_fits),
            write_back.length.eq(wb_length),
        ]
        wb_word = write_back.as_value()
        word_in_descriptor = Signal(range(words_per_descriptor))
        m.d.comb += word_in_descriptor.eq(wb_beat[:(words_per_descriptor - 1).bit_length()])
        draining = Signal()                   # pop the frame's words without writing them
        last_popped = Signal()                # the frame's last word has left the FIFO
        last_word = frames.r_stream.payload.last
        with m.If(frames.r_stream.valid & frames.r_stream.ready & last_word):
            m.d.sync += last_popped.eq(1)
        with m.If(data_active):
            m.d.comb += [
                bus.write.valid.eq(frames.r_stream.valid),
                bus.write.payload.data.eq(frames.r_stream.payload.data),
                bus.write.payload.sel.eq(Mux(last_word & (tail_bytes != 0),
                                             (Const(1, lanes + 1) << tail_bytes) - 1, -1)),
                frames.r_stream.ready.eq(bus.write.ready),
            ]
            with m.If(bus.write.valid & bus.write.ready):
                m.d.sync += [data_beats.eq(data_beats - 1), data_active.eq(data_beats != 1)]
        with m.Elif(wb_writing):
            m.d.comb += [
                bus.write.valid.eq(1),
                bus.write.payload.data.eq(wb_word.word_select(word_in_descriptor, width)),
                bus.write.payload.sel.eq(-1),
            ]
            with m.If(bus.write.ready):
                m.d.sync += [wb_beat.eq(wb_beat + 1), wb_writing.eq(wb_beat + 1 != wb_beats)]
                with m.If(word_in_descriptor == words_per_descriptor - 1):
                    m.d.sync += [wb_index.eq(wb_index + 1),
                                 wb_all.eq(wb_remaining == 1),   # (needed - wb_index)
                                 wb_remaining.eq(wb_remaining - 1),
                                 wb_slot.eq(Mux(wb_slot_last, 0, wb_slot + 1)),
                                 wb_to_end.eq(Mux(wb_slot_last, count, wb_to_end - 1)),
                                 wb_slot_last.eq(Mux(wb_slot_last, count == 1,
                                                     wb_to_end == 2)),
                                 wb_bytes_left.eq(Mux(wb_fits, 0,
                                                      wb_bytes_left - buffer_bytes)),
                                 wb_fits.eq(wb_bytes_left <= (buffer_bytes << 1))]
        with m.Elif(draining):
            m.d.comb += frames.r_stream.ready.eq(1)
            with m.If(frames.r_stream.valid & last_word):
                m.d.sync += draining.eq(0)

        # The bursts' figures, registered (computed from the previous cycle's state), like the
        # fetch decision: a data burst from buffer_left (buffer_address is bus-aligned, so a
        # burst is the rest of the buffer up to max_beats words); a write-back run from
        # wb_index / wb_slot (up to the frame's last descriptor or the ring's end). A command
        # goes out at most every third cycle (it is taken, then answered), and their inputs
        # are settled before: wb_index / wb_slot from the frame's start, then by write beats
        # that end before the done; buffer_left by the command before, or, on the way from
        # DESCRIPTOR to DATA, with its figures (assigned there beside it).
        burst_cap = max_beats * lanes
        beats = Signal(range(max_beats + 1))
        burst_bytes = Signal(range(burst_cap + 1))
        m.d.sync += [
            burst_bytes.eq(Mux(buffer_left < burst_cap, buffer_left, burst_cap)),
            # (the compare with the constant beside the sum, not after it)
            beats.eq(Mux(buffer_left < burst_cap, (buffer_left + lanes - 1) >> word_bits,
                         max_beats)),
        ]
        wb_run = Signal(range(MAX_FRAME_BYTES // SRRCTL_BSIZEPKT_UNIT + 2))
        wb_address = Signal(self._addr_width)
        m.d.sync += [
            wb_run.eq(_min(wb_remaining, wb_to_end)),
            wb_address.eq(base[:self._addr_width] + (wb_slot << 4)),
        ]

        # The fetch decision in three registered steps: the distances from fetch to the tail
        # and to the ring's end; the batch (the descriptors from fetch towards the tail, not
        # across the ring's end, at most FETCH_DESCRIPTORS); whether the prefetch has credit
        # for it. So the decision is three cycles behind fetch and the tail, one behind the
        # credit. Stale figures are safe: the tail and the credit only grow but by this
        # queue's own fetch, and after one, the next command waits for its done (the bus is
        # idle again four cycles later at the earliest, when every figure is new).
        fetch_ready = Signal()
        fetch_go = Signal()                   # a fetch goes out when the bus is free
        m.d.sync += [
            fetch_ahead.eq(cfg.tail - fetch),
            fetch_to_end.eq(count - fetch),
            fetch_address.eq(base[:self._addr_width] + (fetch << 4)),
            batch.eq(Mux(fetch_ahead < 0,
                         Mux(fetch_to_end < FETCH_DESCRIPTORS, fetch_to_end, FETCH_DESCRIPTORS),
                         Mux(fetch_ahead < FETCH_DESCRIPTORS, fetch_ahead, FETCH_DESCRIPTORS))),
            fetch_ready.eq(self.running & ~stopping & ~fetch_failed & (cfg.tail < count) &
                           (batch != 0) & (credit >= batch)),
        ]
        m.d.comb += fetch_go.eq(fetch_ready & ~stopping & ~fetch_failed)
        # the FSM leaves the bus to a fetch on fetch_ready, the register (fetch_go less the
        # stop or fetch error of this cycle: the FSM then waits a cycle, and fetch_ready
        # falls), so that its command choices start from flip-flops
        word_address = lambda byte_address: byte_address[word_bits:self._addr_width]

        def write_command(byte_address, beats, tag):
            return [cmd.valid.eq(1), cmd.payload.write.eq(1),
                    cmd.payload.address.eq(word_address(byte_address)),
                    cmd.payload.beats.eq(beats), cmd.payload.tag.eq(tag)]

        m.d.comb += frames.length_stream.ready.eq(0)
        fsm_idle = Signal()
        deliver = Signal()                    # the frame is written back: count it, move on
        ring_dropped = Signal()
        ring_missed = Signal()
        m.d.comb += [self.dropped.eq(stream_dropped + ring_dropped),
                     self.missed.eq(stream_missed + ring_missed)]
        # one flip-flop per state (the FSM's transitions are on the queue's critical paths)
        fsm = OneHotFSM(m, ["IDLE", "SIZE", "ADMIT", "DESCRIPTOR", "DATA", "DATA_DONE", "NEXT",
                            "WRITE_BACK", "WRITE_BACK_DONE", "DELIVER", "FAIL", "FINISH"],
                        name="rx_state")
        m.d.comb += fsm_idle.eq(fsm.ongoing("IDLE"))

        def admit(*, short):
            """The frame is missed (too few free descriptors: drained, counted) or goes on."""
            with m.If(short):
                m.d.comb += ring_missed.eq(1)
                m.d.sync += draining.eq(1)
                fsm.next("FINISH")
            with m.Else():
                fsm.next("DESCRIPTOR")

        with fsm.state("IDLE"):
            with m.If(frames.length_stream.valid & length_checked & ~draining):
                m.d.comb += frames.length_stream.ready.eq(1)
                m.d.sync += [frame.eq(meta_out), needed.eq(1),
                             covered.eq(buffer_bytes), used.eq(0), used_all.eq(0),
                             wb_all.eq(0), last_popped.eq(0),
                             left.eq(meta_out.length),
                             left_fits.eq(length_fits),
                             frame_error.eq(0), wb_index.eq(0), wb_slot.eq(head),
                             # (head_room: count - head, settled since the delivery)
                             wb_remaining.eq(1), wb_to_end.eq(head_room),
                             wb_slot_last.eq(head_room == 1),
                             wb_bytes_left.eq(meta_out.length),
                             wb_fits.eq(length_fits)]
                with m.If(~self.running | stopping):
                    m.d.comb += ring_dropped.eq(1)
                    m.d.sync += draining.eq(1)
                    fsm.next("FINISH")
                with m.Elif(length_fits):
                    # one buffer: no need to count them
                    admit(short=no_free_descriptor)
                with m.Else():
                    fsm.next("SIZE")
        with fsm.state("SIZE"):
            # descriptors needed: buffers of buffer_bytes until the frame is covered
            with m.If(covered < frame_length):
                m.d.sync += [covered.eq(covered + buffer_bytes), needed.eq(needed + 1),
                             wb_remaining.eq(wb_remaining + 1)]
            with m.Else():
                fsm.next("ADMIT")
        with fsm.state("ADMIT"):
            # needed is settled since the cycle before: short_of_descriptors (registered
            # then) compares it with the free descriptors of that cycle
            admit(short=short_of_descriptors)
        with fsm.state("DESCRIPTOR"):
            with m.If(stopping):
                m.d.sync += [draining.eq(1),
                             frame_error.eq(Mux(stop_error == 0,
                                                1 << RxQueueError.ABORTED, stop_error))]
                fsm.next("FAIL")
            with m.Elif(have):
                m.d.comb += take.eq(1)
                with m.If(assembled_err):
                    m.d.sync += [draining.eq(1),
                                 frame_error.eq(1 << RxQueueError.BUS_ERROR)]
                    fsm.next("FAIL")
                with m.Elif(refused):
                    m.d.sync += [draining.eq(1), frame_error.eq(1 << RxQueueError.WINDOW)]
                    fsm.next("FAIL")
                with m.Else():
                    # this buffer takes min(left, buffer_bytes); its burst figures with it
                    this_buffer = Mux(left_fits, left, buffer_bytes)
                    m.d.sync += [
                        buffer_address.eq(descriptor.pkt_addr),
                        buffer_left.eq(this_buffer),
                        burst_bytes.eq(Mux(left_fits & (left < burst_cap), left,
                                           burst_cap)),
                        beats.eq(Mux(left_fits & (left < burst_cap),
                                     (left + lanes - 1) >> word_bits, max_beats)),
                        left.eq(Mux(left_fits, 0, left - buffer_bytes)),
                        left_fits.eq(left <= (buffer_bytes << 1)),
                        buffer_done.eq(left_fits & (left == 0)),
                        used.eq(used + 1),
                        used_all.eq(used + 1 == needed),
                    ]
                    fsm.next("DATA")
        with fsm.state("DATA"):
            with m.If(idle_bus & stopping):
                m.d.sync += [draining.eq(~last_popped),
                             frame_error.eq(Mux(stop_error == 0,
                                                1 << RxQueueError.ABORTED, stop_error))]
                fsm.next("FAIL")
            with m.Elif(idle_bus & ~fetch_ready):
                with m.If(buffer_done):
                    fsm.next("NEXT")
                with m.Else():
                    m.d.sync += [
                        *write_command(buffer_address, beats, TAG_DATA),
                        data_beats.eq(beats),
                        data_active.eq(1),        # (a burst has a beat at least)
                        buffer_address.eq(buffer_address + burst_bytes),
                        buffer_left.eq(buffer_left - burst_bytes),
                        buffer_done.eq(buffer_left == burst_bytes),
                    ]
                    fsm.next("DATA_DONE")
        with fsm.state("DATA_DONE"):
            with m.If(done.valid):
                with m.If(done.payload.err):
                    m.d.sync += [frame_error.eq(1 << RxQueueError.BUS_ERROR),
                                 draining.eq(~last_popped)]
                    fsm.next("FAIL")
                with m.Elif(~buffer_done):
                    fsm.next("DATA")
                with m.Elif(used_all):
                    fsm.next("WRITE_BACK")
                with m.Else():
                    fsm.next("DESCRIPTOR")
        with fsm.state("NEXT"):
            with m.If(used_all):
                fsm.next("WRITE_BACK")
            with m.Else():
                fsm.next("DESCRIPTOR")
        with fsm.state("WRITE_BACK"):
            # the frame's descriptors from the head, in one burst (two at the ring's end)
            with m.If(idle_bus & ~fetch_ready & ~wb_writing):
                with m.If(wb_all):
                    fsm.next("DELIVER")
                with m.Else():
                    m.d.sync += [
                        *write_command(wb_address, wb_run * words_per_descriptor,
                                       TAG_WRITE_BACK),
                        wb_beats.eq(wb_run * words_per_descriptor),
                        wb_beat.eq(0),
                        wb_writing.eq(1),         # (a run has a descriptor at least)
                    ]
                    fsm.next("WRITE_BACK_DONE")
        with fsm.state("WRITE_BACK_DONE"):
            with m.If(done.valid):
                m.d.sync += [wb_beats.eq(0), wb_beat.eq(0), wb_writing.eq(0)]
                with m.If(done.payload.err):
                    m.d.sync += frame_error.eq(1 << RxQueueError.BUS_ERROR)
                    fsm.next("FAIL")
                with m.Elif(wb_all):
                    m.d.comb += deliver.eq(1)
                    fsm.next("FINISH")
                with m.Else():
                    fsm.next("WRITE_BACK")
        with fsm.state("DELIVER"):
            m.d.comb += deliver.eq(1)
            fsm.next("FINISH")
        with fsm.state("FAIL"):
            m.d.comb += ring_dropped.eq(1)
            m.d.sync += stopping.eq(1)
            with m.If(stop_error == 0):
                m.d.sync += stop_error.eq(frame_error)
            fsm.next("FINISH")
        with fsm.state("FINISH"):
            with m.If(~draining & ~data_active):
                fsm.next("IDLE")

        with m.If(self.head_stb):
            m.d.sync += self.head_stb.eq(0)
        with m.If(deliver):
            m.d.comb += [self.delivered.eq(1), self.delivered_bytes.eq(frame_length),
                         self.written_back.eq(1)]
            m.d.sync += [head.eq(head_after), self.head_stb.eq(1)]

        # ---- fetch command (the FSM leaves the bus to it first) ------------------------------
        with m.If(idle_bus & fetch_go):
            m.d.comb += prefetch.reserve.eq(batch)
            m.d.sync += [
                cmd.valid.eq(1),
                cmd.payload.write.eq(0),
                cmd.payload.address.eq(word_address(fetch_address)),
                cmd.payload.beats.eq(batch * words_per_descriptor),
                cmd.payload.tag.eq(TAG_FETCH),
                # ring_next(fetch, count, batch): a batch ends at the ring's end at most
                fetch.eq(Mux(batch == fetch_to_end, 0, fetch + batch)),
            ]
        with m.If(done.valid & (done.payload.tag[:2] == TAG_FETCH) & done.payload.err):
            m.d.sync += fetch_failed.eq(1)

        # ---- run / stop ---------------------------------------------------------------------
        ring_bytes = cfg.length
        m.d.comb += [self.error.eq(0), self.disable.eq(0)]
        # An enable (ENABLE 0 -> 1) starts the queue two cycles later, its configuration
        # checked in registers in the two cycles before (queue_start.registered_start)
        start, errors = registered_start(
            m, cfg, enable_seen, self.running, self.disable, window=self.window,
            addr_width=self._addr_width,
            checks={RxQueueError.SRRCTL: (self.buffer_size == 0) |
                                         (self.descriptor_type != SRRCTL_DESCTYPE_ADV_ONEBUF)})
        start_count = ring_bytes >> 4
        m.d.sync += [length_fits.eq(fits_buffer(meta_out.length, buffer_units)),
                     length_checked.eq(frames.length_stream.valid &
                                       ~frames.length_stream.ready & ~start)]
        # nothing in flight in the cycle before (registered); with no command issued since
        # (cmd.valid low), nothing now either
        quiet = Signal()
        m.d.sync += quiet.eq(~waiting & ~cmd.valid & ~wb_writing & ~data_active)
        # ... and, a cycle later, with the FSM idle: a stop may empty the prefetch (the FSM
        # issues nothing while it is idle or draining, and a fetch leaves cmd.valid set)
        settled = Signal()
        m.d.sync += settled.eq(quiet & ~cmd.valid & fsm_idle & ~draining)
        with m.If(~self.running):
            with m.If(start):
                with m.If(errors != 0):
                    m.d.comb += [self.error.eq(errors), self.disable.eq(1)]
                with m.Else():
                    m.d.sync += [
                        self.running.eq(1),
                        base.eq(cfg.base),
                        count.eq(start_count),
                        buffer_bytes.eq(self.buffer_size * SRRCTL_BSIZEPKT_UNIT),
                        buffer_units.eq(self.buffer_size),
                        head.eq(cfg.head),
                        fetch.eq(cfg.head),
                        stopping.eq(0),
                        stop_error.eq(0),
                        fetch_failed.eq(0),
                    ]
        with m.Else():
            with m.If(~stopping):
                with m.If(~cfg.enable):
                    m.d.sync += stopping.eq(1)
                with m.Elif(cfg.tail >= count):
                    m.d.sync += [stopping.eq(1), stop_error.eq(1 << RxQueueError.TAIL)]
            with m.Elif(settled & ~cmd.valid):
                # nothing in flight: empty the prefetch, then stop
                m.d.comb += prefetch.flush.eq(1)
                with m.If(prefetch.empty):
                    m.d.sync += [self.running.eq(0), stopping.eq(0)]
                    with m.If(stop_error != 0):
                        m.d.comb += [self.error.eq(stop_error), self.disable.eq(1)]
        return m
