"""cocotb bench: a firmware application on :class:`slique.firmware.board_nic.BoardNIC`, which
talks to the iCEBreaker flow top (:class:`slique.boards.icebreaker.FlowBoardCore`) in Verilator
through a simulated UART, as it talks to the real board through a serial port.

The firmware is synchronous, so it runs in a cocotb :func:`~cocotb.task.bridge` thread over
the same blocking transport as the flow top's bench
(:class:`~slique.sim.benches.flow_board_bench.BlockingUart`): the simulation moves only while
the firmware waits for a reply. The report holds the application's summary, every frame the
board's transmit port took and the NIC's counters, for each application run; then what a
policing admission dropped and traced, and what the unsupported operations said.

Parameters (JSON in ``$SLIQUE_BENCH``): ``runs`` (``[application, packets]`` each), ``seed``,
``replay``.
"""

import json
import os

import cocotb
from cocotb.task import bridge

from .flow_board_bench import BlockingUart, gateware as flow_board_gateware
from .slique_bench import _write_report
from .uart_bridge_bench import start


__all__ = ["bench_parameters", "gateware", "QUEUES"]


QUEUES = 2


def bench_parameters(*, runs=(("echo", 4),), seed=1, replay=""):
    """``runs``: ``(application, packets)`` run one after the other, each on a new BoardNIC
    (whose set-up empties what the one before left on the board)."""
    return dict(runs=[list(run) for run in runs], seed=seed, replay=replay)


def gateware(parameters):
    """The flow top of the flow bench (two queues of 8 beats, a 200-clock frame timeout)."""
    return flow_board_gateware(parameters)


def run_apps(transport, parameters):
    """The firmware's side (blocking code): the applications on BoardNIC; what they saw."""
    from slique.firmware.apps import load
    from slique.firmware.board_nic import BoardNIC, BoardUnsupported

    runs = []
    for app, packets in parameters["runs"]:
        nic = BoardNIC(transport=transport, queues=QUEUES, reply_timeout=2e-3, retries=0)
        try:
            result = load(app).run(nic, seed=parameters["seed"], packets=packets,
                                   backend="board")
        except BoardUnsupported as error:      # the application needs what the board lacks
            runs.append({"unsupported": str(error)})
            continue
        runs.append({"result": dict(result.as_json(), cycles=result.cycles,
                                    routines=result.routines),
                     "sent": [[queue, frame.hex()] for queue, frame in nic.sent],
                     "counters": nic.read_counters(), "stale_beats": nic.stale_beats})
    nic = BoardNIC(transport=transport, queues=QUEUES, reply_timeout=2e-3, retries=0)
    policed = police(nic)
    unsupported = {}
    for name, call in [("write_reta", lambda: nic.write_reta(0, 0, 1)),
                       ("key", lambda: nic.key)]:
        try:
            call()
        except BoardUnsupported as error:
            unsupported[name] = str(error)
    try:
        nic.step()
        unsupported["step after"] = None
    except BoardUnsupported as error:
        unsupported["step after"] = str(error)
    return {"runs": runs, "policed": policed, "unsupported": unsupported}


def police(nic, frames=3):
    """After the applications: admission set to drop everything (B = 0: HARD_LIMIT), a few
    short frames offered with no receive posted; what the NIC counted and traced."""
    before = nic.read_counters()
    tag = 0x7FFF_0001
    assert nic.configure_admission(tag, steady=0, burst=0, capacity=0, rate=0) is True
    completions = []
    for index in range(frames):
        nic.offer(bytes([2 * index]) + bytes(range(1, 20)))
    records = []
    for _ in range(8 * frames):
        completions += nic.step()[1]
        records += nic.read_trace()
        if not nic.wire_pending and len(records) >= frames:
            break
    after = nic.read_counters()
    return {"completions": [[tag, result.error] for tag, result in completions],
            "records": [[record.block.value, record.reason.value, record.queue]
                        for record in records],
            **{name: [a - b for a, b in zip(after[name], before[name])]
               for name in ("admission_offered", "admission_delivered",
                            "admission_dropped_hard_limit", "admission_dropped_burst_exhausted")},
            "levels": after["levels"], "trace_lost": after["trace_lost"]}


@cocotb.test()
async def app_on_board_nic(dut):
    parameters = json.loads(os.environ["SLIQUE_BENCH"])
    transport = BlockingUart(await start(dut), dut.clk, dut.rst)
    try:
        outcome = await bridge(run_apps)(transport, parameters)
    except Exception as error:
        _write_report({"error": f"{error!r}; replay with: {parameters['replay']}",
                       "parameters": parameters})
        raise
    from cocotb.utils import get_sim_time
    from .uart_bridge_bench import CLOCK_PERIOD_PS
    outcome["board_clocks"] = round(get_sim_time("ps") / CLOCK_PERIOD_PS)
    outcome["uart_bytes_sent"] = transport.uart.sent
    _write_report(dict(outcome, parameters=parameters))
