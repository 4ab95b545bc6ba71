"""DmaTiming: when the gateware DMA engine moves each frame, cycle by cycle (GoldenNIC's DMA clock).

The golden DMA engine (:class:`slique.sim.dma.engine.DmaEngine`) is transactional: a frame is
written back, or fetched and sent, the moment it is handed over. The gateware
(:class:`slique.hdl.dma.engine.DmaEngine`) shares one host bus between its queues, so under
load (an echo loop at wire speed moves every byte twice over a bus as wide as the stream) the
frames wait for the bus, and the order in which queues get it decides the order of the
receives and of the frames on the TX wire. This model follows the gateware's happy path cycle
by cycle: the round-robin :class:`~slique.hdl.dma.bus_arbiter.BusArbiter` over the clients
(TX queue ``q`` is client ``2q``, RX queue ``q`` client ``2q + 1``), the burst master (a
command of ``n`` beats fired in cycle ``f`` puts its requests on the bus in ``f + 1 .. f + n``
and is done in ``f + n + 1``), each :class:`~slique.hdl.dma.rx_queue.RxQueue`'s FSM
(completions seen a cycle late, frame FIFO (its lengths written through registers),
descriptor, data bursts, write-back;
descriptor fetches first, decided three cycles behind the ring: its distances registered,
then the batch, then whether it goes; a frame admitted on the free descriptors of the cycle
before), each
:class:`~slique.hdl.dma.tx_queue.TxQueue` (completions seen a cycle late, fetch decided
two cycles behind the ring: its run registered, then the batch and the decision, each
command chosen a cycle before it goes out, descriptor assembly, checks registered a cycle
before the scan, reader, registered burst figures, write-back runs of up to 8
descriptors flushed when nothing else is pending, landing FIFO (written through registers),
a skid buffer, packer (behind its own), a skid buffer and store-and-forward FIFO with its
output register, its lengths written through registers) and the engine's TX mux (frame by
frame, its grant moving on every idle cycle).

What it leaves out, because the firmware's traffic never gets there: errors and stops,
frames of more than one RX buffer or TX descriptor, full FIFOs, and descriptor rings that run
dry (the driver keeps them filled).

Use: :meth:`rx_frame` in the cycle a frame's last beat enters the engine, :meth:`tail` in the
cycle a TDT / RDT write takes effect (with the lengths of the TX frames it posts), then
:meth:`step` once per cycle; it answers the events of that cycle: ``("rx", queue, token)`` when
a frame's write-back is in host memory, ``("missed", queue, token)`` when the RX queue finds no
free descriptor for a frame (the gateware drops it: MPC), ``("tx", queue, token)`` when a
frame's last beat leaves on the wire. :attr:`commands` keeps ``(cycle fired, client, kind, beats)`` of every bus command when
``trace`` is set (to compare with the gateware's bus).

Parameters
----------
queues : int
data_width : 32 or 64
tx_count, rx_count : int
    Descriptors of each TX / RX ring.
tx_wthresh : int
    TXDCTL.WTHRESH as the driver sets it (write-back runs of ``min(WTHRESH, 8)``).
"""

from collections import deque


__all__ = ["DmaTiming"]


#: As in the gateware (:mod:`slique.hdl.dma.tx_queue`).
MAX_BEATS = 32
FETCH_DESCRIPTORS = 8
WRITE_BACK_DESCRIPTORS = 8
PREFETCH_DESCRIPTORS = 32


def _fetch_batch(fetch, tail, count):
    """Descriptors a queue fetches next, as its gateware does: from ``fetch`` up to the tail,
    not across the ring's end, at most :data:`FETCH_DESCRIPTORS`."""
    return min((tail - fetch) % count, count - fetch, FETCH_DESCRIPTORS)


class _Client:
    def __init__(self):
        self.cmd = None            # (kind, beats) offered to the arbiter (cmd.valid)
        self.waiting = False       # a command fired; its done not yet seen
        self.late_done = None      # the completion of the cycle before (registered)

    @property
    def idle_bus(self):
        return self.cmd is None and not self.waiting


class _Prefetch:
    """The descriptor prefetch: words in (through registers, then a FIFO with a 2-cycle
    latency), one assembled descriptor out, ``words`` words each."""

    def __init__(self, words):
        self.words = words
        self.arrivals = deque()    # cycles the fetched words arrived
        self.assembled = 0
        self.last_pop = -10

    def fill(self, first, count):
        self.arrivals.extend(range(first, first + count))

    @property
    def valid(self):
        return self.assembled == self.words

    def step(self, cycle, take):
        """Assemble (pop a word) unless a descriptor is ready; ``take`` empties it."""
        if take:
            self.assembled = 0
        elif (not self.valid and self.arrivals
              and max(self.arrivals[0] + 2, self.last_pop + 1) <= cycle):
            self.arrivals.popleft()
            self.last_pop = cycle
            self.assembled += 1


class _Fifo:
    """A ``SyncFIFOBuffered``: an entry written in cycle ``t`` is at the output from
    ``t + latency`` (2; 3 behind a register slice), or ``refill`` cycles after the entry
    before it left (1; 2 where the reader registers a flag of the entry before acting on
    it)."""

    def __init__(self, latency=2, refill=1):
        self.entries = deque()     # [written cycle, item]
        self.last_pop = -10
        self.latency = latency
        self.refill = refill

    def head(self, cycle):
        if self.entries and max(self.entries[0][0] + self.latency,
                                self.last_pop + self.refill) <= cycle:
            return self.entries[0][1]
        return None

    def push(self, cycle, item):
        self.entries.append([cycle, item])

    def pop(self, cycle):
        self.last_pop = cycle
        return self.entries.popleft()[1]


class _RxQueue(_Client):
    def __init__(self, timing):
        super().__init__()
        self.t = timing
        self.count = timing.rx_count
        self.tail = 0
        self.head = 0
        self.fetch = 0
        self.prefetched = 0        # descriptors fetched, not yet taken
        self.fetches = deque()     # (done cycle, descriptors) of fetches in flight
        # frames in the frame FIFO: (length, token), behind the engine's register before the
        # queue and the FIFO's length register; the FSM acts on a length a cycle after it is
        # at the output (its one-buffer flag registered), and pops it as it leaves IDLE
        self.lengths = _Fifo(latency=6, refill=2)
        self.state = "IDLE"
        self.frame = None
        self.left = 0
        self.draining = 0          # words of a missed frame still to pop
        self.missed = None         # a missed frame's token, to report
        self.run = 0               # registered: the fetch batch the ring allowed a cycle before
        self.batch = 0             # registered: ``run`` of the cycle before
        self.fetch_ready = False   # registered: from the batch of the cycle before
        self.free = 0              # registered: free descriptors in the cycle before

    def step(self, cycle, done):
        """This cycle's decisions; ``done``: the kind of this queue's command done now."""
        t = self.t
        idle_bus = self.idle_bus
        # registered figures of this cycle (the fetch decision three cycles behind the ring)
        batch, fetch_ready, free = self.batch, self.fetch_ready, self.free
        self.fetch_ready = batch != 0
        self.batch = self.run
        self.run = _fetch_batch(self.fetch, self.tail, self.count)
        self.free = (self.tail - self.head) % self.count
        new_cmd = None
        if idle_bus and fetch_ready:
            new_cmd = ("fetch", batch * t.words_per_descriptor, batch)
            self.fetch = (self.fetch + batch) % self.count
        state = self.state
        draining = self.draining   # the missed frame's words leave the FIFO, one a cycle
        if state == "IDLE":
            frame = self.lengths.head(cycle)
            if frame is not None:
                self.lengths.pop(cycle)
                self.frame = frame
            if frame is not None and free == 0:
                # no free descriptor: the frame is missed (MPC) and drained from the FIFO
                self.missed = frame[1]
                self.draining = -(-frame[0] // t.lanes)
                self.state = "FINISH"
            elif frame is not None:
                self.state = "DESCRIPTOR"
        elif state == "DESCRIPTOR":
            if self.prefetched:
                self.prefetched -= 1
                self.left = self.frame[0]
                self.state = "DATA"
        elif state == "DATA":
            if idle_bus and not fetch_ready:
                beats = min(-(-self.left // t.lanes), MAX_BEATS)
                self.left -= min(self.left, beats * t.lanes)
                new_cmd = ("data", beats, 0)
                self.state = "DATA_DONE"
        elif state == "DATA_DONE":
            if done == "data":
                self.state = "DATA" if self.left else "WRITE_BACK"
        elif state == "WRITE_BACK":
            if idle_bus and not fetch_ready:
                new_cmd = ("write_back", t.words_per_descriptor, 0)
                self.state = "WRITE_BACK_DONE"
        elif state == "WRITE_BACK_DONE":
            if done == "write_back":
                self.head = (self.head + 1) % self.count
                self.state = "FINISH"
        elif state == "FINISH":
            if not draining:
                self.frame = None
                self.state = "IDLE"
        if done == "fetch":
            self.prefetched += self.fetches.popleft()
        if draining:
            self.draining = draining - 1
        return new_cmd


class _TxQueue(_Client):
    def __init__(self, timing, index):
        super().__init__()
        self.t = timing
        self.index = index
        self.count = timing.tx_count
        self.tail = 0
        self.fetch = 0
        self.run = 0               # registered: the fetch batch the ring allowed a cycle before
        self.fetch_ready = False   # registered: from the run of the cycle before
        self.batch = 0             # registered
        self.prefetch = _Prefetch(timing.words_per_descriptor)
        self.checked = False       # registered: the assembled descriptor's checks are in
        self.posted = deque()      # (length, token) of descriptors from fetch on, in order
        self.descriptors = deque() # (length, token) of descriptors fetched, not yet scanned
        self.buffers = _Fifo(latency=3)  # checked descriptors (written through registers)
        self.frames_ready = 0
        self.reading = False
        self.in_frame = False
        self.current = None
        self.left = 0
        self.last_issued = False
        self.chosen = None         # registered: the command chosen for the next cycle
        self.chosen_batch = 0
        self.data_ready = False    # registered burst figures
        self.beats = 0
        self.burst = 0
        self.ends = False
        self.bursts = deque()      # tokens of the frames whose bursts are in flight
        self.head = 0
        self.walk = 0              # descriptors of the frame done, to add to the run
        self.walk_index = 0
        self.run_first = 0
        self.run_count = 0
        self.threshold = timing.write_back_threshold
        self.out = deque()         # (valid from cycle, beats, token) in the frame FIFO

    def step(self, cycle, done):
        t = self.t
        idle_bus = self.idle_bus
        # registered figures of this cycle (computed from the previous one's state)
        fetch_ready, batch = self.fetch_ready, self.batch
        data_ready, beats, burst, ends = self.data_ready, self.beats, self.burst, self.ends
        batch_now = _fetch_batch(self.fetch, self.tail, self.count)
        # the walker (write-back runs)
        walker_busy = self.walk != 0
        walk_blocked = False
        walk_step = None
        if walker_busy:
            appendable = self.run_count == 0 or (
                self.walk_index == self.run_first + self.run_count
                and self.run_count < WRITE_BACK_DESCRIPTORS)
            if appendable:
                walk_step = True
            else:
                walk_blocked = True
        data_pending = self.reading or self.frames_ready != 0
        flush_ready = (self.run_count != 0 and not (walker_busy and not walk_blocked)
                       and (self.run_count >= self.threshold or walk_blocked
                            or not data_pending))
        # scan: the assembled descriptor into the buffers, a cycle after it is checked
        assembled = self.prefetch.valid
        take = assembled and self.checked
        self.checked = assembled and not take
        frame_queued = False
        if take:
            self.buffers.push(cycle, self.descriptors.popleft())
            frame_queued = True
        # the reader
        frame_taken = False
        popped = None
        if (not self.reading and not self.last_issued and not walker_busy
                and (self.in_frame or self.frames_ready != 0)
                and self.buffers.head(cycle) is not None):
            popped = self.buffers.pop(cycle)
            frame_taken = True
        # the command chosen the cycle before goes out; a new one is chosen on an idle bus
        new_cmd = None
        issued_data = False
        chosen, self.chosen = self.chosen, None
        if chosen == "fetch":
            new_cmd = ("fetch", self.chosen_batch * t.words_per_descriptor, self.chosen_batch)
        elif chosen == "write_back":
            new_cmd = ("write_back", self.run_count * t.words_per_descriptor, 0)
        elif chosen == "data":
            new_cmd = ("data", beats, 0)
            issued_data = True
        if idle_bus and chosen is None:
            if fetch_ready:
                self.chosen, self.chosen_batch = "fetch", batch
            elif flush_ready:
                self.chosen = "write_back"
            elif data_ready:
                self.chosen = "data"
        # completions
        frame_done = False
        if done == "data":
            (length, token), last = self.bursts.popleft()
            if last:
                self.out.append((cycle + 9, -(-length // t.lanes), token))
            if self.last_issued:
                frame_done = True
        # registered updates
        self.fetch_ready = self.run != 0
        self.batch = self.run
        self.run = batch_now
        reading, left = self.reading, self.left
        self.data_ready = reading and left != 0
        beats_now = min(-(-left // t.lanes), MAX_BEATS)
        burst_now = min(left, beats_now * t.lanes)
        self.beats, self.burst, self.ends = beats_now, burst_now, burst_now == left
        if new_cmd is not None and new_cmd[0] == "fetch":
            self.fetch = (self.fetch + self.chosen_batch) % self.count
            for _ in range(self.chosen_batch):
                self.descriptors.append(self.posted.popleft())
        if new_cmd is not None and new_cmd[0] == "write_back":
            self.run_count = 0
        if walk_step:             # (never in the cycle of a flush: see flush_ready)
            self.walk -= 1
            if self.run_count == 0:
                self.run_first = self.walk_index
            self.run_count += 1
            self.walk_index = (self.walk_index + 1) % self.count
        if issued_data:
            self.left -= burst
            self.bursts.append((self.current, ends))
            if ends:
                self.reading = False
                self.last_issued = True
        if popped is not None:
            self.reading = True
            self.in_frame = True
            self.current = popped
            self.left = popped[0]
        if frame_queued and not frame_taken:
            self.frames_ready += 1
        elif frame_taken and not frame_queued:
            self.frames_ready -= 1
        if frame_done:
            self.walk = 1
            self.walk_index = self.head
            self.head = (self.head + 1) % self.count
            self.in_frame = False
            self.last_issued = False
        self.prefetch.step(cycle, take)
        return new_cmd


class DmaTiming:
    __doc__ = __doc__

    def __init__(self, *, queues, data_width, tx_count, rx_count, tx_wthresh=16, trace=False):
        self.queues = queues
        self.lanes = data_width // 8
        self.words_per_descriptor = 16 // self.lanes
        self.tx_count = tx_count
        self.rx_count = rx_count
        self.write_back_threshold = 1 if tx_wthresh == 0 else min(tx_wthresh,
                                                                  WRITE_BACK_DESCRIPTORS)
        self.tx = [_TxQueue(self, queue) for queue in range(queues)]
        self.rx = [_RxQueue(self) for _ in range(queues)]
        self.clients = [client for queue in range(queues)
                        for client in (self.tx[queue], self.rx[queue])]
        self.cycle = 0
        self.grant = 2 * queues - 1   # the last RX queue fetched last, at set-up
        self.active = None         # (client index, kind, done cycle) with the master
        self.mux_grant = 0
        self.mux_busy = None       # (queue, beats left, token) on the wire
        self.commands = [] if trace else None
        self._received = deque()   # (cycle, queue, token) of write-backs under way

    # Inputs.

    def rx_frame(self, queue, length, token):
        """A frame's last beat enters the engine this cycle (for RX queue ``queue``)."""
        self.rx[queue].lengths.push(self.cycle, (length, token))

    def rx_tail(self, queue, tail):
        """RDT of ``queue`` is ``tail`` from this cycle on."""
        self.rx[queue].tail = tail

    def rx_prefetched(self, queue, descriptors, fetch):
        """Set-up: ``descriptors`` already in the prefetch, the next fetch at ``fetch``."""
        rx = self.rx[queue]
        rx.prefetched, rx.fetch = descriptors, fetch

    def tx_tail(self, queue, tail, frames):
        """TDT of ``queue`` is ``tail`` from this cycle on; ``frames`` are the ``(length,
        token)`` of the descriptors it posts, in ring order."""
        tx = self.tx[queue]
        tx.tail = tail
        tx.posted.extend((length, token) for length, token in frames)

    # The clock.

    def step(self):
        """One cycle; answer its events (see the module documentation)."""
        cycle = self.cycle
        clients = self.clients
        # the arbiter and the master
        done_client = done_kind = None
        if self.active is not None and self.active[2] == cycle:
            done_client, done_kind = self.active[0], self.active[1]
        free = self.active is None or done_client is not None
        fired = None
        if free and clients[self.grant].cmd is not None:
            fired = self.grant
        elif free:
            count = len(clients)
            for offset in range(1, count + 1):
                index = (self.grant + offset) % count
                if clients[index].cmd is not None:
                    self.grant = index
                    break
        if done_client is not None:
            self.active = None
        if fired is not None:
            client = clients[fired]
            kind, beats, descriptors = client.cmd
            self.active = (fired, kind, cycle + beats + 1)
            if kind == "fetch" and isinstance(client, _RxQueue):
                client.fetches.append(descriptors)
            if kind == "fetch" and isinstance(client, _TxQueue):
                client.prefetch.fill(cycle + 3, beats)
            if kind == "write_back" and isinstance(client, _RxQueue):
                # in host memory with the last request: the driver may see it from then on
                self._received.append((cycle + beats, fired // 2, client.frame[1]))
            if self.commands is not None:
                self.commands.append((cycle, fired, kind, beats))
        # the clients
        events = []
        while self._received and self._received[0][0] == cycle:
            events.append(("rx", *self._received.popleft()[1:]))
        for index, client in enumerate(clients):
            done = done_kind if index == done_client else None
            # a queue sees its completions a cycle late
            done, client.late_done = client.late_done, done
            new_cmd = client.step(cycle, done)
            if getattr(client, "missed", None) is not None:
                events.append(("missed", index // 2, client.missed))
                client.missed = None
            if index == fired:
                client.cmd = None
                client.waiting = True
            if done is not None:
                client.waiting = False
            if new_cmd is not None:
                client.cmd = new_cmd
        # the TX mux and the wire
        events += self._wire(cycle)
        self.cycle += 1
        return events

    def _wire(self, cycle):
        if self.mux_busy is not None:
            queue, left, token = self.mux_busy
            left -= 1
            if left:
                self.mux_busy = (queue, left, token)
                return []
            self.mux_busy = None
            self.mux_grant = (queue + 1) % self.queues
            return [("tx", queue, token)]
        out = self.tx[self.mux_grant].out
        if out and out[0][0] <= cycle:
            _, beats, token = out.popleft()
            queue = self.mux_grant
            if beats == 1:
                self.mux_grant = (queue + 1) % self.queues
                return [("tx", queue, token)]
            self.mux_busy = (queue, beats - 1, token)
            return []
        self.mux_grant = (self.mux_grant + 1) % self.queues
        return []

    @property
    def busy(self):
        return self.active is not None or bool(self._received) or any(
            client.cmd is not None or client.waiting for client in self.clients) or any(
            rx.lengths.entries or rx.frame is not None for rx in self.rx) or any(
            tx.posted or tx.descriptors or tx.buffers.entries or tx.out or tx.reading
            or tx.in_frame for tx in self.tx) or self.mux_busy is not None
