"""Golden model, host memory and igc-style driver of the i225-compatible DMA engine.

- :mod:`.host_memory`: :class:`HostMemory` (sparse, wait states, stalls, bus-error ranges,
  device-write audit), :class:`Allocator`, :class:`CpuTrace`;
- :mod:`.engine`: :class:`DmaEngine`, the transaction-level golden model;
- :mod:`.driver`: :class:`IgcDriver` (coroutines over a backend), :class:`ModelBackend`,
  :func:`run_sync`, :class:`SyncDriver`;
- :mod:`.scenarios`: traffic scenarios shared by the golden and the cocotb runs.

Each module's docstring lists its API.
"""

from .host_memory import HostMemory, BusError, Allocator, CpuTrace, MEMORY_PROFILES
from .engine import DmaEngine, TxFrame, RxOutcome
from .driver import IgcDriver, SyncDriver, ModelBackend, RxFrame, Service, run_sync
from .scenarios import TrafficReport, tx_traffic, rx_traffic, chain_traffic


__all__ = ["HostMemory", "BusError", "Allocator", "CpuTrace", "MEMORY_PROFILES", "DmaEngine",
           "TxFrame", "RxOutcome", "IgcDriver", "SyncDriver", "ModelBackend", "RxFrame", "Service",
           "run_sync", "TrafficReport", "tx_traffic", "rx_traffic", "chain_traffic"]
