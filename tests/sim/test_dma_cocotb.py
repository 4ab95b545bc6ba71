"""The DMA engine on Verilator (or $SIM): the igc-style driver's scenarios, checked against the
golden model transaction by transaction (frames, write-backs, counters)."""

import pytest

from slique.hdl.dma.registers import RxQueueError, TxQueueError
from slique.sim.benches.dma_bench import BAD_INPUT_CASES, bench_parameters, gateware
from slique.sim.runner import run_bench


pytestmark = pytest.mark.cocotb

BENCH = "slique.sim.benches.dma_bench"


def _longest(cycles):
    """Frames up to 2000 bytes by default; the issue's 60 to 9018 bytes in long runs
    (``--slique-cycles N``: N frames per test)."""
    return 9018 if cycles(0) else 2000


def _run(tmp_path, **keywords):
    run = bench_parameters(**keywords)
    result = run_bench(gateware(run), BENCH, parameters=run, name="dma",
                       results_dir=tmp_path / "results")
    return run, result.report


@pytest.mark.parametrize("memory", ["zero-wait", "slow"])
def test_tx(tmp_path, memory, seed, replay, cycles):
    run, report = _run(tmp_path, scenario="tx", memory=memory, seed=seed, replay=replay,
                       frames=cycles(60 if memory == "zero-wait" else 30), high=_longest(cycles),
                       tx_ring_size=64 if memory == "zero-wait" else 32)
    outcome, = report["reports"]
    assert outcome["offered"] == run["frames"]
    assert outcome["offered"] == outcome["delivered"] + sum(outcome["dropped"].values())
    assert outcome["delivered"] == run["frames"] and outcome["wraps"] >= 1
    assert report["write_backs"] >= run["frames"]


def test_rx(tmp_path, seed, replay, cycles):
    run, report = _run(tmp_path, scenario="rx", seed=seed, replay=replay, frames=cycles(40),
                       high=_longest(cycles), rx_buffer_size=1024)
    outcome, = report["reports"]
    assert outcome["offered"] == run["frames"]
    assert outcome["offered"] == outcome["delivered"] + sum(outcome["dropped"].values())
    assert outcome["delivered"] == run["frames"]
    # frames longer than a buffer span several descriptors, each written back
    assert report["write_backs"] > run["frames"]


#: The error cause each bad input must leave (register, bit), or None (a drop, no error).
EXPECTED_CAUSES = {
    "tx-ring-length-zero": ("TQERR", TxQueueError.RING_LENGTH),
    "tx-ring-length-not-128": ("TQERR", TxQueueError.RING_LENGTH),
    "tx-tail-beyond-ring": ("TQERR", TxQueueError.TAIL),
    "tx-descriptor-length-zero": ("TQERR", TxQueueError.DESCRIPTOR),
    "tx-frame-too-long": ("TQERR", TxQueueError.DESCRIPTOR),
    "tx-context-descriptor": ("TQERR", TxQueueError.DESCRIPTOR),
    "tx-no-eop-in-32": ("TQERR", TxQueueError.DESCRIPTOR),
    "tx-outside-window": ("TQERR", TxQueueError.WINDOW),
    "tx-bus-error-data": ("TQERR", TxQueueError.BUS_ERROR),
    "tx-bus-error-fetch": ("TQERR", TxQueueError.BUS_ERROR),
    "tx-disable-mid-frame": ("TQERR", TxQueueError.ABORTED),
    "tx-good-frames-then-bad": ("TQERR", TxQueueError.DESCRIPTOR),
    "rx-ring-length-not-128": ("RQERR", RxQueueError.RING_LENGTH),
    "rx-srrctl-buffer-size-zero": ("RQERR", RxQueueError.SRRCTL),
    "rx-tail-beyond-ring": ("RQERR", RxQueueError.TAIL),
    "rx-no-free-descriptor": None,
    "rx-frame-too-long": None,
    "rx-outside-window": ("RQERR", RxQueueError.WINDOW),
    "rx-unaligned-buffer": ("RQERR", RxQueueError.WINDOW),
    "rx-bus-error-data": ("RQERR", RxQueueError.BUS_ERROR),
    "rx-bus-error-fetch": ("RQERR", RxQueueError.BUS_ERROR),
    "rx-queue-disabled": None,
    "rx-disable-mid-frame": ("RQERR", RxQueueError.ABORTED),
}


def test_bad_inputs(tmp_path, seed, replay):
    """Every bad input: the gateware agrees with the golden model (the bench checks it), and
    the outcome is the documented one."""
    assert set(EXPECTED_CAUSES) == set(BAD_INPUT_CASES)
    run, report = _run(tmp_path, scenario="bad-inputs", seed=seed, replay=replay)
    for name, expected in EXPECTED_CAUSES.items():
        outcome = report["cases"][name]
        counters = outcome["counters"]
        if expected is None:
            assert outcome["TQERR"] == outcome["RQERR"] == 0, name
        else:
            register, bit = expected
            assert outcome[register] >> bit & 1, (name, outcome)
            control = "TXDCTL" if register == "TQERR" else "RXDCTL"
            assert not outcome[control] >> 25 & 1, (name, "the queue must be disabled")
        # conservation at the counters
        assert counters.get("TPT", 0) == counters.get("GPTC", 0) + counters.get("HTDPMC", 0)
        assert counters.get("TPR", 0) == (counters.get("GPRC", 0) + counters.get("MPC", 0) +
                                          counters.get("ROC", 0) +
                                          counters.get("('RQDPC', 0)", 0)), name
    assert report["cases"]["rx-no-free-descriptor"]["counters"]["MPC"] > 0
    assert report["cases"]["rx-frame-too-long"]["counters"]["ROC"] == 1
    assert report["cases"]["tx-good-frames-then-bad"]["counters"]["GPTC"] == 3


def test_chain_32_bit_second_queue(tmp_path, seed, replay, cycles):
    """DMA chaining (the seed's sendfile) on a 32-bit host bus, through queue 1 of an engine
    with two queue pairs (the i225 register stride, the RX demux and the TX mux): frames
    received are handed to TX descriptors without the CPU touching their payload, and leave
    unchanged."""
    run, report = _run(tmp_path, scenario="chain", data_width=32, queues=2, queue=1,
                       seed=seed, replay=replay, frames=cycles(24), high=3000,
                       rx_buffer_size=1024)
    outcome, = report["reports"]
    assert outcome["offered"] == outcome["delivered"] == run["frames"]
    assert outcome["offered"] == outcome["delivered"] + sum(outcome["dropped"].values())
    assert outcome["ok"]
