"""A Wishbone B4 pipelined master that runs burst commands for the DMA engine."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .. import wishbone
from .._parameters import check_choice


__all__ = ["WishboneBurstMaster", "BUS_WIDTHS", "command_layout", "read_beat_layout",
           "write_beat_layout", "done_layout"]


#: Data widths of the host bus.
BUS_WIDTHS = (32, 64)


def command_layout(word_addr_width, beats_width, tag_width):
    """One burst command: ``write``, the first word ``address``, ``beats`` (1 or more) and a
    ``tag`` echoed on the read beats and the completion."""
    return data.StructLayout({"write": 1, "address": word_addr_width, "beats": beats_width,
                              "tag": tag_width})


def read_beat_layout(data_width, tag_width):
    """One answered read beat: ``data``, ``err`` (the beat was answered with ``err``, or was
    not requested because an earlier beat of its burst was) and the command's ``tag``."""
    return data.StructLayout({"data": data_width, "err": 1, "tag": tag_width})


def write_beat_layout(data_width):
    """One beat to write: ``data`` and the byte selects ``sel``."""
    return data.StructLayout({"data": data_width, "sel": data_width // 8})


def done_layout(tag_width):
    """The completion of a command: ``err`` (some beat was answered with ``err``) and ``tag``."""
    return data.StructLayout({"err": 1, "tag": tag_width})


class WishboneBurstMaster(wiring.Component):
    """Runs burst commands on a Wishbone B4 pipelined bus (``stall``, ``err``, ``cti``, ``bte``).

    A command (``cmd``) asks for ``beats`` consecutive words from word ``address`` on; its
    payload must stay unchanged until the command is done (the first request's address is read
    from it: the engine's clients hold a command's registers until its completion). The
    master raises ``cyc`` and puts one request on the bus in every cycle the target does not
    ``stall`` (a burst with ``cti`` INCR_BURST, END_OF_BURST on its last request, ``bte``
    LINEAR); the target answers each request, in order, with ``ack`` or ``err``. ``cyc`` falls
    once every request of the command is answered, so a command never leaves the bus in the
    middle of a cycle, whatever the answers are.

    - A read delivers exactly ``beats`` beats on ``read``, in order, one per answer, never
      back-pressured (whoever issues a read has room for it). After an ``err`` answer the rest
      of the burst is not requested: its beats are delivered with ``err`` set and data 0, so a
      consumer always sees the number of beats it asked for.
    - A write takes exactly ``beats`` beats from ``write`` (data and byte selects); after an
      ``err`` answer the rest are taken and not put on the bus.
    - Each command ends with one ``done`` (never back-pressured) carrying ``err`` (some beat
      was answered with ``err``) and the ``tag``, in the cycle of its last answer (a write
      whose last beats were skipped after an ``err``: in the cycle after the last one, so
      that ``done`` never waits for the client's ``write.valid``); the next
      command is taken in that same cycle, so a burst of ``n`` beats on a target answering in
      the cycle after each request occupies the bus ``n + 1`` cycles.

    Parameters
    ----------
    data_width : 32 or 64
        Bits of a bus word.
    addr_width : int
        Bits of a byte address; the bus's ``adr`` is the word address (``addr_width`` minus 2
        or 3 bits).
    max_beats : int
        Largest ``beats`` of a command.
    tag_width : int
        Bits of the tag.

    Attributes
    ----------
    bus : ``Out(wishbone.Signature(...))``
        The initiator port (byte granularity).
    cmd : ``In(stream.Signature(command_layout(...)))``
    write : ``In(stream.Signature(write_beat_layout(data_width)))``
    read : ``Out(stream.Signature(read_beat_layout(...), always_ready=True))``
    done : ``Out(stream.Signature(done_layout(tag_width), always_ready=True))``
    busy : ``Out(1)``
        A command is in progress.
    """

    def __init__(self, *, data_width=64, addr_width=32, max_beats=32, tag_width=2):
        check_choice("data_width", data_width, BUS_WIDTHS)
        if not isinstance(max_beats, int) or max_beats < 1:
            raise ValueError(f"max_beats must be a positive integer, not {max_beats!r}")
        self._data_width = data_width
        self._word_bits = (data_width // 8).bit_length() - 1
        if not isinstance(addr_width, int) or addr_width <= self._word_bits:
            raise ValueError(f"addr_width must be an integer > {self._word_bits}, "
                             f"not {addr_width!r}")
        self._addr_width = addr_width
        self._max_beats = max_beats
        self._tag_width = tag_width
        word_addr_width = addr_width - self._word_bits
        beats_width = max_beats.bit_length()
        super().__init__({
            "bus": Out(wishbone.Signature(
                addr_width=word_addr_width, data_width=data_width, granularity=8,
                features={"stall", "err", "cti", "bte"})),
            "cmd": In(stream.Signature(command_layout(word_addr_width, beats_width, tag_width))),
            "write": In(stream.Signature(write_beat_layout(data_width))),
            "read": Out(stream.Signature(read_beat_layout(data_width, tag_width),
                                         always_ready=True)),
            "done": Out(stream.Signature(done_layout(tag_width), always_ready=True)),
            "busy": Out(1),
        })

    data_width = property(lambda self: self._data_width)
    addr_width = property(lambda self: self._addr_width)
    max_beats = property(lambda self: self._max_beats)
    word_bits = property(lambda self: self._word_bits, doc="log2 of the bytes per bus word.")

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        beats_width = self._max_beats.bit_length()

        write = Signal()
        tag = Signal(self._tag_width)
        address = Signal.like(bus.adr)
        to_issue = Signal(beats_width)      # requests not yet put on the bus
        to_answer = Signal(beats_width)     # beats not yet answered (or skipped)
        outstanding = Signal(beats_width)   # requests on the bus, not yet answered
        errored = Signal()                  # some beat of this command was answered with err

        # The first request's address is the command's own (``cmd.payload`` holds it until the
        # command is done): ``address`` is loaded as requests go out, never when a command is
        # taken, so that the answer that ends a command (and lets the next one in) does not
        # reach its 30 flip-flops.
        first_request = Signal()            # no request of this command accepted yet
        # "Is this counter zero / one?" kept in registers beside the counters, so that no
        # decision waits for a compare: the answers (``ack`` / ``err``) reach ``done``,
        # ``read`` and ``cmd.ready`` through one or two gates.
        issue_left = Signal()               # to_issue != 0
        issue_last = Signal()               # to_issue == 1
        answer_none = Signal()              # to_answer == 0
        answer_last = Signal()              # to_answer == 1
        pending = Signal()                  # outstanding != 0
        pending_one = Signal()              # outstanding == 1

        issuing = Signal()
        accepted = Signal()
        answered = Signal()
        skipped = Signal()
        skipped_read = Signal()             # skipped, were it a read
        finishing = Signal()
        counted = Signal()                  # answered | skipped

        m.d.comb += [
            issuing.eq(self.busy & ~errored & issue_left & (~write | self.write.valid)),
            accepted.eq(issuing & ~bus.stall),
            # requests on the bus imply a command in progress and ``cyc``
            answered.eq((bus.ack | bus.err) & pending),
            # after an error, the beats not requested are delivered (read) or taken (write),
            # one per cycle, once the requests on the bus are answered
            skipped_read.eq(self.busy & errored & issue_left & ~pending),
            skipped.eq(skipped_read & (~write | self.write.valid)),
            counted.eq(answered | skipped),

            bus.cyc.eq(self.busy & (pending | issuing)),
            bus.stb.eq(issuing),
            bus.we.eq(write),
            bus.adr.eq(Mux(first_request, self.cmd.payload.address, address)),
            bus.dat_w.eq(self.write.payload.data),
            bus.sel.eq(Mux(write, self.write.payload.sel, -1)),
            bus.cti.eq(Mux(issue_last, wishbone.CycleType.END_OF_BURST,
                           wishbone.CycleType.INCR_BURST)),
            bus.bte.eq(wishbone.BurstTypeExt.LINEAR),
            self.write.ready.eq(write & (accepted | skipped)),

            self.read.valid.eq(~write & counted),
            self.read.payload.data.eq(Mux(answered & bus.ack & ~errored, bus.dat_r, 0)),
            self.read.payload.err.eq(~answered | bus.err | errored),
            self.read.payload.tag.eq(tag),

            # a skipped write beat waits for the client's ``write.valid``: the command it ends
            # is done in the next cycle (``to_answer`` is 0 then), so that ``done`` never
            # waits for a client
            # (spelled as the answer's choice between two values of registers, the answer
            # being the last input to arrive; a skipped read beat without ``write.valid``,
            # which it does not depend on, so that neither ``done`` nor the next command's
            # load waits for the write skid buffer's ``valid``)
            finishing.eq(Mux(answered, self.busy & answer_last,
                             self.busy & Mux(skipped_read & ~write, answer_last,
                                             answer_none))),
            self.done.valid.eq(finishing),
            self.done.payload.err.eq(errored | (answered & bus.err)),
            self.done.payload.tag.eq(tag),
            self.cmd.ready.eq(~self.busy | finishing),
        ]

        issued = accepted | skipped
        with m.If(accepted):
            m.d.sync += [address.eq(bus.adr + 1), first_request.eq(0)]
        # (the counters' next values computed from the registers, the late handshakes only
        # choosing among them: no carry chain starts at an answer)
        m.d.sync += [
            to_issue.eq(Mux(issued, to_issue - 1, to_issue)),
            issue_left.eq(Mux(issued, to_issue > 1, issue_left)),
            issue_last.eq(Mux(issued, to_issue == 2, issue_last)),
            to_answer.eq(Mux(counted, to_answer - 1, to_answer)),
            answer_none.eq(Mux(counted, answer_last, answer_none)),
            answer_last.eq(Mux(counted, to_answer == 2, answer_last)),
            outstanding.eq(Mux(accepted == answered, outstanding,
                               Mux(accepted, outstanding + 1, outstanding - 1))),
        ]
        with m.If(accepted & ~answered):
            m.d.sync += [pending.eq(1), pending_one.eq(~pending)]
        with m.Elif(~accepted & answered):
            m.d.sync += [pending.eq(~pending_one), pending_one.eq(outstanding == 2)]
        with m.If(answered & bus.err):
            m.d.sync += errored.eq(1)
        with m.If(finishing):
            m.d.sync += [self.busy.eq(0), errored.eq(0)]
        with m.If(self.cmd.valid & self.cmd.ready):
            command = self.cmd.payload
            m.d.sync += [
                self.busy.eq(1),
                write.eq(command.write),
                tag.eq(command.tag),
                first_request.eq(1),
                to_issue.eq(command.beats),
                issue_left.eq(command.beats != 0),
                issue_last.eq(command.beats == 1),
                to_answer.eq(command.beats),
                answer_none.eq(command.beats == 0),
                answer_last.eq(command.beats == 1),
                errored.eq(0),
            ]
        return m
