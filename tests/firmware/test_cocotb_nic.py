"""CocotbNIC: the same firmware application on the golden models and on the gateware (the NIC
top in Verilator), with the same seed: the same delivered data and the same trace records."""

import json

import pytest

from slique.cli import main
from slique.firmware import backend
from slique.firmware.apps import load
from slique.firmware.cocotb_nic import GatewareNotReady
from slique.firmware.golden_nic import GoldenNIC


#: Frames offered (blocks sent, for sendfile): enough for every queue, RSTs and truncated
#: frames, reordered segments, a skewed queue; short enough for a few seconds of simulation.
PACKETS = {"echo": 20, "sendfile": 20, "reorder": 20, "rebalance": 40}


def _first_difference(golden, gateware):
    """Where two sequences part: ``(index, golden item, gateware item)``, or None."""
    for index in range(max(len(golden), len(gateware))):
        left = golden[index] if index < len(golden) else None
        right = gateware[index] if index < len(gateware) else None
        if left != right:
            return index, left, right
    return None


def _golden(app, seed, packets, data_width=64):
    from slique.sim.benches.nic_bench import Recorder

    nic = GoldenNIC(data_width=data_width)
    nic.timing.commands = []
    recorder = Recorder(nic)
    result = load(app).run(nic, seed=seed, packets=packets)
    return result, recorder, nic


@pytest.mark.cocotb
@pytest.mark.parametrize("app, data_width", [("echo", 32), ("echo", 64), ("sendfile", 64),
                                             ("reorder", 64), ("rebalance", 64)])
def test_app_on_both_backends(tmp_path, seed, replay, app, data_width):
    """The same application run on GoldenNIC and on the gateware: the same frames delivered
    (on the TX wire, in order), the same trace records and digest. The DMA's timing decides
    the order (echo at wire speed moves every byte twice over a bus as wide as the stream), so
    GoldenNIC follows the gateware engine's bus cycle by cycle (DmaTiming): the bus commands
    and the receive / transmit events (cycles from set-up) are compared too, and say where
    the timing parts when anything differs. One Verilator build per width."""
    from slique.sim.benches.nic_bench import run_app

    packets = PACKETS[app]
    golden, recorder, nic = _golden(app, seed, packets, data_width)
    report = run_app(app, seed=seed, packets=packets, data_width=data_width,
                     results_dir=tmp_path / "results")
    where = f"seed {seed}; replay: {replay}"
    for result in (golden.as_json(), report):
        assert result["offered"] == result["delivered"] + sum(result["dropped"].values()), where
    assert report["offered"] == golden.offered and report["delivered"] > 0, where
    assert report["tx_unmatched"] == 0, where
    # Where the timing parts, if it does: the first bus command (cycles from set-up), then
    # the first receive or transmit event.
    bus = _first_difference([[cycle + 1, beats] for cycle, _, _, beats in nic.timing.commands],
                            report["bus"])
    setup = report["setup_cycle"]
    events = _first_difference(recorder.events, [[cycle - setup, *rest]
                                                 for cycle, *rest in report["events"]])
    timing = (f"first bus command apart: {bus} ([index, golden, gateware], [cycle, beats]); "
              f"first event apart: {events}")
    assert (report["delivered"], report["dropped"]) == (golden.delivered, golden.dropped), \
        f"{timing}; {where}"
    records = _first_difference(recorder.records, report["records"])
    assert records is None, f"trace record {records[0]}: golden {records[1]}, gateware " \
                            f"{records[2]}; {timing}; {where}"
    frames = _first_difference(recorder.frames, report["frames"])
    assert frames is None, f"TX wire frame {frames[0]}: golden [queue, frame] {frames[1]}, " \
                           f"gateware {frames[2]}; {timing}; {where}"
    assert report["digest"] == golden.digest, (
        f"the NIC's frames and trace records agree but the digests differ: the scheduler's "
        f"trace (completion order) differs; errors golden {golden.errors}, gateware "
        f"{report['errors']}, re-runs {golden.reruns} / {report['reruns']}; {timing}; {where}")
    # rebalance: the same RETA moves (bucket, from, to), decided on the same queue depths
    moves = [list(move[1:]) for move in golden.extra.get("moves", [])]
    samples = _first_difference([list(sample) for sample in golden.extra.get("samples", [])],
                                [list(sample) for sample in report["extra"].get("samples", [])])
    assert samples is None and moves == [list(move[1:]) for move in
                                         report["extra"].get("moves", [])], \
        f"RETA moves: first depth sample apart: {samples} ([index, golden, gateware], " \
        f"[cycle, levels]); {timing}; {where}"
    assert bus is None and events is None, f"same outcome, other timing: {timing}; {where}"


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
        result, _, _ = _golden(app, seed, packets, data_width)
        return dict(result.as_json(), backend="verilator", routines=result.routines,
                    cycles=result.cycles, extra=result.extra)

    monkeypatch.setattr(nic_bench, "run_app", fake_run_app)
    assert main(["run", "echo", "--backend", "verilator", "--packets", "6", "--seed", "3",
                 "--data-width", "32", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert calls == [("echo", 3, 6, 32)]
    assert document["backend"] == "verilator" and document["offered"] == 6
    assert document["offered"] == document["delivered"] + sum(document["dropped"].values())
