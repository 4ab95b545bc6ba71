"""Host side of the UART-to-Wishbone bridge (:mod:`slique.hdl.uart_bridge` has the protocol).

The framing is free of I/O: :func:`encode_request` makes a request's bytes and
:class:`ReplyDecoder` turns received bytes into :class:`Reply` objects, skipping anything that
is not a well-formed reply (noise, the tail of a stale reply). :class:`BridgeClient` runs the
request / reply exchange over a *transport* with ``write(data)``, ``read(size, timeout) ->
bytes`` (up to ``size`` bytes, returning as soon as there is at least one, or nothing after
``timeout`` seconds) and ``reset_input()``:

- :class:`SerialTransport`: a real port through pyserial (``/dev/ttyUSB1`` is the iCEBreaker's
  second FT2232H channel, the UART);
- :class:`ModelTransport`: the golden model of the bridge (:class:`slique.sim.uart_bridge.
  UartBridge`) over a register file, for tests and for trying things without a board.

The cocotb benches drive the gateware through a simulated UART with the same
:func:`encode_request` and :class:`ReplyDecoder` (:class:`AsyncBridgeClient`).
"""

import itertools
from dataclasses import dataclass, field

from slique.hdl.uart_bridge import (CRC, DEFAULT_MAX_BURST, REPLY_START, REQUEST_START, Opcode,
                                    Status)


__all__ = ["Reply", "ReplyDecoder", "BridgeError", "encode_request", "BridgeClient",
           "AsyncBridgeClient", "SerialTransport", "ModelTransport", "DEFAULT_BAUDRATE"]


#: The iCEBreaker's rate: 12 MHz / 4 (see :mod:`slique.hdl.uart_bridge`).
DEFAULT_BAUDRATE = 3_000_000


class BridgeError(RuntimeError):
    """A request failed: the bridge replied with an error status, or never replied."""

    def __init__(self, message, reply=None):
        super().__init__(message)
        self.reply = reply


@dataclass(frozen=True)
class Reply:
    """A decoded reply.

    Attributes
    ----------
    tag, opcode : int
    status : Status
    done : int
        Words completed.
    words : tuple of int
        Read data (empty for writes).
    """
    tag: int
    opcode: int
    status: Status
    done: int
    words: tuple = field(default=())


_STATUS_VALUES = frozenset(status.value for status in Status)


def _checksum(body):
    value = CRC.compute(body)
    return bytes([value >> 8, value & 0xFF])


def encode_request(tag, opcode, address, *, count=None, words=()):
    """The bytes of one request.

    Parameters
    ----------
    tag : int
        0 to 255.
    opcode : Opcode or int
        Any byte (the bridge answers ``BAD_OPCODE`` to reserved bits: tests send such).
    address : int
        Word address of the first word, 0 to 0xFFFF.
    count : int or None
        Words; ``len(words)`` when ``None``. Any byte (tests send 0 and too many).
    words : iterable of int
        Data of a write (32-bit each).
    """
    words = list(words)
    if count is None:
        count = len(words)
    body = bytearray([tag & 0xFF, int(opcode) & 0xFF, count & 0xFF])
    body += (address & 0xFFFF).to_bytes(2, "big")
    for word in words:
        body += (word & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes([REQUEST_START]) + bytes(body) + _checksum(body)


class ReplyDecoder:
    """Turns received bytes into replies.

    A reply starts at a 0x5A byte; when what follows does not check (an unknown status or a
    ``DONE`` beyond ``max_burst``, seen at once; a wrong checksum, seen when the bytes it
    announces are in), the decoder drops that 0x5A and looks for the next one, so replies are
    found again after any noise. ``skipped`` counts the bytes dropped.
    """

    HEADER = 5  # start, tag, op, status, done

    def __init__(self, max_burst=DEFAULT_MAX_BURST):
        self._buffer = bytearray()
        self.skipped = 0
        self.max_burst = max_burst

    def feed(self, data):
        """Add received bytes; return the replies they complete."""
        self._buffer += data
        replies = []
        while True:
            start = self._buffer.find(REPLY_START)
            if start < 0:
                self.skipped += len(self._buffer)
                self._buffer.clear()
                return replies
            self.skipped += start
            del self._buffer[:start]
            if len(self._buffer) < self.HEADER:
                return replies
            tag, opcode, status, done = self._buffer[1:5]
            data_bytes = 0 if opcode & 1 else 4 * done
            if status not in _STATUS_VALUES or done > self.max_burst:
                self.skipped += 1  # not a reply: do not wait for the length it would have
                del self._buffer[:1]
                continue
            length = self.HEADER + data_bytes + 2
            if len(self._buffer) < length:
                return replies
            body = bytes(self._buffer[1:length - 2])
            if _checksum(body) != bytes(self._buffer[length - 2:length]):
                self.skipped += 1
                del self._buffer[:1]
                continue
            words = tuple(int.from_bytes(body[4 + 4 * i:8 + 4 * i], "big")
                          for i in range(data_bytes // 4))
            replies.append(Reply(tag, opcode, Status(status), done, words))
            del self._buffer[:length]

    @property
    def pending(self):
        """Bytes received and not yet part of a reply."""
        return len(self._buffer)


class _Exchange:
    """What the sync and async clients share: tags, request building, reply checks."""

    def __init__(self, max_burst):
        self.max_burst = max_burst
        self._tags = itertools.cycle(range(1, 256))
        self.decoder = ReplyDecoder(max_burst)

    def requests(self, opcode, address, count, words):
        """Split an access into bursts of at most ``max_burst`` words:
        ``(opcode, address, count, words)`` each."""
        fixed = int(opcode) & 2
        for start in range(0, count, self.max_burst):
            size = min(self.max_burst, count - start)
            yield (opcode, address if fixed else address + start, size,
                   words[start:start + size] if words else ())

    def next_tag(self):
        return next(self._tags)

    @staticmethod
    def check(reply, count):
        if reply.status != Status.OK or reply.done != count:
            raise BridgeError(f"the bridge replied {reply.status.name} after {reply.done} of "
                              f"{count} words", reply)
        return reply


class BridgeClient:
    """Reads and writes 32-bit registers through the bridge.

    Parameters
    ----------
    transport
        ``write(data)``, ``read(size, timeout)``, ``reset_input()``.
    reply_timeout : float
        Seconds to wait for a reply before trying again.
    retries : int
        Attempts after the first for a request with no reply or a damaged one (``BAD_CRC``,
        ``TRUNCATED``, ``FRAMING``). The other errors are the request's own and raise at once.
    max_burst : int
        The bridge's ``max_burst``: longer accesses are split.
    """

    RETRY_STATUSES = (Status.BAD_CRC, Status.TRUNCATED, Status.FRAMING)

    def __init__(self, transport, *, reply_timeout=0.5, retries=2,
                 max_burst=DEFAULT_MAX_BURST):
        self.transport = transport
        self.reply_timeout = reply_timeout
        self.retries = retries
        self._exchange = _Exchange(max_burst)

    def read(self, address, count=1, *, fixed=False):
        """``count`` words from ``address`` (word address), or all from it with ``fixed``."""
        opcode = Opcode.READ_FIXED if fixed else Opcode.READ
        words = []
        for request in self._exchange.requests(opcode, address, count, ()):
            words += self._transact(*request).words
        return words

    def read_word(self, address):
        return self.read(address, 1)[0]

    def write(self, address, words, *, fixed=False):
        """Write ``words`` from ``address`` (word address), or all to it with ``fixed``."""
        words = [words] if isinstance(words, int) else list(words)
        opcode = Opcode.WRITE_FIXED if fixed else Opcode.WRITE
        for request in self._exchange.requests(opcode, address, len(words), words):
            self._transact(*request)

    def _transact(self, opcode, address, count, words):
        last_error = None
        for _attempt in range(1 + self.retries):
            tag = self._exchange.next_tag()
            self.transport.reset_input()
            self.transport.write(encode_request(tag, opcode, address, count=count, words=words))
            reply = self._wait_for(tag)
            if reply is None:
                last_error = BridgeError(f"no reply to tag {tag} within {self.reply_timeout} s")
                continue
            if reply.status in self.RETRY_STATUSES:
                last_error = BridgeError(f"the bridge replied {reply.status.name}", reply)
                continue
            return self._exchange.check(reply, count)
        raise last_error

    def _wait_for(self, tag):
        decoder = self._exchange.decoder
        while True:
            data = self.transport.read(64, self.reply_timeout)
            if not data:
                return None
            for reply in decoder.feed(data):
                if reply.tag == tag:
                    return reply


class AsyncBridgeClient:
    """:class:`BridgeClient` for an asynchronous transport (a cocotb UART): ``await
    write(data)``, ``await read(size, timeout) -> bytes``, ``reset_input()``. No retries: a
    bench wants to see every failure."""

    def __init__(self, transport, *, reply_timeout=0.01, max_burst=DEFAULT_MAX_BURST):
        self.transport = transport
        self.reply_timeout = reply_timeout
        self._exchange = _Exchange(max_burst)

    async def read(self, address, count=1, *, fixed=False):
        opcode = Opcode.READ_FIXED if fixed else Opcode.READ
        words = []
        for request in self._exchange.requests(opcode, address, count, ()):
            words += (await self._transact(*request)).words
        return words

    async def write(self, address, words, *, fixed=False):
        words = [words] if isinstance(words, int) else list(words)
        opcode = Opcode.WRITE_FIXED if fixed else Opcode.WRITE
        for request in self._exchange.requests(opcode, address, len(words), words):
            await self._transact(*request)

    async def send_raw(self, data):
        """Send bytes as they are (tests of garbage and malformed frames)."""
        await self.transport.write(data)

    async def reply(self, tag=None):
        """The next reply (with ``tag``, if given); ``None`` after ``reply_timeout``."""
        while True:
            data = await self.transport.read(64, self.reply_timeout)
            if not data:
                return None
            for reply in self._exchange.decoder.feed(data):
                if tag is None or reply.tag == tag:
                    return reply

    async def _transact(self, opcode, address, count, words):
        tag = self._exchange.next_tag()
        self.transport.reset_input()
        await self.transport.write(encode_request(tag, opcode, address, count=count,
                                                  words=words))
        reply = await self.reply(tag)
        if reply is None:
            raise BridgeError(f"no reply to tag {tag} within {self.reply_timeout} s")
        return self._exchange.check(reply, count)


class SerialTransport:
    """A serial port through pyserial (``pip install pyserial``).

    Parameters
    ----------
    port : str
        ``/dev/ttyUSB1`` for the iCEBreaker (its FT2232H's second channel).
    baudrate : int
        :data:`DEFAULT_BAUDRATE` (3 Mbaud) for the iCEBreaker top.
    """

    def __init__(self, port, baudrate=DEFAULT_BAUDRATE):
        try:
            import serial
        except ImportError:
            raise BridgeError("pyserial is not installed: `pip install pyserial`") from None
        try:
            self._port = serial.Serial(port, baudrate=baudrate, timeout=0)
        except serial.SerialException as error:
            raise BridgeError(f"cannot open {port}: {error}; is the board plugged in, and is "
                              f"{port} its UART (the FT2232H's second channel)?") from None

    def write(self, data):
        self._port.write(data)
        self._port.flush()

    def read(self, size, timeout):
        self._port.timeout = timeout
        first = self._port.read(1)
        if not first:
            return first
        return first + self._port.read(min(size - 1, self._port.in_waiting))

    def reset_input(self):
        self._port.reset_input_buffer()

    def close(self):
        self._port.close()


class ModelTransport:
    """The golden model of the bridge as a transport: bytes written are received by
    :class:`slique.sim.uart_bridge.UartBridge`, and its replies are read back.

    Parameters
    ----------
    model : slique.sim.uart_bridge.UartBridge
    line_errors : callable or None
        ``line_errors(data) -> data`` applied to every write (to corrupt or cut frames in
        tests); a write that leaves a frame open is followed by the bridge's timeout.
    """

    def __init__(self, model, line_errors=None):
        self.model = model
        self.line_errors = line_errors
        self._received = bytearray()

    def write(self, data):
        if self.line_errors is not None:
            data = self.line_errors(data)
        for byte in data:
            reply = self.model.receive(byte)
            if reply is not None:
                self._received += reply
        reply = self.model.silence()
        if reply is not None:
            self._received += reply

    def read(self, size, timeout):
        data = bytes(self._received[:size])
        del self._received[:size]
        return data

    def reset_input(self):
        self._received.clear()
