"""The start of a DMA queue: its ring configuration checked in registers before it runs."""

from amaranth import *

from .registers import TxQueueError
from .ring import buffer_end, inside_window_to


__all__ = ["registered_start"]


def registered_start(m, config, enable_seen, running, *, window, addr_width, checks=None):
    """Start a queue two cycles after ENABLE rises (or, if it rises while the queue is still
    stopping, as soon as it has stopped), with its configuration checked in the two cycles
    before, in registers: the ring's end first, then the compares, so that the 64-bit window
    check does not reach the queue's state.

    The checks set the bits that :class:`~slique.hdl.dma.registers.TxQueueError` and
    :class:`~slique.hdl.dma.registers.RxQueueError` share (``RING_LENGTH``: TDLEN / RDLEN zero
    or not a multiple of 128; ``TAIL``: the tail or the head beyond the ring; ``WINDOW``: the
    ring outside the DMA window), and ``checks`` (``{bit: condition}``) the queue's own.

    Parameters
    ----------
    m : Module
    config : View of :func:`~slique.hdl.dma.tx_queue.queue_config_layout`
    enable_seen : Value
        ``config.enable`` a cycle before (a register).
    running : Value
        The queue runs.
    window : View of :func:`~slique.hdl.dma.ring.window_layout`
    addr_width : int
    checks : dict of int to Value, optional

    Returns
    -------
    start : Signal
        High in the cycle the queue starts (it is not running): it runs from the next cycle
        if ``errors`` is 0, else it reports them and clears ENABLE.
    errors : Signal(7)
        The failed checks (registered).
    """
    start_pending = Signal()
    start_checked = Signal()                  # start_pending in the cycle before
    m.d.sync += start_checked.eq(start_pending & config.enable)
    with m.If(~config.enable):
        m.d.sync += start_pending.eq(0)
    with m.Elif(~enable_seen):
        m.d.sync += start_pending.eq(1)
    start = Signal()
    m.d.comb += start.eq(~running & config.enable & start_pending & start_checked)
    with m.If(start):
        m.d.sync += start_pending.eq(0)

    ring_bytes = config.length
    ring_count = ring_bytes >> 4
    ring_end = Signal(66)
    m.d.sync += ring_end.eq(buffer_end(config.base, ring_bytes))
    errors = Signal(7)
    m.d.sync += [
        errors.eq(0),       # driven whole: no bit left to a constant-only process (Icarus)
        errors[TxQueueError.RING_LENGTH].eq((ring_bytes == 0) | (ring_bytes[:7] != 0)),
        errors[TxQueueError.TAIL].eq((config.tail >= ring_count) | (config.head >= ring_count)),
        errors[TxQueueError.WINDOW].eq(~inside_window_to(window, config.base, ring_end,
                                                         addr_width)),
    ]
    for bit, condition in (checks or {}).items():
        m.d.sync += errors[bit].eq(condition)
    return start, errors
