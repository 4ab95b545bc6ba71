"""CocotbNIC: :class:`~slique.firmware.nicops.NICOps` over the gateware in co-simulation.

The gateware backend drives the same flow pipeline and the i225-compatible DMA engine
(``hdl/dma/``) in Verilator through cocotb: register accesses on the engine's Wishbone slave at
the i225 offsets (RETA, MRQC, the rings' RDBAL/RDLEN/RDH/RDT and TDBAL/TDLEN/TDH/TDT), RX buffers
posted as advanced RX descriptors and TX frames as advanced TX data descriptors in simulated host
memory, completions found by the igc driver's rules (write-back length / DD), all through the
igc-style driver of the DMA golden model (``slique.sim.dma.driver.IgcDriver``), whose backend
protocol has a cocotb implementation.

It needs the DMA engine's gateware top (the engine with its Wishbone master and slave, joined to
the flow pipeline's per-queue outputs) and that driver; until both exist, building a CocotbNIC
fails with :class:`GatewareNotReady`, which says what is missing.
"""

from .nicops import NICOps


__all__ = ["CocotbNIC", "GatewareNotReady", "missing_parts"]


class GatewareNotReady(NotImplementedError):
    """The gateware backend lacks a part it is written against."""


#: What the gateware backend waits for: (module, what it must provide).
REQUIRED = (
    ("slique.hdl.dma.engine", "DmaEngine: the i225-compatible descriptor DMA engine in gateware "
                              "(Wishbone register slave, Wishbone memory master, RX/TX streams)"),
    ("slique.sim.dma.driver", "IgcDriver with a cocotb backend (register and ring accesses "
                              "awaited over the simulated bus)"),
    ("slique.hdl.nic", "a top that joins the flow pipeline's per-queue outputs to the DMA "
                       "engine's RX stream (the NIC the firmware talks to)"),
)


def missing_parts():
    """The parts in :data:`REQUIRED` that cannot be imported, as ``(module, what)``."""
    import importlib.util

    missing = []
    for module, what in REQUIRED:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append((module, what))
    return missing


class CocotbNIC(NICOps):
    """The firmware's NIC on the gateware in Verilator (see the module documentation)."""

    def __init__(self, *args, **kwargs):
        missing = missing_parts()
        reason = "; ".join(f"{module} ({what})" for module, what in missing) or \
            "the co-simulation loop that steps the gateware under the firmware"
        raise GatewareNotReady(
            f"the verilator backend (CocotbNIC) is not written yet: it waits for {reason}. "
            f"Run the same firmware on the golden models with --backend golden")

    transmit = post_rx = write_reta = write_flow = configure_admission = None
    step = read_counters = read_trace = queue_levels = offer = take_transmitted = None
    idle = wire_pending = None
