"""Golden model of :class:`slique.hdl.UartBridge`, one received byte at a time.

The model sees what the gateware's protocol engine sees: received bytes (with their framing
error flag), silences longer than the timeout, and the answers of the bus. It returns the
reply bytes the gateware sends and counts the same outcomes. It is written from the protocol
description in :mod:`slique.hdl.uart_bridge`, independently of the gateware and of the host's
framing code in :mod:`slique.boards.bridge`.
"""

from collections import Counter

from slique.hdl.uart_bridge import (CRC, DEFAULT_MAX_BURST, REPLY_START, REQUEST_START, Status,
                                    StrayByte)


__all__ = ["UartBridge", "BusAnswer"]


class BusAnswer:
    """What a bus access returned: ``ack`` (with read data), ``err`` or ``timeout``."""
    ACK = "ack"
    ERR = "err"
    TIMEOUT = "timeout"


def _crc_bytes(payload):
    checksum = CRC.compute(payload)
    return bytes([checksum >> 8, checksum & 0xFF])


class UartBridge:
    """The bridge's protocol engine.

    Parameters
    ----------
    bus : callable
        ``bus(write, address, data) -> (answer, read_data)``: one Wishbone access (``answer``
        one of :class:`BusAnswer`; ``read_data`` is used for an acknowledged read).
    max_burst : int
        Largest ``COUNT``.

    Attributes
    ----------
    frames : Counter of Status
        Replies by status.
    stray : Counter of StrayByte
        Bytes outside frames, by reason.
    in_frame_bytes : int
        Bytes that were part of a frame.
    """

    def __init__(self, bus, *, max_burst=DEFAULT_MAX_BURST):
        self.bus = bus
        self.max_burst = max_burst
        self.frames = Counter()
        self.stray = Counter()
        self.in_frame_bytes = 0
        self._frame = None  # bytes of the frame after the start byte, or None when hunting

    @property
    def hunting(self):
        return self._frame is None

    def receive(self, byte, framing_error=False):
        """One received byte; returns the reply it completes (``bytes``) or ``None``."""
        if self._frame is None:
            if framing_error:
                self.stray[StrayByte.LINE_FRAMING] += 1
            elif byte == REQUEST_START:
                self.in_frame_bytes += 1
                self._frame = bytearray()
            else:
                self.stray[StrayByte.GARBAGE] += 1
            return None
        self.in_frame_bytes += 1
        if framing_error:
            return self._fail(Status.FRAMING)
        frame = self._frame
        frame.append(byte)
        if len(frame) == 2 and byte & ~0b11:
            return self._fail(Status.BAD_OPCODE)
        if len(frame) == 3 and not 1 <= byte <= self.max_burst:
            return self._fail(Status.BAD_COUNT)
        if len(frame) >= 3:
            opcode, count = frame[1], frame[2]
            data_bytes = 4 * count if opcode & 1 else 0
            if len(frame) == 5 + data_bytes + 2:
                return self._execute()
        return None

    def silence(self):
        """The line stayed quiet for the timeout; returns the ``TRUNCATED`` reply if a frame
        was open."""
        if self._frame is None:
            return None
        return self._fail(Status.TRUNCATED)

    def dropped(self, count=1):
        """Bytes that arrived while the gateware was busy checking, executing or replying."""
        self.stray[StrayByte.DROPPED] += count

    def _fail(self, status):
        frame = self._frame
        tag = frame[0] if len(frame) >= 1 else 0
        opcode = frame[1] if len(frame) >= 2 else 0
        return self._reply(tag, opcode, status, [])

    def _reply(self, tag, opcode, status, words):
        self._frame = None
        self.frames[status] += 1
        body = bytearray([tag, opcode, status.value, len(words)])
        if not opcode & 1:
            for word in words:
                body += word.to_bytes(4, "big")
        return bytes([REPLY_START]) + bytes(body) + _crc_bytes(body)

    def _execute(self):
        frame = bytes(self._frame)
        if CRC.compute(frame[:-2]) != int.from_bytes(frame[-2:], "big"):
            return self._fail(Status.BAD_CRC)
        tag, opcode, count = frame[0], frame[1], frame[2]
        address = int.from_bytes(frame[3:5], "big")
        writing, fixed = bool(opcode & 1), bool(opcode & 2)
        words = []
        for index in range(count):
            word_address = (address if fixed else address + index) & 0xFFFF
            data = int.from_bytes(frame[5 + 4 * index:9 + 4 * index], "big") if writing else 0
            answer, read_data = self.bus(writing, word_address, data)
            if answer == BusAnswer.ERR:
                return self._reply(tag, opcode, Status.BUS_ERROR, words)
            if answer == BusAnswer.TIMEOUT:
                return self._reply(tag, opcode, Status.BUS_TIMEOUT, words)
            words.append(read_data if not writing else data)
        return self._reply(tag, opcode, Status.OK, words)
