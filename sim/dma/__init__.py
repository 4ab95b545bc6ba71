"""Golden model, host memory and igc-style driver of the i225-compatible DMA engine."""
