"""BoardNIC end to end: the echo firmware on BoardNIC, over the UART bridge, against the
iCEBreaker flow top in Verilator (slique.sim.benches.board_nic_bench)."""

from collections import Counter

import pytest

from slique.firmware.apps.echo import echo_traffic, swap_macs
from slique.hdl.trace_event import TraceBlock, TraceReason
from slique.firmware.nicops import is_tcp_reset
from slique.sim.benches.board_nic_bench import QUEUES, bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb


def test_echo_on_board_nic(tmp_path, seed, replay):
    packets = 4
    parameters = bench_parameters(app="echo", seed=seed, packets=packets, replay=replay)
    report = run_bench(gateware(parameters), "slique.sim.benches.board_nic_bench",
                       parameters=parameters, name="board-nic-echo",
                       results_dir=tmp_path / "results").report
    hint = f"seed={seed}; replay with: {replay}"
    result, counters = report["result"], report["counters"]

    # Conservation: every frame offered is echoed, or dropped for a counted reason.
    offered = echo_traffic(seed, packets)
    assert result["offered"] == counters["wire_offered"] == packets, hint
    assert result["offered"] == result["delivered"] + sum(result["dropped"].values()), hint
    admission_drops = [burst + limit for burst, limit in
                       zip(counters["admission_dropped_burst_exhausted"],
                           counters["admission_dropped_hard_limit"])]
    for queue in range(QUEUES):
        assert counters["admission_offered"][queue] == (
            counters["admission_delivered"][queue] + admission_drops[queue]), (counters, hint)
    assert sum(counters["admission_offered"]) == packets, (counters, hint)
    assert counters["tx_unmatched"] == 0 and counters["levels"] == [0] * QUEUES, hint

    # What came back: the board admits every frame (reset admission settings) and has no
    # parser, so every frame but the TCP RSTs (ECONNRESET, not echoed) is echoed, MACs swapped,
    # each queue's frames in the order offered (a frame's queue: the low bit of its first
    # byte).
    resets = sum(map(is_tcp_reset, offered))
    assert result["dropped"] == ({"connection_reset": resets} if resets else {}), hint
    sent = [(queue, bytes.fromhex(frame)) for queue, frame in report["sent"]]
    expected = [swap_macs(frame) for frame in offered if not is_tcp_reset(frame)]
    assert Counter(frame for _, frame in sent) == Counter(expected), hint
    for queue in range(QUEUES):
        assert [frame for q, frame in sent if q == queue] == [
            swap_macs(frame) for frame in offered
            if not is_tcp_reset(frame) and frame[0] % QUEUES == queue], hint
    assert sum(counters["transmitted"]) == len(sent) == result["delivered"], hint
    assert len(result["digest"]) == 64

    # Admission set to drop everything: three frames offered, each dropped at the limit, counted
    # and traced (the frames' first bytes 0, 2, 4: queue 0).
    policed = report["policed"]
    assert policed["completions"] == [[0x7FFF_0001, 0]], hint
    assert policed["admission_offered"] == policed["admission_dropped_hard_limit"] == [3, 0]
    assert policed["admission_delivered"] == policed["admission_dropped_burst_exhausted"] == \
        [0, 0] and policed["levels"] == [0, 0], (policed, hint)
    assert policed["records"] == [[TraceBlock.ADMISSION.value, TraceReason.HARD_LIMIT.value, 0]] \
        * 3 and policed["trace_lost"] == 0, (policed, hint)

    # What the board lacks raises, and says why; the firmware loop stops on it.
    for name, message in report["unsupported"].items():
        assert message is not None and "no flow demux" in message, (name, message)
    assert set(report["unsupported"]) == {"write_reta", "key", "step after"}
