"""Exact-match flow table: known connections steered to a queue of their own."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .header_parser import FlowKey


__all__ = ["FlowTable", "queue_shape", "check_count", "LOOKUP_LATENCY", "MATCH_CHUNK_BITS"]


#: Cycles from a key on ``key`` to its result on ``hit`` / ``index`` / ``queue``.
LOOKUP_LATENCY = 2

#: Bits compared per chunk in a lookup's first cycle: two LUT4 levels on ECP5 (four LUTs of two
#: bit pairs, then their AND); the 292 bits compared make 37 chunks, ANDed in three levels in
#: the second cycle.
MATCH_CHUNK_BITS = 8


def check_count(name, value, *, minimum=1, maximum=None):
    """Return ``value`` if it is an integer in ``minimum .. maximum``, else raise saying so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be at least {minimum}{upper}, not {value}")
    return value


def queue_shape(queues):
    """Shape of a queue number among ``queues`` queues (at least one bit)."""
    return unsigned(max(1, ceil_log2(queues)))


def _match_fields(key):
    """What the table compares: IP kind and transport, addresses and ports (not the VLAN)."""
    return Cat(key.kind.ipv4, key.kind.ipv6, key.kind.tcp, key.kind.udp, key.src, key.dst,
               key.src_port, key.dst_port)


class FlowTable(wiring.Component):
    """``entries`` exact-match entries on the flow 5-tuple, looked up once per cycle.

    An entry holds a :class:`~slique.hdl.header_parser.FlowKey` and a queue. A lookup key
    matches an entry that is valid when the IP kind (``ipv4`` / ``ipv6``), the transport flags
    (``tcp`` / ``udp``), both addresses and both ports are equal; the VLAN tag is not compared, and
    a key that is not IP matches nothing. When several entries match, the lowest index wins.
    Entries live in registers and are compared in parallel, so a lookup takes the same
    :data:`LOOKUP_LATENCY` cycles whatever ``entries`` is, one a cycle.

    A lookup is two register stages: the first compares the key with every entry in chunks of
    :data:`MATCH_CHUNK_BITS` bits and registers the chunks' equalities (with the entry's valid
    bit and queue, and whether the key is IP); the second ANDs them into the entry's match bit.
    (In one cycle, the 292-bit compare was six LUT levels on ECP5, 8.7 to 9.4 ns with its
    routing: short of 125 MHz.) The lookup sees the table as it is in its first cycle.

    Writes: ``w_en`` stores ``w_key``, ``w_queue`` and ``w_valid`` (0 clears the entry) at
    ``w_index``; lookups see it from the next cycle. A ``w_index`` of ``entries`` or more (when
    ``entries`` is not a power of two) is ignored.

    Parameters
    ----------
    entries : int
        Number of entries, at least 1.
    queues : int
        Number of queues (sets the width of the queue numbers).

    Attributes
    ----------
    key : ``In(FlowKey)``
        The key to look up, every cycle.
    hit, index, queue : ``Out(1)``, ``Out(range(entries))``, ``Out(queue_shape(queues))``
        Result of the lookup of :data:`LOOKUP_LATENCY` cycles before (``index`` and ``queue``
        are 0 on a miss): the entries' match bits and queues are registered, and a priority
        choice among them is all that stands between those registers and these outputs.
    w_index, w_key, w_queue, w_valid, w_en
        The write port.
    """

    def __init__(self, entries, queues):
        self._entries = check_count("entries", entries)
        self._queues = check_count("queues", queues)
        super().__init__({
            "key": In(FlowKey),
            "hit": Out(1),
            "index": Out(range(entries)),
            "queue": Out(queue_shape(queues)),
            "w_index": In(range(entries)),
            "w_key": In(FlowKey),
            "w_queue": In(queue_shape(queues)),
            "w_valid": In(1),
            "w_en": In(1),
        })

    entries = property(lambda self: self._entries, doc="Number of entries.")
    queues = property(lambda self: self._queues, doc="Number of queues.")

    def elaborate(self, platform):
        m = Module()

        wanted = _match_fields(self.key)
        # Whether the key is IP, registered once for every entry.
        is_ip = Signal(name="key_is_ip")
        m.d.sync += is_ip.eq(self.key.kind.ipv4 | self.key.kind.ipv6)
        matches = []
        queues = []
        for index in range(self._entries):
            valid = Signal(name=f"entry{index}_valid")
            fields = Signal(len(wanted), name=f"entry{index}_fields")
            queue = Signal(len(self.queue), name=f"entry{index}_queue")
            with m.If(self.w_en & (self.w_index == index)):
                m.d.sync += [
                    valid.eq(self.w_valid),
                    fields.eq(_match_fields(self.w_key)),
                    queue.eq(self.w_queue),
                ]
            # First cycle: the chunks' equalities, the entry's valid bit and queue as they are
            # now, registered.
            chunks = Signal(-(-len(wanted) // MATCH_CHUNK_BITS), name=f"entry{index}_chunks")
            valid_then = Signal(name=f"entry{index}_valid_then")
            queue_then = Signal(len(self.queue), name=f"entry{index}_queue_then")
            for chunk, start in enumerate(range(0, len(wanted), MATCH_CHUNK_BITS)):
                stop = min(start + MATCH_CHUNK_BITS, len(wanted))
                m.d.sync += chunks[chunk].eq(fields[start:stop] == wanted[start:stop])
            m.d.sync += [valid_then.eq(valid), queue_then.eq(queue)]
            # Second cycle: the match bit (and the queue beside it), registered.
            match = Signal(name=f"entry{index}_match")
            queue_matched = Signal(len(self.queue), name=f"entry{index}_queue_matched")
            m.d.sync += [
                match.eq(valid_then & is_ip & chunks.all()),
                queue_matched.eq(queue_then),
            ]
            matches.append(match)
            queues.append(queue_matched)

        hit, index, queue = C(0), C(0, len(self.index)), C(0, len(self.queue))
        for position in reversed(range(self._entries)):
            hit = matches[position] | hit
            index = Mux(matches[position], position, index)
            queue = Mux(matches[position], queues[position], queue)
        m.d.comb += [self.hit.eq(hit), self.index.eq(index), self.queue.eq(queue)]
        return m
