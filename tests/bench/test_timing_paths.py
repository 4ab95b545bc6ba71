"""slique.bench.timing_paths: the registers later than a period, from a detailed nextpnr report."""

import json

import pytest

from slique.bench.timing_paths import endpoint_group, main, slow_endpoints


def _report():
    """A detailed report as nextpnr writes it, shortened: nets with their timing endpoints."""
    def net(name, *endpoints):
        return {"net": name, "driver": "x", "port": "F", "event": "<async>", "sources": [],
                "endpoints": [{"cell": cell, "port": port, "delay": [delay - 0.1, delay],
                               "event": "posedge clk"} for cell, port, delay in endpoints]}
    return {"fmax": {"clk": {"achieved": 100.0, "constraint": 125}},
            "detailed_net_timings": [
                net("dut.q.head_DI", ("dut.q.head$36_TRELLIS_FF_Q_7", "DI", 9.97),
                    ("dut.q.head$36_TRELLIS_FF_Q_6", "DI", 9.5)),
                net("dut.q.head_CE", ("dut.q.head$36_TRELLIS_FF_Q_6", "CE", 8.2)),
                net("dut.q.words.storage.0.51_WRE",
                    ("dut.q.words.storage.0.51$DPRAM_COMB3", "WRE", 8.68),
                    ("dut.q.words.storage.0.54$DPRAM_COMB0", "WRE", 8.42)),
                net("dut.q.fast", ("dut.q.fast_TRELLIS_FF_Q", "DI", 3.0)),
                net("dut.q.mem_WEA", ("dut.q.frames.memory.block_7", "WEA1", 8.1)),
            ]}


def test_endpoints_group_by_register_and_port_kind_worst_first():
    groups = slow_endpoints(_report(), 8.0)
    assert [(group.name, group.port, group.count) for group in groups] == [
        ("dut.q.head", "DI", 2),
        ("dut.q.words.storage", "WRE", 2),
        ("dut.q.head", "CE", 1),
        ("dut.q.frames.memory.block_7", "WEA", 1),
    ]
    assert groups[0].worst_ns == 9.97 and groups[0].net == "dut.q.head_DI"
    assert slow_endpoints(_report(), 9.6)[0].count == 1         # the period cuts
    assert slow_endpoints(_report(), 10.0) == []


@pytest.mark.parametrize("cell, port, expected", [
    ("dut.tx0.packer.held_TRELLIS_FF_Q_48", "DI", ("dut.tx0.packer.held", "DI")),
    ("dut.tx0.head$36_TRELLIS_FF_Q_7", "M", ("dut.tx0.head", "M")),
    ("dut.tx0.prefetch.words.storage.0.64$DPRAM_COMB3", "WRE", ("dut.tx0.prefetch.words.storage",
                                                                "WRE")),
    ("dut.bank.GORCL__inc_TRELLIS_FF_Q", "LSR", ("dut.bank.GORCL__inc", "LSR")),
    ("dut.rx0.frames.lengths.storage.block_2", "ADA12", ("dut.rx0.frames.lengths.storage.block_2",
                                                        "ADA")),
])
def test_endpoint_group_names(cell, port, expected):
    assert endpoint_group(cell, port) == expected


def test_a_report_without_detailed_timing_is_an_error(tmp_path, capsys):
    with pytest.raises(ValueError, match="--detailed-timing-report"):
        slow_endpoints({"fmax": {}}, 8.0)
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"fmax": {}}))
    assert main([str(path)]) == 1
    assert "--detailed-timing-report" in capsys.readouterr().err


def test_command_prints_groups_and_json(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(_report()))
    assert main([str(path), "--period", "8.5"]) == 0
    text = capsys.readouterr().out
    assert "3 endpoints later than 8.5 ns in 2 registers" in text and "dut.q.head.DI" in text
    assert main([str(path), "--period", "8", "--top", "2", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["endpoints"] == 6 and len(document["groups"]) == 2
    assert set(document["groups"][0]) == {"name", "port", "worst_ns", "count", "net"}
