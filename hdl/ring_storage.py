"""Ring storage: a memory with head and tail, for deep sliques that belong in block RAM."""

from amaranth import *
from amaranth.lib.memory import Memory
from amaranth.utils import ceil_log2

from .storage import Storage


__all__ = ["RingStorage"]


def _increment(pointer, modulo):
    if modulo == 1 << len(pointer):
        return pointer + 1
    return Mux(pointer == modulo - 1, 0, pointer + 1)


class RingStorage(Storage):
    """Storage for a :class:`~slique.hdl.BoundedSlique` as a memory-backed ring.

    Entries are written at the ``tail`` of a ring of ``max(depth, 2)`` memory words and fetched
    from its ``head`` through the memory's synchronous read port, whose output register is
    ``o_stream.payload`` (so the read data goes straight from the block RAM to the consumer). A
    fetch happens whenever the ring is not empty and the output is empty or being consumed, so
    one entry moves in and one out every cycle. An entry written into an empty ring reaches
    ``o_stream`` two cycles later.

    The ring has one word more than it can ever hold (at most ``depth - 1`` entries wait in the
    ring while the output register holds one), so ``head == tail`` alone means empty and a write
    never lands on the word being fetched: no read-during-write hazard, whatever the RAM.

    The caller guarantees that ``w_en`` is only asserted when there is room (fewer than ``depth``
    entries held in all, or the consumer takes a beat in the same cycle).

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of an entry.
    depth : int
        Number of entries held at most (ring and output register together), at least 1.

    Attributes
    ----------
    w_data, w_en, o_stream
        As for :class:`~slique.hdl.storage.Storage`.
    """

    @property
    def words(self):
        """Number of memory words: ``depth``, or 2 for a depth of 1."""
        return max(self._depth, 2)

    def elaborate(self, platform):
        m = Module()

        width = Shape.cast(self._shape).width
        m.submodules.memory = memory = Memory(shape=width, depth=self.words, init=[])
        write_port = memory.write_port()
        read_port = memory.read_port(domain="sync")

        head = Signal(range(self.words))
        tail = Signal(range(self.words))

        fetch = Signal()
        m.d.comb += fetch.eq((head != tail) & (~self.o_stream.valid | self.o_stream.ready))

        m.d.comb += [
            write_port.addr.eq(tail),
            write_port.data.eq(self.w_data),
            write_port.en.eq(self.w_en),
            read_port.addr.eq(head),
            read_port.en.eq(fetch),
            self.o_stream.payload.eq(read_port.data),
        ]
        with m.If(self.w_en):
            m.d.sync += tail.eq(_increment(tail, self.words))
        with m.If(fetch):
            m.d.sync += [
                head.eq(_increment(head, self.words)),
                self.o_stream.valid.eq(1),
            ]
        with m.Elif(self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)
        return m
