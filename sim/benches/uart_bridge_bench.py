"""cocotb bench: the host-side bridge client talks to register banks through the UART bridge.

The design is a :class:`slique.boards.soc.BridgeSoC` with the bridge's own bank and a scratch
bank (:data:`SCRATCH_REGISTERS`), clocked at the iCEBreaker's 12 MHz; the host's end of the
line is cocotbext-uart's ``UartSource`` / ``UartSink`` at 3 Mbaud (an independent UART: its
bit time is 333 ns where the design's is 333.33 ns), and the requests are made by
:class:`slique.boards.bridge.AsyncBridgeClient`, the framing code that drives a real board.
The bench writes and reads back single words and bursts, reads the identification register,
provokes a bus error, sends garbage, a corrupted frame and a truncated one, and checks the
bridge's own counters, read through the bridge, against what it sent:
``bytes sent == bytes in frames + stray bytes`` and ``frames == replies``.

Parameters (JSON in ``$SLIQUE_BENCH``): ``seed``, ``timeout`` (the bridge's, in clocks),
``replay``. The report (``$SLIQUE_REPORT``) has the counters read.
"""

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from slique.hdl.registers import Register, RegisterArray, RegisterMap
from slique.hdl.uart_bridge import (BRIDGE_ID, BRIDGE_REGISTERS, REQUEST_START, Opcode, Status,
                                    StrayByte)

from .slique_bench import _write_report


__all__ = ["SCRATCH_REGISTERS", "bench_parameters", "gateware", "CocotbUart", "start"]


CLOCK_PERIOD_PS = 83_334  # 12 MHz (to the even picosecond cocotb needs)
BAUD = 3_000_000

SCRATCH_REGISTERS = RegisterMap("scratch", doc="Words for the bridge's bench.", registers=[
    RegisterArray("WORDS", 0x00, 16, 4, "rw", doc="Sixteen read/write words."),
    Register("EVENTS", 0x40, "rc", doc="A counter the bench never increments."),
])


def bench_parameters(*, seed=1, timeout=2000, replay=""):
    return dict(seed=seed, timeout=timeout, replay=replay)


def gateware(parameters):
    from slique.boards.soc import BridgeSoC, bank
    return BridgeSoC([bank(SCRATCH_REGISTERS)], timeout=parameters["timeout"])


class CocotbUart:
    """The transport of :class:`~slique.boards.bridge.AsyncBridgeClient` over cocotbext-uart."""

    def __init__(self, dut):
        from cocotbext.uart import UartSink, UartSource
        self.source = UartSource(dut.rx, baud=BAUD, bits=8, stop_bits=1)
        self.sink = UartSink(dut.tx, baud=BAUD, bits=8, stop_bits=1)
        for end in (self.source, self.sink):
            end.log.setLevel("WARNING")
        self.sent = 0

    async def write(self, data):
        await self.source.write(data)
        await self.source.wait()
        self.sent += len(data)

    async def read(self, size, timeout):
        if self.sink.empty():
            await self.sink.wait(int(timeout * 1e9), "ns")
        return bytes(self.sink.read_nowait(min(size, self.sink.count())))

    def reset_input(self):
        self.sink.clear()


async def start(dut):
    """Start the 12 MHz clock, reset with the line idle; return the host's :class:`CocotbUart`."""
    Clock(dut.clk, CLOCK_PERIOD_PS, unit="ps").start()
    dut.rst.value = 1
    dut.rx.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    return CocotbUart(dut)


def _address(offset, bank_index=0):
    from slique.boards.soc import register_address
    return register_address(bank_index, offset)


@cocotb.test()
async def bridge_to_register_banks(dut):
    from slique.boards.bridge import AsyncBridgeClient, BridgeError, encode_request

    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    hint = f"seed={parameters['seed']}; replay with: {parameters['replay']}"
    rng = random.Random(parameters["seed"])
    timeout_s = parameters["timeout"] * CLOCK_PERIOD_PS * 1e-12
    uart = await start(dut)
    client = AsyncBridgeClient(uart, reply_timeout=4 * timeout_s)
    frames_sent = 0
    try:
        assert await client.read(_address(0x00)) == [BRIDGE_ID], hint
        scratch = rng.getrandbits(32)
        await client.write(_address(0x04), scratch)
        assert await client.read(_address(0x04)) == [scratch], hint
        words = [rng.getrandbits(32) for _ in range(16)]
        await client.write(_address(0x00, 1), words)
        assert await client.read(_address(0x00, 1), 16) == words, hint
        assert await client.read(_address(0x10, 1), 3, fixed=True) == [words[4]] * 3, hint
        frames_sent += 6

        # An offset with no register: the bank answers err.
        try:
            await client.read(_address(0x44, 1), 2)
            raise AssertionError(f"an unmapped offset was acknowledged; {hint}")
        except BridgeError as error:
            assert (error.reply.status, error.reply.done) == (Status.BUS_ERROR, 0), hint
        # No bank at all there: the SoC answers err.
        try:
            await client.read(_address(0x00, 9))
            raise AssertionError(f"an address in no bank was acknowledged; {hint}")
        except BridgeError as error:
            assert error.reply.status == Status.BUS_ERROR, hint
        frames_sent += 2

        # Garbage (no start byte), a corrupted frame, a truncated one: one reply each for the
        # two frames, nothing executed.
        garbage = bytes(rng.choice([b for b in range(256) if b != REQUEST_START])
                        for _ in range(20))
        await client.send_raw(garbage)
        corrupted = bytearray(encode_request(0x77, Opcode.WRITE, _address(0x04), words=[1]))
        corrupted[6] ^= 0x10
        await client.send_raw(bytes(corrupted))
        reply = await client.reply(0x77)
        assert reply is not None and reply.status == Status.BAD_CRC, hint
        await client.send_raw(encode_request(0x78, Opcode.WRITE, _address(0x04), words=[2])[:7])
        reply = await client.reply(0x78)
        assert reply is not None and reply.status == Status.TRUNCATED, hint
        frames_sent += 2
        assert await client.read(_address(0x04)) == [scratch], f"a bad frame wrote; {hint}"
        frames_sent += 1

        # The counters, read in one burst through the bridge (this read is not counted yet).
        first = BRIDGE_REGISTERS["BRIDGE_FRAMES_OK"].offset
        counters = await client.read(_address(first), 8 + len(StrayByte))
        frames = {status: counters[status.value] for status in Status}
        stray = {reason: counters[8 + reason.value] for reason in StrayByte}
        assert sum(frames.values()) == frames_sent, (frames, hint)
        assert frames[Status.BAD_CRC] == 1 and frames[Status.TRUNCATED] == 1, hint
        assert frames[Status.BUS_ERROR] == 2, hint
        assert stray[StrayByte.GARBAGE] == len(garbage), hint
        assert stray[StrayByte.DROPPED] == stray[StrayByte.LINE_FRAMING] == 0, hint
        # Of the bytes sent, only the garbage was outside a frame: every other one was part
        # of a frame that got its reply.
        assert sum(stray.values()) == len(garbage), hint
        # Read-to-clear: a second read shows only the first read's own reply.
        again = await client.read(_address(first), 8 + len(StrayByte))
        assert again[Status.OK.value] == 1 and sum(again) == 1, (again, hint)
        assert await client.read(_address(0x40, 1)) == [0], hint
    except (AssertionError, BridgeError) as error:
        _write_report({"error": str(error), "parameters": parameters})
        raise
    _write_report({"result": {"frames": {s.name: frames[s] for s in Status},
                              "stray": {r.name: stray[r] for r in StrayByte},
                              "bytes_sent": uart.sent, "frames_sent": frames_sent},
                   "parameters": parameters})
