"""The start of a DMA queue: its ring configuration checked in registers before it runs."""

from amaranth import *

from .registers import TxQueueError
from .ring import buffer_end, inside_window_from, window_compares


__all__ = ["registered_start"]


def registered_start(m, config, enable_seen, running, disable, *, window, addr_width,
                     checks=None):
    """Start a queue three cycles after ENABLE rises (or, if it rises while the queue is still
    stopping, as soon as it has stopped), with its configuration checked in the three cycles
    before, in registers: the ring's end first, then the compares, then their verdict, so that
    the 64-bit window check does not reach the queue's state.

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
    disable : Value
        The queue clears ENABLE in this cycle (the bank does so a cycle later: the queue does
        not start in that cycle, ENABLE's last).
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
    pending_before = Signal()                 # start_pending (and ENABLE) a cycle before
    m.d.sync += pending_before.eq(start_pending & config.enable)
    start = Signal()
    next_pending = Signal()
    m.d.comb += next_pending.eq(Mux(~config.enable | start, 0,
                                    Mux(~enable_seen, 1, start_pending)))
    m.d.sync += start_pending.eq(next_pending)
    # start_pending, with it and ENABLE high two cycles before, in one register set beside
    # them; and the queue's disable of the cycle before (ENABLE still high in the bank): the
    # start is one LUT after flip-flops, its loads fanning out from it
    armed = Signal()
    disabled = Signal()
    m.d.sync += [armed.eq(next_pending & pending_before & config.enable),
                 disabled.eq(disable)]
    m.d.comb += start.eq(~running & config.enable & ~disabled & armed)

    ring_bytes = config.length
    ring_count = ring_bytes >> 4
    ring_end = Signal(66)
    m.d.sync += ring_end.eq(buffer_end(config.base, ring_bytes))
    within_reach, above_base, below_limit = (Signal(name=name) for name in
                                             ("within_reach", "above_base", "below_limit"))
    m.d.sync += Cat(within_reach, above_base, below_limit).eq(
        Cat(*window_compares(window, config.base, ring_end, addr_width)))
    errors = Signal(7)
    m.d.sync += [
        errors.eq(0),       # driven whole: no bit left to a constant-only process (Icarus)
        errors[TxQueueError.RING_LENGTH].eq((ring_bytes == 0) | (ring_bytes[:7] != 0)),
        errors[TxQueueError.TAIL].eq((config.tail >= ring_count) | (config.head >= ring_count)),
        errors[TxQueueError.WINDOW].eq(~inside_window_from(window, within_reach, above_base,
                                                           below_limit)),
    ]
    for bit, condition in (checks or {}).items():
        m.d.sync += errors[bit].eq(condition)
    return start, errors
