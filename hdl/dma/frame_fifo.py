"""A store-and-forward frame FIFO: whole frames in, whole frames out, aborted frames undone."""

from types import SimpleNamespace as _Port

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..output_registered_memory import OutputRegisteredMemory


__all__ = ["FrameFIFO", "FabricOutputFIFO", "frame_word_layout"]


def frame_word_layout(data_width, length_width):
    """One word written into the FIFO: ``data``; ``last`` ends the frame, and on the last word
    ``length`` (bytes of the whole frame) and ``abort`` (undo the frame) count."""
    return data.StructLayout({"data": data_width, "last": 1, "abort": 1,
                              "length": length_width})


class FrameFIFO(wiring.Component):
    """Frames of words, visible at the output only once their last word is written.

    The writer pushes a frame's words on ``w_stream``; the frame is *committed* by its
    ``last`` word, which carries the frame's byte ``length``, or undone by a ``last`` word with
    ``abort`` set (its words are forgotten: the space is free again and nothing of the frame is
    ever read). Committed frames leave in order: their lengths on ``length_stream`` (one per
    frame), their words on ``r_stream`` (``data``, ``last``). A committed frame's length enters
    the lengths' FIFO through registers (its write enable is near that FIFO, not the writer's
    handshake): it is at ``length_stream`` three cycles after the commit (when the lengths
    before it have left), and a commit waits only while a length is on its way in and the
    FIFO has room for that one alone. Without ``output_register`` a frame's first word may reach
    ``r_stream`` a cycle before its length: a reader waits for both.

    ``w_stream.ready`` is low only while the word memory is full (or, on a ``last`` word, while
    ``frames`` lengths are waiting): a frame longer than ``depth`` words can never be
    committed, so a writer must not start one (the DMA engine checks lengths first).

    Parameters
    ----------
    data_width : int
    depth : int
        Words of the memory, a power of two.
    length_width : int
        Bits of a frame length.
    frames : int
        Committed frames whose lengths can wait at once.
    output_register : bool
        Put ``r_stream``'s word in a register filled from the block RAM's read stage (the RAM
        always reads the word next in line), rather than straight from the read port: a block
        RAM's output is slow (ECP5: 5.8 ns clock to output), and with it whatever reads
        ``r_stream`` starts from a flip-flop. The register is the RAM's own output register on
        ECP5 (:class:`~slique.hdl.output_registered_memory.OutputRegisteredMemory`: 0.9 ns
        clock to output, no route from the RAM's column to a fabric register before it), a
        fabric register elsewhere, cycle for cycle the same. A frame's first word is then at
        the output a cycle later after its commit (three cycles rather than two); words still
        leave one a cycle.
    length_register : bool
        Put ``length_stream`` behind registers in the fabric (its ``payload`` and ``valid``
        flip-flops and a spare pair behind them, filled from the lengths' block RAM while
        either is empty): whatever decides on a length starts from a flip-flop near it rather
        than from the RAM's column, and the reader's ``ready`` goes no further than these
        registers. A frame's length is then at the output four cycles after its commit rather
        than three (when the lengths before it have left); the next length still follows a
        cycle after a pop.

    Attributes
    ----------
    w_stream : ``In(stream.Signature(frame_word_layout(...)))``
    r_stream : ``Out(stream.Signature(StructLayout{data, last}))``
    length_stream : ``Out(stream.Signature(length_width))``
    free : ``Out(range(depth + 1))``
        Words that can still be written.
    full : ``Out(1)``
        ``free == 0``, a register (its next value from compares of the pointers beside the
        push and the pop): for a writer's decision.
    commit_ready : ``Out(1)``
        A frame can be committed (room for its length, one on its way in counted).
    """

    def __init__(self, *, data_width, depth, length_width=16, frames=16, output_register=False,
                 length_register=False):
        if depth < 2 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two >= 2, not {depth!r}")
        self._output_register = output_register
        self._length_register = length_register
        self._data_width = data_width
        self._depth = depth
        self._frames = frames
        super().__init__({
            "w_stream": In(stream.Signature(frame_word_layout(data_width, length_width))),
            "r_stream": Out(stream.Signature(data.StructLayout({"data": data_width,
                                                                "last": 1}))),
            "length_stream": Out(stream.Signature(length_width)),
            "free": Out(range(depth + 1)),
            "full": Out(1),
            "commit_ready": Out(1),
        })

    depth = property(lambda self: self._depth)

    def elaborate(self, platform):
        m = Module()
        depth = self._depth
        pointer_width = depth.bit_length()  # one bit more than an index: full != empty

        # (a few lengths: LUT RAM, its write enable near the writer, no block RAM spent)
        m.submodules.lengths = lengths = FabricOutputFIFO(
            width=len(self.length_stream.payload), depth=self._frames, distributed=True)
        word_layout = data.StructLayout({"data": self._data_width, "last": 1})
        if self._output_register:
            # the RAM's read stage is the read port; its output register r_stream's word
            m.submodules.memory = memory = OutputRegisteredMemory(width=word_layout.size,
                                                                  depth=depth)
            write_port = _Port(addr=memory.w_addr, data=word_layout(memory.w_data),
                               en=memory.w_en)
            read_port = _Port(addr=memory.r_addr, data=word_layout(memory.r_data),
                              en=memory.r_en)
        else:
            m.submodules.memory = memory = Memory(shape=word_layout, depth=depth, init=[])
            write_port = memory.write_port()
            read_port = memory.read_port()

        write = Signal(pointer_width)       # next word written
        committed = Signal(pointer_width)   # end of the last committed frame
        read = Signal(pointer_width)        # next word read
        next_read = Signal(pointer_width)
        next_write = Signal(pointer_width)

        word = self.w_stream.payload
        pushed = Signal()
        popped = Signal()
        taken = Signal()                    # the word at the read port leaves the memory
        m.d.comb += [
            self.free.eq(depth - (write - read)),
            # (room for this length after the one being written now)
            self.commit_ready.eq(lengths.w_rdy & ~(lengths.w_en & lengths.one_left)),
            self.w_stream.ready.eq(Mux(word.last & word.abort, 1,
                                       ~self.full & (~word.last | self.commit_ready))),
            pushed.eq(self.w_stream.valid & self.w_stream.ready),
            write_port.addr.eq(write[:-1]),
            write_port.data.data.eq(word.data),
            write_port.data.last.eq(word.last),
            write_port.en.eq(pushed & ~(word.last & word.abort)),
        ]
        m.d.sync += [
            lengths.w_data.eq(word.length),
            lengths.w_en.eq(pushed & word.last & ~word.abort),
        ]
        # full (write - read == depth) as a register, so that the writer's decision and the
        # RAM's write enable start from a flip-flop: its next value from compares of the
        # registers (one word short of full; every word committed), beside the push, the
        # late push and pop only choosing
        full = Signal()
        one_short = Signal()
        all_committed = Signal()
        word_pushed = Signal()
        m.d.comb += [
            one_short.eq((write - read)[:pointer_width] == depth - 1),
            # (committed - read == depth: the lower bits equal, the top bits not)
            all_committed.eq((committed ^ read) == (1 << (pointer_width - 1))),
            word_pushed.eq(pushed & ~(word.last & word.abort)),
            self.full.eq(full),
        ]
        m.d.sync += full.eq(Mux(pushed & word.last & word.abort, all_committed & ~taken,
                                Mux(word_pushed, Mux(taken, full, one_short),
                                    full & ~taken)))
        m.d.comb += next_write.eq(write)
        with m.If(pushed):
            with m.If(word.last & word.abort):
                m.d.comb += next_write.eq(committed)
            with m.Else():
                m.d.comb += next_write.eq(write + 1)
                with m.If(word.last):
                    m.d.sync += committed.eq(write + 1)
        m.d.sync += write.eq(next_write)

        # the read port's word is the one at ``read`` (fetched as ``read`` moved there, or
        # again each cycle until it is committed); ``available`` says whether it is
        # (``committed`` of the cycle before: a word is read only once its write is done)
        available = Signal()
        m.d.comb += [
            popped.eq(self.r_stream.valid & self.r_stream.ready),
            # (the sum from the register, the late ``taken`` only choosing)
            next_read.eq(Mux(taken, read + 1, read)),
            # The read stage keeps an available word until it is taken (it then reads the
            # next one), and reads ``read`` again while its word is not available: its
            # address is chosen by a flip-flop, the reader's late ``taken`` reaches only its
            # enable.
            read_port.addr.eq(Mux(available, read + 1, read)[:pointer_width - 1]),
            read_port.en.eq(taken | ~available),
        ]
        if self._length_register:
            # the output register and a second one behind it: the lengths' FIFO is read while
            # either is empty (from flip-flops only: the reader's ready does not reach the
            # FIFO and its RAM's address), the output refilled from the second one or the FIFO
            spare_valid = Signal()
            spare = Signal.like(self.length_stream.payload)
            incoming = Signal()
            m.d.comb += [
                lengths.r_en.eq(~(self.length_stream.valid & spare_valid)),
                incoming.eq(lengths.r_rdy & lengths.r_en),
            ]
            with m.If(~self.length_stream.valid | self.length_stream.ready):
                with m.If(spare_valid):
                    m.d.sync += [self.length_stream.payload.eq(spare),
                                 spare_valid.eq(incoming), spare.eq(lengths.r_data)]
                with m.Else():
                    m.d.sync += [self.length_stream.valid.eq(incoming),
                                 self.length_stream.payload.eq(lengths.r_data)]
            with m.Elif(incoming):
                m.d.sync += [spare_valid.eq(1), spare.eq(lengths.r_data)]
        else:
            m.d.comb += [self.length_stream.valid.eq(lengths.r_rdy),
                         self.length_stream.payload.eq(lengths.r_data),
                         lengths.r_en.eq(self.length_stream.ready)]
        m.d.sync += [read.eq(next_read),
                     available.eq(Mux(taken, (read + 1)[:pointer_width] != committed,
                                     read != committed))]
        if self._output_register:
            # the output register takes the word at the read port when it is empty or left
            m.d.comb += [taken.eq(available & (~self.r_stream.valid | popped)),
                         memory.r_out_en.eq(taken),
                         self.r_stream.payload.eq(read_port.data)]
            with m.If(taken):
                m.d.sync += self.r_stream.valid.eq(1)
            with m.Elif(popped):
                m.d.sync += self.r_stream.valid.eq(0)
        else:
            m.d.comb += [taken.eq(popped), self.r_stream.valid.eq(available),
                         self.r_stream.payload.eq(read_port.data)]
        return m


class FabricOutputFIFO(Elaboratable):
    """:class:`amaranth.lib.fifo.SyncFIFOBuffered`'s ports and timing, cycle for cycle (a
    word written is readable two cycles later; ``w_rdy`` while fewer than ``depth - 1`` words
    wait behind the output), with ``r_data`` from a fabric register rather than from the block
    RAM's read port: the RAM (``depth - 1`` words) always reads the word next in line, and the
    output register takes it when it moves up. A block RAM's output is slow (ECP5: 5.8 ns
    clock to output); whatever reads ``r_data`` now starts from a flip-flop. With a block RAM
    the output register is the RAM's own on ECP5
    (:class:`~slique.hdl.output_registered_memory.OutputRegisteredMemory`, transparent: a word
    written into the empty RAM is written through its read port), so that nothing but a
    flip-flop lies between the RAM and ``r_data``; its read stage keeps the word next in line
    until it moves up, so the reader's ``r_en`` reaches the RAM's clock enable only, never its
    address.

    Parameters
    ----------
    width : int
    depth : int
        Words held, at least 2.
    distributed : bool
        Ask the synthesizer for distributed (LUT) RAM rather than a block RAM (``ram_style``):
        for a small memory whose block RAM's slow output still made the longest path (the
        block RAM to ``r_data``'s register, with the routing from the RAM's column).

    Attributes
    ----------
    w_data, w_en, w_rdy, r_data, r_en, r_rdy : Signal
        As :class:`~amaranth.lib.fifo.SyncFIFOBuffered`'s.
    empty : Signal
        No word inside, not even one on its way to the output (``r_rdy`` is low for a cycle
        after a write into the empty FIFO).
    one_left : Signal
        Room for one word only (``w_rdy`` and no more): for a writer whose writes go in a
        cycle late.
    """

    def __init__(self, *, width, depth, distributed=False):
        if depth < 2:
            raise ValueError(f"depth must be at least 2, not {depth!r}")
        self.width = width
        self.depth = depth
        self._attrs = {"ram_style": "distributed"} if distributed else None
        self.w_data = Signal(width)
        self.w_en = Signal()
        self.w_rdy = Signal()
        self.r_data = Signal(width)
        self.r_en = Signal()
        self.r_rdy = Signal()
        self.empty = Signal()
        self.one_left = Signal()

    def elaborate(self, platform):
        m = Module()
        inner_depth = self.depth - 1
        inner_level = Signal(range(inner_depth + 1))
        produce = Signal(range(inner_depth))
        consume = Signal(range(inner_depth))
        next_consume = Signal.like(consume)
        # following(consume) and inner_level != 0 as registers, set beside what they follow
        # (a read's choices start from flip-flops: the reader's r_en only chooses)
        consume_after = Signal.like(consume, init=0 if inner_depth == 1 else 1)
        inner_any = Signal()
        inner_one = Signal()                # inner_level == 1, a register likewise
        # w_rdy and one_left likewise (the writer's decisions start from flip-flops)
        inner_full = Signal()               # inner_level == inner_depth
        one_left_flag = Signal(init=inner_depth == 1)

        def following(pointer):
            return Mux(pointer == inner_depth - 1, 0, pointer + 1)

        # transparent: a word written at the address next in line is read in the same cycle
        if self._attrs is None:
            storage = m.submodules.storage = OutputRegisteredMemory(
                width=self.width, depth=inner_depth, transparent=True, collision_input=True)
            w_port = _Port(addr=storage.w_addr, data=storage.w_data, en=storage.w_en)
            r_port = _Port(addr=storage.r_addr, data=storage.r_data, en=storage.r_en)
        else:
            storage = m.submodules.storage = Memory(shape=self.width, depth=inner_depth,
                                                    init=[], attrs=self._attrs)
            w_port = storage.write_port()
            r_port = storage.read_port(transparent_for=(w_port,))
        do_write = Signal()
        do_inner_read = Signal()
        m.d.comb += [
            self.empty.eq(~self.r_rdy & ~inner_any),
            self.one_left.eq(one_left_flag),
            self.w_rdy.eq(~inner_full),
            do_write.eq(self.w_en & self.w_rdy),
            do_inner_read.eq(inner_any & (~self.r_rdy | self.r_en)),
            w_port.addr.eq(produce),
            w_port.data.eq(self.w_data),
            w_port.en.eq(do_write),
            next_consume.eq(Mux(do_inner_read, consume_after, consume)),
        ]
        if self._attrs is None:
            # The block RAM's read stage holds the word at ``consume`` whenever the RAM has
            # one: it reads the word after it as that one moves up, and holds otherwise; while
            # the RAM is empty it reads ``consume``, where the next word is written (and
            # written through). So its address is chosen by a flip-flop (``inner_any``), and
            # the reader's late ``r_en`` reaches only the read stage's enable.
            m.d.comb += [r_port.addr.eq(Mux(inner_any, consume_after, consume)),
                         r_port.en.eq(do_inner_read | ~inner_any)]
        else:
            # (LUT RAM: the read port's register goes on the address side, in the fabric;
            # an enable would put it after the RAM's read multiplexers instead)
            m.d.comb += r_port.addr.eq(next_consume)
        m.d.sync += [consume.eq(next_consume),
                     consume_after.eq(Mux(do_inner_read, following(consume_after),
                                          consume_after))]
        with m.If(do_write):
            m.d.sync += produce.eq(following(produce))
        with m.If(do_write & ~do_inner_read):
            m.d.sync += [inner_level.eq(inner_level + 1), inner_any.eq(1),
                         inner_one.eq(inner_level == 0), inner_full.eq(one_left_flag),
                         one_left_flag.eq(inner_level + 2 == inner_depth)]
        with m.If(do_inner_read & ~do_write):
            m.d.sync += [inner_level.eq(inner_level - 1), inner_any.eq(inner_level != 1),
                         inner_one.eq(inner_level == 2), inner_full.eq(0),
                         one_left_flag.eq(inner_full)]
        if self._attrs is None:
            # the write's address is the one read (r_addr is next_consume) when the RAM is
            # empty, or holds one word that is read now: the write goes through to the read
            m.d.comb += storage.collision.eq(Mux(do_inner_read, inner_one, ~inner_any))
            # the RAM's output register is r_data
            m.d.comb += [storage.r_out_en.eq(do_inner_read), self.r_data.eq(r_port.data)]
        else:
            with m.If(do_inner_read):
                m.d.sync += self.r_data.eq(r_port.data)
        with m.If(do_inner_read):
            m.d.sync += self.r_rdy.eq(1)
        with m.Elif(self.r_en):
            m.d.sync += self.r_rdy.eq(0)
        return m
