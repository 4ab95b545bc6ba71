"""A UART line and a Wishbone target in the Amaranth simulator, driven from ordinary code.

:class:`SimulatedUart` is a transport for :class:`slique.boards.bridge.BridgeClient`: bytes
written are shifted into the design's ``rx`` pin at ``divisor`` clocks per bit (framing errors,
breaks and idle gaps on request), and bytes the design sends on ``tx`` are decoded; ``read``
runs the simulation until they come or the timeout passes. So the host-side code that talks
to a board over pyserial talks, unchanged, to the gateware in simulation.

:class:`WishboneMemory` answers a Wishbone initiator from a dict: wait states, ``err`` at
some addresses, no answer at others (to test bus timeouts). Its :meth:`access` is the same
bus for the golden model (:class:`slique.sim.uart_bridge.UartBridge`).
"""

from collections import deque


from slique.sim.uart_bridge import BusAnswer


__all__ = ["SimulatedUart", "WishboneMemory", "line_bits"]


def line_bits(byte, *, framing_error=False):
    """The ten bits of one 8N1 frame, start bit first (the stop bit low for a framing
    error)."""
    return [0] + [byte >> bit & 1 for bit in range(8)] + [0 if framing_error else 1]


class SimulatedUart:
    """The host's end of a UART connected to a design in an Amaranth :class:`Simulator`.

    Parameters
    ----------
    simulator : Simulator
        With a clock added (``clock_hz``).
    rx, tx : Signal
        The design's receive input (driven here) and transmit output (decoded here).
    divisor : int
        Clocks per bit.
    clock_hz : float
        The design's clock, to turn timeouts in seconds into cycles.
    sender_error : float
        Relative error of the host's bit time (0.02: its bits are 2 % longer than ``divisor``
        clocks), to test the receiver's tolerance; bit edges fall on the nearest clock.

    Attributes
    ----------
    sent_bytes : int
        Bytes shifted onto the line so far (framing errors included, breaks not).
    cycles : int
        Clock cycles simulated through this object.
    """

    def __init__(self, simulator, rx, tx, *, divisor, clock_hz, sender_error=0.0):
        self.simulator = simulator
        self.rx, self.tx = rx, tx
        self.divisor = divisor
        self.clock_hz = clock_hz
        self.bit_cycles = divisor * (1 + sender_error)
        self._queue = deque()  # lists of line levels, one per clock
        self._received = bytearray()
        self.sent_bytes = 0
        self.cycles = 0
        simulator.add_testbench(self._drive, background=True)
        simulator.add_testbench(self._listen, background=True)

    # -- transport interface of BridgeClient --------------------------------------------------

    def write(self, data, *, framing_errors=()):
        """Queue bytes; those at the indices in ``framing_errors`` get a low stop bit."""
        for index, byte in enumerate(data):
            bits = line_bits(byte, framing_error=index in framing_errors)
            edges = [round(k * self.bit_cycles) for k in range(len(bits) + 1)]
            self._queue.append([bit for k, bit in enumerate(bits)
                                for _ in range(edges[k + 1] - edges[k])])
            self.sent_bytes += 1

    def read(self, size, timeout):
        """Run until a byte was received or ``timeout`` (simulated seconds) passed; return up
        to ``size`` bytes."""
        deadline = self.cycles + max(1, round(timeout * self.clock_hz))
        while not self._received and self.cycles < deadline:
            self.run(min(10 * self.divisor, deadline - self.cycles))
        data = bytes(self._received[:size])
        del self._received[:size]
        return data

    def reset_input(self):
        self._received.clear()

    # -- more of the line ---------------------------------------------------------------------

    def send_break(self, cycles):
        """Hold the line low for ``cycles`` clocks."""
        self._queue.append([0] * cycles)

    def idle(self, cycles):
        """Leave the line high for ``cycles`` clocks before the next queued byte."""
        self._queue.append([1] * cycles)

    def run(self, cycles):
        """Simulate ``cycles`` clocks."""
        self.cycles += cycles
        self.simulator.run_until(self.cycles / self.clock_hz)

    def drain(self, quiet_cycles):
        """Run until everything queued is sent and ``tx`` has been idle for ``quiet_cycles``;
        return the bytes received meanwhile."""
        quiet = 0
        while self._queue or quiet < quiet_cycles:
            before = len(self._received), self._busy_receiving
            self.run(self.divisor)
            if (len(self._received), self._busy_receiving) != before or self._busy_receiving \
                    or self._queue:
                quiet = 0
            else:
                quiet += self.divisor
        data = bytes(self._received)
        self._received.clear()
        return data

    # -- simulation processes -----------------------------------------------------------------

    async def _drive(self, ctx):
        ctx.set(self.rx, 1)
        while True:
            if not self._queue:
                await ctx.tick()
                continue
            for level in self._queue.popleft():
                ctx.set(self.rx, level)
                await ctx.tick()
            ctx.set(self.rx, 1)

    _busy_receiving = False

    async def _listen(self, ctx):
        divisor = self.divisor
        while True:
            await ctx.tick()
            if ctx.get(self.tx):
                continue
            self._busy_receiving = True
            # The start bit began at this edge: sample the middle of each following bit.
            await ctx.tick().repeat(divisor // 2)
            byte = 0
            for bit in range(8):
                await ctx.tick().repeat(divisor)
                byte |= ctx.get(self.tx) << bit
            await ctx.tick().repeat(divisor)
            if ctx.get(self.tx):
                self._received.append(byte)
            self._busy_receiving = False


class WishboneMemory:
    """A Wishbone B4 classic target holding 32-bit words in a dict.

    Parameters
    ----------
    words : dict of int to int
        Initial contents by word address; absent addresses read 0.
    error_addresses : set of int
        Addresses answered with ``err``.
    silent_addresses : set of int
        Addresses never answered.
    wait_states : int
        Cycles between a request and its ``ack``.

    Attributes
    ----------
    accesses : list of (bool, int, int)
        ``(write, address, data)`` of every answered access, in order.
    """

    def __init__(self, words=None, *, error_addresses=(), silent_addresses=(), wait_states=0):
        self.words = dict(words or {})
        self.error_addresses = set(error_addresses)
        self.silent_addresses = set(silent_addresses)
        self.wait_states = wait_states
        self.accesses = []

    def access(self, write, address, data):
        """One access, for the golden model: ``(answer, read_data)``."""
        if address in self.silent_addresses:
            return BusAnswer.TIMEOUT, 0
        if address in self.error_addresses:
            return BusAnswer.ERR, 0
        self.accesses.append((write, address, data))
        if write:
            self.words[address] = data
            return BusAnswer.ACK, 0
        return BusAnswer.ACK, self.words.get(address, 0)

    def attach(self, simulator, bus):
        """Serve ``bus`` (the initiator's Wishbone interface) in ``simulator``."""
        async def serve(ctx):
            while True:
                await ctx.tick()
                if not (ctx.get(bus.cyc) and ctx.get(bus.stb)):
                    continue
                write, address = bool(ctx.get(bus.we)), ctx.get(bus.adr)
                data = ctx.get(bus.dat_w)
                if address in self.silent_addresses:
                    continue
                for _ in range(self.wait_states):
                    await ctx.tick()
                answer, read_data = self.access(write, address, data)
                ctx.set(bus.dat_r, read_data)
                ctx.set(bus.err if answer == BusAnswer.ERR else bus.ack, 1)
                await ctx.tick()
                ctx.set(bus.ack, 0)
                ctx.set(bus.err, 0)
        simulator.add_testbench(serve, background=True)
