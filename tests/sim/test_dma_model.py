"""Golden model of the DMA engine: every documented bad-input outcome, the interrupt registers,
and conservation at the counters (``TPR == GPRC + MPC + ROC + sum(RQDPC)``,
``TPT == GPTC + HTDPMC``) after every test."""

import random

import pytest

from slique.hdl.dma.descriptors import (
    DESCRIPTOR_BYTES, DTYP_CONTEXT, MAX_FRAME_BYTES, MAX_FRAME_DESCRIPTORS, TxDataDescriptor,
    RxWriteBack, pack_descriptor, rx_read_descriptor, tx_data_descriptor, unpack_descriptor)
from slique.hdl.dma.registers import EICR_RXERR_SHIFT, EICR_RXQ_SHIFT
from slique.sim.dma import (DmaEngine, HostMemory, IgcDriver, ModelBackend, RxOutcome,
                            SyncDriver)


RING = 16
BUFFER = 1024


class Rig:
    """A golden engine, its memory and a synchronous igc-style driver on small rings."""

    def __init__(self, queues=1, address_width=32, **driver_options):
        self.memory = HostMemory()
        self.engine = DmaEngine(self.memory, queues=queues, address_width=address_width)
        options = dict(tx_ring_size=RING, rx_ring_size=RING, rx_buffer_size=BUFFER)
        options.update(driver_options)
        self.driver = SyncDriver(IgcDriver(ModelBackend(self.engine), self.memory,
                                           queues=queues, **options))
        self.regs = self.driver.regs

    def peek(self, name, field=None, index=None):
        return self.engine.registers.value(name, field, index)

    def write(self, offset, value):
        self.engine.write32(offset, value)

    def post_raw(self, descriptors, queue=0, bump=True):
        """Write raw TX descriptors at the driver's next slots and bump TDT."""
        ring = self.driver.tx[queue]
        for raw in descriptors:
            self.memory.write(ring.base + ring.next_to_use * DESCRIPTOR_BYTES, raw)
            ring.next_to_use = (ring.next_to_use + 1) % ring.count
        if bump:
            self.write(self.regs.TDT(queue), ring.next_to_use)

    def buffer(self, data):
        address = self.driver.allocator.alloc(len(data))
        self.memory.write(address, data)
        return address

    def check_conservation(self):
        totals = self.engine.totals
        rqdpc = sum(totals[("RQDPC", queue)] for queue in range(self.engine.queues))
        assert totals["TPR"] == totals["GPRC"] + totals["MPC"] + totals["ROC"] + rqdpc, totals
        assert totals["TPT"] == totals["GPTC"] + totals["HTDPMC"], totals
        assert totals["RNBC"] == totals["MPC"]

    def check_no_stray_writes(self):
        assert self.memory.writes_outside(self.driver.allowed_regions()) == []


@pytest.fixture
def rig():
    rig = Rig()
    rig.driver.setup()
    yield rig
    rig.check_conservation()
    rig.check_no_stray_writes()


def frame_of(length, seed=0):
    return random.Random(seed).randbytes(length)


# -- normal operation ------------------------------------------------------------------------------

def test_tx_frame_leaves_and_is_written_back(rig):
    frame = frame_of(1514)
    assert rig.driver.transmit([frame[:100], frame[100:]])
    (sent,) = rig.engine.pull_tx_frames()
    assert sent.data == frame
    assert rig.peek("TDH", "HEAD", 0) == 2
    assert rig.driver.clean_tx() == 1
    assert rig.peek("GPTC") == 1 and rig.peek("GOTCL") == 1514
    assert rig.peek("EICR", "TXQ") == 1


def test_tx_without_rs_is_not_written_back(rig):
    address = rig.buffer(frame_of(64))
    rig.post_raw([tx_data_descriptor(address, 64, eop=True, rs=False)])
    assert rig.engine.pull_tx_frames()[0].data == frame_of(64)
    ring = rig.driver.tx[0]
    raw = rig.memory.read(ring.base, DESCRIPTOR_BYTES)
    assert raw == tx_data_descriptor(address, 64, eop=True, rs=False)
    assert rig.peek("EICR", "TXQ") == 0 and rig.peek("TDH", "HEAD", 0) == 1


def test_tx_waits_for_eop_across_tail_writes(rig):
    frame = frame_of(300)
    first, second = rig.buffer(frame[:100]), rig.buffer(frame[100:])
    rig.post_raw([tx_data_descriptor(first, 100, eop=False, rs=False, paylen=300)])
    assert rig.engine.pull_tx_frames() == [] and rig.peek("TDH", "HEAD", 0) == 0
    rig.post_raw([tx_data_descriptor(second, 200, eop=True, rs=True, paylen=300)])
    assert rig.engine.pull_tx_frames()[0].data == frame
    assert rig.peek("TDH", "HEAD", 0) == 2


def test_rx_frame_spans_buffers_with_eop_on_the_last(rig):
    frame = frame_of(2500)
    assert rig.engine.receive(frame, rss_hash=0x1234ABCD, rss_type=2) == RxOutcome.DELIVERED
    ring = rig.driver.rx[0]
    fields = [unpack_descriptor(RxWriteBack, rig.memory.read(ring.base + 16 * slot, 16))
              for slot in range(3)]
    assert [f["length"] for f in fields] == [1024, 1024, 452]
    assert [f["status_error"]["eop"] for f in fields] == [0, 0, 1]
    assert all(f["status_error"]["dd"] and f["rss_hash"] == 0x1234ABCD
               and f["pkt_info"]["rss_type"] == 2 for f in fields)
    (received,) = rig.driver.clean_rx()
    assert rig.driver.frame_data(received) == frame and len(received.buffers) == 3
    assert rig.peek("GPRC") == 1 and rig.peek("GORCL") == 2500 and rig.peek("RDH", "HEAD", 0) == 3
    assert rig.peek("EICR", "RXQ") == 1


def test_interrupt_cause_mask_and_set(rig):
    regs = rig.regs
    rig.write(regs.EIMC, 0xFFFF)
    rig.driver.transmit([frame_of(60)])
    assert rig.peek("EICR", "TXQ") == 1 and not rig.engine.irq
    rig.write(regs.EIMS, 1)
    assert rig.engine.irq
    rig.write(regs.EICR, 1)                          # write 1 to clear
    assert rig.peek("EICR", "TXQ") == 0 and not rig.engine.irq
    rig.write(regs.EICS, 1 << EICR_RXERR_SHIFT)       # software sets a cause
    assert rig.peek("EICR", "RXERR") == 1 and not rig.engine.irq
    rig.write(regs.EIMS, 1 << EICR_RXERR_SHIFT)
    assert rig.engine.irq
    assert rig.engine.read32(regs.EIMS) == 1 | 1 << EICR_RXERR_SHIFT


def test_counters_clear_on_read(rig):
    rig.driver.transmit([frame_of(100)])
    assert rig.engine.read32(rig.regs.GPTC) == 1
    assert rig.engine.read32(rig.regs.GPTC) == 0
    assert rig.engine.read32(rig.regs.GOTCH) == 0


# -- bad ring set-up ---------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [0, 100, 16 * 9, 0x80 + 8])
@pytest.mark.parametrize("direction", ["T", "R"])
def test_ring_length_zero_or_not_multiple_of_128_refuses_enable(rig, direction, length):
    regs = rig.regs
    control = getattr(regs, f"{direction}XDCTL")(0)
    rig.write(control, 0)
    writes = len(rig.memory.device_writes)
    rig.write(getattr(regs, f"{direction}DLEN")(0), length)
    rig.write(control, regs.TXDCTL_ENABLE_MASK)
    assert rig.engine.read32(control) & regs.TXDCTL_ENABLE_MASK == 0
    cause = "TQERR" if direction == "T" else "RQERR"
    assert rig.peek(cause, "RING_LENGTH", 0) == 1
    assert rig.peek("EICR", "TXERR" if direction == "T" else "RXERR") == 1
    assert len(rig.memory.device_writes) == writes
    if direction == "T":
        rig.driver.tx[0].next_to_use = 0
        rig.post_raw([tx_data_descriptor(rig.buffer(frame_of(60)), 60, eop=True, rs=True)])
        assert rig.engine.pull_tx_frames() == []
    else:
        assert rig.engine.receive(frame_of(60)) == RxOutcome.DROPPED
        assert rig.peek("RQDPC", index=0) == 1


@pytest.mark.parametrize("srrctl", [0, 1 << 25, 2, 2 | 2 << 25])
def test_bad_srrctl_refuses_rx_enable(rig, srrctl):
    regs = rig.regs
    rig.write(regs.RXDCTL(0), 0)
    rig.write(regs.SRRCTL(0), srrctl)
    rig.write(regs.RXDCTL(0), regs.RXDCTL_ENABLE_MASK)
    good = srrctl == 2 | 1 << 25
    assert rig.peek("RXDCTL", "ENABLE", 0) == int(good)
    assert rig.peek("RQERR", "SRRCTL", 0) == int(not good)


def test_tail_beyond_ring_stops_tx_without_fetching(rig):
    rig.write(rig.regs.TDT(0), RING)
    assert rig.peek("TXDCTL", "ENABLE", 0) == 0
    assert rig.peek("TQERR", "TAIL", 0) == 1 and rig.peek("EICR", "TXERR") == 1
    assert rig.engine.pull_tx_frames() == [] and rig.peek("TDH", "HEAD", 0) == 0


def test_tail_beyond_ring_discards_a_frame_in_progress(rig):
    address = rig.buffer(frame_of(100))
    rig.post_raw([tx_data_descriptor(address, 50, eop=False, rs=True)])
    rig.write(rig.regs.TDT(0), RING + 1)
    assert rig.peek("TQERR", "TAIL", 0) == 1 and rig.peek("TQERR", "ABORTED", 0) == 0
    assert rig.peek("HTDPMC") == 1 and rig.peek("TPT") == 1
    assert rig.engine.pull_tx_frames() == []


def test_tail_beyond_ring_stops_rx(rig):
    rig.write(rig.regs.RDT(0), RING + 3)
    assert rig.peek("RXDCTL", "ENABLE", 0) == 0 and rig.peek("RQERR", "TAIL", 0) == 1
    assert rig.engine.receive(frame_of(100)) == RxOutcome.DROPPED


def test_head_beyond_ring_at_enable(rig):
    regs = rig.regs
    rig.write(regs.TXDCTL(0), 0)
    rig.write(regs.TDH(0), RING)
    rig.write(regs.TXDCTL(0), regs.TXDCTL_ENABLE_MASK)
    assert rig.peek("TXDCTL", "ENABLE", 0) == 0 and rig.peek("TQERR", "TAIL", 0) == 1


def test_head_write_while_enabled_is_ignored(rig):
    rig.driver.transmit([frame_of(60)])
    rig.write(rig.regs.TDH(0), 7)
    rig.driver.transmit([frame_of(61)])
    assert [len(f.data) for f in rig.engine.pull_tx_frames()] == [60, 61]
    assert rig.peek("TDH", "HEAD", 0) == 2


def test_all_enable_checks_report_together(rig):
    regs = rig.regs
    rig.write(regs.TXDCTL(0), 0)
    rig.write(regs.TDLEN(0), 100)
    rig.write(regs.TDT(0), 7)
    rig.write(regs.TXDCTL(0), regs.TXDCTL_ENABLE_MASK)
    assert rig.peek("TQERR", "RING_LENGTH", 0) == 1 and rig.peek("TQERR", "TAIL", 0) == 1
    rig.write(regs.TQERR(0), 0xFF)
    assert rig.engine.read32(regs.TQERR(0)) == 0


# -- bad TX descriptors -------------------------------------------------------------------------------

def bad_descriptors(rig):
    address = rig.buffer(frame_of(200))
    context = pack_descriptor(TxDataDescriptor, {"cmd_type_len": {
        "length": 64, "dtyp": DTYP_CONTEXT, "dext": 1, "eop": 1, "rs": 1}})
    legacy = pack_descriptor(TxDataDescriptor, {"buffer_addr": address, "cmd_type_len": {
        "length": 64, "eop": 1, "rs": 1}})
    big = rig.buffer(frame_of(MAX_FRAME_BYTES))
    return {
        "zero length": [tx_data_descriptor(address, 0, eop=True, rs=True)],
        "context": [context],
        "legacy": [legacy],
        "too long": [tx_data_descriptor(big, MAX_FRAME_BYTES, eop=False, rs=False),
                     tx_data_descriptor(address, 1, eop=True, rs=True)],
    }


@pytest.mark.parametrize("case", ["zero length", "context", "legacy", "too long"])
def test_bad_tx_descriptor_stops_queue_and_sends_nothing(case):
    rig = Rig()
    rig.driver.setup()
    assert rig.driver.transmit([frame_of(80)])
    rig.engine.pull_tx_frames()
    writes = len(rig.memory.device_writes)
    rig.post_raw(bad_descriptors(rig)[case])
    assert rig.engine.pull_tx_frames() == []
    assert rig.peek("TQERR", "DESCRIPTOR", 0) == 1 and rig.peek("TXDCTL", "ENABLE", 0) == 0
    assert rig.peek("TDH", "HEAD", 0) == 1                   # at the refused frame
    assert rig.peek("HTDPMC") == 1 and rig.peek("TPT") == 2
    assert len(rig.memory.device_writes) == writes          # no write-back
    rig.check_conservation()


def test_no_eop_within_the_descriptor_limit():
    rig = Rig(tx_ring_size=64)
    rig.driver.setup()
    address = rig.buffer(frame_of(64))
    rig.post_raw([tx_data_descriptor(address, 1, eop=False, rs=False)] * MAX_FRAME_DESCRIPTORS)
    assert rig.engine.pull_tx_frames() == []
    assert rig.peek("TQERR", "DESCRIPTOR", 0) == 1 and rig.peek("HTDPMC") == 1
    rig.check_conservation()


def test_frame_of_max_length_in_max_descriptors_is_sent():
    rig = Rig(tx_ring_size=64)
    rig.driver.setup()
    frame = frame_of(MAX_FRAME_BYTES)
    size = -(-len(frame) // MAX_FRAME_DESCRIPTORS)
    parts = [frame[start:start + size] for start in range(0, len(frame), size)]
    assert len(parts) == MAX_FRAME_DESCRIPTORS
    assert rig.driver.transmit(parts)
    assert rig.engine.pull_tx_frames()[0].data == frame
    rig.check_conservation()


# -- DMA window ----------------------------------------------------------------------------------------

def open_window(rig, base, limit):
    regs = rig.regs
    rig.write(regs.DMAWBAH, base >> 32)
    rig.write(regs.DMAWLAH, limit >> 32)
    rig.write(regs.DMAWLAL, limit & 0xFFFFF000)
    rig.write(regs.DMAWBAL, base & 0xFFFFF000 | 1)


def test_window_refuses_tx_buffer_outside(rig):
    arena = rig.driver.allocator
    open_window(rig, arena.base, arena.base + arena.size)
    assert rig.driver.transmit([frame_of(70)])
    outside = arena.base + arena.size - 32             # the buffer runs past the limit
    rig.post_raw([tx_data_descriptor(outside, 64, eop=True, rs=True)])
    assert [f.data for f in rig.engine.pull_tx_frames()] == [frame_of(70)]
    assert rig.peek("TQERR", "WINDOW", 0) == 1 and rig.peek("HTDPMC") == 1


def test_window_refuses_rx_buffer_outside(rig):
    arena = rig.driver.allocator
    ring = rig.driver.rx[0]
    open_window(rig, arena.base, arena.base + arena.size)
    stray = arena.base + arena.size + 0x1000
    rig.memory.write(ring.base + 16 * 1, rx_read_descriptor(stray))
    assert rig.engine.receive(frame_of(100)) == RxOutcome.DELIVERED
    assert rig.engine.receive(frame_of(100, 1)) == RxOutcome.ERROR
    assert rig.peek("RQERR", "WINDOW", 0) == 1 and rig.peek("RQDPC", index=0) == 1
    assert rig.memory.read(stray, 100) == bytes(100)
    assert rig.peek("RDH", "HEAD", 0) == 1


@pytest.mark.parametrize("offset", [2, 4])
def test_misaligned_rx_buffer_is_refused(rig, offset):
    ring = rig.driver.rx[0]
    rig.memory.write(ring.base, rx_read_descriptor(ring.slots[0] + offset))
    assert rig.engine.receive(frame_of(100)) == RxOutcome.ERROR   # 64-bit bus: 8-byte aligned
    assert rig.peek("RQERR", "WINDOW", 0) == 1 and rig.peek("RQDPC", index=0) == 1


def test_window_refuses_ring_outside_at_enable(rig):
    regs = rig.regs
    open_window(rig, 0x8000_0000, 0x9000_0000)
    rig.write(regs.TXDCTL(0), 0)
    rig.write(regs.TXDCTL(0), regs.TXDCTL_ENABLE_MASK)
    assert rig.peek("TQERR", "WINDOW", 0) == 1 and rig.peek("TXDCTL", "ENABLE", 0) == 0


def test_empty_window_allows_nothing(rig):
    open_window(rig, 0x2000_0000, 0x1000_0000)
    assert rig.driver.transmit([frame_of(64)])
    assert rig.engine.pull_tx_frames() == [] and rig.peek("TQERR", "WINDOW", 0) == 1


def test_address_beyond_the_master_is_refused_without_a_window(rig):
    assert rig.peek("DMAWBAL", "ENABLE") == 0
    rig.post_raw([tx_data_descriptor(1 << 32, 64, eop=True, rs=True)])
    assert rig.peek("TQERR", "WINDOW", 0) == 1 and rig.engine.pull_tx_frames() == []


# -- bus errors ----------------------------------------------------------------------------------------

def test_bus_error_reading_tx_data_discards_the_frame(rig):
    frame = frame_of(1000)
    address = rig.buffer(frame)
    rig.memory.add_error_range(address + 600, address + 601)
    rig.post_raw([tx_data_descriptor(address, 1000, eop=True, rs=True)])
    assert rig.engine.pull_tx_frames() == []
    assert rig.peek("TQERR", "BUS_ERROR", 0) == 1 and rig.peek("HTDPMC") == 1
    assert rig.peek("GPTC") == 0 and rig.peek("TDH", "HEAD", 0) == 0
    assert rig.memory.read(rig.driver.tx[0].base, 16) == tx_data_descriptor(
        address, 1000, eop=True, rs=True)                     # not written back


def test_bus_error_fetching_a_tx_descriptor(rig):
    ring = rig.driver.tx[0]
    rig.memory.add_error_range(ring.base + 16, ring.base + 32)
    assert rig.driver.transmit([frame_of(60)])
    assert rig.driver.transmit([frame_of(61)])
    assert [len(f.data) for f in rig.engine.pull_tx_frames()] == [60]
    assert rig.peek("TQERR", "BUS_ERROR", 0) == 1 and rig.peek("TPT") == 1


def test_bus_error_on_tx_write_back_counts_good_without_dd(rig):
    ring = rig.driver.tx[0]
    rig.memory.add_error_range(ring.base, ring.base + 16, reads=False)
    assert rig.driver.transmit([frame_of(60)])
    assert rig.engine.pull_tx_frames()[0].data == frame_of(60)
    assert rig.peek("GPTC") == 1 and rig.peek("TQERR", "BUS_ERROR", 0) == 1
    assert rig.peek("TDH", "HEAD", 0) == 1                # the frame was finished
    assert rig.driver.clean_tx() == 0


def test_bus_error_writing_rx_data_drops_the_frame(rig):
    slot_buffer = rig.driver.rx[0].slots[0]
    rig.memory.add_error_range(slot_buffer + 512, slot_buffer + 513)
    assert rig.engine.receive(frame_of(800)) == RxOutcome.ERROR
    assert rig.peek("RQERR", "BUS_ERROR", 0) == 1 and rig.peek("RQDPC", index=0) == 1
    assert rig.driver.clean_rx() == []
    assert rig.peek("RXDCTL", "ENABLE", 0) == 0


# -- disable in the middle of a frame -----------------------------------------------------------------

def test_tx_disable_mid_frame_discards_it(rig):
    address = rig.buffer(frame_of(100))
    rig.post_raw([tx_data_descriptor(address, 50, eop=False, rs=True)])
    rig.driver.disable_tx()
    assert rig.engine.pull_tx_frames() == []
    assert rig.peek("TQERR", "ABORTED", 0) == 1 and rig.peek("HTDPMC") == 1
    assert unpack_descriptor(TxDataDescriptor, rig.memory.read(rig.driver.tx[0].base, 16))[
        "cmd_type_len"]["length"] == 50                       # not written back


def test_tx_disable_between_frames_is_no_error(rig):
    rig.driver.transmit([frame_of(60)])
    rig.driver.disable_tx()
    assert rig.peek("TQERR", "ABORTED", 0) == 0 and rig.peek("HTDPMC") == 0


def test_rx_disable_mid_frame_drops_it_without_write_back(rig):
    ring = rig.driver.rx[0]
    before = rig.memory.read(ring.base, 16 * 3)
    frame = frame_of(2500)
    assert rig.engine.receive(frame, cut_after=1500) == RxOutcome.ABORTED
    assert rig.memory.read(ring.base, 16 * 3) == before
    assert rig.peek("RQERR", "ABORTED", 0) == 1 and rig.peek("RQDPC", index=0) == 1
    assert rig.peek("RXDCTL", "ENABLE", 0) == 0 and rig.peek("RDH", "HEAD", 0) == 0
    assert rig.driver.clean_rx() == []


# -- RX drops -----------------------------------------------------------------------------------------

def test_rx_without_free_descriptor_is_missed(rig):
    outcomes = [rig.engine.receive(frame_of(1000, seed)) for seed in range(RING + 2)]
    assert outcomes.count(RxOutcome.DELIVERED) == RING - 1
    assert outcomes.count(RxOutcome.MISSED) == 3
    assert rig.peek("MPC") == 3 and rig.peek("RNBC") == 3
    frames = rig.driver.clean_rx()
    assert [rig.driver.frame_data(f) for f in frames] == [frame_of(1000, s) for s in range(15)]
    assert rig.engine.receive(frame_of(1000, 99)) == RxOutcome.DELIVERED


def test_rx_frame_needing_more_descriptors_than_free_is_missed_whole(rig):
    for seed in range(RING - 3):
        assert rig.engine.receive(frame_of(200, seed)) == RxOutcome.DELIVERED
    ring = rig.driver.rx[0]
    before = rig.memory.read(ring.base, 16 * RING)
    assert rig.engine.receive(frame_of(3000)) == RxOutcome.MISSED     # needs 3, 2 free
    assert rig.memory.read(ring.base, 16 * RING) == before
    assert rig.engine.receive(frame_of(2000)) == RxOutcome.DELIVERED  # needs 2


def test_rx_oversize_frame(rig):
    assert rig.engine.receive(frame_of(MAX_FRAME_BYTES + 1)) == RxOutcome.OVERSIZE
    assert rig.engine.receive(frame_of(MAX_FRAME_BYTES)) == RxOutcome.DELIVERED
    assert rig.peek("ROC") == 1


def test_rx_to_disabled_queue_is_dropped(rig):
    rig.driver.disable_rx()
    assert rig.engine.receive(frame_of(64)) == RxOutcome.DROPPED
    assert rig.peek("RQDPC", index=0) == 1 and rig.peek("RQERR", "ABORTED", 0) == 0


# -- recovery and queues -------------------------------------------------------------------------------

def test_queue_recovers_after_error_and_ring_reset(rig):
    rig.post_raw([tx_data_descriptor(rig.buffer(frame_of(10)), 0, eop=True, rs=True)])
    assert rig.peek("TXDCTL", "ENABLE", 0) == 0
    rig.write(rig.regs.TQERR(0), 0xFF)
    rig.driver.configure_tx_ring(0)
    assert rig.driver.transmit([frame_of(99)])
    assert rig.engine.pull_tx_frames()[0].data == frame_of(99)


def test_queues_are_independent():
    rig = Rig(queues=3)
    rig.driver.setup()
    rig.driver.transmit([frame_of(60)], queue=2)
    assert rig.engine.receive(frame_of(70), queue=1) == RxOutcome.DELIVERED
    rig.post_raw([tx_data_descriptor(0, 0, eop=True, rs=True)], queue=0)
    assert rig.peek("EICR", "TXQ") == 0b100 and rig.peek("EICR", "RXQ") == 0b010
    assert rig.peek("EICR", "TXERR") == 0b001
    assert rig.peek("TXDCTL", "ENABLE", 2) == 1 and rig.peek("TXDCTL", "ENABLE", 0) == 0
    (frame,) = rig.driver.clean_rx(1)
    assert rig.driver.frame_data(frame) == frame_of(70)
    assert rig.engine.read32(rig.regs.EIMS) == 0b111 | 0b111 << EICR_RXQ_SHIFT
    rig.check_conservation()
    rig.check_no_stray_writes()
