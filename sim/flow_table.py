"""Golden model of :class:`slique.hdl.FlowTable`."""

from amaranth.hdl import Shape

from slique.hdl.flow_table import LOOKUP_LATENCY, check_count, queue_shape


__all__ = ["FlowTable", "FlowLookup"]


class FlowLookup(tuple):
    """``(hit, index, queue)`` of one lookup (``index`` and ``queue`` 0 on a miss)."""
    __slots__ = ()

    def __new__(cls, hit=0, index=0, queue=0):
        return super().__new__(cls, (int(hit), index, queue))

    hit = property(lambda self: self[0])
    index = property(lambda self: self[1])
    queue = property(lambda self: self[2])


class FlowTable:
    """Cycle-accurate model of the exact-match flow table, with the gateware's parameters.

    :meth:`lookup` answers at once (a transaction); :meth:`step` is one cycle: it returns the
    registered result of the lookup :data:`~slique.hdl.flow_table.LOOKUP_LATENCY` cycles before,
    then looks ``key`` up (in the table as it is now, as the gateware's first stage) and applies
    a write.

    Parameters
    ----------
    entries, queues
        As for :class:`slique.hdl.FlowTable`.
    """

    def __init__(self, entries, queues):
        self.entries = check_count("entries", entries)
        self.queues = check_count("queues", queues)
        self.table = [None] * entries      # (match fields, queue) per valid entry
        self._queue_mask = (1 << Shape.cast(queue_shape(queues)).width) - 1
        self._index_mask = (1 << Shape.cast(range(entries)).width) - 1
        self._results = [FlowLookup()] * LOOKUP_LATENCY   # the oldest first

    def write(self, index, key, queue, valid=1):
        """Store ``key`` (a :class:`slique.sim.header_parser.FlowKey`) and ``queue`` at
        ``index`` (``valid=0`` clears it). Like the gateware's ports, ``index`` and ``queue`` are
        cut to their widths; an index of ``entries`` or more is then ignored."""
        index &= self._index_mask
        if index < self.entries:
            self.table[index] = (key.match_fields(), queue & self._queue_mask) if valid else None

    def lookup(self, key):
        """The :class:`FlowLookup` of ``key`` against the table as it is now."""
        if key.kind.ip:
            wanted = key.match_fields()
            for index, entry in enumerate(self.table):
                if entry is not None and entry[0] == wanted:
                    return FlowLookup(1, index, entry[1])
        return FlowLookup()

    def step(self, *, key, w_en=0, w_index=0, w_key=None, w_queue=0, w_valid=0):
        """The registered result during this cycle; then the clock edge (lookup, write)."""
        output = self._results[0]
        self._results = self._results[1:] + [self.lookup(key)]
        if w_en:
            self.write(w_index, w_key, w_queue, w_valid)
        return output
