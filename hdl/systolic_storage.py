"""Systolic storage: a chain of identical cells that talk only to their neighbours."""

from amaranth import *

from .storage import Storage, count_up_down


__all__ = ["SystolicStorage"]


class SystolicStorage(Storage):
    """Storage for a :class:`~slique.hdl.BoundedSlique` as a chain of ``depth`` identical cells.

    Cell 0 faces the consumer; its registers are ``o_stream.payload`` and ``o_stream.valid``.
    Every cell holds one payload register and one ``occupied`` flag; the flags form a thermometer
    code (cell ``i`` is occupied only if cell ``i - 1`` is). Each clock, a cell decides from its own
    flag and its two neighbours' flags alone:

    - when the consumer takes a beat (``o_stream.valid & o_stream.ready``), every cell loads its
      upstream neighbour's payload, and the cell whose neighbour is empty loads ``w_data``;
    - otherwise every empty cell loads ``w_data``, and ``w_en`` marks the first of them occupied.

    There are no read or write pointers and no address decoders: the only signals every cell
    sees are ``w_data`` and the read strobe, so the critical path does not grow with depth. A
    beat written into an empty chain is on ``o_stream`` in the next cycle.

    The caller guarantees that ``w_en`` is only asserted when there is room, i.e. when the chain
    is not full or when the consumer takes a beat in the same cycle.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of an entry.
    depth : int
        Number of cells (entries), at least 1.

    Attributes
    ----------
    w_data, w_en, o_stream
        As for :class:`~slique.hdl.storage.Storage`.
    """

    def elaborate(self, platform):
        m = Module()

        width = Shape.cast(self._shape).width
        payloads = [Signal(width, name=f"cell{index}_payload") for index in range(self._depth)]
        occupied = [Signal(name=f"cell{index}_occupied") for index in range(self._depth)]

        read = Signal()
        m.d.comb += read.eq(self.o_stream.valid & self.o_stream.ready)
        write = self.w_en
        w_data = Value.cast(self.w_data)

        for index in range(self._depth):
            downstream_occupied = occupied[index - 1] if index > 0 else C(1)
            upstream_occupied = occupied[index + 1] if index + 1 < self._depth else C(0)
            upstream_payload = payloads[index + 1] if index + 1 < self._depth else w_data

            # Payload: shift towards the consumer on a read, else fill while empty. Written as
            # one clock enable and one 2:1 select per cell, so a stored bit costs one LUT.
            load = Signal(name=f"cell{index}_load")
            take_upstream = Signal(name=f"cell{index}_take_upstream")
            m.d.comb += [
                load.eq(read | ~occupied[index]),
                take_upstream.eq(read & upstream_occupied),
            ]
            with m.If(load):
                m.d.sync += payloads[index].eq(Mux(take_upstream, upstream_payload, w_data))

            # Occupancy: the thermometer grows on a write alone and shrinks on a read alone.
            with m.If(write & ~read):
                m.d.sync += occupied[index].eq(downstream_occupied)
            with m.Elif(read & ~write):
                m.d.sync += occupied[index].eq(upstream_occupied)

        m.d.comb += [
            self.o_stream.valid.eq(occupied[0]),
            self.o_stream.payload.eq(payloads[0]),
            self.full.eq(occupied[-1]),
        ]
        count_up_down(m, self.level, up=write, down=read)
        return m
