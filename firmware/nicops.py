"""NICOps: the one interface the firmware drives a NIC through, whatever the NIC is.

Operations follow the scheduler's submit convention (:meth:`RoutineContext.step`): their first
argument is the tag (the routine's M-ICC and step, :func:`slique.firmware.reroutine.tag_micc`),
which the backend carries with the operation and hands back with its completion; they answer
``True`` (in flight: a completion follows), ``False`` (refused, its ring full: ``EAGAIN``) or a
:class:`~slique.firmware.errors.Result` (done at once). Reads are plain calls (memoize them
with :meth:`RoutineContext.read`).

The firmware's loop is ``scheduler.tick(*nic.step())``: :meth:`NICOps.step` lets the NIC run one
cycle and answers ``(cycle, completions)``.

Backends: :class:`slique.firmware.golden_nic.GoldenNIC` (the golden models),
:class:`slique.firmware.cocotb_nic.CocotbNIC` (the gateware in co-simulation),
:class:`slique.firmware.board_nic.BoardNIC` (a board).
"""

import abc
import struct

from slique.hdl.header_parser import ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, PROTOCOL_TCP

from .errors import ECONNRESET, Result


__all__ = ["NICOps", "rx_result", "is_tcp_reset", "TCP_RST"]


#: The RST bit of the TCP flags byte.
TCP_RST = 0x04


def is_tcp_reset(frame):
    """Whether ``frame`` (Ethernet II, optionally 802.1Q tagged) is a TCP segment with RST set
    (IPv4 without fragment offset, or IPv6 with TCP as the first next header)."""
    offset = 12
    if len(frame) < offset + 2:
        return False
    ethertype = struct.unpack_from(">H", frame, offset)[0]
    if ethertype == ETHERTYPE_VLAN and len(frame) >= 18:
        offset += 4
        ethertype = struct.unpack_from(">H", frame, offset)[0]
    offset += 2
    if ethertype == ETHERTYPE_IPV4 and len(frame) >= offset + 20:
        ihl = (frame[offset] & 15) * 4
        fragment = struct.unpack_from(">H", frame, offset + 6)[0] & 0x1FFF
        if frame[offset + 9] != PROTOCOL_TCP or ihl < 20 or fragment:
            return False
        offset += ihl
    elif ethertype == ETHERTYPE_IPV6 and len(frame) >= offset + 40:
        if frame[offset + 6] != PROTOCOL_TCP:
            return False
        offset += 40
    else:
        return False
    return len(frame) >= offset + 14 and bool(frame[offset + 13] & TCP_RST)


def rx_result(queue, frame):
    """The completion of a receive: ``Result((queue, frame))``, with ``ECONNRESET`` when the frame
    is a TCP RST (the entry carries the error flag; the frame is still there)."""
    return Result((queue, frame), ECONNRESET if is_tcp_reset(frame) else 0)


class NICOps(abc.ABC):
    """What the firmware can ask of a NIC.

    Attributes
    ----------
    queues : int
        Receive (and transmit) queues.
    cycle : int
        The NIC's clock, in cycles.
    """

    queues = 1
    cycle = 0

    # Operations (tag first; True / False / Result).

    @abc.abstractmethod
    def transmit(self, tag, queue, frame):
        """Post ``frame`` (bytes) on TX queue ``queue``; completes with ``Result(len(frame))``
        once it has left on the wire; ``False`` when the TX ring is full."""

    @abc.abstractmethod
    def post_rx(self, tag, queue):
        """Post one RX buffer on queue ``queue``; completes with :func:`rx_result` when a frame
        lands in it; ``False`` when the RX ring is full."""

    @abc.abstractmethod
    def write_reta(self, tag, index, queue):
        """Write RETA entry ``index`` (0..127) = ``queue``; completes when it takes effect."""

    @abc.abstractmethod
    def write_flow(self, tag, index, key, queue, valid=True):
        """Write flow-table entry ``index``: ``key`` (a :class:`slique.sim.header_parser.FlowKey`)
        steered to ``queue``; completes when it takes effect."""

    @abc.abstractmethod
    def configure_admission(self, tag, *, steady, burst, capacity, rate, denominator=0):
        """Set every queue's admission: steady depth ``S``, burst depth ``B``, bucket capacity
        ``C``, refill ``rate`` (fixed point, as the gateware's port) and ``denominator``;
        completes when it takes effect."""

    # The clock.

    @abc.abstractmethod
    def step(self):
        """Run one cycle; answer ``(cycle, completions)``, completions as ``(tag, Result)``."""

    # Reads.

    @abc.abstractmethod
    def read_counters(self):
        """Every counter, by name (a dict; per-queue counters as lists)."""

    @abc.abstractmethod
    def read_trace(self):
        """The trace records delivered since the last call, as
        :class:`slique.sim.trace_stream.Record` (cycle, block, reason, queue, tag)."""

    @abc.abstractmethod
    def queue_levels(self):
        """Every queue's depth: the beats it holds between the demux and the firmware (the
        sliques, and frames written back to the RX ring and not yet taken), a list."""

    # The wire (the link partner's side, for applications and tests).

    @abc.abstractmethod
    def offer(self, frame):
        """Queue ``frame`` to arrive on the RX wire (back to back with the ones before)."""

    @abc.abstractmethod
    def take_transmitted(self):
        """The frames sent on the TX wire since the last call, as ``(queue, frame)``."""

    @property
    @abc.abstractmethod
    def wire_pending(self):
        """Frames offered on the RX wire and not yet wholly into the NIC."""

    @property
    @abc.abstractmethod
    def idle(self):
        """Nothing on the wire, in the NIC, or in flight."""
