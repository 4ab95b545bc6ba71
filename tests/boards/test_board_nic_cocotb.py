"""BoardNIC end to end: firmware applications on BoardNIC, over the UART bridge, against the
iCEBreaker flow top in Verilator (slique.sim.benches.board_nic_bench), in one simulation: echo
(every frame and counter checked), then sendfile, which must send what GoldenNIC sends on two
queues, reorder, and rebalance, which the board cannot run; then a policing admission's drops
and trace records, and the operations the board lacks."""

from collections import Counter

import pytest

from slique.firmware.apps import load
from slique.firmware.apps.echo import echo_traffic, swap_macs
from slique.firmware.golden_nic import GoldenNIC
from slique.firmware.nicops import is_tcp_reset
from slique.hdl.trace_event import TraceBlock, TraceReason
from slique.sim.benches.board_nic_bench import QUEUES, bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

#: (application, packets) in the order the bench runs them.
RUNS = (("echo", 4), ("sendfile", 6), ("reorder", 4), ("rebalance", 4))


def test_apps_on_board_nic(tmp_path, seed, replay):
    parameters = bench_parameters(runs=RUNS, seed=seed, replay=replay)
    report = run_bench(gateware(parameters), "slique.sim.benches.board_nic_bench",
                       parameters=parameters, name="board-nic-apps",
                       results_dir=tmp_path / "results").report
    hint = f"seed={seed}; replay with: {replay}"
    runs = dict(zip((app for app, _ in RUNS), report["runs"]))
    packets = dict(RUNS)
    check_echo(runs["echo"], seed, packets["echo"], hint)

    # sendfile sends only, nothing the board steers or lacks: the same frames on each queue,
    # in the same order, the same drops and errors as GoldenNIC with the board's two queues.
    # The digest also covers how the queues interleave, which follows the transmit timing (a
    # step per frame here, a beat per cycle there): equal for a few frames, not in general.
    result = runs["sendfile"]["result"]
    nic = RecordingGoldenNIC(queues=QUEUES)
    golden = load("sendfile").run(nic, seed=seed, packets=packets["sendfile"], backend="golden")
    assert result["offered"] == result["delivered"] + sum(result["dropped"].values()), hint
    assert (result["offered"], result["delivered"], result["dropped"], result["errors"]) == \
        (golden.offered, golden.delivered, golden.dropped, golden.errors), (result, hint)
    sent = [(queue, bytes.fromhex(frame)) for queue, frame in runs["sendfile"]["sent"]]
    for queue in range(QUEUES):
        assert [frame for q, frame in sent if q == queue] == \
            [frame for q, frame in nic.sent if q == queue], (queue, hint)

    # reorder: every frame delivered in order or dropped for a reason. Its digest is the
    # board's own: the board steers flows by their first byte, GoldenNIC by RSS, and the
    # receivers' interleaving follows.
    result = runs["reorder"]["result"]
    assert result["offered"] == result["delivered"] + sum(result["dropped"].values()) > 0, hint
    assert set(result["dropped"]) <= {"duplicate", "late", "sideline_evicted"}, (result, hint)
    assert set(result["errors"]) <= {"ECANCELED"}, (result, hint)

    # rebalance moves RETA buckets: the board has no demux, and the run stops saying so.
    assert "no flow demux" in runs["rebalance"]["unsupported"], (runs["rebalance"], hint)

    check_policing(report["policed"], hint)

    # What the board lacks raises, and says why; the firmware loop stops on it.
    for name, message in report["unsupported"].items():
        assert message is not None and "no flow demux" in message, (name, message)
    assert set(report["unsupported"]) == {"write_reta", "key", "step after"}


class RecordingGoldenNIC(GoldenNIC):
    """GoldenNIC keeping every ``(queue, frame)`` it sent, as BoardNIC's ``sent``."""

    def __init__(self, **options):
        super().__init__(**options)
        self.sent = []

    def take_transmitted(self):
        frames = super().take_transmitted()
        self.sent += frames
        return frames


def check_echo(run, seed, packets, hint):
    result, counters = run["result"], run["counters"]

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
    # Frames are longer than the queues (8 beats): injection waited for room, the bridge
    # answered BUS_TIMEOUT with the beats taken, and the rest followed.
    assert counters["inject_timeouts"] > 0, (counters, hint)

    # What came back: the board admits every frame (reset admission settings) and has no
    # parser, so every frame but the TCP RSTs (ECONNRESET, not echoed) is echoed, MACs swapped,
    # each queue's frames in the order offered (a frame's queue: the low bit of its first
    # byte). GoldenNIC's parser would drop the truncated ones: the digests differ there.
    resets = sum(map(is_tcp_reset, offered))
    assert result["dropped"] == ({"connection_reset": resets} if resets else {}), hint
    sent = [(queue, bytes.fromhex(frame)) for queue, frame in run["sent"]]
    expected = [swap_macs(frame) for frame in offered if not is_tcp_reset(frame)]
    assert Counter(frame for _, frame in sent) == Counter(expected), hint
    for queue in range(QUEUES):
        assert [frame for q, frame in sent if q == queue] == [
            swap_macs(frame) for frame in offered
            if not is_tcp_reset(frame) and frame[0] % QUEUES == queue], hint
    assert sum(counters["transmitted"]) == len(sent) == result["delivered"], hint


def check_policing(policed, hint):
    # Admission set to drop everything: three frames offered, each dropped at the limit, counted
    # and traced (the frames' first bytes 0, 2, 4: queue 0).
    assert policed["completions"] == [[0x7FFF_0001, 0]], hint
    assert policed["admission_offered"] == policed["admission_dropped_hard_limit"] == [3, 0]
    assert policed["admission_delivered"] == policed["admission_dropped_burst_exhausted"] == \
        [0, 0] and policed["levels"] == [0, 0], (policed, hint)
    assert policed["records"] == [[TraceBlock.ADMISSION.value, TraceReason.HARD_LIMIT.value, 0]] \
        * 3 and policed["trace_lost"] == 0, (policed, hint)
