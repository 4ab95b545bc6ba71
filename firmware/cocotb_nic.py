"""CocotbNIC: :class:`~slique.firmware.nicops.NICOps` over the gateware in co-simulation.

The gateware backend is to drive the flow pipeline (``slique.hdl.FlowPipeline``) and the
i225-compatible DMA engine (``slique.hdl.dma.engine.DmaEngine``) in Verilator through cocotb,
with the same igc-style driver as GoldenNIC (``slique.sim.dma.driver.IgcDriver``) over the DMA
bench's cocotb pieces (``slique.sim.benches.dma_bench.HostBus`` answering the engine's Wishbone
master from host memory, ``CocotbBackend`` for register accesses): RETA and admission writes on
the register bank, RX buffers posted as advanced RX descriptors, TX frames as TX data
descriptors, completions found by igc's rules (write-back length, DD), and the scheduler ticking
once per clock inside the cocotb test.

The DMA engine's gateware and its cocotb driver backend exist; what does not is a gateware top
that joins the flow pipeline's per-queue outputs to the engine's RX stream (the NIC the firmware
talks to), and the co-simulation loop above. Until both exist, building a CocotbNIC fails with
:class:`GatewareNotReady`, which says so.
"""

from .nicops import NICOps


__all__ = ["CocotbNIC", "GatewareNotReady", "missing_parts"]


class GatewareNotReady(NotImplementedError):
    """The gateware backend lacks a part it is written against."""


#: What the gateware backend is written against: (module, what it must provide).
REQUIRED = (
    ("slique.hdl.dma.engine", "DmaEngine: the i225-compatible descriptor DMA engine in gateware"),
    ("slique.sim.benches.dma_bench", "HostBus and CocotbBackend: host memory on the engine's "
                                     "Wishbone master and the driver's register accesses in "
                                     "cocotb"),
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
        missing = [f"{module} ({what})" for module, what in missing_parts()]
        missing.append("the co-simulation loop that runs the scheduler inside cocotb, one tick "
                       "per clock")
        raise GatewareNotReady(
            f"the verilator backend (CocotbNIC) is not written yet: it waits for "
            f"{'; '.join(missing)}. Run the same firmware on the golden models with "
            f"--backend golden")

    transmit = post_rx = write_reta = write_flow = configure_admission = None
    step = read_counters = read_trace = queue_levels = offer = take_transmitted = None
    idle = wire_pending = None
