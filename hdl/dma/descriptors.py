"""i225 advanced descriptors: one set of :class:`amaranth.lib.data.Struct` layouts, shared by the
DMA engine's gateware, its golden model and the igc-style driver.

Every descriptor is 16 bytes, little-endian (``DESCRIPTOR_BYTES``). A layout's bit ``k`` is bit
``k % 8`` of byte ``k // 8`` of the descriptor in host memory, so
``int.from_bytes(raw, "little")`` is the value a view of the layout holds, and the gateware
reads a descriptor fetched in 32- or 64-bit beats as ``TxDataDescriptor(Cat(beats))``. Field
names and bit positions are those of the Linux igc driver (``igc_base.h``: ``union
igc_adv_tx_desc``, ``struct igc_adv_data_desc``, ``union igc_adv_rx_desc``; bit values from
``igc_defines.h``); ``tests/hdl/test_dma_descriptors.py`` checks them against the driver's
constants.

Layouts (all 128 bits)
----------------------
:class:`TxDataDescriptor`
    TX advanced data descriptor, read format (software -> engine): ``buffer_addr`` (64),
    ``cmd_type_len`` (:class:`TxCmdTypeLen`: ``length`` = DTALEN 15:0, ``dtyp`` 23:20,
    ``eop`` 24, ``ifcs`` 25, ``ic`` 26, ``rs`` 27, ``rps`` 28, ``dext`` 29, ``vle`` 30,
    ``tse`` 31), ``olinfo_status`` (:class:`TxOlinfoStatus`: ``status`` 3:0, ``idx`` 7:4,
    ``popts`` 13:8, ``paylen`` 31:14).
:class:`TxWriteBack`
    TX write-back (engine -> software): ``reserved`` (64), ``nxtseq_seed`` (32), ``status``
    (:class:`TxWriteBackStatus`: ``dd`` 0, ``ec`` 1, ``lc`` 2, ``tu`` 3).
:class:`RxReadDescriptor`
    RX advanced one-buffer descriptor, read format: ``pkt_addr`` (64), ``hdr_addr`` (64).
:class:`RxWriteBack`
    RX write-back: ``pkt_info`` (:class:`RxPacketInfo`: ``rss_type`` 3:0, ``packet_type``
    15:4), ``hdr_info`` (16), ``rss_hash`` (32), ``status_error`` (:class:`RxStatusError`:
    ``dd`` 0, ``eop`` 1, ``ixsm`` 2, ``vp`` 3, ``udpcs`` 4, ``tcpcs`` 5, ``ipcs`` 6, ``pif`` 7,
    errors ``ce`` 24, ``se`` 25, ``seq`` 26, ``cxe`` 28, ``tcpe`` 29, ``ipe`` 30, ``rxe`` 31),
    ``length`` (16), ``vlan`` (16).

Pure-Python helpers (no second layout: they walk the Structs above)
-------------------------------------------------------------------
``pack_descriptor(layout, fields) -> bytes``
    16 bytes from a (nested) dict of field values; missing fields are 0.
``unpack_descriptor(layout, raw) -> dict``
    The nested dict of a 16-byte descriptor (every field, as unsigned integers).
``field_position(layout, path) -> (offset, width)``
    Bit offset in the 128-bit descriptor and width of a field named by a dotted path,
    ``"cmd_type_len.eop"``.
``dword_mask(layout, path) -> int``
    The field's mask within its 32-bit little-endian dword (``IGC_ADVTXD_DCMD_EOP`` is
    ``dword_mask(TxDataDescriptor, "cmd_type_len.eop")``).
``tx_data_descriptor(buffer_addr, length, *, eop, rs, ifcs=True, paylen=0) -> bytes``
    The descriptor the igc driver writes for one buffer of a frame (DTYP data, DEXT set).
``rx_read_descriptor(pkt_addr, hdr_addr=0) -> bytes``
    The descriptor the igc driver writes when it refills an RX slot.

Constants: ``DESCRIPTOR_BYTES`` (16), ``DTYP_DATA`` (3), ``DTYP_CONTEXT`` (2),
``MAX_FRAME_BYTES`` (9728, the i225's largest frame, ``MAX_JUMBO_FRAME_SIZE`` in igc),
``MAX_FRAME_DESCRIPTORS`` (descriptors one TX frame may use), ``RING_ALIGN`` (128: TDLEN /
RDLEN granularity and ring base alignment), ``SRRCTL_BSIZEPKT_UNIT`` (1024),
``SRRCTL_DESCTYPE_ADV_ONEBUF`` (1, the DESCTYPE field value igc writes), and the igc-named
masks ``ADVTXD_DCMD_EOP``, ``ADVTXD_DCMD_IFCS``, ``ADVTXD_DCMD_RS``, ``ADVTXD_DCMD_DEXT``,
``ADVTXD_DTYP_DATA``, ``ADVTXD_PAYLEN_SHIFT``, ``TXD_STAT_DD``, ``RXD_STAT_DD``,
``RXD_STAT_EOP``, all derived from the layouts.
"""

import functools

from amaranth.hdl import Shape
from amaranth.lib import data


__all__ = [
    "DESCRIPTOR_BYTES", "DESCRIPTOR_BITS", "DTYP_DATA", "DTYP_CONTEXT", "MAX_FRAME_BYTES",
    "MAX_FRAME_DESCRIPTORS", "RING_ALIGN", "SRRCTL_BSIZEPKT_UNIT", "SRRCTL_DESCTYPE_ADV_ONEBUF",
    "TxCmdTypeLen", "TxOlinfoStatus", "TxDataDescriptor", "TxWriteBackStatus", "TxWriteBack",
    "RxReadDescriptor", "RxPacketInfo", "RxStatusError", "RxWriteBack",
    "pack_descriptor", "unpack_descriptor", "field_position", "dword_mask",
    "tx_data_descriptor", "rx_read_descriptor",
    "ADVTXD_DCMD_EOP", "ADVTXD_DCMD_IFCS", "ADVTXD_DCMD_RS", "ADVTXD_DCMD_DEXT",
    "ADVTXD_DTYP_DATA", "ADVTXD_PAYLEN_SHIFT", "TXD_STAT_DD", "RXD_STAT_DD", "RXD_STAT_EOP",
]


#: Bytes per descriptor (TX and RX, read and write-back formats).
DESCRIPTOR_BYTES = 16
#: Bits per descriptor.
DESCRIPTOR_BITS = 8 * DESCRIPTOR_BYTES

#: ``cmd_type_len.dtyp`` of an advanced data descriptor (``IGC_ADVTXD_DTYP_DATA >> 20``).
DTYP_DATA = 0x3
#: ``cmd_type_len.dtyp`` of an advanced context descriptor (``IGC_ADVTXD_DTYP_CTXT >> 20``).
DTYP_CONTEXT = 0x2

#: Largest frame, in bytes, the engine sends or receives: the i225's 9.5 KB
#: (``MAX_JUMBO_FRAME_SIZE`` = 0x2600 in igc_defines.h). Larger TX frames are a descriptor
#: error; larger RX frames are dropped and counted in ``ROC``.
MAX_FRAME_BYTES = 0x2600

#: Most descriptors one TX frame may use (scatter-gather); a frame without EOP within this
#: many descriptors is a descriptor error. Bounds the engine's prefetch of a whole frame.
MAX_FRAME_DESCRIPTORS = 32

#: TDLEN / RDLEN must be non-zero multiples of this; ring bases are aligned to it (the low
#: seven bits of TDBAL / RDBAL read 0).
RING_ALIGN = 128

#: Unit of SRRCTL.BSIZEPKT (bytes): the RX buffer size is ``BSIZEPKT * 1024``.
SRRCTL_BSIZEPKT_UNIT = 1024

#: SRRCTL.DESCTYPE value of advanced one-buffer descriptors (``IGC_SRRCTL_DESCTYPE_ADV_ONEBUF``
#: = 0x02000000 is this value at bit 25).
SRRCTL_DESCTYPE_ADV_ONEBUF = 1


class TxCmdTypeLen(data.Struct):
    """``cmd_type_len`` of the TX advanced data descriptor (bytes 8-11, one 32-bit dword).

    ``length`` (DTALEN, 15:0) is the length of this descriptor's buffer; ``dtyp`` (23:20) is
    :data:`DTYP_DATA`; the command bits ``eop`` 24, ``ifcs`` 25, ``ic`` 26, ``rs`` 27, ``rps``
    28, ``dext`` 29, ``vle`` 30, ``tse`` 31 are igc's ``IGC_ADVTXD_DCMD_*``; ``mac_tstamp``
    (19) is ``IGC_ADVTXD_MAC_TSTAMP``.
    """
    length: 16
    reserved: 3
    mac_tstamp: 1
    dtyp: 4
    eop: 1
    ifcs: 1
    ic: 1
    rs: 1
    rps: 1
    dext: 1
    vle: 1
    tse: 1


class TxOlinfoStatus(data.Struct):
    """``olinfo_status`` of the TX advanced data descriptor (bytes 12-15): ``paylen`` (31:14)
    is the frame's total length for a non-TSO frame (``IGC_ADVTXD_PAYLEN_SHIFT`` = 14);
    ``popts`` (13:8) the offload options, ``idx`` (7:4) the context index, ``status`` (3:0)
    where the write-back's DD lands."""
    status: 4
    idx: 4
    popts: 6
    paylen: 18


class TxDataDescriptor(data.Struct):
    """TX advanced data descriptor, read format (``union igc_adv_tx_desc.read``)."""
    buffer_addr: 64
    cmd_type_len: TxCmdTypeLen
    olinfo_status: TxOlinfoStatus


class TxWriteBackStatus(data.Struct):
    """Status dword of the TX write-back: ``dd`` (descriptor done, ``IGC_TXD_STAT_DD``)."""
    dd: 1
    ec: 1
    lc: 1
    tu: 1
    reserved: 28


class TxWriteBack(data.Struct):
    """TX advanced descriptor, write-back format (``union igc_adv_tx_desc.wb``)."""
    reserved: 64
    nxtseq_seed: 32
    status: TxWriteBackStatus


class RxReadDescriptor(data.Struct):
    """RX advanced one-buffer descriptor, read format (``union igc_adv_rx_desc.read``)."""
    pkt_addr: 64
    hdr_addr: 64


class RxPacketInfo(data.Struct):
    """``pkt_info`` of the RX write-back: RSS type (3:0) and packet type (15:4)."""
    rss_type: 4
    packet_type: 12


class RxStatusError(data.Struct):
    """``status_error`` of the RX write-back (extended status 7:0, errors 31:24 as
    ``IGC_RXDEXT_STATERR_*``)."""
    dd: 1
    eop: 1
    ixsm: 1
    vp: 1
    udpcs: 1
    tcpcs: 1
    ipcs: 1
    pif: 1
    reserved: 16
    ce: 1
    se: 1
    seq: 1
    reserved_27: 1
    cxe: 1
    tcpe: 1
    ipe: 1
    rxe: 1


class RxWriteBack(data.Struct):
    """RX advanced descriptor, write-back format (``union igc_adv_rx_desc.wb``)."""
    pkt_info: RxPacketInfo
    hdr_info: 16
    rss_hash: 32
    status_error: RxStatusError
    length: 16
    vlan: 16


_LAYOUTS = (TxDataDescriptor, TxWriteBack, RxReadDescriptor, RxWriteBack)
for _layout in _LAYOUTS:
    assert data.Layout.cast(_layout).size == DESCRIPTOR_BITS, _layout


def _layout(layout):
    return data.Layout.cast(layout)


def _inner_layout(shape):
    try:
        inner = data.Layout.cast(shape)
    except TypeError:
        return None
    return inner if isinstance(inner, data.StructLayout) else None


@functools.lru_cache(maxsize=None)
def _plan(layout):
    """``(size, ((name, offset, width, inner plan or None), ...))`` of a layout: what
    pack / unpack walk, read once from the Struct (Amaranth's introspection is slow)."""
    layout = _layout(layout)
    fields = []
    for name, field in layout:
        inner = _inner_layout(field.shape)
        fields.append((name, field.offset, Shape.cast(field.shape).width,
                       _plan(inner) if inner is not None else None))
    return layout.size, tuple(fields)


def _pack(plan, values, where):
    _, fields = plan
    if not values.keys() <= {name for name, *_ in fields}:
        unknown = set(values) - {name for name, *_ in fields}
        raise KeyError(f"{where}: no field(s) {', '.join(sorted(unknown))}; the fields are "
                       f"{', '.join(name for name, *_ in fields)}")
    packed = 0
    for name, offset, width, inner in fields:
        value = values.get(name, 0)
        if isinstance(value, dict):
            if inner is None:
                raise TypeError(f"{where}.{name} is a {width}-bit field, not a struct")
            value = _pack(inner, value, f"{where}.{name}")
        value = int(getattr(value, "value", value))
        if not 0 <= value < 1 << width:
            raise ValueError(f"{where}.{name} = {value} does not fit in {width} bits")
        packed |= value << offset
    return packed


def _unpack(plan, packed):
    values = {}
    for name, offset, width, inner in plan[1]:
        raw = (packed >> offset) & ((1 << width) - 1)
        values[name] = _unpack(inner, raw) if inner is not None else raw
    return values


def pack_descriptor(layout, fields):
    """The 16 bytes of a descriptor of ``layout`` (one of the four descriptor Structs) whose
    fields are ``fields``: a nested dict (``{"cmd_type_len": {"eop": 1}}``); missing fields are
    0. Raises :exc:`KeyError` for an unknown field and :exc:`ValueError` for a value that does
    not fit."""
    plan = _plan(layout)
    packed = _pack(plan, fields, getattr(layout, "__name__", "descriptor"))
    return packed.to_bytes(plan[0] // 8, "little")


def unpack_descriptor(layout, raw):
    """The nested dict of every field of the descriptor ``raw`` (16 bytes) read as ``layout``."""
    plan = _plan(layout)
    if len(raw) != plan[0] // 8:
        raise ValueError(f"A descriptor is {plan[0] // 8} bytes, not {len(raw)}")
    return _unpack(plan, int.from_bytes(raw, "little"))


def field_position(layout, path):
    """``(offset, width)`` in bits, within the whole descriptor, of the field named by the
    dotted ``path`` (``"status_error.eop"``)."""
    offset = 0
    current = _layout(layout)
    names = path.split(".")
    for depth, name in enumerate(names):
        if current is None:
            raise KeyError(f"{'.'.join(names[:depth])} is not a struct, so it has no {name!r}")
        try:
            field = current[name]
        except KeyError:
            raise KeyError(f"No field {'.'.join(names[:depth + 1])!r} in "
                           f"{getattr(layout, '__name__', layout)}") from None
        offset += field.offset
        width = Shape.cast(field.shape).width
        current = _inner_layout(field.shape)
    return offset, width


def dword_mask(layout, path):
    """The mask of a field within its 32-bit dword (as igc's ``cmd_type_len`` / ``status``
    constants are written). Raises :exc:`ValueError` for a field that crosses a dword."""
    offset, width = field_position(layout, path)
    if offset // 32 != (offset + width - 1) // 32:
        raise ValueError(f"{path} crosses a 32-bit dword boundary")
    return ((1 << width) - 1) << (offset % 32)


def tx_data_descriptor(buffer_addr, length, *, eop, rs, ifcs=True, paylen=0):
    """The TX advanced data descriptor igc's ``igc_tx_map`` writes for one buffer: DTYP data,
    DEXT, IFCS, ``length`` bytes at ``buffer_addr``, EOP and RS on the frame's last buffer,
    PAYLEN the frame's length (the driver puts it on every descriptor of the frame)."""
    return pack_descriptor(TxDataDescriptor, {
        "buffer_addr": buffer_addr,
        "cmd_type_len": {"length": length, "dtyp": DTYP_DATA, "dext": 1, "ifcs": int(ifcs),
                         "eop": int(eop), "rs": int(rs)},
        "olinfo_status": {"paylen": paylen},
    })


def rx_read_descriptor(pkt_addr, hdr_addr=0):
    """The RX descriptor igc's ``igc_alloc_rx_buffers`` writes: the packet buffer's address and
    a zero header address (which also clears the write-back ``length`` igc's clean-up tests)."""
    return pack_descriptor(RxReadDescriptor, {"pkt_addr": pkt_addr, "hdr_addr": hdr_addr})


#: igc's constants, derived from the layouts (checked against igc's values by the tests).
ADVTXD_DCMD_EOP = dword_mask(TxDataDescriptor, "cmd_type_len.eop")
ADVTXD_DCMD_IFCS = dword_mask(TxDataDescriptor, "cmd_type_len.ifcs")
ADVTXD_DCMD_RS = dword_mask(TxDataDescriptor, "cmd_type_len.rs")
ADVTXD_DCMD_DEXT = dword_mask(TxDataDescriptor, "cmd_type_len.dext")
ADVTXD_DTYP_DATA = DTYP_DATA << (field_position(TxDataDescriptor, "cmd_type_len.dtyp")[0] % 32)
ADVTXD_PAYLEN_SHIFT = field_position(TxDataDescriptor, "olinfo_status.paylen")[0] % 32
TXD_STAT_DD = dword_mask(TxWriteBack, "status.dd")
RXD_STAT_DD = dword_mask(RxWriteBack, "status_error.dd")
RXD_STAT_EOP = dword_mask(RxWriteBack, "status_error.eop")
