"""``slique board`` against the golden model of the bridge (a register file behind it), and its
message when the port cannot be opened."""

import json

import pytest

from slique.boards import board_command
from slique.boards.bridge import BridgeClient, ModelTransport
from slique.cli import main
from slique.hdl.uart_bridge import BRIDGE_ID
from slique.sim.uart_bridge import UartBridge
from slique.sim.uart_line import WishboneMemory


@pytest.fixture
def memory(monkeypatch):
    memory = WishboneMemory({0: BRIDGE_ID})
    model = UartBridge(memory.access)
    monkeypatch.setattr(board_command, "open_client",
                        lambda args: BridgeClient(ModelTransport(model)))
    return memory


def test_ping_read_and_write(memory, capsys):
    assert main(["board", "--port", "model", "--json", "ping"]) == 0
    assert json.loads(capsys.readouterr().out) == {"bridge_id": BRIDGE_ID, "ok": True}
    assert main(["board", "--port", "model", "write", "0x2000", "1", "0xdeadbeef"]) == 0
    assert (memory.words[0x2000], memory.words[0x2001]) == (1, 0xDEADBEEF)
    capsys.readouterr()
    assert main(["board", "--port", "model", "read", "0x2000", "2"]) == 0
    assert "0x00000001 0xdeadbeef" in capsys.readouterr().out


def test_a_port_that_cannot_be_opened_says_so(capsys):
    assert main(["board", "--port", "/dev/no-such-port", "ping"]) == 1
    assert "cannot open /dev/no-such-port" in capsys.readouterr().err
