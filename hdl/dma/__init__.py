"""The i225-compatible descriptor DMA engine: descriptor layouts, register map and gateware.

- :mod:`slique.hdl.dma.descriptors`: the advanced TX / RX descriptor Structs and their
  pure-Python pack / unpack helpers (shared by gateware, golden model and driver);
- :mod:`slique.hdl.dma.registers`: the engine's register map (:func:`dma_registers`) and the
  documented outcome of every bad input.
"""

from .descriptors import (TxDataDescriptor, TxWriteBack, RxReadDescriptor, RxWriteBack,
                          pack_descriptor, unpack_descriptor)
from .registers import dma_registers, DMA_REGISTERS


__all__ = ["TxDataDescriptor", "TxWriteBack", "RxReadDescriptor", "RxWriteBack",
           "pack_descriptor", "unpack_descriptor", "dma_registers", "DMA_REGISTERS"]
