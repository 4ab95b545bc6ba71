"""BoardNIC: :class:`~slique.firmware.nicops.NICOps` on the iCEBreaker flow top, over its UART
bridge.

The board (:class:`slique.boards.icebreaker.FlowBoardCore`) has the flow path's receive side:
per-queue packet admission and sliques behind an on-chip generator, a trace stream, and a frame
port (:class:`~slique.boards.icebreaker.HostFramePort`) through which the host writes frames
into the flow path, reads the queues beat by beat, and sends frames to the board's transmit port.
Every access goes through :class:`slique.boards.flow_client.FlowBoardClient` over a
:class:`~slique.boards.bridge.BridgeClient`, whose transport is a serial port (pyserial, the
real board) or a simulated UART (the same board top in Verilator, see
:mod:`slique.sim.benches.board_nic_bench`): this class is the same code for both.

What the board offers, and how:

- **the RX wire** (:meth:`offer`): the link partner is this host. Offered frames are written to
  FRAME_INJECT, one beat (byte) per word, at most one burst of 64 beats per :meth:`step`; a
  beat waits while its queue is full, and a burst that waits longer than the bridge's bus
  timeout comes back ``BUS_TIMEOUT`` with the beats taken, the rest follows in later steps (the
  wire is back-pressured, as on the other backends);
- **steering**: the board has no flow demux (it does not fit the UP5K): a frame goes to the
  queue named by the low bits of its first byte (the destination MAC's first byte), as the
  generator's packets do. There is no header parser, so no frame is dropped as malformed, and
  no RSS key, RETA or flow table: :meth:`write_reta`, :meth:`write_flow` and :attr:`key`
  raise :class:`BoardUnsupported`;
- **receives** (:meth:`post_rx`): for a queue with receives posted, each step reads the queue's
  beats from FRAME_HEAD (a burst as long as the level the last read reported); a frame whose
  last beat is read completes the oldest receive. Beats read beyond the frames asked for wait
  in the host (counted in :meth:`queue_levels`); a queue with no receive posted is not read,
  so it backs up and its admission drops, as a full RX ring does on the other backends. There
  is no DMA engine or descriptor ring: the bridge is the RX path;
- **transmit**: the iCEBreaker has no Ethernet PHY. A frame is written to the board's transmit
  port (FRAME_TX), which takes it and counts it; the transmit completes with ``Result(len)``
  when FRAME_TX_FRAMES has counted it (``EIO`` otherwise) and nothing leaves the board;
  :meth:`take_transmitted` gives the frames the board took;
- **admission** (:meth:`configure_admission`): every queue's registers, the rate in the board's
  8.8 fixed point (:data:`slique.boards.icebreaker.FRACTION_BITS`); completes once written;
- **counters and trace records**: sampled after every step that moved a beat (one burst per
  queue: level, tokens, the read-to-clear counters, which this class accumulates), the trace
  records taken whenever the drops grew.

:attr:`cycle` counts :meth:`step` calls (one poll of the board each), not the board's clock,
which stamps the trace records (``read_counters()["board_cycle"]``). So timeouts and sleeps of
the firmware are in steps, and the digest of a run (which leaves cycle stamps out) is the
board's own: it differs from GoldenNIC's, whose flow demux parses, drops malformed frames and
spreads flows over its queues by RSS.
"""

from collections import deque

from slique.sim.trace_stream import Record

from slique.hdl.uart_bridge import DEFAULT_MAX_BURST

from .block_device import EIO
from .errors import OK, Result, failure
from .golden_nic import GoldenNIC
from .nicops import NICOps, rx_result


__all__ = ["BoardNIC", "BoardNICError", "BoardBridgeMissing", "BoardUnsupported"]


class BoardNICError(RuntimeError):
    """The board cannot do what was asked."""


class BoardBridgeMissing(BoardNICError):
    """There is no board bridge: no port given, the port does not open, or no board answers."""


class BoardUnsupported(BoardNICError):
    """The board top lacks what an operation needs (a flow demux, RETA, a DMA ring)."""


#: Beats in one bridge burst.
MAX_BURST = DEFAULT_MAX_BURST

#: The board top's demux is missing; what the operations that need it say.
NO_DEMUX = ("the iCEBreaker flow top has no flow demux (it does not fit the UP5K): no header "
            "parser, RSS key, RETA or flow table; it steers each frame by the low bits of its "
            "first byte. Run this application on --backend golden or verilator")


class BoardNIC(NICOps):
    """The firmware's NIC on an iCEBreaker running the flow top (see the module documentation).

    Parameters
    ----------
    port : str or None
        The board's serial port (``/dev/ttyUSB1``: the FT2232H's second channel).
    transport : object or None
        A transport for :class:`~slique.boards.bridge.BridgeClient` in place of the port (a
        simulated UART in the tests).
    queues : int
        The board top's queues (2 for the default top).
    rx_ring, tx_ring : int
        Receives that may be posted, and frames in flight to the transmit port, per queue.
    baudrate : int
        Of the port.
    reply_timeout, retries
        Of the :class:`~slique.boards.bridge.BridgeClient`.

    Attributes
    ----------
    data_width : int
        Bits of the board's packet beats: 8.
    client : slique.boards.flow_client.FlowBoardClient
    sent : list
        Every ``(queue, frame)`` the board's transmit port took, in order.
    """

    data_width = 8

    def __init__(self, port=None, *, transport=None, queues=2, rx_ring=16, tx_ring=16,
                 baudrate=None, reply_timeout=0.5, retries=2):
        from slique.boards.bridge import DEFAULT_BAUDRATE, BridgeClient, BridgeError
        from slique.boards.flow_client import FlowBoardClient

        self._bridge_error = BridgeError
        self.port = port
        if transport is None:
            if port is None:
                raise BoardBridgeMissing(
                    "BoardNIC needs a board bridge: the serial port of an iCEBreaker running "
                    "the flow top (`slique build --board icebreaker --program`, then "
                    "--port /dev/ttyUSB1)")
            from slique.boards.bridge import SerialTransport
            try:
                transport = SerialTransport(port, baudrate or DEFAULT_BAUDRATE)
            except BridgeError as error:
                raise BoardBridgeMissing(f"no board bridge: {error}") from None
        self.queues = queues
        self.rx_ring = rx_ring
        self.tx_ring = tx_ring
        self.client = FlowBoardClient(BridgeClient(transport, reply_timeout=reply_timeout,
                                                   retries=retries), queues)
        self.cycle = 0
        self._wire = deque()                    # frames offered, not yet injected
        self._injecting = None                  # [words, beats taken] of the frame going in
        self._target = None                     # the queue that frame went to (once known)
        self._room = MAX_BURST                  # beats a queue took before it stalled
        self.offered = 0
        self.inject_timeouts = 0
        self._writes = deque()                  # (tag, queue -> write) configuration writes
        self._posted = [deque() for _ in range(queues)]
        self._partial = [[] for _ in range(queues)]         # beats of a frame being read
        self._held = [deque() for _ in range(queues)]       # frames read, no receive yet
        self._expect = [0] * queues             # beats there to read (as last seen)
        self.received = [0] * queues
        self._tx = [deque() for _ in range(queues)]         # (tag, frame) to send
        self._tx_pointer = 0
        self._transmitted = []
        self.sent = []
        self.transmitted = [0] * queues
        self.tx_unmatched = 0
        self._completions = []
        self._trace = []
        self._unsupported = None
        self._moved = True                      # sample the board after this step
        self._totals = self._zero_totals()
        self._levels = [0] * queues
        self._tokens = [0] * queues
        self._trace_status = {"lost": 0, "level": 0, "cycle": 0}
        self._setup()

    # Set-up.

    def _setup(self):
        """Check the board, stop the generator, hand the queues to the host, put admission to
        its reset values, and empty what a previous run left (beats, counters, records)."""
        from slique.boards.icebreaker import frame_bank
        from slique.hdl.uart_bridge import Status

        where = f" on {self.port}" if self.port else ""
        board = self.client
        try:
            if not board.ping():
                raise BoardBridgeMissing(f"the device{where} answers, but not as the slique "
                                         f"bridge (BRIDGE_ID differs)")
        except self._bridge_error as error:
            raise BoardBridgeMissing(
                f"no board answered{where} ({error}): is the iCEBreaker plugged in and "
                f"programmed with the flow top (`slique build --board icebreaker "
                f"--program`)?") from None
        board.stop_generator()
        try:
            board.host_reads(True)
        except self._bridge_error as error:
            if error.reply is not None and error.reply.status == Status.BUS_ERROR:
                raise BoardUnsupported(
                    f"the board{where} has no frame port (bank {frame_bank(self.queues)}): its "
                    f"bitstream predates it, or it has not {self.queues} queues; rebuild and "
                    f"program it (`slique build --board icebreaker --program`)") from None
            raise
        self.stale_beats = 0
        for queue in range(self.queues):
            board.reset_admission(queue)
            count = 1
            while count:
                beats = [beat for beat in board.read_head(queue, count) if beat.valid]
                self.stale_beats += len(beats)
                count = min(MAX_BURST, beats[-1].level - 1) if beats else 0
            board.admission_state(queue)        # clears the counters
        board.trace_records()
        self._tx_count = board.tx_frames()
        self._sample()
        self._totals = self._zero_totals()
        self._trace = []

    # Operations.

    def transmit(self, tag, queue, frame):
        if len(self._tx[queue]) >= self.tx_ring:
            return False
        self._tx[queue].append((tag, bytes(frame)))
        return True

    def post_rx(self, tag, queue):
        if len(self._posted[queue]) >= self.rx_ring:
            return False
        self._posted[queue].append(tag)
        return True

    def _unsupported_operation(self, what):
        self._unsupported = BoardUnsupported(f"{what}: {NO_DEMUX}")
        raise self._unsupported

    def write_reta(self, tag, index, queue):
        self._unsupported_operation("write_reta")

    def write_flow(self, tag, index, key, queue, valid=True):
        self._unsupported_operation("write_flow")

    @property
    def key(self):
        """The RSS key: the board has none (:class:`BoardUnsupported`)."""
        self._unsupported_operation("the RSS key")

    def configure_admission(self, tag, *, steady, burst, capacity, rate, denominator=0):
        self._writes.append((tag, dict(steady=steady, burst=burst, capacity=capacity, rate=rate,
                                       denominator=denominator)))
        return True

    # The clock.

    def step(self):
        if self._unsupported is not None:       # an operation the board lacks was tried
            raise self._unsupported
        try:
            return self._step()
        except self._bridge_error as error:
            where = f" on {self.port}" if self.port else ""
            raise BoardBridgeMissing(f"the board{where} stopped answering: {error}") from None

    def _step(self):
        self.cycle += 1
        if self._writes:
            tag, values = self._writes.popleft()
            try:
                for queue in range(self.queues):
                    self.client.write_admission(queue, **values)
                self._completions.append((tag, OK))
            except self._bridge_error:
                self._completions.append((tag, failure(EIO)))
        self._inject()
        self._receive()
        self._send()
        if self._moved:
            self._sample()
        completions, self._completions = self._completions, []
        return self.cycle, completions

    def _inject(self):
        """One burst of the frame on the wire into FRAME_INJECT: as many beats as its queue
        took before it stalled last time (once its queue is known), at most 64. The first
        burst of a frame is followed by a sample, which tells which queue it went to."""
        from slique.boards.flow_client import frame_words

        if self._injecting is None:
            if not self._wire:
                return
            self._injecting = [frame_words(self._wire.popleft()), 0]
            self._target = None
            self.offered += 1
            self._moved = True                  # the decision: offered, accepted or dropped
        words, taken = self._injecting
        target = self._target
        room = self._room - (self._expect[target] if target is not None else 0)
        burst = words[taken:taken + max(1, min(MAX_BURST, room))]
        done = self.client.inject(burst)
        if done < len(burst):
            self.inject_timeouts += 1
            self._room = max(1, done + (self._expect[target] if target is not None else 0))
        if target is not None:
            self._expect[target] += done
        self._injecting[1] += done
        if self._injecting[1] == len(words):
            self._injecting = None

    def _receive(self):
        """Read the queues that have beats and receives waiting; complete the receives with
        whole frames."""
        for queue in range(self.queues):
            posted, held = self._posted[queue], self._held[queue]
            if len(posted) > len(held) and self._expect[queue] > 0:
                beats = self.client.read_head(queue, min(MAX_BURST, self._expect[queue]))
                partial = self._partial[queue]
                self._expect[queue] = 0
                for beat in beats:
                    if not beat.valid:
                        continue
                    self._expect[queue] = beat.level - 1
                    partial.append(beat.data)
                    if beat.last:
                        held.append(bytes(partial))
                        partial.clear()
                        self._moved = True      # delivered
            while posted and held:
                self.received[queue] += 1
                self._completions.append((posted.popleft(), rx_result(queue, held.popleft())))

    def _send(self):
        """Every frame waiting, round robin by queue, to the transmit port; they complete when
        FRAME_TX_FRAMES has counted them."""
        from slique.boards.icebreaker import TX_FRAMES_WIDTH

        sending = []
        while any(self._tx):
            for offset in range(self.queues):
                queue = (self._tx_pointer + offset) % self.queues
                if self._tx[queue]:
                    self._tx_pointer = (queue + 1) % self.queues
                    tag, frame = self._tx[queue].popleft()
                    try:
                        self.client.transmit(frame)
                    except self._bridge_error:
                        self._completions.append((tag, failure(EIO)))
                        continue
                    sending.append((queue, tag, frame))
                    break
        if not sending:
            return
        count = self.client.tx_frames()
        counted = (count - self._tx_count) % (1 << TX_FRAMES_WIDTH)
        self._tx_count = count
        for index, (queue, tag, frame) in enumerate(sending):
            if index >= counted:                # the board did not count it: not sent
                self.tx_unmatched += 1
                self._completions.append((tag, failure(EIO)))
                continue
            self.transmitted[queue] += 1
            self._transmitted.append((queue, frame))
            self.sent.append((queue, frame))
            self._completions.append((tag, Result(len(frame))))

    def _zero_totals(self):
        """The admission counters (totals since set-up), all 0."""
        from slique.boards.flow_client import ADMISSION_COUNTERS
        return {f"admission_{name}": [0] * self.queues for name in ADMISSION_COUNTERS}

    def _sample(self):
        """Levels and counters of every queue; the trace records when the drops grew."""
        from slique.boards.flow_client import ADMISSION_COUNTERS

        totals = self._totals
        drops = 0
        for queue in range(self.queues):
            state = self.client.admission_state(queue)
            self._levels[queue] = self._expect[queue] = state["level"]
            if state["offered"]:
                self._target = queue            # the frame going in went there
            self._tokens[queue] = state["tokens"]
            for name in ADMISSION_COUNTERS:
                totals[f"admission_{name}"][queue] += state[name]
                if name.startswith("dropped"):
                    drops += state[name]
        if drops:
            for record in self.client.trace_records():
                self._trace.append(Record(record.cycle, record.block, record.reason,
                                          record.queue, record.tag))
            self._trace_status = self.client.trace_status()
        self._moved = False

    # Reads.

    def read_counters(self):
        counters = {name: list(values) for name, values in self._totals.items()}
        counters.update(levels=list(self._levels), tokens=list(self._tokens),
                        wire_offered=self.offered, received=list(self.received),
                        transmitted=list(self.transmitted), tx_unmatched=self.tx_unmatched,
                        inject_timeouts=self.inject_timeouts,
                        trace_lost=self._trace_status["lost"],
                        board_cycle=self._trace_status["cycle"], cycle=self.cycle)
        return counters

    read_trace = GoldenNIC.read_trace

    def queue_levels(self):
        """Beats per queue in the board's slique and read into the host, not yet received."""
        return [self._levels[queue] + len(self._partial[queue])
                + sum(map(len, self._held[queue])) for queue in range(self.queues)]

    # The wire.

    def offer(self, frame):
        if not frame:
            raise ValueError("The board's frame port carries no empty frame")
        self._wire.append(bytes(frame))

    take_transmitted = GoldenNIC.take_transmitted

    @property
    def wire_pending(self):
        return len(self._wire) + (self._injecting is not None)

    @property
    def idle_tx(self):
        return not any(self._tx)

    @property
    def idle(self):
        return not (self._wire or self._injecting or self._writes or any(self._tx)
                    or self._completions or any(self.queue_levels()))

    def close(self):
        """Hand the queues back to the drain and close the transport (if it closes)."""
        try:
            self.client.host_reads(False)
        finally:
            close = getattr(self.client.client.transport, "close", None)
            if close is not None:
                close()
