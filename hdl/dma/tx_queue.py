"""One TX queue of the DMA engine: descriptor ring -> host memory reads -> the TX packet stream."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..mac.skid_buffer import SkidBuffer
from ..packet import packet_layout
from .bus_arbiter import client_signature
from .byte_packer import BytePacker, packer_input_layout
from .descriptors import (DESCRIPTOR_BYTES, DTYP_DATA, MAX_FRAME_BYTES, MAX_FRAME_DESCRIPTORS,
                          TxDataDescriptor, TxWriteBack, pack_descriptor)
from .descriptor_prefetch import DescriptorPrefetch
from .frame_fifo import FabricOutputFIFO, FrameFIFO, frame_word_layout
from .queue_start import registered_start
from .registers import OCTET_INC_WIDTH, TxQueueError
from .ring import INDEX_WIDTH, RingIndex, inside_window_to, ring_run, window_layout


__all__ = ["TxQueue", "TAG_FETCH", "TAG_DATA", "TAG_WRITE_BACK", "FETCH_DESCRIPTORS",
           "WRITE_BACK_DESCRIPTORS", "queue_config_layout"]


#: Tags of a queue's commands (the low bits of the master's tag).
TAG_FETCH, TAG_DATA, TAG_WRITE_BACK = 0, 1, 2

#: Descriptors fetched in one burst, at most.
FETCH_DESCRIPTORS = 8

#: Write-backs written in one burst, at most (WTHRESH is clamped to it).
WRITE_BACK_DESCRIPTORS = 8

#: Descriptors the prefetch buffer holds.
PREFETCH_DESCRIPTORS = 32


def queue_config_layout():
    """What a queue takes from its registers: ring ``base`` (bytes), ``length`` (TDLEN /
    RDLEN bytes), ``head`` (TDH / RDH as software wrote it), ``tail``, ``enable``, ``wthresh``."""
    return data.StructLayout({"base": 64, "length": 20, "head": INDEX_WIDTH,
                              "tail": INDEX_WIDTH, "enable": 1, "wthresh": 5})


def _min(a, b):
    return Mux(a < b, a, b)


def _next_value(m, register):
    """The next value of ``register``, a comb signal that holds it unless assigned: a
    register's changes are assigned to it (in ``m.d.comb``), so that other registers can be
    set from the value it takes."""
    next_value = Signal.like(register, name=f"{register.name}_next")
    m.d.comb += next_value.eq(register)
    m.d.sync += register.eq(next_value)
    return next_value


class TxQueue(wiring.Component):
    """One TX queue: the i225 advanced TX descriptor ring, read as the igc driver fills it.

    Pipeline
    --------
    1. *Fetch*: descriptors from the ring position ``fetch`` up to the tail, in bursts of up
       to :data:`FETCH_DESCRIPTORS` (never across the ring's end), into a prefetch buffer of
       :data:`PREFETCH_DESCRIPTORS`; a fetch goes out whenever the buffer has room for a whole
       batch.
    2. *Scan*: every descriptor is checked (advanced data descriptor, DTALEN not 0, frame at
       most :data:`MAX_FRAME_BYTES` and :data:`MAX_FRAME_DESCRIPTORS`, buffer inside the DMA
       window); a frame becomes readable only once all its descriptors up to EOP have passed.
    3. *Read*: the buffers of readable frames, in bursts of up to ``max_beats`` words.
       The words are packed (:class:`BytePacker`, any byte alignment, scatter-gather) into a
       store-and-forward :class:`FrameFIFO`: a frame leaves on ``tx_stream`` only whole,
       so a bus error or a disable undoes it without any of it leaving.
    4. *Write-back*: once a frame's data are read, its head moves past it and its descriptors
       with RS are queued for write-back (DD); consecutive ones are written in one burst of up
       to ``min(WTHRESH, 8)`` descriptors, or at once when the queue has no other work.

    One command is on the bus at a time. Each is chosen (fetch first, then a write-back
    flush, then a data burst) in the cycle before it goes out, from registered figures, so
    that the command registers, the reader and the write-back run load from three flip-flops.

    Errors (:class:`~slique.hdl.dma.registers.TxQueueError`) follow the register map's
    documentation: the queue stops, ``disable`` clears ENABLE, ``error`` sets the cause bit,
    the head stays at the first descriptor of the unfinished frame.

    Parameters
    ----------
    data_width : 32 or 64
    addr_width : int
        Bytes the master reaches: ``2 ** addr_width``.
    max_beats : int
        Longest burst.
    tag_width : int
        The master's tag width (this queue uses the two low bits).

    Attributes
    ----------
    bus : ``Out(client_signature(...))``
    tx_stream : ``Out(stream.Signature(packet_layout(data_width)))``
    config : ``In(queue_config_layout())``
    window : ``In(window_layout())``
        The DMA window; descriptors are checked against a copy a cycle late (a register
        near the checks: the bank's registers are far away).
    head, head_stb : ``Out(16)``, ``Out(1)``
        TDH's hardware write.
    disable : ``Out(1)``
        Clear TXDCTL.ENABLE (an error stopped the queue).
    error : ``Out(7)``
        Cause bits to set in TQERR (one cycle).
    written_back, taken, discarded, sent : ``Out(1)``
        Events: a write-back with DD written (EICR TXQ), a frame taken from the ring (TPT), a
        frame discarded (HTDPMC), a frame sent whole (GPTC).
    sent_bytes : ``Out(14)``
        The octets of the frame sent (GOTCL), with ``sent``.
    running : ``Out(1)``
    """

    def __init__(self, *, data_width=64, addr_width=32, max_beats=32, tag_width=2):
        self._data_width = data_width
        self._addr_width = addr_width
        self._max_beats = max_beats
        self._word_bits = (data_width // 8).bit_length() - 1
        self._tag_width = tag_width
        word_addr_width = addr_width - self._word_bits
        super().__init__({
            "bus": Out(client_signature(data_width=data_width, word_addr_width=word_addr_width,
                                        beats_width=max_beats.bit_length(),
                                        tag_width=tag_width)),
            "tx_stream": Out(stream.Signature(packet_layout(data_width))),
            "config": In(queue_config_layout()),
            "window": In(window_layout()),
            "head": Out(INDEX_WIDTH),
            "head_stb": Out(1),
            "disable": Out(1),
            "error": Out(7),
            "written_back": Out(1),
            "taken": Out(1),
            "discarded": Out(1),
            "sent": Out(1),
            "sent_bytes": Out(OCTET_INC_WIDTH),
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

        # ---- ring state ---------------------------------------------------------------------
        base = Signal(64)
        count = Signal(INDEX_WIDTH + 1)
        fetch = RingIndex("fetch")            # next descriptor to fetch
        tail = Signal(INDEX_WIDTH)
        enable_seen = Signal()
        stopping = Signal()                   # stop requested; finishing what is in flight
        stopping_next = _next_value(m, stopping)
        stop_error = Signal(7)                # cause to report once stopped (0: a disable)
        stop_error_set = Signal()             # stop_error != 0, a register set beside it

        def set_stop_error(value):
            """``stop_error`` (not 0) and its flag."""
            return [stop_error.eq(value), stop_error_set.eq(1)]
        m.d.comb += tail.eq(cfg.tail)
        tail_beyond = Signal()                # tail >= count, registered (a stop's condition)
        running_before = Signal()             # the queue ran in the cycle before
        m.d.sync += [tail_beyond.eq(tail >= count), running_before.eq(self.running)]
        m.d.sync += enable_seen.eq(cfg.enable)

        # ---- the command in flight (one at a time) ------------------------------------------
        cmd = bus.cmd
        waiting = Signal()                    # a command was taken; its done not yet seen
        waiting_tag = Signal(2)
        with m.If(cmd.valid & cmd.ready):
            m.d.sync += [cmd.valid.eq(0), waiting.eq(1), waiting_tag.eq(cmd.payload.tag)]
        # The completion, a cycle late: the master's answer (``ack`` / ``err``) and the
        # queue's reaction to it (the frame done, the head, the walker, the next command)
        # are never in one cycle. The queue's next command goes out a cycle later; the other
        # clients, whose commands the arbiter passes on in the done's cycle, do not wait.
        done_valid = Signal()
        done_payload = Signal.like(bus.done.payload)
        m.d.sync += [done_valid.eq(bus.done.valid), done_payload.eq(bus.done.payload)]
        with m.If(done_valid):
            m.d.sync += waiting.eq(0)
        idle_bus = Signal()
        m.d.comb += idle_bus.eq(~cmd.valid & ~waiting)

        # ---- fetch -> prefetch buffer -------------------------------------------------------
        m.submodules.prefetch = prefetch = DescriptorPrefetch(
            data_width=width, descriptors=PREFETCH_DESCRIPTORS)
        credit = prefetch.credit
        # the next fetch burst: the descriptors from ``fetch`` up to the tail, not across the
        # ring's end (one subtractor's borrow chooses), at most FETCH_DESCRIPTORS; the run
        # registered, then the batch and the decision from it (two cycles behind ``fetch``
        # and the tail: after a fetch the queue waits for its done, longer than that)
        run = Signal(INDEX_WIDTH + 1)         # registered
        run_long = Signal()                   # run >= FETCH_DESCRIPTORS, registered with it
        batch_now = Signal(range(FETCH_DESCRIPTORS + 1))
        batch = Signal.like(batch_now)        # registered, like the burst figures below
        fetch_bits = (FETCH_DESCRIPTORS - 1).bit_length()
        run_now = ring_run(fetch.index, tail, fetch.room)
        m.d.sync += [run.eq(run_now), run_long.eq(run_now[fetch_bits:] != 0),
                     batch.eq(batch_now)]
        m.d.comb += [
            batch_now.eq(Mux(run_long, FETCH_DESCRIPTORS, run[:fetch_bits])),
            prefetch.fill.payload.data.eq(bus.read.payload.data),
            prefetch.fill.payload.err.eq(bus.read.payload.err),
            prefetch.fill.valid.eq(bus.read.valid & (bus.read.payload.tag == TAG_FETCH)),
        ]

        # ---- scan: check descriptors, queue their buffers -----------------------------------
        descriptor = TxDataDescriptor(prefetch.descriptor)
        entry_layout = data.StructLayout({"address": self._addr_width, "length": 16, "rs": 1,
                                          "eop": 1})
        m.submodules.buffers = buffers = FabricOutputFIFO(
            width=entry_layout.size, depth=MAX_FRAME_DESCRIPTORS, distributed=True)
        # whole checked frames queued: ``frames_queued - frames_taken`` (two counters, each
        # stepped by its own event). ``frames_ready`` is their compare, registered: a cycle
        # behind the counters, which it can afford. The reader starts a frame on it only
        # between frames, long after the taking of the one before was counted, and a newly
        # queued frame's buffer reaches the FIFO's output later still (its latency is 3); the
        # stop's checks on it wait for the scan, which needs two cycles per descriptor.
        frames_queued = Signal(range(2 * MAX_FRAME_DESCRIPTORS))
        frames_taken = Signal.like(frames_queued)
        frames_ready = Signal()
        m.d.sync += frames_ready.eq(frames_queued != frames_taken)
        scan_descriptors = Signal(range(MAX_FRAME_DESCRIPTORS + 1))
        # bytes the frame being scanned may still take (no adder before the length check)
        scan_room = Signal(range(MAX_FRAME_BYTES + 1), init=MAX_FRAME_BYTES)
        scan_error = Signal(7)                 # a frame was refused; reported when reached
        scan_failed = Signal()                 # scan_error != 0, a register set beside it

        # whether descriptors of the refused frame were taken before the refused one (the
        # scan's counts follow every descriptor taken, refused or not: after a refusal the
        # queue stops, and the stop sets them back)
        refused_mid_frame = Signal()

        def refuse(cause):
            """A refused descriptor: ``scan_error`` and its flags."""
            return [scan_error.eq(1 << cause), scan_failed.eq(1),
                    refused_mid_frame.eq(scan_descriptors != 0)]
        draining = Signal()                    # the stop empties the buffers

        assembled_err = prefetch.err           # a word of it was answered with err

        checked = Signal()                    # the refusals below describe ``descriptor``
        have = Signal()                       # an assembled descriptor, checked
        m.d.comb += have.eq(prefetch.valid & checked)
        cmd_len = descriptor.cmd_type_len
        # The checks, into registers in the cycle after the descriptor is assembled (the
        # window check alone is three 66-bit compares, with the buffer's end summed by the
        # prefetch as the descriptor was assembled): the scan takes a
        # descriptor one cycle after it is valid, and its decision starts from flip-flops.
        # The scan state cannot change in between (only a take changes it). The window is
        # that of the cycle before the take.
        refused_type = Signal()
        refused_length = Signal()
        refused_window = Signal()
        window = Signal(window_layout())
        m.d.sync += window.eq(self.window)
        # (the checks load every cycle: they are read a cycle after the descriptor they
        # describe was assembled, which stays until it is taken)
        with m.If(prefetch.take | prefetch.flush):
            m.d.sync += checked.eq(0)
        with m.Elif(prefetch.valid):
            m.d.sync += checked.eq(1)
        m.d.sync += [
            refused_type.eq((cmd_len.dtyp != DTYP_DATA) | ~cmd_len.dext),
            refused_length.eq(
                (cmd_len.length == 0) | (cmd_len.length > scan_room) |
                ((scan_descriptors == MAX_FRAME_DESCRIPTORS - 1) & ~cmd_len.eop)),
            refused_window.eq(~inside_window_to(window, descriptor.buffer_addr,
                                                prefetch.buffer_end, self._addr_width)),
        ]
        # a checked buffer enters the FIFO through registers (its LUT RAM's write enables are
        # not the scan decision's): the scan asks for room counting one on its way in
        entry = Signal(entry_layout)
        entry_write = Signal()
        buffer_room = Signal()
        m.d.comb += [
            entry.address.eq(descriptor.buffer_addr),
            entry.length.eq(cmd_len.length),
            entry.rs.eq(cmd_len.rs),
            entry.eop.eq(cmd_len.eop),
            buffer_room.eq(buffers.w_rdy & ~(buffers.w_en & buffers.one_left)),
        ]
        m.d.sync += [buffers.w_data.eq(entry), buffers.w_en.eq(entry_write)]
        # a frame's EOP buffer accepted: counted in the next cycle (``frames_ready`` follows a
        # cycle later still, by when the buffer is not yet at the FIFO's output)
        frame_queued = Signal()
        m.d.sync += frame_queued.eq(0)
        with m.If(have & self.running & ~stopping & ~scan_failed & buffer_room):
            m.d.comb += prefetch.take.eq(1)
            with m.If(cmd_len.eop):
                m.d.sync += [scan_descriptors.eq(0), scan_room.eq(MAX_FRAME_BYTES)]
            with m.Else():
                m.d.sync += [scan_descriptors.eq(scan_descriptors + 1),
                             scan_room.eq(scan_room - cmd_len.length)]
            with m.If(assembled_err):
                m.d.sync += refuse(TxQueueError.BUS_ERROR)
            with m.Elif(refused_type | refused_length):
                m.d.sync += refuse(TxQueueError.DESCRIPTOR)
            with m.Elif(refused_window):
                m.d.sync += refuse(TxQueueError.WINDOW)
            with m.Else():
                m.d.comb += entry_write.eq(1)
                m.d.sync += frame_queued.eq(cmd_len.eop)

        # ---- read: buffers of checked frames, in bursts --------------------------------------
        landing_depth = 2 * max_beats
        # (SyncFIFOBuffered's timing; its block RAM read through the RAM's output register)
        m.submodules.landing = landing = FabricOutputFIFO(width=width + 1, depth=landing_depth)
        landing_credit = Signal(range(landing_depth + 1), init=landing_depth)
        # A burst's record: its first lane, its bytes, its words (``last_word``: their number
        # less one; ``empty``: none, a cut frame's abort), whether it ends the frame.
        record_layout = data.StructLayout({"lane": range(lanes), "count": 16,
                                           "last_word": range(max_beats), "empty": 1,
                                           "last": 1, "abort": 1})
        # (SyncFIFOBuffered's timing, in LUT RAM, its w_rdy a register: the cut's and the
        # burst's decisions ask it for room)
        m.submodules.records = records = FabricOutputFIFO(width=record_layout.size, depth=8,
                                                          distributed=True)
        # a record enters the FIFO through registers (a cycle later; its words land later
        # still): a writer asks for room only while no record is on its way in
        record_in = Signal(record_layout)
        record_write = Signal()
        record_room = Signal()
        m.d.sync += [records.w_data.eq(record_in), records.w_en.eq(record_write)]
        m.d.comb += record_room.eq(records.w_rdy & ~records.w_en)
        # the words land through registers: the master's answer logic may be far across the
        # die, and the landing RAM's write enables are near the queue
        m.d.sync += [
            landing.w_data.eq(Cat(bus.read.payload.data, bus.read.payload.err)),
            landing.w_en.eq(bus.read.valid & (bus.read.payload.tag == TAG_DATA)),
        ]

        head = RingIndex("head")              # first descriptor of the oldest unfinished frame
        frame_end = RingIndex("frame_end")    # past the descriptors the reader has taken
        reading = Signal()                    # a buffer is current
        in_frame = Signal()                   # the reader has taken part of a frame
        current = Signal(entry_layout)
        left = Signal(16)                     # bytes of the current buffer not yet requested
        frame_last_issued = Signal()          # the frame's last burst is out
        walker_busy = Signal()
        # their next values, assigned below where they change (so that the reader's take
        # can start from a register set beside them: ``take_allowed``)
        reading_next = _next_value(m, reading)
        last_issued_next = _next_value(m, frame_last_issued)
        walker_busy_next = _next_value(m, walker_busy)
        # the reader may take a buffer (but for the FIFO's r_rdy): ~reading &
        # ~frame_last_issued & ~walker_busy & (in_frame | frames_ready) & ~stopping, a register
        take_allowed = Signal()
        frame_descriptors = Signal(range(MAX_FRAME_DESCRIPTORS + 1))
        frame_rs = Signal(MAX_FRAME_DESCRIPTORS)
        m.d.comb += self.head.eq(head.index)

        # The next burst and whether it can go, computed from the state of the previous cycle
        # (registered, for Fmax): a command goes out at most every third cycle (it is taken,
        # then answered), so the registered figures always describe the current state when
        # a command is chosen.
        # A buffer's bytes from ``lane`` on, ``left`` of them: a burst of ``words_needed``
        # words ends the buffer, unless that is more than ``max_beats``; a long burst takes
        # ``max_beats`` words, ``max_beats * lanes - lane`` bytes, and never ends the buffer.
        # ``words_needed`` (the words the rest of the buffer spans, ``ceil((left + lane) /
        # lanes)``) is a register of its own, set when a buffer is taken and lowered by
        # ``max_beats`` with each long burst (whose end is word-aligned): no adder before the
        # compare.
        lane_now = Signal(word_bits)
        words_needed = Signal(17)
        long_now = Signal()
        beats_now = Signal(range(max_beats + 1))
        m.d.comb += [
            lane_now.eq(current.address[:word_bits]),
            long_now.eq(words_needed > max_beats),
            beats_now.eq(Mux(long_now, max_beats, words_needed)),
        ]
        lane = Signal.like(lane_now)
        beats = Signal.like(beats_now)
        burst_bytes = Signal(17)
        burst_ends_buffer = Signal()
        data_ready = Signal()                 # a burst can go now
        m.d.sync += [
            lane.eq(lane_now),
            beats.eq(beats_now),
            burst_bytes.eq(Mux(long_now, (max_beats << word_bits) - lane_now, left)),
            burst_ends_buffer.eq(~long_now),
            data_ready.eq(reading & (left != 0) & record_room &
                          Mux(long_now, landing_credit >= max_beats,
                              landing_credit >= words_needed)),
        ]

        # take the next buffer of a checked frame (while stopping, the drain empties them)
        with m.If(take_allowed & buffers.r_rdy):
            m.d.comb += [buffers.r_en.eq(1), reading_next.eq(1)]
            popped = entry_layout(buffers.r_data)
            m.d.sync += [
                in_frame.eq(1),
                current.eq(popped),
                left.eq(popped.length),
                words_needed.eq((popped.length + popped.address[:word_bits] + lanes - 1)
                                >> word_bits),
                frame_descriptors.eq(frame_descriptors + 1),
                *frame_end.step(count),
                frame_rs.eq(frame_rs | (popped.rs << frame_descriptors)),
            ]
        frame_taken = Signal()                # the reader took a frame's EOP buffer
        m.d.comb += frame_taken.eq(buffers.r_en & entry_layout(buffers.r_data).eop)
        with m.If(frame_queued):
            m.d.sync += frames_queued.eq(frames_queued + 1)
        with m.If(frame_taken):
            m.d.sync += frames_taken.eq(frames_taken + 1)

        # ---- write-back run -----------------------------------------------------------------
        run_first = Signal(INDEX_WIDTH)
        run_count = Signal(range(WRITE_BACK_DESCRIPTORS + 1))
        walk_mask = Signal(MAX_FRAME_DESCRIPTORS)
        walk = RingIndex("walk")
        threshold = Signal(range(WRITE_BACK_DESCRIPTORS + 1), init=1)
        # ``walker_busy`` (walk_mask != 0), ``run_end`` (run_first + run_count), whether
        # ``walk.index`` is at ``run_end`` and the threshold (from TXDCTL.WTHRESH, a cycle
        # late) in registers of their own, so that the flush decision starts from flip-flops.
        # ``walk_at_end`` needs no compare as the walker steps: a step that appends leaves the
        # walker at the run's new end unless it wraps (a run never crosses the ring's end),
        # one that skips leaves it past the end (the walker never falls behind an open run);
        # only a frame done, moving the walker to ``head``, compares. It is exact whenever a
        # run is open (``run_count != 0``), the only time ``appendable`` reads it. Whether the
        # walker wraps comes from ``walk.room``.
        run_end = Signal(INDEX_WIDTH + 1)
        walk_at_end = Signal(init=1)
        walk_wraps = Signal()
        m.d.comb += walk_wraps.eq(walk.wraps())
        m.d.sync += threshold.eq(Mux(cfg.wthresh == 0, 1,
                                     _min(cfg.wthresh, WRITE_BACK_DESCRIPTORS)))
        walk_blocked = Signal()
        appendable = Signal()
        m.d.comb += appendable.eq((run_count == 0) |
                                  (walk_at_end & (run_count < WRITE_BACK_DESCRIPTORS)))
        with m.If(walker_busy):
            with m.If(~walk_mask[0] | appendable):
                m.d.comb += walker_busy_next.eq(walk_mask[1:] != 0)
                m.d.sync += [walk_mask.eq(walk_mask >> 1),
                             *walk.step(count),
                             walk_at_end.eq(walk_mask[0] & ~walk_wraps)]
                with m.If(walk_mask[0]):
                    with m.If(run_count == 0):
                        m.d.sync += [run_first.eq(walk.index), run_end.eq(walk.index + 1)]
                    with m.Else():
                        m.d.sync += run_end.eq(run_end + 1)
                    m.d.sync += run_count.eq(run_count + 1)
            with m.Else():
                m.d.comb += walk_blocked.eq(1)

        # ---- choose the next command --------------------------------------------------------
        fetch_ready = Signal()
        fetch_failed = Signal()
        # credit >= batch_now, without waiting for batch_now's multiplexer
        credit_covers = Mux(run_long, credit >= FETCH_DESCRIPTORS, credit >= run[:fetch_bits])
        # (``run`` is from the ring a cycle before: not before the queue has run a cycle)
        m.d.sync += fetch_ready.eq(self.running & running_before & ~stopping &
                                   ~scan_failed & ~fetch_failed &
                                   (tail < count) & (run != 0) & credit_covers)
        data_pending = Signal()
        m.d.comb += data_pending.eq(reading | frames_ready)
        flush_ready = Signal()
        m.d.comb += flush_ready.eq((run_count != 0) & ~(walker_busy & ~walk_blocked) &
                                   ((run_count >= threshold) | walk_blocked | ~data_pending |
                                    stopping))
        writing_beats = Signal(range(WRITE_BACK_DESCRIPTORS * words_per_descriptor + 1))
        written_beat = Signal.like(writing_beats)
        write_back_word = Signal(DESCRIPTOR_BYTES * 8)
        m.d.comb += write_back_word.eq(int.from_bytes(
            pack_descriptor(TxWriteBack, {"status": {"dd": 1}}), "little"))
        word_in_descriptor = Signal(range(words_per_descriptor))
        m.d.comb += word_in_descriptor.eq(written_beat[:(words_per_descriptor - 1).bit_length()])
        m.d.comb += [
            bus.write.valid.eq(written_beat != writing_beats),
            bus.write.payload.data.eq(write_back_word.word_select(word_in_descriptor, width)),
            bus.write.payload.sel.eq(-1),
        ]
        with m.If(bus.write.valid & bus.write.ready):
            m.d.sync += written_beat.eq(written_beat + 1)

        # The command is chosen a cycle before it goes out: the choice (from the registered
        # readiness above) lands in one of three flip-flops, and the next cycle's command
        # registers, reader and write-back run load from those alone. Nothing the choice
        # depends on can change in between (the bus is idle, so no completion arrives, no
        # command goes out and the walker is not stepping, or the choice is not a flush);
        # a stop in between cancels a fetch or a data burst, not a flush. A fetch goes out
        # with the batch it was chosen for.
        go_fetch = Signal()
        go_flush = Signal()
        go_data = Signal()
        chosen_batch = Signal.like(batch)
        chosen_wraps = Signal()
        choosing = Signal()
        m.d.comb += choosing.eq(idle_bus & ~go_fetch & ~go_flush & ~go_data &
                                ~(stopping & draining))
        m.d.sync += [go_fetch.eq(0), go_flush.eq(0), go_data.eq(0)]
        with m.If(choosing):
            with m.If(fetch_ready & ~stopping):     # (registered: stopping may be newer)
                # (the fetch's wrap beside its batch: only the fetch moves fetch.room)
                m.d.sync += [go_fetch.eq(1), chosen_batch.eq(batch),
                             chosen_wraps.eq(fetch.wraps(batch))]
            with m.Elif(flush_ready):
                m.d.sync += go_flush.eq(1)
            with m.Elif(data_ready & ~stopping):
                m.d.sync += go_data.eq(1)

        # (a cut is always while stopping: its condition keeps data_issue and the cut, the
        # two record writers, apart without the cut's waiting on this choice)
        data_issue = Signal()
        cut = Signal()                        # a frame is cut (below)
        m.d.comb += data_issue.eq(go_data & ~stopping & ~cut)
        def command(*, write, byte_address, beats, tag):
            return [cmd.valid.eq(1), cmd.payload.write.eq(write),
                    cmd.payload.address.eq(byte_address[word_bits:self._addr_width]),
                    cmd.payload.beats.eq(beats), cmd.payload.tag.eq(tag)]

        with m.If(go_fetch & ~stopping):
            m.d.sync += command(write=0, byte_address=base + (fetch.index << 4),
                                beats=chosen_batch * words_per_descriptor, tag=TAG_FETCH)
            m.d.sync += fetch.step(count, chosen_batch, wraps=chosen_wraps)
            m.d.comb += prefetch.reserve.eq(chosen_batch)
        with m.If(go_flush):
            m.d.sync += command(write=1, byte_address=base + (run_first << 4),
                                beats=run_count * words_per_descriptor, tag=TAG_WRITE_BACK)
            m.d.sync += [
                writing_beats.eq(run_count * words_per_descriptor),
                written_beat.eq(0),
                run_count.eq(0),
            ]
        with m.If(data_issue):
            record = record_in
            m.d.comb += [
                record_write.eq(1),
                record.lane.eq(lane),
                record.count.eq(burst_bytes),
                record.last_word.eq(beats - 1),
                record.last.eq(current.eop & burst_ends_buffer),
            ]
            m.d.sync += command(write=0, byte_address=current.address, beats=beats,
                                tag=TAG_DATA)
            m.d.sync += [
                current.address.eq(current.address + burst_bytes),
                left.eq(left - burst_bytes),
                words_needed.eq(Mux(burst_ends_buffer, 0, words_needed - max_beats)),
                landing_credit.eq(landing_credit - beats +
                                  (landing.r_rdy & landing.r_en)),
            ]
            with m.If(burst_ends_buffer):
                m.d.comb += reading_next.eq(0)
                with m.If(current.eop):
                    m.d.comb += last_issued_next.eq(1)
        # the landing credit comes back as the unpacker takes words
        with m.If(landing.r_rdy & landing.r_en & ~data_issue):
            m.d.sync += landing_credit.eq(landing_credit + 1)

        # ---- completions --------------------------------------------------------------------
        frame_done = Signal()
        frame_failed = Signal()
        with m.If(done_valid):
            with m.Switch(done_payload.tag[:2]):
                with m.Case(TAG_FETCH):
                    # the failing words reach the scanner flagged: it reports the error in
                    # ring order, once the frames before it are done
                    with m.If(done_payload.err):
                        m.d.sync += fetch_failed.eq(1)
                with m.Case(TAG_DATA):
                    with m.If(done_payload.err):
                        m.d.comb += frame_failed.eq(1)
                        with m.If(~stopping):
                            m.d.comb += stopping_next.eq(1)
                            m.d.sync += set_stop_error(1 << TxQueueError.BUS_ERROR)
                    with m.Elif(frame_last_issued):
                        m.d.comb += frame_done.eq(1)
                with m.Case(TAG_WRITE_BACK):
                    with m.If(done_payload.err):
                        with m.If(~stopping):
                            m.d.comb += stopping_next.eq(1)
                            m.d.sync += set_stop_error(1 << TxQueueError.BUS_ERROR)
                    with m.Else():
                        m.d.comb += self.written_back.eq(1)
                    # no beat offered outside a write-back command (the master's write
                    # beats pass through a skid buffer, which would take it)
                    m.d.sync += [writing_beats.eq(0), written_beat.eq(0)]

        # ``frame_end`` steps with each buffer taken, so the head's next value is a register
        head_moved = Signal()
        m.d.sync += head_moved.eq(frame_done)
        m.d.comb += self.head_stb.eq(head_moved)
        with m.If(frame_done):
            m.d.comb += [self.taken.eq(1), walker_busy_next.eq(frame_rs != 0),
                         last_issued_next.eq(0)]
            m.d.sync += [
                *walk.copy(head),
                walk_at_end.eq(head.index == run_end),
                *head.copy(frame_end),
                walk_mask.eq(frame_rs),
                in_frame.eq(0),
                frame_descriptors.eq(0),
                frame_rs.eq(0),
            ]

        # a frame cut: its records end with abort, it is counted, nothing of it written back.
        # Decided into a register, done in the next cycle (nothing can finish the frame in
        # between: no data burst goes out while stopping, and none is in flight), so that
        # the frame's registers load from a flip-flop; a cut that finds the records FIFO full
        # is asked for again.
        cut_wanted = Signal()
        cut_failed = Signal()                 # the cut is a data burst's bus error
        m.d.comb += cut_wanted.eq(frame_failed | (stopping & in_frame & ~waiting & ~cmd.valid &
                                                  ~frame_done))
        m.d.sync += [cut.eq(cut_wanted & ~cut), cut_failed.eq(frame_failed)]
        cut_done = Signal()
        m.d.comb += cut_done.eq(cut & record_room)
        with m.If(cut_done):
            record = record_in
            m.d.comb += [record_write.eq(1), record.empty.eq(1), record.last.eq(1),
                         record.abort.eq(1),
                         self.taken.eq(1), self.discarded.eq(1),
                         reading_next.eq(0), last_issued_next.eq(0)]
            m.d.sync += [in_frame.eq(0), frame_descriptors.eq(0), frame_rs.eq(0),
                         *frame_end.copy(head)]
            with m.If(~cut_failed & ~stop_error_set):
                m.d.sync += set_stop_error(1 << TxQueueError.ABORTED)

        # The take's conditions, registered from their next values (``frames_ready``'s own
        # next value; ``in_frame``'s but for a take, after which ``reading`` is set until
        # ``in_frame`` is in its register).
        m.d.sync += take_allowed.eq(~reading_next & ~last_issued_next & ~walker_busy_next &
                                    ~stopping_next &
                                    ((frames_queued != frames_taken) |
                                     (in_frame & ~frame_done & ~cut_done)))

        # ---- run / stop ---------------------------------------------------------------------
        ring_bytes = cfg.length
        start, errors = registered_start(m, cfg, enable_seen, self.running, self.disable,
                                         window=self.window,
                                         addr_width=self._addr_width)
        start_count = ring_bytes >> 4
        # TDH is the ring's last descriptor (the indices' ``last``), registered: the
        # configuration has settled by the start (as its registered checks have)
        start_last = Signal()
        m.d.sync += start_last.eq(RingIndex.is_last(cfg.head, start_count))
        # the prefetch and the buffers empty, registered: once draining, nothing enters them
        # (no fetch, no scan while stopping), so the stop ends a cycle after they emptied, on
        # a flip-flop (the error it reports goes to the bank)
        drained = Signal()
        m.d.sync += drained.eq(draining & prefetch.empty & buffers.empty & ~buffers.w_en)
        with m.If(~self.running):
            with m.If(start):
                with m.If(errors != 0):
                    m.d.comb += [self.error.eq(errors), self.disable.eq(1)]
                with m.Else():
                    m.d.sync += [
                        self.running.eq(1),
                        base.eq(cfg.base),
                        count.eq(start_count),
                        *head.load(cfg.head, start_count, start_last),
                        *frame_end.load(cfg.head, start_count, start_last),
                        *fetch.load(cfg.head, start_count, start_last),
                        stop_error.eq(0),
                        stop_error_set.eq(0),
                        scan_error.eq(0),
                        scan_failed.eq(0),
                        fetch_failed.eq(0),
                    ]
                    m.d.comb += stopping_next.eq(0)
        with m.Else():
            with m.If(~stopping):
                with m.If(~cfg.enable):
                    m.d.comb += stopping_next.eq(1)
                    with m.If(~in_frame & ~frames_ready &
                              Mux(scan_failed, refused_mid_frame, scan_descriptors != 0)):
                        # part of a frame's descriptors taken, the rest not yet in the ring
                        m.d.comb += [self.taken.eq(1), self.discarded.eq(1)]
                        m.d.sync += set_stop_error(1 << TxQueueError.ABORTED)
                with m.Elif(tail_beyond & running_before):
                    # (the compare of the cycle before, once it is of this run's count)
                    m.d.comb += stopping_next.eq(1)
                    m.d.sync += set_stop_error(1 << TxQueueError.TAIL)
                with m.Elif(scan_failed & ~frames_ready & ~in_frame):
                    # the refused frame is next: everything before it is done (the reader
                    # takes a buffer only in a frame or with a frame ready). It counts as
                    # a discarded frame, unless a descriptor fetch failed on its first one
                    with m.If(~scan_error[TxQueueError.BUS_ERROR] | refused_mid_frame):
                        m.d.comb += [self.taken.eq(1), self.discarded.eq(1)]
                    m.d.comb += stopping_next.eq(1)
                    m.d.sync += set_stop_error(scan_error)
            with m.Else():
                # in flight: let it complete; cut the frame; flush write-backs; empty buffers
                with m.If(~waiting & ~cmd.valid & ~in_frame & ~walker_busy & (run_count == 0)):
                    m.d.sync += draining.eq(1)
        # (draining is set only while running and stopping, and cleared with them: its
        # actions need no other condition, and the prefetch's flush is a flip-flop)
        with m.If(draining):
            m.d.comb += [prefetch.flush.eq(1), buffers.r_en.eq(buffers.r_rdy)]
            with m.If(drained):
                m.d.comb += stopping_next.eq(0)
                m.d.sync += [
                    self.running.eq(0),
                    draining.eq(0),
                    frames_taken.eq(frames_queued),
                    scan_descriptors.eq(0),
                    scan_room.eq(MAX_FRAME_BYTES),
                ]
                with m.If(stop_error_set):
                    m.d.comb += [self.error.eq(stop_error), self.disable.eq(1)]

        # ---- unpack landed words into the packer --------------------------------------------
        # the landed words reach the packer through a skid buffer: the landing FIFO's block
        # RAM output and the record arithmetic end there; the packer's alignment shift starts
        # from its registers (and ends in the packer's own skid buffer)
        m.submodules.packer = packer = BytePacker(data_width=width, length_width=16)
        m.submodules.packer_skid = packer_skid = SkidBuffer(packer_input_layout(width))
        wiring.connect(m, packer_skid.o_stream, packer.i_stream)
        # A burst's words are whole: the first takes ``lanes - lane`` bytes unless it is also
        # the last, the ones between take ``lanes``, the last what is left. So no compare
        # with the bytes left: ``record_bytes_left`` only loses ``lanes`` per word.
        record = record_layout(records.r_data)
        word_in_record = Signal(range(max_beats))
        first_word = Signal(init=1)           # word_in_record == 0
        record_bytes_left = Signal(16)        # after the words of the record taken so far
        frame_error = Signal()
        landed_err = landing.r_data[width]
        final_word = Signal()
        m.d.comb += final_word.eq(record.empty | (word_in_record == record.last_word))
        this_lane = Mux(first_word, record.lane, 0)
        this_count = Signal(range(lanes + 1))
        m.d.comb += this_count.eq(Mux(final_word,
                                      Mux(first_word, record.count, record_bytes_left),
                                      Mux(first_word, lanes - record.lane, lanes)))
        packer_in = packer_skid.i_stream
        m.d.comb += [
            packer_in.valid.eq(records.r_rdy & (record.empty | landing.r_rdy)),
            packer_in.payload.data.eq(landing.r_data[:width]),
            packer_in.payload.lane.eq(this_lane),
            packer_in.payload.count.eq(Mux(record.empty, 0, this_count)),
            packer_in.payload.last.eq(record.last & final_word),
            packer_in.payload.abort.eq(record.abort | frame_error |
                                       (~record.empty & landed_err)),
        ]
        with m.If(packer_in.valid & packer_in.ready):
            with m.If(~record.empty):
                m.d.comb += landing.r_en.eq(1)
            m.d.sync += first_word.eq(final_word)
            with m.If(final_word):
                m.d.comb += records.r_en.eq(1)
                m.d.sync += word_in_record.eq(0)
            with m.Else():
                m.d.sync += [
                    word_in_record.eq(word_in_record + 1),
                    record_bytes_left.eq(
                        Mux(first_word, record.count + record.lane, record_bytes_left) - lanes),
                ]
            with m.If(record.last & final_word):
                m.d.sync += frame_error.eq(0)
            with m.Elif(~record.empty & landed_err):
                m.d.sync += frame_error.eq(1)

        # ---- store and forward --------------------------------------------------------------
        fifo_words = 1 << ((MAX_FRAME_BYTES + lanes - 1) // lanes - 1).bit_length()
        m.submodules.frames = frames = FrameFIFO(data_width=width, depth=fifo_words,
                                                 length_width=16, output_register=True)
        # the packed words reach the frame FIFO through a skid buffer: the FIFO's full flag and
        # commit room do not reach into the packer's handshake, nor its state the FIFO's
        m.submodules.packed = packed = SkidBuffer(frame_word_layout(width, 16))
        wiring.connect(m, packer.o_stream, packed.i_stream)
        wiring.connect(m, packed.o_stream, frames.w_stream)

        out = self.tx_stream
        first = Signal(init=1)
        length = frames.length_stream.payload
        tail_bytes = Signal(range(lanes))
        m.d.comb += tail_bytes.eq(length[:word_bits])
        m.d.comb += [
            out.valid.eq(frames.r_stream.valid & frames.length_stream.valid),
            out.payload.data.eq(frames.r_stream.payload.data),
            out.payload.first.eq(first),
            out.payload.last.eq(frames.r_stream.payload.last),
            out.payload.keep.eq(Mux(frames.r_stream.payload.last & (tail_bytes != 0),
                                    (Const(1, lanes + 1) << tail_bytes) - 1, -1)),
            frames.r_stream.ready.eq(out.ready & frames.length_stream.valid),
        ]
        with m.If(out.valid & out.ready):
            m.d.sync += first.eq(out.payload.last)
            with m.If(out.payload.last):
                m.d.comb += [frames.length_stream.ready.eq(1), self.sent.eq(1),
                             self.sent_bytes.eq(length)]
        return m
