# amaranth: UnusedElaboratable=no
"""UartBridge (and its UART receiver and transmitter) in the Amaranth simulator: the host-side
client's reads, writes and bursts, and every malformed input against the golden model, with
every byte and every frame accounted for."""

import random

import pytest
from amaranth.sim import Simulator
from hypothesis import given, settings, strategies as st

from slique.boards.bridge import BridgeClient, BridgeError, ModelTransport, ReplyDecoder, \
    encode_request
from slique.hdl.uart_bridge import (REQUEST_START, Opcode, Status, StrayByte, UartBridge)
from slique.sim import uart_bridge as golden
from slique.sim.uart_line import SimulatedUart, WishboneMemory


DIVISOR = 4
CLOCK_HZ = 12e6
TIMEOUT = 150
MAX_BURST = 8
ERROR_ADDRESS = 0x0100
SILENT_ADDRESS = 0x0200


class Bench:
    """A UartBridge with a WishboneMemory behind it, the host's UART in front, and counters of
    the bridge's events."""

    def __init__(self, words=None, wait_states=1, sender_error=0.0):
        self.dut = UartBridge(divisor=DIVISOR, max_burst=MAX_BURST, timeout=TIMEOUT,
                              bus_timeout=20)
        self.simulator = Simulator(self.dut)
        self.simulator.add_clock(1 / CLOCK_HZ)
        self.memory = WishboneMemory(words, error_addresses={ERROR_ADDRESS},
                                     silent_addresses={SILENT_ADDRESS}, wait_states=wait_states)
        self.memory.attach(self.simulator, self.dut.bus)
        self.uart = SimulatedUart(self.simulator, self.dut.rx, self.dut.tx, divisor=DIVISOR,
                                  clock_hz=CLOCK_HZ, sender_error=sender_error)
        self.frames = {status: 0 for status in Status}
        self.stray = {reason: 0 for reason in StrayByte}
        self.simulator.add_process(self._count)

    async def _count(self, ctx):
        dut = self.dut
        async for _clk, _rst, frame_valid, frame_status, stray_valid, stray_reason in \
                ctx.tick().sample(
                dut.frame_done.valid, dut.frame_done.payload, dut.stray_byte.valid,
                dut.stray_byte.payload):
            if frame_valid:
                self.frames[Status(frame_status)] += 1
            if stray_valid:
                self.stray[StrayByte(stray_reason)] += 1


_counting_bench = Bench


def test_client_reads_writes_and_bursts(seed):
    rng = random.Random(seed)
    initial = {address: rng.getrandbits(32) for address in range(0x40)}
    bench = _counting_bench(initial)
    client = BridgeClient(bench.uart, reply_timeout=0.001, retries=0, max_burst=MAX_BURST)
    expected = dict(initial)

    assert client.read(0x05) == [expected[0x05]]
    burst = [rng.getrandbits(32) for _ in range(11)]  # two requests: 8 + 3 words
    client.write(0x10, burst)
    expected.update({0x10 + i: word for i, word in enumerate(burst)})
    assert client.read(0x0E, 15) == [expected[a] for a in range(0x0E, 0x0E + 15)]
    client.write(0x30, [1, 2, 3], fixed=True)  # every word to the same address
    assert bench.memory.words[0x30] == 3
    assert client.read(0x30, 3, fixed=True) == [3, 3, 3]
    assert [access[:2] for access in bench.memory.accesses[-3:]] == [(False, 0x30)] * 3

    assert sum(bench.frames.values()) == 7 == bench.frames[Status.OK]
    assert sum(bench.stray.values()) == 0


@pytest.mark.parametrize("sender_error", [-0.02, 0.02])
def test_receiver_tolerates_a_host_clock_two_percent_off(sender_error, seed):
    rng = random.Random(seed)
    words = [rng.getrandbits(32) for _ in range(MAX_BURST)]
    bench = Bench(sender_error=sender_error)
    client = BridgeClient(bench.uart, reply_timeout=0.001, retries=0, max_burst=MAX_BURST)
    client.write(0x40, words)  # 45 bytes back to back: the error does not accumulate
    assert [bench.memory.words[0x40 + i] for i in range(MAX_BURST)] == words
    assert bench.frames[Status.OK] == 1 and sum(bench.stray.values()) == 0


def test_bus_error_and_timeout_stop_the_burst(seed):
    bench = _counting_bench({ERROR_ADDRESS - 2: 7, ERROR_ADDRESS - 1: 8})
    client = BridgeClient(bench.uart, reply_timeout=0.001, retries=0, max_burst=MAX_BURST)
    with pytest.raises(BridgeError) as error:
        client.read(ERROR_ADDRESS - 2, 4)
    reply = error.value.reply
    assert (reply.status, reply.done, reply.words) == (Status.BUS_ERROR, 2, (7, 8))
    with pytest.raises(BridgeError) as error:
        client.write(SILENT_ADDRESS - 1, [5, 6])
    assert (error.value.reply.status, error.value.reply.done) == (Status.BUS_TIMEOUT, 1)
    assert bench.memory.words[SILENT_ADDRESS - 1] == 5
    assert bench.frames[Status.BUS_ERROR] == bench.frames[Status.BUS_TIMEOUT] == 1


def _request(tag, opcode, address, count=None, words=()):
    return encode_request(tag, opcode, address, count=count, words=words)


def _malformed_exchanges(rng):
    """(name, bytes, framing error indices, break cycles) of one exchange each: the host sends
    them and then stays quiet for longer than the timeout."""
    write = _request(3, Opcode.WRITE, 0x20, words=[0x11223344, 0x55667788])
    bad_crc = bytearray(write)
    bad_crc[7] ^= 0x40
    garbage = bytes(rng.choice([b for b in range(256) if b != REQUEST_START])
                    for _ in range(12))
    return [
        ("valid write", write, (), 0),
        ("valid read", _request(4, Opcode.READ, 0x20, count=2), (), 0),
        ("bad checksum", bytes(bad_crc), (), 0),
        ("reserved opcode bits", _request(5, 0x84, 0x20, count=1)[:3], (), 0),
        ("count zero", _request(6, Opcode.READ, 0x20, count=0)[:4], (), 0),
        ("count too large", _request(7, Opcode.READ, 0x20, count=MAX_BURST + 1)[:4], (), 0),
        ("truncated after the address", _request(8, Opcode.WRITE, 0x21, words=[9])[:6], (), 0),
        ("truncated after the start byte", bytes([REQUEST_START]), (), 0),
        ("framing error in the data", write[:9], (8,), 0),
        ("garbage", garbage, (), 0),
        ("framing error outside a frame", b"\x00", (0,), 0),
        ("break", b"", (), 200),
        ("garbage then a valid read", garbage[:5] + _request(9, Opcode.READ, 0x20, count=2),
         (), 0),
        ("start byte in garbage", bytes([REQUEST_START, 0x01, 0x80]), (), 0),
    ]


def test_malformed_input_matches_golden_model(seed):
    rng = random.Random(seed)
    bench = _counting_bench({0x20: 1, 0x21: 2})
    model_memory = WishboneMemory({0x20: 1, 0x21: 2}, error_addresses={ERROR_ADDRESS},
                                  silent_addresses={SILENT_ADDRESS})
    model = golden.UartBridge(model_memory.access, max_burst=MAX_BURST)
    for name, data, framing_errors, break_cycles in _malformed_exchanges(rng):
        expected = bytearray()
        for index, byte in enumerate(data):
            reply = model.receive(byte, framing_error=index in framing_errors)
            if reply is not None:
                expected += reply
        if break_cycles:
            model.receive(0, framing_error=True)
            bench.uart.send_break(break_cycles)
        reply = model.silence()
        if reply is not None:
            expected += reply
        bench.uart.write(data, framing_errors=framing_errors)
        received = bench.uart.drain(quiet_cycles=TIMEOUT + 60)
        assert received == bytes(expected), f"{name}: seed={seed}"
    assert bench.memory.words == model_memory.words == {0x20: 0x11223344, 0x21: 0x55667788}
    assert bench.frames == {status: model.frames[status] for status in Status}
    assert bench.stray == {reason: model.stray[reason] for reason in StrayByte}
    in_frames = model.in_frame_bytes
    # Every byte on the line (the break is one framing error) is in a frame or stray.
    assert bench.uart.sent_bytes + 1 == in_frames + sum(bench.stray.values())
    for status in [Status.OK, Status.BAD_CRC, Status.BAD_OPCODE, Status.BAD_COUNT,
                   Status.TRUNCATED, Status.FRAMING]:
        assert bench.frames[status] >= 1, status
    assert bench.stray[StrayByte.GARBAGE] >= 12 and bench.stray[StrayByte.LINE_FRAMING] == 2


def test_bytes_during_a_reply_are_dropped_and_counted():
    bench = _counting_bench()
    # A reserved opcode is answered at once; the rest of that frame arrives during the reply.
    frame = _request(5, 0x84, 0x20, count=1)
    bench.uart.write(frame)
    received = bench.uart.drain(quiet_cycles=TIMEOUT + 60)
    [reply] = ReplyDecoder().feed(received)
    assert (reply.tag, reply.status, reply.done) == (5, Status.BAD_OPCODE, 0)
    assert bench.frames[Status.BAD_OPCODE] == 1
    dropped, garbage = bench.stray[StrayByte.DROPPED], bench.stray[StrayByte.GARBAGE]
    assert dropped >= 1
    # start, tag, op in the frame; the other bytes dropped during the reply or garbage after.
    assert len(frame) == 3 + dropped + garbage


def test_model_transport_serves_the_same_client(seed):
    rng = random.Random(seed)
    memory = WishboneMemory({a: rng.getrandbits(32) for a in range(16)})
    model = golden.UartBridge(memory.access, max_burst=MAX_BURST)
    client = BridgeClient(ModelTransport(model), max_burst=MAX_BURST)
    client.write(3, [10, 11, 12])
    assert client.read(2, 5) == [memory.words[2], 10, 11, 12, memory.words[6]]

    # A line that flips a bit of the first attempt: the client retries after BAD_CRC.
    attempts = []

    def flip_first(data):
        attempts.append(data)
        if len(attempts) == 1:
            data = bytearray(data)
            data[-1] ^= 1
        return bytes(data)
    client = BridgeClient(ModelTransport(model, line_errors=flip_first), max_burst=MAX_BURST)
    assert client.read(3) == [10]
    assert len(attempts) == 2 and model.frames[Status.BAD_CRC] == 1


def test_reply_decoder_resynchronises_after_noise():
    body = bytes([7, Opcode.READ, Status.OK.value, 1, 0, 0, 0, 42])
    from slique.boards.bridge import _checksum
    reply = bytes([0x5A]) + body + _checksum(body)
    decoder = ReplyDecoder()
    # noise with a false start byte, a reply cut in two feeds
    replies = decoder.feed(b"\x01\x5a\x02\x03" + reply[:6]) + decoder.feed(reply[6:])
    assert [(r.tag, r.words) for r in replies] == [(7, (42,))]


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="at least 4"):
        UartBridge(divisor=3)
    with pytest.raises(ValueError, match="max_burst"):
        UartBridge(max_burst=0)
    with pytest.raises(ValueError, match="longer than one byte"):
        UartBridge(divisor=4, timeout=40)


@settings(max_examples=150, deadline=None)
@given(tag=st.integers(0, 255), opcode=st.sampled_from(list(Opcode)),
       address=st.integers(0, 0xFFFF), words=st.lists(st.integers(0, 2**32 - 1), min_size=1,
                                                       max_size=MAX_BURST),
       noise=st.binary(max_size=40))
def test_any_request_round_trips_and_replies_are_found_after_noise(tag, opcode, address, words,
                                                                   noise):
    memory = WishboneMemory({(address + i) & 0xFFFF: word for i, word in enumerate(words)})
    model = golden.UartBridge(memory.access, max_burst=MAX_BURST)
    request = encode_request(tag, opcode, address, count=len(words),
                             words=words if opcode & 1 else ())
    replies = [model.receive(byte) for byte in request]
    assert replies[:-1] == [None] * (len(request) - 1)
    decoder = ReplyDecoder(MAX_BURST)
    # Noise before the reply, and the line idle (zeros) after it so that any false start
    # that noise holds open is completed and rejected.
    found = decoder.feed(noise + replies[-1] + bytes(4 * MAX_BURST + 8))
    [reply] = [r for r in found if r.tag == tag and r.opcode == opcode]
    expected_words = () if opcode & 1 else tuple(
        words[0] if opcode & 2 else word for word in words)
    assert (reply.status, reply.done, reply.words) == (Status.OK, len(words), expected_words)
