"""A register-driven harness that lets a stream design be synthesized on its own.

Synthesizing a design with its ports on pins measures the pins: a 32-bit queue needs more than
70 of them, and unconnected outputs let the synthesizer remove everything. The harness of this
module needs four pins (clock, reset, one input, one output) whatever the width:

- every input of the design under test (``i_stream.payload``, ``i_stream.valid``,
  ``o_stream.ready``) is a bit of a shift register fed serially from the input pin;
- every output (``o_stream.payload``, ``o_stream.valid``, ``i_stream.ready`` and any status
  signal asked for, such as ``level``) is captured in a register, and the captured bits are
  folded by a pipelined tree of 4-input exclusive-or gates into one register driving the
  output pin.

So nothing can be optimized away, and the design under test has registers on both sides: its
register-to-register paths (or its input-to-output paths, if it is combinational) are the only
paths longer than one LUT, and Fmax measures them. The design under test is the submodule
named ``dut``, which :func:`slique.bench.synth.synthesize` counts on its own.
"""

from dataclasses import dataclass

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


__all__ = ["StreamPorts", "StreamHarness"]


#: Inputs of one exclusive-or gate in the folding tree: a LUT4 on iCE40 and ECP5.
FOLD_ARITY = 4


@dataclass(frozen=True)
class StreamPorts:
    """The three signals of a valid/ready stream, as seen by the harness.

    Parameters
    ----------
    payload : Value-like
        Data; may be a :class:`~amaranth.lib.data.View`.
    valid : Signal(1)
        Asserted when ``payload`` holds a beat.
    ready : Signal(1)
        Asserted when the receiver takes a beat.
    """
    payload: object
    valid: object
    ready: object

    @classmethod
    def cast(cls, stream):
        """Stream ports from an object with ``payload``, ``valid`` and ``ready`` attributes
        (an :class:`amaranth.lib.stream.Interface`, for example), a ``(payload, valid, ready)``
        tuple, or a callable returning either."""
        if isinstance(stream, StreamPorts):
            return stream
        if callable(stream) and not hasattr(stream, "payload"):
            stream = stream()
        if isinstance(stream, tuple):
            return cls(*stream)
        return cls(stream.payload, stream.valid, stream.ready)


class StreamHarness(wiring.Component):
    """Drive a stream design under test from one pin and observe it on another.

    Parameters
    ----------
    dut : Elaboratable
        The design under test; it becomes the submodule ``dut``.
    i_stream : stream-like
        The stream the design under test receives: its ``payload`` and ``valid`` are driven by
        the harness, its ``ready`` observed. Anything :meth:`StreamPorts.cast` accepts.
    o_stream : stream-like
        The stream the design under test sends: its ``ready`` is driven by the harness, its
        ``payload`` and ``valid`` observed.
    observe : iterable of Value-like
        Further outputs of the design under test to keep (``level``, for example); outputs
        not listed here and not part of the streams are left unconnected, so their logic is
        removed as in any design that does not use them.

    Attributes
    ----------
    serial_in : Signal(1), in
        Shifted into the stimulus register every cycle.
    serial_out : Signal(1), out
        Exclusive-or of all observed bits, a few cycles late.
    dut : Elaboratable
        The design under test.
    stimulus_width : int
        Bits in the stimulus shift register.
    observed_width : int
        Bits captured from the design under test.
    """

    serial_in: In(1)
    serial_out: Out(1)

    def __init__(self, dut, i_stream, o_stream, *, observe=()):
        self.dut = dut
        self._i_stream = StreamPorts.cast(i_stream)
        self._o_stream = StreamPorts.cast(o_stream)
        self._observe = [Value.cast(value) for value in observe]
        super().__init__()

    @classmethod
    def for_component(cls, component, *, observe=()):
        """Harness for a component with ``i_stream`` and ``o_stream`` ports (a slique)."""
        return cls(component, component.i_stream, component.o_stream, observe=observe)

    @classmethod
    def for_fifo(cls, fifo, *, observe_level=True):
        """Harness for an :class:`amaranth.lib.fifo.FIFOInterface` (``w_*`` / ``r_*`` ports),
        observing its ``level`` unless ``observe_level`` is false."""
        observe = [fifo.level] if observe_level else []
        return cls(fifo, fifo.w_stream, fifo.r_stream, observe=observe)

    @property
    def _driven(self):
        return [Value.cast(self._i_stream.payload), Value.cast(self._i_stream.valid),
                Value.cast(self._o_stream.ready)]

    @property
    def _observed(self):
        return [Value.cast(self._o_stream.payload), Value.cast(self._o_stream.valid),
                Value.cast(self._i_stream.ready), *self._observe]

    @property
    def stimulus_width(self):
        return sum(len(value) for value in self._driven)

    @property
    def observed_width(self):
        return sum(len(value) for value in self._observed)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.dut

        stimulus = Signal(self.stimulus_width)
        m.d.sync += stimulus.eq(Cat(self.serial_in, stimulus[:-1]))
        m.d.comb += Cat(*self._driven).eq(stimulus)

        captured = Signal(self.observed_width)
        m.d.sync += captured.eq(Cat(*self._observed))
        m.d.comb += self.serial_out.eq(self._fold(m, captured))
        return m

    @staticmethod
    def _fold(m, bits):
        """Fold ``bits`` into one register with a tree of :data:`FOLD_ARITY`-input exclusive-or
        gates, registered at every level so that no harness path is longer than one LUT."""
        level = 0
        while True:
            groups = [bits[start:start + FOLD_ARITY]
                      for start in range(0, len(bits), FOLD_ARITY)]
            folded = Signal(len(groups), name=f"fold_{level}")
            m.d.sync += folded.eq(Cat(group.xor() for group in groups))
            if len(groups) == 1:
                return folded
            bits = folded
            level += 1
