"""Systolic storage: a chain of identical cells that talk only to their neighbours."""

from amaranth import *

from .storage import Storage, count_up_down_registered


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

    ``level`` is counted at the ends of the chain (up on a write, down on a read) by an
    up/down counter whose strobes are registered first
    (:func:`~slique.hdl.storage.count_up_down_registered`): they meet in one gate before a
    flip-flop, not before a carry chain, and ``level`` is a selection among registers.
    ``full`` is "the input cell has no free slot": its skid register is full (or, without one,
    its main register is full and not moving on). It is also high, for a few
    cycles, when the chain holds fewer than ``depth`` entries but the free slot has not yet
    walked up to the input cell. ``full`` and the counter's view of cell 0 come from registers
    of their own (``room``, ``empty``: copies of the flags, computed from the same next-state
    equations), so that the ends' loads (the producer's ready, the counter's strobes) do not
    share a net with the cells' payload registers; the flags are next-state equations of at
    most four registers each, without clock enables.

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

        # down_ready[i]: cell i's main register may move downstream at this edge: the consumer's
        # ready for cell 0, else the downstream cell's ready, ~skid_valid (a register).
        down_ready = [self.o_stream.ready] + [~skid_valid[index - 1] for index in range(1, cells)]
        main_valid_next = [Signal(name=f"cell{index}_valid_next") for index in range(cells)]
        skid_valid_next = [Signal(name=f"cell{index}_skid_valid_next") if has_skid[index]
                           else C(0) for index in range(cells)]

        for index in range(cells):
            is_input = index == cells - 1
            # A beat comes from upstream at this edge: w_en, or the upstream cell's main
            # register moving down (it is valid, and this cell's skid register is free).
            accept = Signal(name=f"cell{index}_accept")
            m.d.comb += accept.eq(self.w_en if is_input
                                  else main_valid[index + 1] & ~skid_valid[index])
            up_payload = Value.cast(self.w_data) if is_input else main_payload[index + 1]

            # The main register moves on when it is empty or taken.
            move_on = Signal(name=f"cell{index}_move_on")
            m.d.comb += move_on.eq(~main_valid[index] | down_ready[index])

            # The flags as next-state equations of at most four registers (one LUT4 each, and
            # no clock enable built from them): the main register stays full while held, or is
            # refilled from the skid register or from upstream; the skid register fills while
            # the main one is held, and (one-cell chain only) refills as it empties into main.
            m.d.comb += main_valid_next[index].eq(~move_on | skid_valid[index] | accept)
            m.d.sync += main_valid[index].eq(main_valid_next[index])
            if has_skid[index]:
                m.d.comb += skid_valid_next[index].eq(
                    (~move_on & (skid_valid[index] | accept)) | (skid_valid[index] & accept))
                m.d.sync += skid_valid[index].eq(skid_valid_next[index])

            # Payloads: one clock enable per register and cell, one 2:1 select per bit.
            with m.If(move_on):
                m.d.sync += main_payload[index].eq(
                    Mux(skid_valid[index], skid_payload[index], up_payload) if has_skid[index]
                    else up_payload)
            if has_skid[index]:
                # The skid register loads what upstream offers while it is free (its flag says
                # whether that was a beat); a one-cell chain also refills it as it empties.
                refill = ~skid_valid[index]
                if cells == 1:
                    refill = refill | (main_valid[index] & down_ready[index])
                with m.If(refill):
                    m.d.sync += skid_payload[index].eq(up_payload)

        # full: the input cell has no free slot: its skid register is full, or (no skid
        # register) its main register is full and, in a chain of two cells or more, not taken
        # next. Kept in a register of its own, ``room`` (inverted, so that synthesis does not
        # merge it with a cell's flag): the input cell's flags fan out to its payload
        # registers, while ``room`` goes to the producer's ready and the level counter.
        last = cells - 1
        if has_skid[last]:
            full_next = skid_valid_next[last]
        elif cells > 1:
            full_next = main_valid_next[last] & skid_valid_next[last - 1]
        else:
            full_next = main_valid_next[last]
        room = Signal(name="room", init=1)
        m.d.sync += room.eq(~full_next)
        full = ~room

        m.d.comb += [
            self.o_stream.valid.eq(main_valid[0]),
            self.o_stream.payload.eq(main_payload[0]),
            self.full.eq(full),
        ]
        # The level counter sees the reads through a copy of cell 0's valid flag (inverted, as
        # ``room``), whose only load is the counter: cell 0's flag fans out to its payload.
        empty = Signal(name="empty", init=1)
        m.d.sync += empty.eq(~main_valid_next[0])
        count_up_down_registered(m, self.level, up=self.w_en, down=~empty & self.o_stream.ready)
        return m
