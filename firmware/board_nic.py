"""BoardNIC: :class:`~slique.firmware.nicops.NICOps` on a board, once a board bridge exists."""

from .nicops import NICOps


__all__ = ["BoardNIC", "BoardBridgeMissing"]


class BoardBridgeMissing(RuntimeError):
    """There is no bridge from the firmware to a board's registers and DMA rings yet."""


class BoardNIC(NICOps):
    """The firmware's NIC on a real board (iCEBreaker, Colorlight 5A-75B).

    It needs a bridge that carries register reads and writes and the DMA rings' memory between
    this process and a board top that has the DMA engine. The UART bridge
    (:mod:`slique.boards.bridge`) carries register accesses to the board tops that exist, none of
    which has the DMA engine or host memory for its rings yet; until one does, building a
    BoardNIC fails with :class:`BoardBridgeMissing` saying so.
    """

    def __init__(self, *args, **kwargs):
        raise BoardBridgeMissing(
            "BoardNIC needs a board bridge to a board top with the DMA engine (register "
            "reads/writes and the DMA rings' memory over the bus); the UART bridge "
            "(slique.boards.bridge) reaches only tops without the DMA engine so far. Run the "
            "firmware on the golden models (--backend golden) instead")

    transmit = post_rx = write_reta = write_flow = configure_admission = None
    step = read_counters = read_trace = queue_levels = offer = take_transmitted = None
    idle = wire_pending = None
