"""Ring arithmetic and address checks shared by the TX and RX queues."""

from amaranth import *
from amaranth.lib import data


__all__ = ["INDEX_WIDTH", "ring_next", "ring_distance", "ring_run", "window_layout",
           "inside_window", "buffer_end", "inside_window_to", "window_compares",
           "inside_window_from"]


#: Bits of a ring index (TDH / TDT / RDH / RDT hold 16).
INDEX_WIDTH = 16


def ring_next(index, count, step=1):
    """``(index + step) mod count`` for ``index < count`` and ``step <= count`` (in general:
    ``index + step``, less ``count`` when that reaches ``count``).

    ``step`` is often late in its cycle (a batch just chosen), ``index`` and ``count``
    registers: the room left before the ring's end (``count - index``) is computed beside it,
    so that only one adder or comparator follows ``step`` before the final multiplexer."""
    room = (count - index).as_signed()
    return Mux(step >= room, step - room, index + step)[:INDEX_WIDTH]


def ring_distance(start, end, count):
    """Descriptors from ``start`` up to ``end`` (exclusive) going round a ring of ``count``.

    The difference's borrow picks the result (no separate comparator), and the way round adds
    ``end`` to ``count - start`` (computed beside the difference)."""
    forward = end - start
    around = end + (count - start)
    return Mux(forward.as_signed() < 0, around, forward)[:INDEX_WIDTH + 1]


def ring_run(start, end, count):
    """Descriptors from ``start`` towards ``end`` (exclusive) that do not cross the ring's end
    (``start``, ``end`` below ``count``): ``min(ring_distance(start, end, count), count -
    start)`` with one subtractor's borrow as the choice, for a fetch burst's length."""
    forward = end - start
    return Mux(forward.as_signed() < 0, count - start, forward)[:INDEX_WIDTH + 1]


def window_layout():
    """The DMA window as the queues see it: ``enable``, ``base`` and ``limit`` (bytes,
    exclusive)."""
    return data.StructLayout({"enable": 1, "base": 64, "limit": 64})


def buffer_end(address, length):
    """``address + length``, one bit wider than the address: the end may be ``2 ** 64``
    exactly, and nothing wraps."""
    return address.as_unsigned() + length.as_unsigned()


def inside_window(window, address, length, addr_width):
    """Whether ``[address, address + length)`` is inside the window (when it is enabled) and
    within the master's ``2 ** addr_width`` bytes."""
    return inside_window_to(window, address, buffer_end(address, length), addr_width)


def inside_window_to(window, address, end, addr_width):
    """:func:`inside_window` of ``[address, end)``, with ``end`` (:func:`buffer_end`) computed
    apart, so that the sum and the compares can be in different cycles."""
    return inside_window_from(window, *window_compares(window, address, end, addr_width))


def window_compares(window, address, end, addr_width):
    """The three compares of :func:`inside_window_to`: ``(end within the master's reach,
    address >= the window's base, end <= its limit)``, for a caller that registers them
    before :func:`inside_window_from` combines them."""
    reach = Const(1 << addr_width, 66)
    return end <= reach, address >= window.base, end <= window.limit


def inside_window_from(window, within_reach, above_base, below_limit):
    """:func:`inside_window_to` from its three compares (:func:`window_compares`)."""
    return within_reach & (~window.enable | (above_base & below_limit))
