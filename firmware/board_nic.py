"""BoardNIC: :class:`~slique.firmware.nicops.NICOps` on a board, once a board bridge exists."""

from .nicops import NICOps


__all__ = ["BoardNIC", "BoardBridgeMissing"]


class BoardBridgeMissing(RuntimeError):
    """There is no bridge from the firmware to a board's registers and DMA rings yet."""


class BoardNIC(NICOps):
    """The firmware's NIC on a real board (iCEBreaker, Colorlight 5A-75B).

    It needs a bridge that carries register reads and writes and the DMA rings' memory between
    this process and the board (a UART or Ethernet bridge to the Wishbone bus); until one exists,
    building it fails with :class:`BoardBridgeMissing` saying so.
    """

    def __init__(self, *args, **kwargs):
        raise BoardBridgeMissing(
            "BoardNIC needs a board bridge (register reads/writes and DMA ring memory between "
            "the host and the board's Wishbone bus), and none exists yet: run the firmware on "
            "the golden models (--backend golden) or on the gateware in co-simulation "
            "(--backend verilator) instead")

    transmit = post_rx = write_reta = write_flow = configure_admission = None
    step = read_counters = read_trace = queue_levels = offer = take_transmitted = None
    idle = None
