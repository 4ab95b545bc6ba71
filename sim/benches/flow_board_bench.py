"""cocotb bench: the iCEBreaker flow top (:class:`slique.boards.icebreaker.FlowBoardCore`) on
Verilator, driven over its UART by the blocking host code that drives the real board.

The host side (:class:`~slique.boards.bridge.BridgeClient` and
:class:`~slique.boards.flow_client.FlowBoardClient`, unchanged) runs in a cocotb
:func:`~cocotb.task.bridge` thread; its transport turns each ``write`` / ``read`` into
cocotbext-uart traffic with :func:`~cocotb.task.resume`. The scenario configures two queues
(one that drops for both reasons, one without a bucket), runs the seeded generator behind a
slow drain, and checks, from counters and trace records read over the bridge: every packet the
generator sent was offered to the queue its flow label names (against the generator's golden
model), ``offered == delivered + dropped`` per queue, ``offered == accepted + dropped``, every
drop is a trace record read or counted lost, and the bridge saw no stray byte. Then a reset
during unlimited traffic: every counter, level and the trace stream are back to zero, the
generator stays off, and the bridge answers right after.

Parameters (JSON in ``$SLIQUE_BENCH``): ``seed``, ``packets``, ``replay``.
"""

import json
import os
from collections import Counter

import cocotb
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles

from .slique_bench import _write_report
from .uart_bridge_bench import start


__all__ = ["bench_parameters", "gateware", "QUEUE_DEPTH", "TRACE_DEPTH"]


QUEUE_DEPTH = 8
TRACE_DEPTH = 4
TIMEOUT = 200


def bench_parameters(*, seed=1, packets=40, replay=""):
    return dict(seed=seed, packets=packets, replay=replay)


def gateware(parameters):
    from slique.boards.icebreaker import FlowBoardCore
    return FlowBoardCore(queues=2, queue_depth=QUEUE_DEPTH, trace_depth=TRACE_DEPTH,
                         timeout=TIMEOUT)


class BlockingUart:
    """A blocking transport (for :class:`BridgeClient`) over :class:`CocotbUart`, for code in
    a :func:`cocotb.task.bridge` thread."""

    def __init__(self, uart, clock, reset=None):
        self._write = resume(uart.write)
        self._read = resume(uart.read)
        self._clock = clock
        self._reset = reset
        self.reset_input = uart.reset_input
        self.uart = uart

    def write(self, data):
        self._write(data)

    def read(self, size, timeout):
        return self._read(size, timeout)

    def run(self, cycles):
        resume(self._cycles)(cycles)

    async def _cycles(self, cycles):
        await ClockCycles(self._clock, cycles)

    def reset_design(self, cycles=4):
        """Hold the design's reset for ``cycles`` clocks, whatever it is doing."""
        resume(self._pulse_reset)(cycles)

    async def _pulse_reset(self, cycles):
        self._reset.value = 1
        await ClockCycles(self._clock, cycles)
        self._reset.value = 0
        await ClockCycles(self._clock, 1)


def scenario(transport, seed, packets):
    """The host's side (blocking code): returns what it read; raises AssertionError."""
    from slique.boards.bridge import BridgeClient
    from slique.boards.flow_client import FlowBoardClient
    from slique.hdl.trace_event import TraceBlock, TraceReason
    from slique.hdl.uart_bridge import Status
    from slique.sim.packet_generator import PacketGenerator

    hint = f"seed={seed}"
    board = FlowBoardClient(BridgeClient(transport, reply_timeout=1e-3, retries=0), queues=2)
    generator_seed = seed & 0xFFFF_FFFF or 1
    # Queue 0: above S = 2 beats a bucket of one token refilled slowly, drops at B = 6;
    # queue 1: no bucket (S == B == the depth): drops only when full.
    board.configure_admission(0, steady=2, burst=6, capacity=1, rate=0.01)
    board.configure_admission(1, steady=QUEUE_DEPTH, burst=QUEUE_DEPTH, capacity=0, rate=0)
    board.drain_every(3)
    board.start_generator(seed=generator_seed, count=packets, min_length=2, length_mask=3,
                          burst=8, burst_gap=10)
    transport.run(packets * 80)  # packets of 2 to 5 beats, one beat in 3 cycles drained
    assert board.sent() == packets, hint
    assert board.admission_level(0) == board.admission_level(1) == 0, hint

    counters = [board.admission_counters(queue) for queue in range(2)]
    for queue, count in enumerate(counters):
        dropped = count["dropped_burst_exhausted"] + count["dropped_hard_limit"]
        assert count["offered"] == count["delivered"] + dropped, (queue, count, hint)
        assert count["offered"] == count["accepted"] + dropped, (queue, count, hint)
    expected = Counter(data[0] & 1 for data in PacketGenerator(
        generator_seed, min_length=2, length_mask=3).packets(packets))
    assert [count["offered"] for count in counters] == [expected[0], expected[1]], hint
    drops = [count["dropped_burst_exhausted"] + count["dropped_hard_limit"]
             for count in counters]
    assert counters[0]["dropped_burst_exhausted"] > 0, f"queue 0 should drop; {hint}"
    assert counters[1]["dropped_burst_exhausted"] == 0, hint

    records = board.trace_records()
    status = board.trace_status()
    assert len(records) + status["lost"] == sum(drops), (records, status, hint)
    assert status["level"] == 0, hint
    for record in records:
        assert record.block == TraceBlock.ADMISSION, (record, hint)
        assert record.reason in (TraceReason.BURST_EXHAUSTED, TraceReason.HARD_LIMIT), hint
        assert record.tag < counters[record.queue]["offered"], (record, hint)
    for queue in range(2):  # each source's records in order (sources are interleaved)
        cycles = [record.cycle for record in records if record.queue == queue]
        assert cycles == sorted(cycles), (records, hint)

    assert board.admission_counters(0) == dict.fromkeys(counters[0], 0), hint  # cleared
    frames, stray = board.bridge_counters()
    assert frames[Status.OK] == sum(frames.values()) > 20, (frames, hint)
    assert sum(stray.values()) == 0, (stray, hint)

    # Reset during traffic: the generator runs with no limit, the queues are full, and a
    # reset puts every block back to its reset state; the board answers at once after it.
    board.start_generator(seed=generator_seed, count=0, min_length=2, length_mask=3)
    transport.run(300)
    assert board.sent() > 0, hint
    transport.reset_design()
    assert board.sent() == 0, f"the generator survived the reset; {hint}"
    for queue in range(2):
        assert board.admission_counters(queue) == dict.fromkeys(counters[0], 0), hint
        assert board.admission_level(queue) == 0, hint
    assert board.trace_status()["level"] == 0 and board.trace_records() == [], hint
    transport.run(300)
    assert board.sent() == 0, f"the generator restarted by itself after reset; {hint}"
    return {"sent": packets, "queues": counters, "trace_records": len(records),
            "trace_lost": status["lost"], "replies": frames[Status.OK]}


@cocotb.test()
async def flow_board_over_the_bridge(dut):
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    transport = BlockingUart(await start(dut), dut.clk, dut.rst)
    try:
        result = await bridge(scenario)(transport, parameters["seed"], parameters["packets"])
    except Exception as error:
        _write_report({"error": f"{error!r}; replay with: {parameters['replay']}",
                       "parameters": parameters})
        raise
    _write_report({"result": result, "parameters": parameters})
