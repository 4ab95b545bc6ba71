"""BoardNIC without a board: its errors (no port, no answer, a board top without a frame port)
and the frame port's word format. The end-to-end run against the board top in Verilator is
tests/boards/test_board_nic_cocotb.py."""

import pytest
from hypothesis import given, strategies as st

from slique.boards.bridge import ModelTransport
from slique.boards.flow_client import frame_words, head_beat
from slique.boards.icebreaker import frame_bank
from slique.boards.soc import BANK_WORDS
from slique.cli import main
from slique.firmware import backend
from slique.firmware.board_nic import BoardBridgeMissing, BoardNIC, BoardUnsupported
from slique.hdl.uart_bridge import BRIDGE_ID
from slique.sim.uart_bridge import BusAnswer, UartBridge


MISSING_PORT = "/nonexistent/ttyUSB9"


def test_board_backend_needs_a_port():
    with pytest.raises(BoardBridgeMissing, match="board bridge.*--port"):
        backend("board")


def test_a_missing_port_is_named():
    with pytest.raises(BoardBridgeMissing, match=f"cannot open {MISSING_PORT}"):
        BoardNIC(MISSING_PORT)


def test_slique_run_on_a_missing_port_says_so(capsys):
    assert main(["run", "echo", "--backend", "board", "--port", MISSING_PORT]) == 2
    err = capsys.readouterr().err
    assert f"cannot open {MISSING_PORT}" in err and "plugged in" in err


class Silent:
    """A port with nothing on the other end."""

    def write(self, data):
        pass

    def read(self, size, timeout):
        return b""

    def reset_input(self):
        pass


def test_a_silent_port_is_no_board():
    with pytest.raises(BoardBridgeMissing, match="no board answered.*--program"):
        BoardNIC(transport=Silent(), reply_timeout=1e-3, retries=0)


def test_a_board_without_the_frame_port_is_refused():
    """The bridge answers (BRIDGE_ID), but the frame port's bank answers err: a bitstream made
    before the frame port, or with other queues."""
    accesses = []

    def bus(write, address, data):
        accesses.append((write, address))
        if not write and address == 0:
            return BusAnswer.ACK, BRIDGE_ID
        if address // BANK_WORDS == frame_bank(2):
            return BusAnswer.ERR, 0
        return BusAnswer.ACK, 0

    with pytest.raises(BoardUnsupported, match="no frame port .bank 4.*rebuild"):
        BoardNIC(transport=ModelTransport(UartBridge(bus)), reply_timeout=1e-3, retries=0)
    assert accesses[-1] == (True, frame_bank(2) * BANK_WORDS + 0x0C // 4)


@given(st.binary(min_size=1, max_size=300), st.integers(0, 255))
def test_frame_words_are_head_beats(frame, level):
    words = frame_words(frame)
    beats = [head_beat(word | 1 << 31 | level << 16) for word in words]
    assert bytes(beat.data for beat in beats) == frame
    assert [beat.first for beat in beats] == [True] + [False] * (len(frame) - 1)
    assert [beat.last for beat in beats] == [False] * (len(frame) - 1) + [True]
    assert all(beat.valid and beat.level == level for beat in beats)
    assert not head_beat(0).valid


def test_an_empty_frame_has_no_words():
    with pytest.raises(ValueError, match="at least one byte"):
        frame_words(b"")
