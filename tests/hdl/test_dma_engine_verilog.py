"""The DMA engine's Verilog runs the same on Icarus as on Verilator: no register bit is left to a
process that never runs.

Yosys writes a bit of a combinational signal that no statement drives (its init value) as a
constant-only ``always @* x[3] = 1'h0;``. Icarus never triggers such a block (it has no
inputs), so the bit stays X for the whole run, while Verilator computes it; an X that reaches a
register read fails the bench on Icarus only (``SIM=icarus``). A signal driven in parts must
have every bit driven in its process (e.g. ``errors.eq(0)`` before the bits).
"""

import re

import pytest

from slique.hdl.dma.engine import DmaEngine
from slique.sim.runner import to_verilog


#: A process whose whole body is one constant assignment.
CONSTANT_ONLY = re.compile(r"always @\*\n\s+([^\n]*?) = \d+'[hbd][0-9a-fA-F_]+;\n")


def constant_only_processes(text):
    """``[(module, assignment), ...]`` of the constant-only processes in Verilog ``text``."""
    found = []
    for match in CONSTANT_ONLY.finditer(text):
        start = text.rfind("\nmodule ", 0, match.start()) + 1
        found.append((text[start + len("module "):text.index("(", start)].strip(),
                      match.group(1).strip()))
    return found


def test_the_pattern_is_found():
    text = "module \\top.a (x);\n  always @*\n    errors[3] = 1'h0;\nendmodule\n"
    assert constant_only_processes(text) == [("\\top.a", "errors[3]")]
    assert constant_only_processes(text.replace("1'h0", "y")) == []


@pytest.fixture(scope="module")
def engine_processes():
    """The constant-only processes of a two-queue, 32-bit engine (one conversion)."""
    return constant_only_processes(to_verilog(DmaEngine(queues=2, data_width=32)))


def test_engine_has_no_constant_only_process_outside_rx(engine_processes):
    assert [item for item in engine_processes if not item[0].startswith("\\top.rx")] == []


def test_rx_queues_have_no_constant_only_process(engine_processes):
    assert engine_processes == []
