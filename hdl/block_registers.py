"""The register maps of the flow blocks, and how each map is bound to its block's ports.

One :class:`~slique.hdl.registers.RegisterMap` per block, as ``TRACE_REGISTERS`` is for the trace
stream: :data:`ADMISSION_REGISTERS` (:class:`~slique.hdl.BurstAdmission`),
:data:`REORDER_REGISTERS` (:class:`~slique.hdl.SidelineReorder`) and :data:`DEMUX_REGISTERS`
(:class:`~slique.hdl.FlowDemux`, with the i225's MRQC, RETA and RSSRK at the i225's offsets);
the ``*_registers()`` functions build them for other block parameters. ``docs/registers.md``
and the drivers' constants are generated from them (:mod:`slique.regmap`).

A *binding* (:func:`admission_binding`, ...) says which register drives or reads which port of
the block; :class:`~slique.hdl.RegisteredBlock` (gateware) and
:class:`slique.sim.RegisteredBlock` (golden model) both follow it, so the wiring is written
once. The kinds of binding:

:class:`Config`
    An ``rw`` register (or field) drives a configuration input. A register wider than the port
    saturates to the port's largest value (a depth of ``0xFFFF_FFFF`` is "the whole slique").
:class:`Counter`
    A saturating counter of the block feeds an ``rc`` register: the wrapper turns the
    counter's increments into the register's ``inc`` (comparing its low ``inc_width`` bits with
    their value a cycle before), so the register counts exactly what the block counts, one
    cycle later, and a clearing read loses nothing. ``cause`` names a ``w1c`` bit raised with
    every increment.
:class:`Status`
    The block drives an ``r`` register.
:class:`Words`
    ``rw`` array elements, concatenated, drive a wide input (the RSS key, a flow-table key);
    ``byte_order="rssrk"``: byte ``j`` of the input (first byte most significant) is byte
    ``j % 4`` (bits ``8 (j % 4) + 7 : 8 (j % 4)``) of element ``j // 4``, as the i225 and the
    igc driver lay the 40-byte key out in RSSRK[0..9].
:class:`Table`
    ``rw`` array elements with one field per table entry (the i225 RETA: four entries per
    register, entry ``4 n + k`` in byte ``k`` of RETA[n]) are copied into the block's table
    through its write port, one entry per cycle, round robin over every entry: the table
    follows the registers within ``entries`` cycles of a write.
:class:`Command`
    A write to a ``w`` register (its ``strobe`` field selected) pulses the block's write strobe
    a cycle later, with the block's inputs loaded from the written fields (the flow-table
    entry write).
"""

from dataclasses import dataclass

from amaranth.utils import bits_for, ceil_log2

from .bounded_slique import COUNTER_WIDTH
from .registers import Field, Register, RegisterArray, RegisterMap


__all__ = ["Config", "Counter", "Status", "Words", "Table", "Command", "bound_ports",
           "admission_registers",
           "admission_binding", "reorder_registers", "reorder_binding", "demux_registers",
           "demux_binding", "ADMISSION_REGISTERS", "REORDER_REGISTERS", "DEMUX_REGISTERS",
           "MRQC_OFFSET", "RETA_OFFSET", "RSSRK_OFFSET", "RETA_ENTRIES_PER_REGISTER"]


#: The i225's offsets (``igc_regs.h``: ``IGC_MRQC``, ``IGC_RETA(i)``, ``IGC_RSSRK(i)``).
MRQC_OFFSET = 0x5818
RETA_OFFSET = 0x5C00
RSSRK_OFFSET = 0x5C80

#: RETA entries per 32-bit register (one byte lane each), as the i225 packs them.
RETA_ENTRIES_PER_REGISTER = 4

_ALL_ONES = (1 << 32) - 1


@dataclass(frozen=True)
class Config:
    """``port`` (a flattened port name of the block) <- an ``rw`` register or field (``None``:
    the register's whole word)."""
    port: str
    register: str
    field: "str | None" = None


@dataclass(frozen=True)
class Counter:
    """Counter ``port`` of the block -> ``rc`` ``register`` (element ``index``); ``cause``:
    ``(register, field)`` of a ``w1c`` bit raised with each increment."""
    port: str
    register: str
    index: "int | None" = None
    cause: "tuple | None" = None


@dataclass(frozen=True)
class Status:
    """``port`` of the block -> ``r`` ``register`` (element ``index``)."""
    port: str
    register: str
    index: "int | None" = None


@dataclass(frozen=True)
class Words:
    """``port`` <- the elements of ``rw`` array ``register``, element 0 lowest; ``byte_order``
    ``"rssrk"`` reverses the bytes (see the module documentation)."""
    port: str
    register: str
    byte_order: str = "little"


@dataclass(frozen=True)
class Table:
    """The block's table write port (``index``, ``value``, ``write`` ports) <- the fields of
    ``rw`` array ``register``, ``fields`` entries per element; ``entries`` in all."""
    index: str
    value: str
    write: str
    register: str
    fields: tuple
    entries: int


@dataclass(frozen=True)
class Command:
    """A bus write to ``w`` register ``register`` selecting field ``strobe``: a cycle later,
    ``write`` (a port) is high for one cycle and ``ports`` (``{port: field}``) hold the
    written fields."""
    register: str
    strobe: str
    write: str
    ports: tuple


def bound_ports(binding):
    """The block's top-level port names a binding uses (they are not exposed by the wrapper)."""
    names = set()
    for item in binding:
        if isinstance(item, Table):
            ports = [item.index, item.value, item.write]
        elif isinstance(item, Command):
            ports = [item.write, *(port for port, _field in item.ports)]
        else:
            ports = [item.port]
        names.update(port.split("__")[0] for port in ports)
    return names


# -- burst admission ---------------------------------------------------------------------------

def admission_registers(*, fraction_bits=16, token_bits=16, name="burst_admission"):
    """The register map of a :class:`~slique.hdl.BurstAdmission` with these bucket widths
    (``fraction_bits + token_bits`` at most 32: the rate is one register)."""
    if fraction_bits + token_bits > 32:
        raise ValueError(f"The register map holds the refill rate in one register: "
                         f"fraction_bits + token_bits must be at most 32, not "
                         f"{fraction_bits} + {token_bits}")
    rate = f"{token_bits}.{fraction_bits}"
    counters = [
        ("ADMISSION_OFFERED", 0x20, "Beats offered."),
        ("ADMISSION_ACCEPTED", 0x24, "Beats accepted into the slique."),
        ("ADMISSION_DELIVERED", 0x28, "Beats taken from the slique."),
        ("ADMISSION_DROP_BURST", 0x2C, "Beats dropped between S and B with no token "
                                       "(BURST_EXHAUSTED)."),
        ("ADMISSION_DROP_LIMIT", 0x30, "Beats dropped at B (HARD_LIMIT)."),
    ]
    return RegisterMap(name, doc=(
        "Burst admission (`slique.hdl.BurstAdmission`): steady depth S, burst depth B, token "
        "bucket of capacity C refilled by r = REFILL_RATE / REFILL_DENOMINATOR tokens per cycle "
        "(see `docs/burst_admission.md`). Configuration takes effect in the block two cycles "
        "after the write is acknowledged and may change while traffic flows. Counters are the "
        "block's own, mirrored one cycle later into read-to-clear registers: "
        "`OFFERED == DELIVERED + DROP_BURST + DROP_LIMIT + LEVEL` over the reads."), registers=[
        Register("ADMISSION_STEADY", 0x00, "rw", reset=_ALL_ONES, doc=(
            "S, the steady depth: below it every beat is accepted. Values beyond the port "
            "saturate (the reset value acts as the slique's depth).")),
        Register("ADMISSION_BURST", 0x04, "rw", reset=_ALL_ONES, doc=(
            "B, the burst depth (the hard limit); at most the slique's depth (larger acts as "
            "the depth).")),
        Register("ADMISSION_CAPACITY", 0x08, "rw", doc=(
            f"C, the bucket capacity in tokens; saturates at {(1 << token_bits) - 1}.")),
        Register("ADMISSION_RATE", 0x0C, doc=(
            f"r, the refill rate in tokens per cycle, fixed point {rate}: INTEGER + FRACTION / "
            f"D, D from ADMISSION_DENOMINATOR."), fields=[
            Field("FRACTION", (fraction_bits - 1, 0), "rw", "Fraction, in units of 1 / D."),
            Field("INTEGER", (fraction_bits + token_bits - 1, fraction_bits), "rw",
                  "Whole tokens per cycle."),
        ]),
        Register("ADMISSION_DENOMINATOR", 0x10, doc="D, what the rate's fraction counts in.",
                 fields=[Field("D", (fraction_bits - 1, 0), "rw",
                               f"0 means 2**{fraction_bits} (binary fixed point); 7 makes "
                               f"FRACTION = 3 exactly 3/7 token per cycle.")]),
        Register("ADMISSION_LEVEL", 0x14, "r", doc="Beats in the slique."),
        Register("ADMISSION_TOKENS", 0x18, "r", doc="Whole tokens in the bucket."),
        Register("ADMISSION_TOKEN_FRACTION", 0x1C, "r",
                 doc="The fraction of a token in the bucket, in units of 1 / D."),
        *[Register(register, offset, "rc", doc=f"{doc} Read-to-clear, saturating.")
          for register, offset, doc in counters],
        Register("ADMISSION_CAUSE", 0x34, doc=(
            "Drop causes since last cleared (an interrupt cause register): write 1 to clear."),
            fields=[Field("BURST_EXHAUSTED", 0, "w1c", "A beat was dropped for lack of a token."),
                    Field("HARD_LIMIT", 1, "w1c", "A beat was dropped at the burst depth.")]),
    ])


def admission_binding():
    """How :func:`admission_registers` drives and reads a :class:`~slique.hdl.BurstAdmission`."""
    return (
        Config("steady_depth", "ADMISSION_STEADY"),
        Config("burst_depth", "ADMISSION_BURST"),
        Config("bucket_capacity", "ADMISSION_CAPACITY"),
        Config("refill_rate", "ADMISSION_RATE"),
        Config("refill_denominator", "ADMISSION_DENOMINATOR"),
        Status("level", "ADMISSION_LEVEL"),
        Status("tokens", "ADMISSION_TOKENS"),
        Status("token_fraction", "ADMISSION_TOKEN_FRACTION"),
        Counter("offered", "ADMISSION_OFFERED"),
        Counter("accepted", "ADMISSION_ACCEPTED"),
        Counter("delivered", "ADMISSION_DELIVERED"),
        Counter("dropped_burst_exhausted", "ADMISSION_DROP_BURST",
                cause=("ADMISSION_CAUSE", "BURST_EXHAUSTED")),
        Counter("dropped_hard_limit", "ADMISSION_DROP_LIMIT",
                cause=("ADMISSION_CAUSE", "HARD_LIMIT")),
    )


# -- sideline reorder --------------------------------------------------------------------------

def reorder_registers(*, name="sideline_reorder"):
    """The register map of a :class:`~slique.hdl.SidelineReorder`."""
    return RegisterMap(name, doc=(
        "Sideline reorder buffer (`slique.hdl.SidelineReorder`): the gap timeout, the expected "
        "sequence, and a read-to-clear counter per outcome (the block's own counters, mirrored "
        "one cycle later): `OFFERED == DELIVERED + DROP_DUPLICATE + DROP_EVICTED + LEVEL` over "
        "the reads, once the output register is empty."), registers=[
        Register("REORDER_GAP_TIMEOUT", 0x00, "rw", reset=_ALL_ONES, doc=(
            "Cycles a gap may last before it is skipped (0: at once); saturates at the block's "
            "`timeout_width`, so the reset value is the longest wait.")),
        Register("REORDER_EXPECTED", 0x04, "r", doc="The next sequence to deliver."),
        Register("REORDER_LEVEL", 0x08, "r", doc="Beats held in the sideline."),
        Register("REORDER_OFFERED", 0x10, "rc", doc="Beats taken in. Read-to-clear."),
        Register("REORDER_DELIVERED", 0x14, "rc", doc="Beats delivered in order. Read-to-clear."),
        Register("REORDER_DROP_DUPLICATE", 0x18, "rc",
                 doc="Duplicates dropped (PACKET_DUPLICATE). Read-to-clear."),
        Register("REORDER_DROP_EVICTED", 0x1C, "rc",
                 doc="Held beats evicted from a full sideline (SIDELINE_EVICTED). Read-to-clear."),
        Register("REORDER_GAPS_SKIPPED", 0x20, "rc", inc_width=COUNTER_WIDTH, doc=(
            "Sequences skipped by gap timeouts (GAP_SKIPPED; sequences, not beats). "
            "Read-to-clear.")),
        Register("REORDER_CAUSE", 0x24, doc="Outcomes since last cleared: write 1 to clear.",
                 fields=[Field("DUPLICATE", 0, "w1c", "A duplicate was dropped."),
                         Field("EVICTED", 1, "w1c", "A held beat was evicted."),
                         Field("GAP_SKIPPED", 2, "w1c", "A gap was skipped.")]),
    ])


def reorder_binding():
    """How :func:`reorder_registers` drives and reads a :class:`~slique.hdl.SidelineReorder`."""
    return (
        Config("gap_timeout", "REORDER_GAP_TIMEOUT"),
        Status("expected", "REORDER_EXPECTED"),
        Status("level", "REORDER_LEVEL"),
        Counter("offered", "REORDER_OFFERED"),
        Counter("delivered", "REORDER_DELIVERED"),
        Counter("dropped_duplicate", "REORDER_DROP_DUPLICATE",
                cause=("REORDER_CAUSE", "DUPLICATE")),
        Counter("dropped_evicted", "REORDER_DROP_EVICTED", cause=("REORDER_CAUSE", "EVICTED")),
        Counter("gaps_skipped", "REORDER_GAPS_SKIPPED", cause=("REORDER_CAUSE", "GAP_SKIPPED")),
    )


# -- flow demux --------------------------------------------------------------------------------

#: The demux's drop reasons, as ``(DropReason name, register, cause bit)``.
_DEMUX_DROPS = (("TRUNCATED", "DEMUX_DROP_TRUNCATED", 0), ("MALFORMED", "DEMUX_DROP_MALFORMED", 1),
                ("OVERSIZE", "DEMUX_DROP_OVERSIZE", 2),
                ("UNKNOWN_FLOW", "DEMUX_DROP_UNKNOWN_FLOW", 3),
                ("QUEUE_FULL", "DEMUX_DROP_QUEUE_FULL", 4))

#: Bytes between the per-queue register groups (``DEMUX_QDELIVERED(n) = 0x6000 + 0x10 n``).
QUEUE_STRIDE = 0x10

#: Width of a flow-table key, in bits (:class:`~slique.hdl.header_parser.FlowKey`).
FLOW_KEY_BITS = 309


def demux_registers(*, queues=4, flow_entries=4, key_bytes=40, name="flow_demux"):
    """The register map of a :class:`~slique.hdl.FlowDemux` with these parameters."""
    queue_bits = max(1, ceil_log2(queues))
    index_bits = bits_for(flow_entries - 1)
    if queue_bits > 8 or index_bits > 16:
        raise ValueError(f"The register map has 8 bits for a queue and 16 for a flow index, "
                         f"not {queue_bits} and {index_bits}")
    key_words = -(-key_bytes // 4)
    mrqc_fields = [
        Field("ENABLE", (2, 0), "rw", "Multiple receive queues: 0b010 is RSS; anything else "
                                      "sends every frame to DEMUX_CTRL.DEFAULT_QUEUE."),
        Field("TCPIPV4", 16, "rw", "Hash TCP over IPv4 on addresses and ports."),
        Field("IPV4", 17, "rw", "Hash IPv4 on addresses."),
        Field("IPV6", 20, "rw", "Hash IPv6 on addresses."),
        Field("TCPIPV6", 21, "rw", "Hash TCP over IPv6 on addresses and ports."),
        Field("UDPIPV4", 22, "rw", "Hash UDP over IPv4 on addresses and ports."),
        Field("UDPIPV6", 23, "rw", "Hash UDP over IPv6 on addresses and ports."),
    ]
    per_queue = [
        ("DEMUX_QDELIVERED", 0x6000, "rc", "Packets delivered by queue n. Read-to-clear."),
        ("DEMUX_QFULL", 0x6004, "rc", "Packets dropped because queue n was full. Read-to-clear."),
        ("DEMUX_QLEVEL", 0x6008, "r", "Beats held by queue n."),
    ]
    return RegisterMap(name, doc=(
        "Flow demux (`slique.hdl.FlowDemux`): RSS as on the Intel i225 (MRQC, RETA and RSSRK at "
        "the i225's offsets and with its layout), the exact-match flow table, strict mode, the "
        "default queue, and read-to-clear counters by reason and by queue (the block's own "
        "counters, mirrored one cycle later): `DEMUX_OFFERED == sum(DEMUX_QDELIVERED) + "
        "sum(DEMUX_DROP_*)` over the reads, once nothing is in flight. The registers of "
        "slique's own are at 0x5E00 and up and 0x6000 and up, where the i225 has none of the "
        "registers this block mirrors."), registers=[
        Register("DEMUX_CTRL", 0x5E00, doc="Steering control.", fields=[
            Field("STRICT", 0, "rw", "Drop IP packets whose flow is not in the flow table "
                                     "(UNKNOWN_FLOW, with an RST request)."),
            Field("DEFAULT_QUEUE", (7 + queue_bits, 8), "rw",
                  "Queue of frames RSS does not place (not IP, RSS off, hash type off)."),
        ]),
        Register("MRQC", MRQC_OFFSET, reset=0, fields=mrqc_fields, doc=(
            "Multiple Receive Queues Command, as the i225's: RSS enable and the hash types. "
            "TCP / UDP frames get the port hash when their type is on, else the address hash "
            "when that is on for their IP version, else no RSS.")),
        RegisterArray("RETA", RETA_OFFSET, 128 // RETA_ENTRIES_PER_REGISTER, 4, doc=(
            "Redirection table, as the i225's: entry 4n + k (indexed by the low 7 bits of the "
            "hash) is byte k of RETA[n], a queue number (a number of `queues` or more means "
            "queue 0). The block's table follows within 128 cycles of a write; resets to 0."),
            fields=[Field(f"ENTRY{entry}", (8 * entry + queue_bits - 1, 8 * entry), "rw",
                          f"Queue of entry 4n + {entry}.")
                    for entry in range(RETA_ENTRIES_PER_REGISTER)]),
        RegisterArray("RSSRK", RSSRK_OFFSET, key_words, 4, "rw", doc=(
            "RSS random key, as the i225's: key byte 4n + k is byte k (bits 8k+7:8k) of "
            "RSSRK[n], as the igc driver writes it from the byte array. Read by the block at "
            "each packet's first beat.")),
        Register("DEMUX_FLOW_WRITE", 0x5E04, doc=(
            "Flow-table entry write: writing this register (byte lane 0 selected) loads entry "
            "INDEX with the key in DEMUX_FLOW_KEY, QUEUE and VALID, one cycle later; lookups "
            "see it from the cycle after."), fields=[
            Field("INDEX", (15, 0), "w", f"Entry, below {flow_entries}."),
            Field("QUEUE", (23, 16), "w", "Queue of the flow."),
            Field("VALID", 31, "w", "1: the entry matches; 0: it is free."),
        ]),
        RegisterArray("DEMUX_FLOW_KEY", 0x5E10, -(-FLOW_KEY_BITS // 32), 4, "rw", doc=(
            "The 5-tuple of the next DEMUX_FLOW_WRITE: the bits of a "
            "`slique.hdl.header_parser.FlowKey` (kind, vlan, src, dst, src_port, dst_port, "
            "least significant first), 32 per element, element 0 lowest.")),
        Register("DEMUX_OFFERED", 0x5E40, "rc", doc="Packets offered. Read-to-clear."),
        *[Register(register, 0x5E44 + 4 * bit, "rc",
                   doc=f"Packets dropped as {reason}. Read-to-clear.")
          for reason, register, bit in _DEMUX_DROPS],
        Register("DEMUX_RST_LOST", 0x5E58, "rc", doc=(
            "RST requests lost because their slique was full. Read-to-clear.")),
        Register("DEMUX_CAUSE", 0x5E5C, doc="Drops since last cleared: write 1 to clear.",
                 fields=[*[Field(reason, bit, "w1c", f"A packet was dropped as {reason}.")
                           for reason, _register, bit in _DEMUX_DROPS],
                         Field("RST_LOST", 5, "w1c", "An RST request was lost.")]),
        *[RegisterArray(register, offset, queues, QUEUE_STRIDE, access, doc=doc)
          for register, offset, access, doc in per_queue],
    ])


def demux_binding(*, queues=4, key_bytes=40):
    """How :func:`demux_registers` drives and reads a :class:`~slique.hdl.FlowDemux`."""
    return (
        Config("strict", "DEMUX_CTRL", "STRICT"),
        Config("default_queue", "DEMUX_CTRL", "DEFAULT_QUEUE"),
        Config("mrqc", "MRQC"),
        Words("key", "RSSRK", byte_order="rssrk"),
        Table("reta_index", "reta_value", "reta_write", "RETA",
              tuple(f"ENTRY{entry}" for entry in range(RETA_ENTRIES_PER_REGISTER)), 128),
        Words("flow_key", "DEMUX_FLOW_KEY"),
        Command("DEMUX_FLOW_WRITE", "INDEX", "flow_write",
                (("flow_index", "INDEX"), ("flow_queue", "QUEUE"), ("flow_valid", "VALID"))),
        Counter("offered", "DEMUX_OFFERED"),
        *[Counter(f"dropped_{reason.lower()}", register, cause=("DEMUX_CAUSE", reason))
          for reason, register, _bit in _DEMUX_DROPS],
        Counter("rst_lost", "DEMUX_RST_LOST", cause=("DEMUX_CAUSE", "RST_LOST")),
        *[Counter(f"delivered__{queue}", "DEMUX_QDELIVERED", index=queue)
          for queue in range(queues)],
        *[Counter(f"queue_full__{queue}", "DEMUX_QFULL", index=queue) for queue in range(queues)],
        *[Status(f"levels__{queue}", "DEMUX_QLEVEL", index=queue) for queue in range(queues)],
    )


#: The maps of ``docs/registers.md``: the blocks' default parameters (16.16 rate; four queues,
#: four flow entries, a 40-byte key).
ADMISSION_REGISTERS = admission_registers()
REORDER_REGISTERS = reorder_registers()
DEMUX_REGISTERS = demux_registers()
