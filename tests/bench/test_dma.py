"""``slique bench dma`` without simulation or synthesis: its command line, the target checks and
the synthesis harness."""

from amaranth import Value
from amaranth.back import rtlil

from slique.bench import dma
from slique.cli import parser


def test_registered_as_a_benchmark():
    args = parser().parse_args(["bench", "dma", "--widths", "64", "--targets", "", "--json",
                                "--check"])
    assert args.load() is dma
    assert (args.widths, args.targets, args.json, args.check) == ("64", "", True, True)


def _record(direction, size, memory, bits, cycles, efficiency):
    return {"direction": direction, "bytes": size, "memory": memory, "bus_bits": bits,
            "cycles_per_frame": cycles, "bus_efficiency": efficiency,
            "gbps_at_125mhz": size * 8 / cycles * 0.125}


def test_checks_follow_the_issue_targets():
    document = {"frames": [
        _record("tx", 1514, "slow", 64, 900, 0.95),        # efficiency met
        _record("rx", 1514, "zero-wait", 32, 900, 0.85),   # efficiency missed
        _record("tx", 64, "zero-wait", 64, 25.0, 0.8),     # 2.56 Gbit/s: met
        _record("rx", 64, "zero-wait", 64, 26.0, 0.7),     # 2.46 Gbit/s: missed
        _record("rx", 64, "slow", 64, 80.0, 0.7),          # no target
    ], "resources": {"ecp5": {"lut": 1, "ff": 1, "bram": 1, "fmax_mhz": 120.0}}}
    results = dma.checks(document)
    assert [passed for _, passed in results] == [True, False, True, False, False]


def test_harness_elaborates():
    text = rtlil.convert(dma.harness(64))
    assert "dut" in text


def test_block_harness_drives_every_input_and_observes_every_output():
    from amaranth.lib import wiring
    from slique.hdl.dma.rx_queue import RxQueue
    from slique.hdl.dma.tx_queue import TxQueue

    for block in (RxQueue(), TxQueue()):
        top = dma.block_harness(block)
        widths = {wiring.In: 0, wiring.Out: 0}
        for _, member, value in block.signature.flatten(block):
            widths[member.flow] += len(Value.cast(value))
        # plus the harness's spare valid / ready bits
        assert top.stimulus_width == widths[wiring.In] + 2
        assert top.observed_width == widths[wiring.Out] + 2
        text = rtlil.convert(top)
        assert "dut" in text
