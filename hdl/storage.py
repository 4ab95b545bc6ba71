"""The interface every storage of a :class:`~slique.hdl.BoundedSlique` has."""

from amaranth.hdl import Cat, Mux, Signal
from amaranth.utils import bits_for
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ._parameters import check_depth, check_shape


__all__ = ["Storage", "count_up_down", "count_up_down_gates", "count_up_down_registered",
           "one_hot_to_binary"]


class Storage(wiring.Component):
    """Base of the slique storages: a write port and an output stream, no policy.

    The caller (:class:`~slique.hdl.BoundedSlique`) decides what to write and guarantees that
    ``w_en`` is only asserted when there is room: ``full`` is low, or the consumer takes a beat
    in the same cycle and the storage :meth:`writes_when_full_and_read`. Subclasses implement
    ``elaborate``.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of an entry.
    depth : int
        Most entries held, at least 1.

    Attributes
    ----------
    w_data : ``In(shape)``
        Entry to write.
    w_en : ``In(1)``
        Write strobe.
    o_stream : ``Out(stream.Signature(shape))``
        Oldest entry; ``valid`` and ``payload`` are registers.
    level : ``Out(range(depth + 1))``
        Entries held (in the storage and on ``o_stream``), exact every cycle; driven from
        registers (the systolic chain's registered counter: a selection among three).
    full : ``Out(1)``
        No room for a write (unless one leaves, see :meth:`writes_when_full_and_read`): high
        when ``level == depth``, and only then unless the storage says otherwise (the systolic
        chain); from registers through at most one gate: the caller's ``ready`` depends on it.
    """

    def __init__(self, shape, depth):
        self._shape = check_shape(shape)
        self._depth = check_depth(depth)
        super().__init__({
            "w_data": In(shape),
            "w_en": In(1),
            "o_stream": Out(stream.Signature(shape)),
            "level": Out(range(self._depth + 1)),
            "full": Out(1),
        })

    @property
    def shape(self):
        return self._shape

    @property
    def depth(self):
        return self._depth

    @classmethod
    def writes_when_full_and_read(cls, depth):
        """Whether a full storage of ``depth`` entries takes a write in a cycle in which the
        consumer takes a beat (the caller's room is then ``~full | read``, else ``~full``).

        True here (the ring); a storage whose room must not depend on the consumer's ``ready``
        (the systolic chain of two cells or more) says False.
        """
        return True


def count_up_down(m, counter, *, up, down):
    """At the clock edge, ``counter`` counts one up on ``up`` alone, one down on ``down``
    alone, and holds otherwise: one adder of ``+1``, ``-1`` (all ones) or ``0``, so that
    synthesis builds a single carry chain rather than two and a multiplexer."""
    step = Signal(len(counter))
    m.d.comb += step.eq(Mux(up, Mux(down, 0, 1), Mux(down, -1, 0)))
    m.d.sync += counter.eq(counter + step)


def count_up_down_gates(m, counter, *, up, down):
    """:func:`count_up_down` without a carry chain: when ``up`` or ``down`` alone is high (the
    flip-flops' enable), bit ``i`` toggles if all bits below it are set (counting up) or all are
    clear (counting down). Only the enable depends on ``up``: the data inputs see ``down``
    alone, which tells the direction whenever the counter moves, so a late ``up`` (a producer's
    ``valid``) is one gate from the flip-flops."""
    move = Signal()
    m.d.comb += move.eq(up ^ down)
    with m.If(move):
        for bit in range(len(counter)):
            below = counter[:bit]
            m.d.sync += counter[bit].eq(counter[bit] ^ Mux(down, ~below.any(), below.all()))


def count_up_down_registered(m, counter, *, up, down):
    """:func:`count_up_down` with the strobes registered: ``counter`` (driven here, each bit a
    function of five flip-flops) has the same value as :func:`count_up_down`'s every
    cycle, but ``up`` and ``down`` reach only flip-flops, each through one gate, so strobes that
    come from far apart (the two ends of a systolic chain) do not meet before a carry chain.

    The registers: ``before``, the counter's value of the cycle before, ``before_up`` and
    ``before_down``, that value plus and minus one, and the step of that cycle's edge in three
    flip-flops: ``stayed`` (neither or both strobes), ``rose`` (``up`` alone) and ``fell``
    (``down`` alone). ``stayed`` and ``rose`` select one of the three values (from flip-flops
    only: a LUT5 per bit on the ECP5, two LUT4s on the iCE40); ``before_up`` and
    ``before_down`` come next from two carry chains, ``before + 0, 1 or 2`` and ``before - 0, 1
    or 2``, whose other inputs are the step's flip-flops. Every path is a flip-flop, that
    selection or one carry chain, and a flip-flop; the strobes reach only three flip-flops (on
    the iCE40 five of them, one per chain input and select, lengthened the producer's write
    enable's net: 84.6 against 95.0 MHz at depth 64).
    """
    width = len(counter)
    name = counter.name
    before = Signal(width, name=f"{name}_before")
    before_up = Signal(width, name=f"{name}_before_up", init=1)
    before_down = Signal(width, name=f"{name}_before_down", init=-1)
    stayed = Signal(name=f"{name}_stayed", init=1)
    rose = Signal(name=f"{name}_rose")
    fell = Signal(name=f"{name}_fell")
    m.d.sync += [
        stayed.eq(~(up ^ down)),
        rose.eq(up & ~down),
        fell.eq(down & ~up),
    ]
    m.d.comb += counter.eq(Mux(stayed, before, Mux(rose, before_up, before_down)))
    m.d.sync += [
        before.eq(counter),
        before_up.eq(before + Cat(stayed, rose)),
        before_down.eq(before - Cat(stayed, fell)),
    ]


def one_hot_to_binary(flags):
    """The index of the set flag of a one-hot code, in binary, as gates: bit ``j`` is the OR of
    the flags whose index has bit ``j`` set."""
    return Cat(Cat(flags[index] for index in range(len(flags)) if index >> bit & 1).any()
               for bit in range(bits_for(len(flags) - 1)))
