"""A block RAM read through the RAM's own output register (ECP5 ``DP16KD`` with ``OUTREG``)."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


__all__ = ["OutputRegisteredMemory", "dp16kd_geometry", "DP16KD_MAX_DEPTH"]


#: ``DP16KD`` port widths in true dual-port mode and the words each holds (16 Kbit + parity).
_DP16KD_WIDTHS = ((18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384))

#: The deepest memory :class:`OutputRegisteredMemory` builds from ``DP16KD`` columns; a deeper
#: one falls back to :class:`~amaranth.lib.memory.Memory` and a fabric register.
DP16KD_MAX_DEPTH = 16384


def dp16kd_geometry(width, depth):
    """``(port_width, blocks)``: the ``DP16KD`` port width (18, 9, 4, 2 or 1 bits) that holds
    ``depth`` words in one block with the fewest blocks side by side, and that number of
    blocks, for a memory of ``width`` bits by ``depth`` words (``depth <=``
    :data:`DP16KD_MAX_DEPTH`)."""
    for port_width, words in _DP16KD_WIDTHS:
        if depth <= words:
            return port_width, -(-width // port_width)
    raise ValueError(f"depth {depth} is more than a DP16KD column holds ({DP16KD_MAX_DEPTH})")


def _is_ecp5(platform):
    return getattr(platform, "family", None) == "ecp5"


class OutputRegisteredMemory(wiring.Component):
    """A memory of ``depth`` words with one write port and one read port whose word ends in a
    register: two cycles from address to data, each stage with its own enable.

    - *Write*: with ``w_en``, ``w_data`` is written at ``w_addr`` at the clock edge.
    - *Read*: with ``r_en``, the word at ``r_addr`` is read at the clock edge into the read
      stage (as a :class:`~amaranth.lib.memory.Memory` read port's ``data``; without ``r_en``
      the stage holds its word).
    - *Output register*: with ``r_out_en``, ``r_data`` takes the read stage's word at the clock
      edge (without it, it holds). ``r_addr`` with ``r_en`` in cycle *t* and ``r_out_en`` in
      cycle *t + 1* give the word in ``r_data`` in cycle *t + 2*.

    On ECP5 (``platform.family == "ecp5"``: an Amaranth ``LatticePlatform``, or what
    :func:`slique.bench.synth.synthesize` passes for ``target="ecp5"``) the memory is built
    from ``DP16KD`` block RAMs instantiated by hand in true dual-port mode: port A writes,
    port B reads, with ``REGMODE_B = "OUTREG"``, so that ``r_data`` is the RAM's output
    register: 0.9 ns from the clock to the output rather than the 5.8 ns of the RAM without it
    (nextpnr's ECP5 timing, speed grade 6), which Yosys's memory mapping never uses. The
    read stage's enable is the RAM's ``CEB``, the output register's its ``OCEB``. Elsewhere
    (simulation, Verilator, iCE40) it is a :class:`~amaranth.lib.memory.Memory` read port and a
    fabric register, cycle for cycle the same.

    A read of the address written in the same cycle gives the old word in simulation and an
    undefined one on ECP5 (a collision of the two ports) unless ``transparent``: then it gives
    the new word on both, the ECP5 RAM writing that word through port B
    (``WRITEMODE_B = "WRITETHROUGH"``, which shows it at the read stage) rather than port A.
    Neither output is reset: ``r_data`` holds whatever it last took (zero after configuration).

    Parameters
    ----------
    width : int
        Bits of a word.
    depth : int
        Words.
    transparent : bool
        A read of the address being written gives the new word (see above).
    collision_input : bool
        With ``transparent``: the caller says when ``w_addr == r_addr`` on ``collision``
        (from its own registers), in place of the ECP5 elaboration's compare of the two
        addresses, which would follow whatever chose ``r_addr`` and ``w_en``. The generic
        elaboration ignores it (its read port compares); the two differ if it is wrong.

    Attributes
    ----------
    w_addr : ``In(range(depth))``
    w_data : ``In(width)``
    w_en : ``In(1)``
    r_addr : ``In(range(depth))``
    r_en : ``In(1)``
        The read stage takes the word at ``r_addr``.
    r_out_en : ``In(1)``
        ``r_data`` takes the read stage's word.
    r_data : ``Out(width)``
        The output register.
    collision : ``In(1)``
        Only with ``collision_input``: ``w_addr == r_addr`` in this cycle.
    """

    def __init__(self, *, width, depth, transparent=False, collision_input=False):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, not {depth!r}")
        if collision_input and not transparent:
            raise ValueError("collision_input is for a transparent memory")
        self._width = width
        self._depth = depth
        self._transparent = transparent
        self._collision_input = collision_input
        members = {
            "w_addr": In(range(depth)),
            "w_data": In(width),
            "w_en": In(1),
            "r_addr": In(range(depth)),
            "r_en": In(1),
            "r_out_en": In(1),
            "r_data": Out(width),
        }
        if collision_input:
            members["collision"] = In(1)
        super().__init__(members)

    width = property(lambda self: self._width)
    depth = property(lambda self: self._depth)
    transparent = property(lambda self: self._transparent)

    def elaborate(self, platform):
        if _is_ecp5(platform) and self._depth <= DP16KD_MAX_DEPTH:
            return self._elaborate_dp16kd(platform)
        return self._elaborate_memory()

    def _elaborate_memory(self):
        m = Module()
        m.submodules.storage = storage = Memory(shape=self._width, depth=self._depth, init=[])
        w_port = storage.write_port()
        r_port = storage.read_port(transparent_for=(w_port,) if self._transparent else ())
        m.d.comb += [
            w_port.addr.eq(self.w_addr),
            w_port.data.eq(self.w_data),
            w_port.en.eq(self.w_en),
            r_port.addr.eq(self.r_addr),
            r_port.en.eq(self.r_en),
        ]
        # (not reset, as the RAM's output register is not)
        output = Signal(self._width, reset_less=True)
        with m.If(self.r_out_en):
            m.d.sync += output.eq(r_port.data)
        m.d.comb += self.r_data.eq(output)
        return m

    def _elaborate_dp16kd(self, platform):
        m = Module()
        port_width, blocks = dp16kd_geometry(self._width, self._depth)
        low_bits = {18: 4, 9: 3, 4: 2, 2: 1, 1: 0}[port_width]
        address_bits = 14 - low_bits

        def address(addr):
            # the word address in AD[13:low_bits]; in the x18 mode AD[1:0] are the byte
            # write enables (both on), AD[3:2] unused
            low = Const(0b0011, 4) if port_width == 18 else Const(0, low_bits)
            return Cat(low, addr, Const(0, address_bits - len(addr)))

        # port B writes (through to its read stage) the word whose address it reads
        through = Signal()
        if self._collision_input:
            m.d.comb += through.eq(self.w_en & self.r_en & self.collision)
        elif self._transparent:
            m.d.comb += through.eq(self.w_en & self.r_en & (self.w_addr == self.r_addr))
        address_a, address_b = address(self.w_addr), address(self.r_addr)
        make = getattr(platform, "get_dp16kd", None) or _dp16kd_instance
        data_out = []
        for block in range(blocks):
            bits = slice(block * port_width, min((block + 1) * port_width, self._width))
            data_in = Cat(self.w_data[bits], Const(0, 18))[:18]
            out = Signal(18, name=f"dob_{block}")
            parameters = {
                "DATA_WIDTH_A": port_width, "DATA_WIDTH_B": port_width,
                "REGMODE_A": "NOREG", "REGMODE_B": "OUTREG",
                "RESETMODE": "SYNC", "ASYNC_RESET_RELEASE": "SYNC",
                "CSDECODE_A": "0b000", "CSDECODE_B": "0b000",
                "WRITEMODE_A": "NORMAL",
                "WRITEMODE_B": "WRITETHROUGH" if self._transparent else "NORMAL",
                "GSR": "AUTO",
            }
            ports = {
                "CLKA": ClockSignal(), "CEA": Const(1), "OCEA": Const(1), "RSTA": Const(0),
                "WEA": self.w_en & ~through, "ADA": address_a, "DIA": data_in,
                "CLKB": ClockSignal(), "CEB": self.r_en, "OCEB": self.r_out_en,
                # (port B's data only for a write through it: otherwise a constant, no nets)
                "RSTB": Const(0), "WEB": through, "ADB": address_b,
                "DIB": data_in if self._transparent else Const(0, 18),
                "DOB": out,
            }
            m.submodules[f"block_{block}"] = make(parameters, ports)
            data_out.append(out[:bits.stop - bits.start])
        m.d.comb += self.r_data.eq(Cat(*data_out))
        return m


def _dp16kd_instance(parameters, ports):
    """The ``DP16KD`` primitive: ``parameters`` as its parameters, ``ports`` by name (the
    18-bit ``DIA`` / ``DIB`` / ``DOB`` and 14-bit ``ADA`` / ``ADB`` buses split into the
    primitive's one-bit ports; ``DOA`` and the chip selects unconnected or zero)."""
    arguments = {f"p_{name}": value for name, value in parameters.items()}
    for name, value in ports.items():
        value = Value.cast(value)
        if name in ("DIA", "DIB", "ADA", "ADB"):
            for bit in range(len(value)):
                arguments[f"i_{name}{bit}"] = value[bit]
        elif name == "DOB":
            for bit in range(len(value)):
                arguments[f"o_{name}{bit}"] = value[bit]
        else:
            arguments[f"i_{name}"] = value
    for port in ("A", "B"):
        for bit in range(3):
            arguments[f"i_CS{port}{bit}"] = Const(0)
    return Instance("DP16KD", **arguments)
