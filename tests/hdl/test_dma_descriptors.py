"""DMA descriptor layouts and register map against the Linux igc driver's facts, and the
pack / unpack helpers' round trips.

The literal values below are copied from igc_base.h, igc_defines.h and igc_regs.h (Linux
drivers/net/ethernet/intel/igc); the layouts must reproduce them.
"""

import pytest
from amaranth.hdl import Signal
from amaranth.lib import data
from hypothesis import given, settings, strategies as st

from slique.hdl.dma import descriptors as d
from slique.hdl.dma.registers import (DMA_REGISTERS, MAX_QUEUES, RxQueueError, TxQueueError,
                                      dma_registers)
from slique.hdl.registers import RegisterArray
from slique.regmap import constants_module


LAYOUTS = [d.TxDataDescriptor, d.TxWriteBack, d.RxReadDescriptor, d.RxWriteBack]


# -- igc facts ---------------------------------------------------------------------------------

IGC_TX_CMD = {            # igc_base.h / igc_defines.h, masks within cmd_type_len
    "eop": 0x01000000, "ifcs": 0x02000000, "ic": 0x04000000, "rs": 0x08000000,
    "rps": 0x10000000, "dext": 0x20000000, "vle": 0x40000000, "tse": 0x80000000,
    "mac_tstamp": 0x00080000,
}
IGC_RX_STATERR = {        # igc_defines.h (IGC_RXD_STAT_*, IGC_RXDEXT_STATERR_*)
    "dd": 0x01, "eop": 0x02, "ce": 0x01000000, "se": 0x02000000, "seq": 0x04000000,
    "cxe": 0x10000000, "tcpe": 0x20000000, "ipe": 0x40000000, "rxe": 0x80000000,
}


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.__name__)
def test_every_descriptor_is_16_bytes(layout):
    assert data.Layout.cast(layout).size == 128 == 8 * d.DESCRIPTOR_BYTES


@pytest.mark.parametrize("name, mask", sorted(IGC_TX_CMD.items()))
def test_tx_command_bits_match_igc(name, mask):
    assert d.dword_mask(d.TxDataDescriptor, f"cmd_type_len.{name}") == mask


def test_tx_fields_match_igc():
    assert d.field_position(d.TxDataDescriptor, "buffer_addr") == (0, 64)
    assert d.field_position(d.TxDataDescriptor, "cmd_type_len") == (64, 32)
    assert d.field_position(d.TxDataDescriptor, "olinfo_status") == (96, 32)
    assert d.dword_mask(d.TxDataDescriptor, "cmd_type_len.length") == 0xFFFF
    assert d.ADVTXD_DTYP_DATA == 0x00300000            # IGC_ADVTXD_DTYP_DATA
    assert d.DTYP_CONTEXT << 20 == 0x00200000           # IGC_ADVTXD_DTYP_CTXT
    assert d.ADVTXD_PAYLEN_SHIFT == 14                  # IGC_ADVTXD_PAYLEN_SHIFT
    assert d.dword_mask(d.TxDataDescriptor, "olinfo_status.paylen") == 0x3FFFF << 14
    assert d.dword_mask(d.TxDataDescriptor, "olinfo_status.popts") == 0x3F << 8
    # write-back: status dword at bytes 12-15, DD bit 0 (IGC_TXD_STAT_DD)
    assert d.field_position(d.TxWriteBack, "status") == (96, 32)
    assert d.field_position(d.TxWriteBack, "nxtseq_seed") == (64, 32)
    assert d.TXD_STAT_DD == 0x1


@pytest.mark.parametrize("name, mask", sorted(IGC_RX_STATERR.items()))
def test_rx_status_error_bits_match_igc(name, mask):
    assert d.dword_mask(d.RxWriteBack, f"status_error.{name}") == mask


def test_rx_fields_match_igc():
    assert d.field_position(d.RxReadDescriptor, "pkt_addr") == (0, 64)
    assert d.field_position(d.RxReadDescriptor, "hdr_addr") == (64, 64)
    # wb.lower.lo_dword (pkt_info, hdr_info), wb.lower.hi_dword.rss, wb.upper
    assert d.field_position(d.RxWriteBack, "pkt_info") == (0, 16)
    assert d.field_position(d.RxWriteBack, "pkt_info.rss_type") == (0, 4)
    assert d.field_position(d.RxWriteBack, "hdr_info") == (16, 16)
    assert d.field_position(d.RxWriteBack, "rss_hash") == (32, 32)
    assert d.field_position(d.RxWriteBack, "status_error") == (64, 32)
    assert d.field_position(d.RxWriteBack, "length") == (96, 16)
    assert d.field_position(d.RxWriteBack, "vlan") == (112, 16)
    assert (d.RXD_STAT_DD, d.RXD_STAT_EOP) == (0x01, 0x02)


def test_rx_read_descriptor_clears_the_write_back_length():
    """igc_alloc_rx_buffers writes pkt_addr and clears wb.upper.length (hdr_addr = 0)."""
    raw = d.rx_read_descriptor(0x1234_5678_9ABC_DE00)
    assert d.unpack_descriptor(d.RxWriteBack, raw)["length"] == 0
    assert raw[:8] == (0x1234_5678_9ABC_DE00).to_bytes(8, "little")


def test_tx_data_descriptor_is_what_igc_writes():
    raw = d.tx_data_descriptor(0xDEAD_BEE0, 1514, eop=True, rs=True, paylen=1514)
    cmd_type_len = int.from_bytes(raw[8:12], "little")
    olinfo = int.from_bytes(raw[12:16], "little")
    assert cmd_type_len == (0x00300000 | 0x20000000 | 0x02000000 | 0x01000000 | 0x08000000
                            | 1514)
    assert olinfo == 1514 << 14
    assert int.from_bytes(raw[:8], "little") == 0xDEAD_BEE0


# -- registers vs igc_regs.h ---------------------------------------------------------------------

IGC_OFFSETS = {
    "RDBAL": 0xC000, "RDBAH": 0xC004, "RDLEN": 0xC008, "SRRCTL": 0xC00C, "RDH": 0xC010,
    "RDT": 0xC018, "RXDCTL": 0xC028, "RQDPC": 0xC030,
    "TDBAL": 0xE000, "TDBAH": 0xE004, "TDLEN": 0xE008, "TDH": 0xE010, "TDT": 0xE018,
    "TXDCTL": 0xE028,
    "EICR": 0x1580, "EICS": 0x1520, "EIMS": 0x1524, "EIMC": 0x1528, "MPC": 0x4010, "GPRC": 0x4074, "GPTC": 0x4080,
    "GORCL": 0x4088, "GORCH": 0x408C, "GOTCL": 0x4090, "GOTCH": 0x4094, "RNBC": 0x40A0,
    "ROC": 0x40AC, "TPR": 0x40D0, "TPT": 0x40D4, "HTDPMC": 0x403C,
}


@pytest.mark.parametrize("name, offset", sorted(IGC_OFFSETS.items()))
def test_register_offsets_match_igc(name, offset):
    register = DMA_REGISTERS[name]
    assert register.offset == offset
    if name[0] in "RT" and name not in ("ROC", "RNBC", "TPR", "TPT"):
        assert isinstance(register, RegisterArray)
        assert register.stride == 0x40 and register.count == MAX_QUEUES


def test_register_bits_match_igc():
    regs = constants_module(DMA_REGISTERS)
    assert regs.TXDCTL_ENABLE_MASK == regs.RXDCTL_ENABLE_MASK == 0x02000000
    assert 1 << regs.SRRCTL_DESCTYPE_SHIFT == 0x02000000     # IGC_SRRCTL_DESCTYPE_ADV_ONEBUF
    assert regs.SRRCTL_BSIZEPKT_MASK == 0x7F
    assert regs.SRRCTL_BSIZEHDRSIZE_MASK == 0x3F00                 # GENMASK(13, 8)
    assert regs.SRRCTL_DESCTYPE_MASK == 0x0E000000                 # GENMASK(27, 25)
    assert (regs.TXDCTL_PTHRESH_SHIFT, regs.TXDCTL_HTHRESH_SHIFT,
            regs.TXDCTL_WTHRESH_SHIFT) == (0, 8, 16)
    assert regs.TDT(3) == 0xE018 + 3 * 0x40 and regs.RDBAL(2) == 0xC000 + 2 * 0x40


def test_every_queue_error_is_a_documented_field():
    for name, errors in (("TQERR", TxQueueError), ("RQERR", RxQueueError)):
        register = DMA_REGISTERS[name]
        assert {field.name for field in register.fields} == {error.name for error in errors}
        for error in errors:
            field = register.field(error.name)
            assert field.lsb == error and field.access == "w1c" and len(field.doc) > 40


@pytest.mark.parametrize("queues", range(1, MAX_QUEUES + 1))
def test_register_map_per_queue_count(queues):
    description = dma_registers(queues, window=False)
    assert description["TDT"].count == queues
    assert description["EICR"].field("TXQ").width == queues
    with pytest.raises(KeyError):
        description["DMAWBAL"]


@pytest.mark.parametrize("queues", [0, MAX_QUEUES + 1, True])
def test_register_map_refuses_bad_queue_counts(queues):
    with pytest.raises((ValueError, TypeError)):
        dma_registers(queues)


# -- pack / unpack ---------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.__name__)
@settings(max_examples=60, deadline=None)
@given(raw=st.binary(min_size=16, max_size=16))
def test_unpack_then_pack_is_identity(layout, raw):
    assert d.pack_descriptor(layout, d.unpack_descriptor(layout, raw)) == raw


@settings(max_examples=60, deadline=None)
@given(addr=st.integers(0, 2**64 - 1), length=st.integers(0, 0xFFFF),
       paylen=st.integers(0, 2**18 - 1), eop=st.booleans(), rs=st.booleans())
def test_pack_then_unpack_keeps_fields(addr, length, paylen, eop, rs):
    fields = d.unpack_descriptor(d.TxDataDescriptor, d.tx_data_descriptor(
        addr, length, eop=eop, rs=rs, paylen=paylen))
    assert fields["buffer_addr"] == addr
    assert fields["cmd_type_len"]["length"] == length
    assert fields["cmd_type_len"]["eop"] == eop and fields["cmd_type_len"]["rs"] == rs
    assert fields["cmd_type_len"]["dtyp"] == d.DTYP_DATA and fields["cmd_type_len"]["dext"] == 1
    assert fields["olinfo_status"]["paylen"] == paylen


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(min_size=16, max_size=16))
def test_pack_agrees_with_amaranth_views(raw):
    """The pure-Python helpers agree with an Amaranth view of the same layout (const init)."""
    fields = d.unpack_descriptor(d.RxWriteBack, raw)
    signal = Signal(d.RxWriteBack, init=fields)
    assert signal.as_value().init == int.from_bytes(raw, "little")


def test_pack_refuses_unknown_and_oversized_fields():
    with pytest.raises(KeyError, match="no field"):
        d.pack_descriptor(d.TxDataDescriptor, {"cmd_type_len": {"lenght": 3}})
    with pytest.raises(ValueError, match="does not fit"):
        d.pack_descriptor(d.TxDataDescriptor, {"cmd_type_len": {"length": 1 << 16}})
    with pytest.raises(ValueError):
        d.unpack_descriptor(d.RxWriteBack, bytes(15))
    with pytest.raises(KeyError):
        d.field_position(d.RxWriteBack, "length.bits")
