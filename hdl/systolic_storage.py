"""Systolic storage: a chain of identical cells that talk only to their neighbours."""

from amaranth import *

from .storage import Storage, count_up_down


__all__ = ["SystolicStorage"]


class SystolicStorage(Storage):
    """Storage for a :class:`~slique.hdl.BoundedSlique` as a chain of two-entry elastic cells.

    The chain has ``cells = ceil(depth / 2)`` cells. Cell 0 faces the consumer: its main register
    is ``o_stream.payload`` / ``o_stream.valid``. The last cell, the *input cell*, takes
    ``w_data``. Every cell is a skid buffer: a main register (what it offers downstream) and a
    skid register (where a beat from upstream waits while downstream does not take the main
    one). A cell's ``ready`` to its upstream neighbour is a register, ``~skid_valid``; when
    ``depth`` is odd, the input cell has no skid register, so that the chain holds exactly
    ``depth`` entries. Each clock, a cell decides from its own registers, its upstream
    neighbour's ``main_valid`` and its downstream neighbour's ``ready`` alone:

    - its main register moves on when it is empty or taken; it then loads the skid register if
      that is full, else what upstream offers;
    - while its main register is held, a beat from upstream goes into the skid register.

    No control signal reaches more than one neighbour in a cycle: the consumer's ``ready`` goes
    to cell 0 only, ``w_en`` to the input cell only, and there are no read or write pointers, so
    the critical path does not grow with depth. A beat walks one cell per cycle: a beat written
    into an empty chain is on ``o_stream`` :attr:`latency` ``= cells`` cycles later.

    ``level`` is counted at the ends of the chain (up on a write, down on a read) by one
    up/down counter. ``full`` is "the input cell has no free slot": its skid register is full
    (or, without one, its main register is full and not moving on), from registers through at
    most one gate. It is also high, for a few cycles, when the chain holds fewer than ``depth``
    entries but the free slot has not yet walked up to the input cell.

    The room of a chain of two or more cells does not depend on the consumer: a full chain
    takes no beat in a cycle in which one leaves (:meth:`writes_when_full_and_read` is false);
    the freed slot reaches the input cell at most ``cells`` cycles later, and from then on the
    chain moves one beat per cycle in and out. A chain of one cell (depth 1 or 2) has the consumer's
    ``ready`` at hand: it takes a beat while full when one leaves, as a ring does.

    The caller guarantees that ``w_en`` is only asserted when there is room, i.e. when ``full``
    is low, or (one cell) when the consumer takes a beat in the same cycle.

    Parameters
    ----------
    shape : :ref:`shape-like <lang-shapelike>`
        Shape of an entry.
    depth : int
        Number of entries, at least 1.

    Attributes
    ----------
    w_data, w_en, o_stream, level, full
        As for :class:`~slique.hdl.storage.Storage`.
    cells : int
        Cells in the chain, ``ceil(depth / 2)``.
    latency : int
        Cycles from a write into an empty chain until the beat is on ``o_stream``: ``cells``.
    """

    @staticmethod
    def cells_for(depth):
        """Cells in a chain of ``depth`` entries: ``ceil(depth / 2)``."""
        return (depth + 1) // 2

    @classmethod
    def writes_when_full_and_read(cls, depth):
        """Only a chain of one cell takes a beat while full in a cycle in which one leaves."""
        return cls.cells_for(depth) == 1

    @property
    def cells(self):
        return self.cells_for(self._depth)

    @property
    def latency(self):
        return self.cells

    def elaborate(self, platform):
        m = Module()

        width = Shape.cast(self._shape).width
        cells = self.cells
        # Cells 0 .. cells - 2 hold two entries; the input cell two (even depth) or one.
        has_skid = [index < cells - 1 or self._depth % 2 == 0 for index in range(cells)]
        main_valid = [Signal(name=f"cell{index}_valid") for index in range(cells)]
        main_payload = [Signal(width, name=f"cell{index}_payload") for index in range(cells)]
        skid_valid = [Signal(name=f"cell{index}_skid_valid") if has_skid[index] else C(0)
                      for index in range(cells)]
        skid_payload = [Signal(width, name=f"cell{index}_skid_payload") if has_skid[index]
                        else None for index in range(cells)]

        read = Signal()
        m.d.comb += read.eq(self.o_stream.valid & self.o_stream.ready)

        # take[i]: cell i's main register moves downstream at this edge (cell 0: to the
        # consumer); a cell's ready to its upstream neighbour is ~skid_valid, a register.
        take = [read] + [Signal(name=f"cell{index}_take") for index in range(1, cells)]
        for index in range(1, cells):
            m.d.comb += take[index].eq(main_valid[index] & ~skid_valid[index - 1])

        for index in range(cells):
            is_input = index == cells - 1
            accept = self.w_en if is_input else take[index + 1]
            up_payload = Value.cast(self.w_data) if is_input else main_payload[index + 1]

            # Main register: moves on when empty or taken, refilled from the skid register if
            # it holds a beat, else from upstream (one 2:1 select and one enable per bit).
            move_on = Signal(name=f"cell{index}_move_on")
            m.d.comb += move_on.eq(take[index] | ~main_valid[index])
            with m.If(move_on):
                if has_skid[index]:
                    m.d.sync += [
                        main_payload[index].eq(Mux(skid_valid[index], skid_payload[index],
                                                   up_payload)),
                        main_valid[index].eq(skid_valid[index] | accept),
                        skid_valid[index].eq(skid_valid[index] & accept),
                    ]
                else:
                    m.d.sync += [
                        main_payload[index].eq(up_payload),
                        main_valid[index].eq(accept),
                    ]
            if has_skid[index]:
                with m.If(~move_on & accept):
                    m.d.sync += skid_valid[index].eq(1)
                # The skid register loads whatever upstream offers while it is free (its valid
                # flag says whether that was a beat), and when it empties into main.
                with m.If(~skid_valid[index] | take[index]):
                    m.d.sync += skid_payload[index].eq(up_payload)

        # The input cell has no free slot: its skid register is full, or (no skid register)
        # its main register is full and, in a chain of two cells or more, not taken next.
        last = cells - 1
        if has_skid[last]:
            full = skid_valid[last]
        elif cells > 1:
            full = main_valid[last] & skid_valid[last - 1]
        else:
            full = main_valid[last]

        m.d.comb += [
            self.o_stream.valid.eq(main_valid[0]),
            self.o_stream.payload.eq(main_payload[0]),
            self.full.eq(full),
        ]
        count_up_down(m, self.level, up=self.w_en, down=read)
        return m
