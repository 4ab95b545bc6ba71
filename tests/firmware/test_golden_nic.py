"""GoldenNIC: the NICOps interface on the golden models, outcomes decided by cycles."""

import pytest

from slique.firmware import backend
from slique.firmware.board_nic import BoardBridgeMissing
from slique.firmware.cocotb_nic import GatewareNotReady
from slique.firmware.errors import ECONNRESET, EAGAIN, Result
from slique.firmware.golden_nic import GoldenNIC
from slique.firmware.nicops import is_tcp_reset, rx_result
from slique.firmware.reroutine import Scheduler, reroutine
from slique.firmware.apps.common import flows, pipeline_drops, seeded, tcp_reset_frame
from slique.sim.packets import ipv6, ethernet, tcp


def drive(nic, cycles, scheduler=None):
    completions = []
    for _ in range(cycles):
        cycle, done = nic.step()
        completions.extend(done)
        if scheduler is not None:
            scheduler.tick(cycle, done)
    return completions


def test_tcp_reset_is_recognised_and_received_as_econnreset(seed):
    flow, = flows(seeded(seed, "rst"), 1)
    frame = tcp_reset_frame(flow)
    assert is_tcp_reset(frame) and not is_tcp_reset(flow.frame(b"data"))
    six = ethernet(0x86DD, ipv6(bytes(16), bytes(16), 6, tcp(1, 2, flags=0x04)))
    assert is_tcp_reset(six)
    assert not is_tcp_reset(frame[:40])                    # cut before the flags
    assert rx_result(2, frame) == Result((2, frame), ECONNRESET)
    assert rx_result(2, frame[:40]).ok


def test_receive_transmit_and_the_wire(seed):
    nic = GoldenNIC(queues=2, rx_ring=4, tx_ring=2)
    pool = flows(seeded(seed, "wire"), 6)
    frames = [flow.frame(bytes(range(20))) for flow in pool]
    for frame in frames:
        nic.offer(frame)
    tags = [(queue << 8) | slot for queue in range(2) for slot in range(4)]
    assert all(nic.post_rx(tag, tag >> 8) for tag in tags)
    assert nic.post_rx(99, 0) is False                     # the RX ring is full
    received = {}
    while len(received) < len(frames):
        for tag, result in drive(nic, 1):
            received[tag] = result
        assert nic.cycle < 2000
    got = sorted(result.value[1] for result in received.values())
    assert got == sorted(frames)
    for tag, result in received.items():
        assert result.value[0] == tag >> 8                 # the queue it was posted on
    # TX: two in the ring, a third refused; each completes when its last beat leaves.
    assert nic.transmit(1, 0, frames[0]) and nic.transmit(2, 0, frames[1])
    assert nic.transmit(3, 0, frames[2]) is False
    start = nic.cycle
    done = {}
    while len(done) < 2:
        for tag, result in drive(nic, 1):
            done[tag] = (nic.cycle - start, result)
    # Each leaves whole, once the DMA (its timing is the gateware's: DmaTiming) has had the
    # TDT write, fetched the descriptor and read the frame; the second behind the first.
    beats = -(-len(frames[0]) // 8)
    assert done[1][1] == Result(len(frames[0])) and done[2][1] == Result(len(frames[1]))
    assert beats < done[1][0] and done[1][0] + beats <= done[2][0]
    assert [frame for _, frame in nic.take_transmitted()] == frames[:2]
    assert nic.idle


def test_a_full_rx_ring_makes_the_dma_miss_frames(seed):
    """Timing decides: nobody takes the frames, so the RX ring fills (the driver posts a ring's
    worth of buffers at set-up) and the DMA drops the rest as missed (i225's MPC, as the
    gateware's engine does: it never back-pressures the pipeline); offered == delivered +
    dropped once the ring is drained."""
    nic = GoldenNIC(queues=1, queue_depth=16, demux_depth=32, rx_ring=2)
    pool = flows(seeded(seed, "full"), 3)
    frames = [pool[index % 3].frame(bytes(40)) for index in range(12)]
    for frame in frames:
        nic.offer(frame)
    drive(nic, 600)
    counters = nic.read_counters()
    drops = pipeline_drops(counters)
    ring = nic.driver.rx[0].count - 1                      # igc keeps one descriptor free
    upstream = sum(drops.values()) - drops["dma_missed"]   # what the pipeline dropped
    assert drops["dma_missed"] == counters["dma_missed"] == len(frames) - upstream - ring > 0
    assert len(nic.read_trace()) == upstream               # a trace record per pipeline drop
    completions = []                                       # now take what the ring holds,
    for first_tag in range(0, 24, 2):                      # a few at a time
        for tag in range(first_tag, first_tag + 2):
            nic.post_rx(tag, 0)
        completions += drive(nic, 100)
    assert len(completions) == ring
    assert len(frames) == len(completions) + sum(pipeline_drops(nic.read_counters()).values())
    assert nic.idle


def test_reta_write_completes_when_it_takes_effect_and_steers(seed):
    nic = GoldenNIC(queues=2)
    scheduler = Scheduler(memos=4)
    results = {}

    @reroutine
    def steer_all_to(rr, queue):
        for index in range(4):
            r = rr.step(nic.write_reta, index * 32, queue)     # one entry of every quarter
            if r.error:
                return r
        return rr.now()

    scheduler.spawn(steer_all_to, 1, on_done=results.__setitem__)
    scheduler.run_ready()
    drive(nic, 10, scheduler)
    # One write every two cycles, as on the gateware (CocotbNIC): a write asked for after a
    # clock edge is driven at the next edge and reported done at the one after.
    assert list(results.values()) == [8]
    assert [nic.pipeline.demux.reta[index * 32] for index in range(4)] == [1, 1, 1, 1]


def test_other_backends_fail_with_a_clear_message():
    with pytest.raises(GatewareNotReady, match="inside a cocotb test"):
        backend("verilator")
    with pytest.raises(BoardBridgeMissing, match="board bridge"):
        backend("board")
    with pytest.raises(ValueError, match="golden, verilator and board"):
        backend("fpga")
