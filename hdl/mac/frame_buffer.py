"""Whole frames only: the store-and-forward buffer of the receive MAC and of the transmit side."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..packet import packet_layout


__all__ = ["FrameBuffer"]


class FrameBuffer(wiring.Component):
    """Holds each frame of ``i_stream`` until its ``last`` byte is in, then lets it out on
    ``o_stream`` without a gap, which :class:`~slique.hdl.mac.MacTx` needs (it cannot pause a
    frame on the wire); a frame being written can be forgotten with ``discard``, which
    :class:`~slique.hdl.mac.MacRx` does with a frame whose outcome is not ``GOOD``.

    Nothing is dropped: ``i_stream`` waits while the buffer is full, so every frame must fit
    (``depth`` bytes, more than the longest frame; the receive MAC upstream delivers none
    longer than its ``max_length``).

    Made for 125 MHz on the ECP5, where a block RAM's output takes some 6 ns to appear: every
    path of the buffer starts and ends in a flip-flop or in the memory, with at most one LUT
    after the memory's output and the consumer's ``ready`` reaching only the output queue.

    - ``i_stream.ready`` (``room``) is a register: high when at least two words were free at
      the last clock edge (one word at most is written a clock, so one is free now).
    - The memory is read ahead of the consumer into a queue of :data:`OUTPUT_QUEUE` flip-flop
      words: a committed word is fetched when the queue has room for it counting the words
      already in flight (three clocks from the fetch to the queue), and the memory's output
      goes into a flip-flop without logic in between (the memory carries Yosys's
      ``no_rw_check``: a word is never fetched in the clock it is written, so no collision
      logic is needed). ``o_stream`` comes out of the queue, one word a clock without gaps
      while the consumer takes one a clock.

    Parameters
    ----------
    depth : int
        Bytes, a power of two.

    Attributes
    ----------
    i_stream : ``In(stream.Signature(packet_layout(8)))``
        ``first`` is not looked at: a frame ends with ``last``.
    o_stream : ``Out(stream.Signature(packet_layout(8)))``
    room : ``Out(1)``
        ``i_stream.ready``: a byte can be written in this clock.
    discard : ``In(1)``
        Forget the frame being written (the bytes since the last ``last``), a byte written in
        the same clock included.
    """

    #: Words of the flip-flop queue between the memory and ``o_stream``.
    OUTPUT_QUEUE = 4

    def __init__(self, *, depth=2048):
        if depth < 4 or depth & (depth - 1):
            raise ValueError(f"depth must be a power of two >= 4, not {depth!r}")
        self.depth = depth
        super().__init__({"i_stream": In(stream.Signature(packet_layout(8))),
                          "o_stream": Out(stream.Signature(packet_layout(8))),
                          "room": Out(1), "discard": In(1)})

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        pointer_width = depth.bit_length()  # one bit more than an index: full != empty
        word_layout = data.StructLayout({"data": 8, "last": 1})
        # No collision logic: the memory reads the word being written only when it is empty
        # (it is never full), and then the word read is not fetched.
        m.submodules.memory = memory = Memory(shape=word_layout, depth=depth, init=[],
                                              attrs={"no_rw_check": 1})
        write_port = memory.write_port()
        # A combinational read port into a flip-flop, which Yosys merges into the block RAM's
        # own read register: the ``no_rw_check`` then applies (it does not to a read port
        # written as synchronous, which Yosys wraps in collision logic).
        read_port = memory.read_port(domain="comb")

        write = Signal(pointer_width)       # next word written
        committed = Signal(pointer_width)   # end of the last whole frame
        read = Signal(pointer_width)        # next word fetched

        # Writing: room from the pointers at the last edge.
        pushed = Signal()
        m.d.comb += [
            self.i_stream.ready.eq(self.room),
            pushed.eq(self.i_stream.valid & self.room),
            write_port.addr.eq(write[:-1]),
            write_port.data.data.eq(self.i_stream.payload.data),
            write_port.data.last.eq(self.i_stream.payload.last),
            write_port.en.eq(pushed),
        ]
        m.d.sync += self.room.eq((write - read)[:pointer_width] <= depth - 2)
        with m.If(self.discard):
            m.d.sync += write.eq(committed)
        with m.Elif(pushed):
            m.d.sync += write.eq(write + 1)
            with m.If(self.i_stream.payload.last):
                m.d.sync += committed.eq(write + 1)

        # Reading ahead: the memory reads the word at `read` at every edge; a fetched word is
        # on the memory's output in the next clock, in a flip-flop of its own (next to the
        # memory, one destination) in the clock after, and enters the queue at the next edge.
        queue = Array(Signal(word_layout, name=f"queue{index}")
                      for index in range(self.OUTPUT_QUEUE))
        queue_write = Signal(range(2 * self.OUTPUT_QUEUE))  # one bit more: full != empty
        queue_read = Signal(range(2 * self.OUTPUT_QUEUE))
        claimed = Signal(range(self.OUTPUT_QUEUE + 1))      # words in flight or queued
        fetch = Signal()
        fetched = Signal()
        arriving = Signal()
        popped = Signal()
        memory_output = Signal(word_layout)  # the memory's read register
        staged = Signal(word_layout)
        m.d.sync += [memory_output.eq(read_port.data), staged.eq(memory_output)]
        m.d.comb += [
            read_port.addr.eq(read[:-1]),
            fetch.eq((read != committed) & (claimed != self.OUTPUT_QUEUE)),
            popped.eq(self.o_stream.valid & self.o_stream.ready),
        ]
        m.d.sync += [fetched.eq(fetch), arriving.eq(fetched),
                     claimed.eq(claimed + fetch - popped)]
        with m.If(fetch):
            m.d.sync += read.eq(read + 1)
        for index in range(self.OUTPUT_QUEUE):
            with m.If(arriving & (queue_write[:-1] == index)):
                m.d.sync += queue[index].eq(staged)
        with m.If(arriving):
            m.d.sync += queue_write.eq(queue_write + 1)

        head = queue[queue_read[:-1]]
        output_first = Signal(init=1)   # the next word on o_stream starts a frame
        m.d.comb += [
            self.o_stream.valid.eq(queue_read != queue_write),
            self.o_stream.payload.data.eq(head.data),
            self.o_stream.payload.last.eq(head.last),
            self.o_stream.payload.first.eq(output_first),
        ]
        with m.If(popped):
            m.d.sync += [queue_read.eq(queue_read + 1), output_first.eq(head.last)]
        return m
