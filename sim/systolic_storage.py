"""Golden model of :class:`slique.hdl.SystolicStorage`."""

from dataclasses import dataclass

from slique.hdl.systolic_storage import SystolicStorage as _Gateware


__all__ = ["SystolicStorage"]


@dataclass
class _Cell:
    """One cell of the chain: a main register (offered downstream) and, if ``has_skid``, a skid
    register (a beat from upstream waiting while the main one is held)."""

    has_skid: bool
    valid: bool = False
    payload: int = None
    skid_valid: bool = False
    skid_payload: int = None

    def __len__(self):
        return self.valid + self.skid_valid


class SystolicStorage:
    """Cycle-accurate model of the systolic chain, cell by cell as the gateware has them.

    ``cells[0]`` faces the consumer (its main register is ``o_stream``); ``cells[-1]`` is the
    input cell. A cell's ``ready`` to upstream is ``not skid_valid`` of the cycle; at each clock
    edge every cell moves its main register on when it is empty or taken, refilling it from its
    skid register or from upstream, and parks a beat from upstream in the skid register while
    the main one is held. A write into an empty chain is on ``o_stream`` :attr:`latency`
    (``cells``) cycles later.

    Parameters
    ----------
    depth : int
        Most entries held.

    Attributes
    ----------
    cells : list of :class:`_Cell`
        The chain, consumer side first.
    writes_when_full_and_read : bool
        As :meth:`slique.hdl.SystolicStorage.writes_when_full_and_read` for ``depth``.
    latency : int
        ``len(cells)``.
    """

    def __init__(self, depth):
        self.depth = depth
        count = _Gateware.cells_for(depth)
        self.cells = [_Cell(has_skid=index < count - 1 or depth % 2 == 0)
                      for index in range(count)]
        self.writes_when_full_and_read = _Gateware.writes_when_full_and_read(depth)
        self.latency = count

    @property
    def o_valid(self):
        return self.cells[0].valid

    @property
    def o_payload(self):
        return self.cells[0].payload if self.cells[0].valid else None

    @property
    def full(self):
        """The input cell has no free slot (the gateware's ``full``, before the clock edge)."""
        last = self.cells[-1]
        if last.has_skid:
            return last.skid_valid
        if len(self.cells) > 1:
            return last.valid and self.cells[-2].skid_valid
        return last.valid

    def entries(self):
        """The payloads held, oldest first."""
        return [payload for cell in self.cells
                for valid, payload in ((cell.valid, cell.payload),
                                       (cell.skid_valid, cell.skid_payload)) if valid]

    def __len__(self):
        return sum(len(cell) for cell in self.cells)

    def clock(self, *, read, write, w_data):
        """The clock edge: the consumer took the oldest entry (``read``), ``w_data`` came in."""
        cells = self.cells
        take = [bool(read)] + [cells[index].valid and not cells[index - 1].skid_valid
                               for index in range(1, len(cells))]
        # Every cell sees its upstream neighbour's registers as they were before the edge.
        upstream = [(take[index + 1], cells[index + 1].payload)
                    for index in range(len(cells) - 1)] + [(bool(write), w_data)]
        for cell, taken, (accept, up_payload) in zip(cells, take, upstream):
            if taken or not cell.valid:
                if cell.skid_valid:
                    cell.payload = cell.skid_payload
                    cell.skid_valid = accept
                    cell.skid_payload = up_payload if accept else None
                else:
                    cell.valid = accept
                    cell.payload = up_payload if accept else None
            elif accept:
                assert cell.has_skid and not cell.skid_valid, "write into a full cell"
                cell.skid_valid = True
                cell.skid_payload = up_payload
