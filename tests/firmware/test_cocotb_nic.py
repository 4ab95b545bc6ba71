"""CocotbNIC: the same firmware application on the golden models and on the gateware (the NIC
top in Verilator), with the same seed: the same delivered data and the same trace records."""

import json

import pytest

from slique.cli import main
from slique.firmware import backend
from slique.firmware.apps import load
from slique.firmware.cocotb_nic import GatewareNotReady
from slique.firmware.golden_nic import GoldenNIC


#: Frames offered: enough for every queue, RSTs and truncated frames; short enough for ~1 minute.
PACKETS = 20

#: The packet streams' width on both backends. 32: the gateware flow demux is checked against
#: its golden model at 8 and 32 bits only, and at 64 bits (GoldenNIC's default) it disagrees
#: with it on echo's traffic before any DMA (frames whose length is a multiple of 8 bytes
#: dropped as MALFORMED, the others steered to other queues than the Toeplitz hash and RETA
#: give), so a 64-bit comparison fails in the flow demux, not in the NIC.
DATA_WIDTH = 32


def _first_difference(golden, gateware):
    """Where two sequences part: ``(index, golden item, gateware item)``, or None."""
    for index in range(max(len(golden), len(gateware))):
        left = golden[index] if index < len(golden) else None
        right = gateware[index] if index < len(gateware) else None
        if left != right:
            return index, left, right
    return None


def _golden(app, seed, packets):
    from slique.sim.benches.nic_bench import Recorder

    nic = GoldenNIC(data_width=DATA_WIDTH)
    recorder = Recorder(nic)
    result = load(app).run(nic, seed=seed, packets=packets)
    return result, recorder


@pytest.mark.cocotb
def test_echo_on_both_backends(tmp_path, seed, replay):
    from slique.sim.benches.nic_bench import run_app

    golden, recorder = _golden("echo", seed, PACKETS)
    report = run_app("echo", seed=seed, packets=PACKETS, data_width=DATA_WIDTH,
                     results_dir=tmp_path / "results")
    where = f"seed {seed}; replay: {replay}"
    for result in (golden.as_json(), report):
        assert result["offered"] == result["delivered"] + sum(result["dropped"].values()), where
    assert report["offered"] == PACKETS and report["delivered"] > 0, where
    assert report["tx_unmatched"] == 0, where
    assert (report["delivered"], report["dropped"]) == (golden.delivered, golden.dropped), where
    # The NIC's trace records, then the frames each queue delivered, in order.
    records = _first_difference(recorder.records, report["records"])
    assert records is None, f"trace record {records[0]}: golden {records[1]}, gateware " \
                            f"{records[2]}; {where}"
    for queue in range(GoldenNIC().queues):
        per_queue = _first_difference([frame for sent, frame in recorder.frames if sent == queue],
                                      [frame for sent, frame in report["frames"] if sent == queue])
        assert per_queue is None, f"queue {queue}'s delivered frame {per_queue[0]}: golden " \
                                  f"{per_queue[1]}, gateware {per_queue[2]}; {where}"
    # The frames in the order they left on the wire, across queues, and the digest (which adds
    # the scheduler's trace records): timing decides the interleaving of the queues.
    frames = _first_difference([list(item) for item in recorder.frames], report["frames"])
    if frames is not None:
        golden_events = [event for event in recorder.events if event[1] == "rx"][:6]
        gateware_events = [event for event in report["events"] if event[1] == "rx"][:6]
        pytest.xfail(
            f"same frames per queue, but the queues interleave differently on the TX wire from "
            f"frame {frames[0]} on (golden [queue, frame] {frames[1]}, gateware {frames[2]}): "
            f"first receives [cycle, rx, queue, frame] golden {golden_events}, gateware "
            f"{gateware_events} (GoldenNIC does not model the gateware's DMA latencies); "
            f"digests {golden.digest[:12]} / {report['digest'][:12]}; {where}")
    assert report["digest"] == golden.digest, (
        f"the NIC's frames and trace records agree but the digests differ: the scheduler's "
        f"trace (completion order) differs; errors golden {golden.errors}, gateware "
        f"{report['errors']}, re-runs {golden.reruns} / {report['reruns']}; {where}")


def test_verilator_backend_needs_the_bench():
    with pytest.raises(GatewareNotReady, match="inside a cocotb test"):
        backend("verilator")


def test_run_verilator_goes_through_the_bench(monkeypatch, capsys):
    """``slique run --backend verilator`` runs the NIC bench and prints its summary (the bench
    replaced by the golden run here; the cocotb test above runs the real one)."""
    from slique.sim.benches import nic_bench

    calls = []

    def fake_run_app(app, *, seed, packets, data_width):
        calls.append((app, seed, packets, data_width))
        result, _ = _golden(app, seed, packets)
        return dict(result.as_json(), backend="verilator", routines=result.routines,
                    cycles=result.cycles, extra=result.extra)

    monkeypatch.setattr(nic_bench, "run_app", fake_run_app)
    assert main(["run", "echo", "--backend", "verilator", "--packets", "6", "--seed", "3",
                 "--data-width", "32", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert calls == [("echo", 3, 6, 32)]
    assert document["backend"] == "verilator" and document["offered"] == 6
    assert document["offered"] == document["delivered"] + sum(document["dropped"].values())
