"""Ring arithmetic and address checks shared by the TX and RX queues."""

from amaranth import *
from amaranth.lib import data


__all__ = ["INDEX_WIDTH", "ring_distance", "ring_run", "window_layout",
           "inside_window", "buffer_end", "inside_window_to", "window_compares",
           "inside_window_from", "RingIndex"]


#: Bits of a ring index (TDH / TDT / RDH / RDT hold 16).
INDEX_WIDTH = 16


class RingIndex:
    """A ring index in a register, with the room left before the ring's end (``count -
    index``) in a register beside it, so that stepping it needs no subtractor and no
    magnitude compare: a step wraps exactly when it uses up the room. Whether a step of one
    wraps (``room == 1``) is a register of its own, ``last``, set beside the room: a step of
    one chooses its next values from flip-flops. (An index that never steps by one does not
    read it, and synthesis removes it.)

    A step never crosses the ring's end (it may land on it): the callers' steps are one
    descriptor, or a fetch burst that :func:`ring_run` kept on this side of the end.

    Parameters
    ----------
    name : str
        Name of the index register; the room's is ``name + "_room"``, the flag's
        ``name + "_last"``.

    Attributes
    ----------
    index : Signal(INDEX_WIDTH)
    room : Signal(INDEX_WIDTH + 1)
        ``count - index``.
    last : Signal()
        ``room == 1``: the index is the ring's last.
    """
    def __init__(self, name):
        self.index = Signal(INDEX_WIDTH, name=name)
        self.room = Signal(INDEX_WIDTH + 1, name=f"{name}_room")
        self.last = Signal(name=f"{name}_last")

    def load(self, index, count, last):
        """Assignments that set the index (a start: ``count - index`` is summed here);
        ``last`` is ``count - index == 1``, which the caller registers ahead from the same
        settled values (the compare after the subtractor would be one load's path)."""
        return [self.index.eq(index), self.room.eq(count - index), self.last.eq(last)]

    @staticmethod
    def is_last(index, count):
        """``count - index == 1``: for the caller's register that :meth:`load` takes."""
        return (count - index) == 1

    def copy(self, other):
        """Assignments that make this index ``other``'s."""
        return [self.index.eq(other.index), self.room.eq(other.room),
                self.last.eq(other.last)]

    def wraps(self, step=1):
        """Whether a step of ``step`` lands on the ring's end."""
        if isinstance(step, int) and step == 1:
            return self.last
        return self.room == step

    def step(self, count, step=1, wraps=None):
        """Assignments that move the index on by ``step`` (``step <= room``); ``wraps``, if
        given, is :meth:`wraps` of ``step``, registered by the caller ahead."""
        if wraps is None:
            wraps = self.wraps(step)
        return [self.index.eq(Mux(wraps, 0, self.index + step)),
                self.room.eq(Mux(wraps, count, self.room - step)),
                self.last.eq(Mux(wraps, count == 1, self.room == step + 1))]


def ring_distance(start, end, count):
    """Descriptors from ``start`` up to ``end`` (exclusive) going round a ring of ``count``.

    The difference's borrow picks the result (no separate comparator), and the way round adds
    ``end`` to ``count - start`` (computed beside the difference)."""
    forward = end - start
    around = end + (count - start)
    return Mux(forward.as_signed() < 0, around, forward)[:INDEX_WIDTH + 1]


def ring_run(start, end, room):
    """Descriptors from ``start`` towards ``end`` (exclusive) that do not cross the ring's end
    (``start``, ``end`` below the ring's count; ``room`` is ``count - start``, a
    :class:`RingIndex`'s): ``min(ring_distance(start, end, count), room)`` with one
    subtractor's borrow as the choice, for a fetch burst's length."""
    forward = end - start
    return Mux(forward.as_signed() < 0, room, forward)[:INDEX_WIDTH + 1]


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
    before :func:`inside_window_from` combines them.

    The last two are exact whenever the first holds (the only case in which
    :func:`inside_window_from` reads them): then ``address <= end <= 2 ** addr_width``, both
    below ``2 ** (addr_width + 1)``, so they compare ``addr_width + 1`` bits, beside a zero
    test of the window's upper bits, rather than 64 (the reach itself is zero tests)."""
    low = addr_width + 1
    within_reach = (end[low:] == 0) & (~end[addr_width] | (end[:addr_width] == 0))
    above_base = (window.base[low:] == 0) & (address[:low] >= window.base[:low])
    below_limit = (window.limit[low:] != 0) | (end[:low] <= window.limit[:low])
    return within_reach, above_base, below_limit


def inside_window_from(window, within_reach, above_base, below_limit):
    """:func:`inside_window_to` from its three compares (:func:`window_compares`)."""
    return within_reach & (~window.enable | (above_base & below_limit))
