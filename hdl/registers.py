"""Register descriptions: one Python description per block, the source of its register bank,
its Markdown register map and the constants its drivers import.

A description is a :class:`RegisterMap`: a named list of :class:`Register` (and
:class:`RegisterArray`, a register repeated at a stride, such as the i225's per-queue
``RDBAL(n) = 0xC000 + 0x40 n`` or ``RETA(i) = 0x5C00 + 4 i``), each with a byte offset, an
access mode, a reset value, a doc string and optionally :class:`Field`\\ s. From it,

- :class:`slique.hdl.RegisterBank` builds the 32-bit Wishbone B4 slave;
- :mod:`slique.regmap` writes the Markdown map and the constants module;
- :class:`slique.sim.RegisterFile` and :class:`slique.sim.RegisterBank` are the golden models.

The naming follows amaranth-soc's ``csr.Register`` and its field actions (``r_data``,
``r_stb``, ``w_data``, ``w_stb``, ``data``), which amaranth-soc has no usable release of.

Access modes (of a field; a register without fields is one field of 32 bits)
-------------------------------------------------------------------------------
``"rw"``
    Configuration kept in the bank. Reads return it; writes change the bytes ``sel`` selects.
    The bank drives ``data`` (the value, from the reset value on) and ``w_stb`` (high for one
    cycle, the cycle in which ``data`` first shows a value written by the bus). With
    ``hw_write=True`` the block can also load it (``hw_stb``, ``hw_data``: a head pointer that
    software initialises and hardware advances); a bus write in the same cycle wins.
``"r"``
    Status owned by the block, which drives ``r_data``. Reads return ``r_data`` as it is in
    the cycle the read is accepted, and ``r_stb`` is high in that same cycle (combinational),
    so a block that advances on a read (pops a FIFO, clears its own counter) does it at the
    clock edge that captures the value. Writes are ignored.
``"w"``
    Write-only command. A write drives ``w_data`` (the written bits in the selected bytes, zero
    elsewhere; it keeps them until the next write) and ``w_stb`` for one cycle, the cycle after
    the write was accepted. Reads return 0.
``"rc"``
    Read-to-clear event counter, kept in the bank (the simplest correct design: the one place
    that counts is the one place that clears, so an event in the very cycle of a clearing read
    is neither lost nor counted twice). The block drives ``inc`` (the number of events in this
    cycle, ``inc_width`` bits, 1 by default: a strobe); the bank drives ``data`` (the count).
    The count saturates at the field's maximum (``2**32 - 1`` for a 32-bit counter). A read in
    which ``sel`` selects every byte of the field returns the count and sets it to the events
    of that cycle; a read selecting only some of its bytes returns it without clearing (so no
    part of a count is ever thrown away unread). Writes are ignored. Conservation:
    ``sum(inc) == sum(counts returned by clearing reads) + data`` until the count saturates.
``"w1c"``
    Write-1-to-clear cause bits, kept in the bank. The block drives ``set`` (bits to raise this
    cycle); the bank drives ``data``. A write clears the bits that are 1 in the selected bytes;
    a bit set and cleared in the same cycle stays set (an event is never lost to a clear).
``"w1s"``
    Write-1-to-set bits, kept in the bank: a mask that software sets bit by bit (the i225's
    ``IMS`` / ``EIMS``, read back as the mask) and the block clears (``clear``, driven from the
    ``w_data`` of a ``"w"`` mask-clear register such as ``EIMC``). A write sets the bits that
    are 1 in the selected bytes; a bit the bus sets in the cycle the block clears it stays set
    (the newer request wins).

Bits of a register not covered by a field are reserved: they read 0 and writes are ignored.
"""

import keyword
from dataclasses import dataclass

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


__all__ = ["ACCESS_MODES", "ACCESS_DOC", "REGISTER_WIDTH", "Field", "Register", "RegisterArray",
           "RegisterMap", "RegisterInstance", "port_name"]


#: Width of every register, in bits (the data width of the register bank's bus).
REGISTER_WIDTH = 32

#: Bytes per register: offsets are multiples of this.
REGISTER_BYTES = REGISTER_WIDTH // 8

#: The access modes, see the module documentation.
ACCESS_MODES = ("rw", "r", "w", "rc", "w1c", "w1s")

#: One line per access mode, for the generated register map.
ACCESS_DOC = {
    "rw": "read/write configuration, kept in the bank; writes honour the byte selects",
    "r": "read-only status, driven by the block; writes are ignored",
    "w": "write-only command: a one-cycle strobe with the written bits; reads return 0",
    "rc": "read-to-clear counter kept in the bank, saturating; a read selecting all of its "
          "bytes returns the count and clears it (events of that same cycle are kept); "
          "writes are ignored",
    "w1c": "write-1-to-clear cause bits, set by the block; a bit set and cleared in the same "
           "cycle stays set",
    "w1s": "write-1-to-set mask bits, cleared by the block; a bit set by the bus in the cycle "
           "the block clears it stays set",
}

#: Names the register bank uses for its own ports.
RESERVED_NAMES = frozenset({"bus", "unmapped"})


def _check_name(kind, name):
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_") \
            or keyword.iskeyword(name):
        raise ValueError(f"{kind} name must be a Python identifier not starting with '_', "
                         f"not {name!r}")
    return name


def _check_int(kind, value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TypeError(f"{kind} must be an integer >= {minimum}, not {value!r}")
    return value


class Field:
    """One field of a register.

    Parameters
    ----------
    name : str
        A Python identifier, unique within the register.
    bits : int or (int, int)
        The bit (``25``) or the inclusive range ``(msb, lsb)`` (``(6, 0)``, as data sheets
        write ``6:0``) the field occupies, within 0..31.
    access : str
        One of :data:`ACCESS_MODES`.
    doc : str
        One line (or a paragraph) for the register map.
    hw_write : bool
        ``"rw"`` only: add ``hw_stb`` / ``hw_data`` inputs through which the block loads it.
    inc_width : int
        ``"rc"`` only: width of the ``inc`` input (events per cycle), 1 to the field's width.

    Attributes
    ----------
    lsb, msb, width, mask, shift
        Position: ``mask`` is in place (``((1 << width) - 1) << lsb``), ``shift`` is ``lsb``.
    signature : wiring.Signature
        The field's ports, from the bank's side (see the module documentation).
    """

    def __init__(self, name, bits, access, doc="", *, hw_write=False, inc_width=1):
        self.name = _check_name("Field", name)
        if isinstance(bits, int) and not isinstance(bits, bool):
            msb = lsb = bits
        elif isinstance(bits, tuple) and len(bits) == 2:
            msb, lsb = bits
        else:
            raise TypeError(f"Field {name!r}: bits must be a bit number or an (msb, lsb) tuple, "
                            f"not {bits!r}")
        _check_int(f"Field {name!r}: lsb", lsb)
        _check_int(f"Field {name!r}: msb", msb)
        if not lsb <= msb < REGISTER_WIDTH:
            raise ValueError(f"Field {name!r}: bits ({msb}, {lsb}) must satisfy "
                             f"0 <= lsb <= msb < {REGISTER_WIDTH}")
        if access not in ACCESS_MODES:
            raise ValueError(f"Field {name!r}: access must be one of "
                             f"{', '.join(repr(mode) for mode in ACCESS_MODES)}, not {access!r}")
        self.lsb, self.msb, self.access, self.doc = lsb, msb, access, doc
        if hw_write and access != "rw":
            raise ValueError(f"Field {name!r}: hw_write is for 'rw' fields, not {access!r}")
        self.hw_write = bool(hw_write)
        _check_int(f"Field {name!r}: inc_width", inc_width, 1)
        if inc_width != 1 and access != "rc":
            raise ValueError(f"Field {name!r}: inc_width is for 'rc' fields, not {access!r}")
        if inc_width > self.width:
            raise ValueError(f"Field {name!r}: inc_width {inc_width} is wider than the field "
                             f"({self.width} bits)")
        self.inc_width = inc_width

    width = property(lambda self: self.msb - self.lsb + 1)
    shift = property(lambda self: self.lsb)
    mask = property(lambda self: ((1 << self.width) - 1) << self.lsb)
    maximum = property(lambda self: (1 << self.width) - 1, doc="Largest value of the field.")

    @property
    def bits_text(self):
        """The position as a data sheet writes it: ``"25"`` or ``"6:0"``."""
        return str(self.lsb) if self.width == 1 else f"{self.msb}:{self.lsb}"

    @property
    def lanes(self):
        """The byte lanes (``sel`` bits) the field occupies, as a mask."""
        return sum(1 << lane for lane in range(self.lsb // 8, self.msb // 8 + 1))

    @property
    def ports(self):
        """``{port: (direction, width)}`` from the bank's side (``"out"``: the bank drives it)."""
        width = self.width
        if self.access == "rw":
            ports = {"data": ("out", width), "w_stb": ("out", 1)}
            if self.hw_write:
                ports.update(hw_data=("in", width), hw_stb=("in", 1))
            return ports
        return {
            "r": {"r_data": ("in", width), "r_stb": ("out", 1)},
            "w": {"w_data": ("out", width), "w_stb": ("out", 1)},
            "rc": {"inc": ("in", self.inc_width), "data": ("out", width)},
            "w1c": {"set": ("in", width), "data": ("out", width)},
            "w1s": {"clear": ("in", width), "data": ("out", width)},
        }[self.access]

    def signature_members(self, reset=0):
        """The ports as wiring members (``data`` starts at ``reset``)."""
        members = {}
        for port, (direction, width) in self.ports.items():
            init = reset if port == "data" else 0
            members[port] = Out(width, init=init) if direction == "out" else In(width)
        return members

    def __repr__(self):
        return f"Field({self.name!r}, {self.bits_text}, {self.access!r})"


class Register:
    """A 32-bit register at a byte offset.

    Parameters
    ----------
    name : str
        A Python identifier, unique in the map (it names the bank's port group and the
        constants). i225 names (``RDBAL``, ``EICR``) or lower-case ones are both fine.
    offset : int
        Byte offset, a multiple of 4.
    access : str or None
        Access of a register without fields, or the default access of fields that give none.
    reset : int
        Reset value of the whole register; the bits of ``"r"``, ``"w"`` and ``"rc"`` fields
        must be 0 in it (they are not stored, or start from no event).
    fields : list of :class:`Field` or tuple, or None
        The fields; a tuple is ``(name, bits, access[, doc])`` with ``access`` ``None`` meaning
        the register's. ``None``: the register is one field of 32 bits with the register's
        name, and its ports are the register's ports directly (``bank.MPC.inc``, not
        ``bank.MPC.MPC.inc``).
    doc : str
        What the register is, for the register map.
    hw_write, inc_width
        As for :class:`Field`, for a register without fields.
    """

    count = 1
    stride = 0

    def __init__(self, name, offset, access=None, *, reset=0, fields=None, doc="",
                 hw_write=False, inc_width=1):
        self.name = _check_name("Register", name)
        _check_int(f"Register {name!r}: offset", offset)
        if offset % REGISTER_BYTES:
            raise ValueError(f"Register {name!r}: offset {offset:#x} is not a multiple of "
                             f"{REGISTER_BYTES}")
        self.offset, self.doc = offset, doc
        if fields is None:
            if access is None:
                raise ValueError(f"Register {name!r} has neither fields nor an access mode")
            fields = [Field(name, (REGISTER_WIDTH - 1, 0), access, doc, hw_write=hw_write,
                            inc_width=inc_width)]
            self.single = True
        else:
            fields = [self._cast_field(field, access) for field in fields]
            if not fields:
                raise ValueError(f"Register {name!r}: fields=[] has no field; give None for a "
                                 f"register without fields")
            self.single = False
        self.fields = tuple(fields)
        self._check_fields()
        self.reset = _check_int(f"Register {name!r}: reset", reset)
        self._check_reset()

    def _cast_field(self, field, access):
        if isinstance(field, Field):
            return field
        if isinstance(field, tuple) and len(field) in (3, 4):
            name, bits, field_access, *doc = field
            return Field(name, bits, field_access or access, *doc)
        raise TypeError(f"Register {self.name!r}: a field is a Field or a tuple (name, bits, "
                        f"access[, doc]), not {field!r}")

    def _check_fields(self):
        names = set()
        used = 0
        for field in self.fields:
            if field.name in names:
                raise ValueError(f"Register {self.name!r}: two fields are named {field.name!r}")
            names.add(field.name)
            if used & field.mask:
                raise ValueError(f"Register {self.name!r}: field {field.name!r} "
                                 f"(bits {field.bits_text}) overlaps another field")
            used |= field.mask

    def _check_reset(self):
        if self.reset >> REGISTER_WIDTH:
            raise ValueError(f"Register {self.name!r}: reset {self.reset:#x} is wider than "
                             f"{REGISTER_WIDTH} bits")
        for field in self.fields:
            if field.access in ("r", "w", "rc") and self.reset & field.mask:
                raise ValueError(f"Register {self.name!r}: field {field.name!r} is "
                                 f"{field.access!r}, so its reset bits must be 0 (reset "
                                 f"{self.reset:#x})")
        reserved = self.reset & ~self.field_mask
        if reserved:
            raise ValueError(f"Register {self.name!r}: reset {self.reset:#x} sets reserved "
                             f"bits {reserved:#x}")

    @property
    def access(self):
        """The fields' common access mode, or ``"mixed"``."""
        modes = {field.access for field in self.fields}
        return modes.pop() if len(modes) == 1 else "mixed"

    @property
    def field_mask(self):
        """Bits covered by a field."""
        mask = 0
        for field in self.fields:
            mask |= field.mask
        return mask

    def field(self, name):
        """The field called ``name`` (for a register without fields, its name)."""
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(f"Register {self.name!r} has no field {name!r}; it has "
                       f"{', '.join(field.name for field in self.fields)}")

    def field_reset(self, field):
        """Reset value of ``field`` (shifted down)."""
        return (self.reset & field.mask) >> field.lsb

    def offset_of(self, index=None):
        """Byte offset of the register (of element ``index`` of an array)."""
        return self.offset

    @property
    def signature(self):
        """The register's ports from the bank's side: its field's ports for a register without
        fields, else one member per field."""
        if self.single:
            return wiring.Signature(self.fields[0].signature_members(self.reset))
        return wiring.Signature({
            field.name: Out(wiring.Signature(field.signature_members(self.field_reset(field))))
            for field in self.fields
        })

    @property
    def member(self):
        """The bank's member for this register (an array of them for a :class:`RegisterArray`)."""
        return Out(self.signature)

    def __repr__(self):
        return f"Register({self.name!r}, {self.offset:#06x}, {self.access!r})"


class RegisterArray(Register):
    """A register repeated ``count`` times, ``stride`` bytes apart: element ``n`` is at
    ``offset + stride * n`` (``RETA(i) = 0x5C00 + 4 i``; per-queue ``RDBAL(n) = 0xC000 + 0x40 n``).

    Parameters
    ----------
    name, offset, access, reset, fields, doc, hw_write, inc_width
        As for :class:`Register`; every element has the same fields and reset value.
    count : int
        Number of elements, at least 1.
    stride : int
        Bytes between elements, a multiple of 4 (0 only when ``count`` is 1).

    The bank has one port group per element: ``bank.RDBAL[n].data``.
    """

    def __init__(self, name, offset, count, stride, access=None, **keywords):
        super().__init__(name, offset, access, **keywords)
        self.count = _check_int(f"Register array {name!r}: count", count, 1)
        self.stride = _check_int(f"Register array {name!r}: stride", stride)
        if stride % REGISTER_BYTES or (count > 1 and stride == 0):
            raise ValueError(f"Register array {name!r}: stride {stride:#x} must be a non-zero "
                             f"multiple of {REGISTER_BYTES}")

    def offset_of(self, index=None):
        if index is None or isinstance(index, bool) or not 0 <= index < self.count:
            raise IndexError(f"Register array {self.name!r} has elements 0 to {self.count - 1}, "
                             f"not {index!r}")
        return self.offset + self.stride * index

    @property
    def member(self):
        return Out(self.signature).array(self.count)

    def __repr__(self):
        return (f"RegisterArray({self.name!r}, {self.offset:#06x} + {self.stride:#x} n, "
                f"n < {self.count}, {self.access!r})")


@dataclass(frozen=True)
class RegisterInstance:
    """One register at one offset: a :class:`Register`, or one element of a
    :class:`RegisterArray`.

    Attributes
    ----------
    register : Register
    index : int or None
        Element of an array; ``None`` for a plain register.
    offset : int
        Byte offset.
    """
    register: Register
    index: "int | None"
    offset: int

    @property
    def path(self):
        """Path of the port group in the bank's signature: ``("CTRL",)`` or ``("RDBAL", 1)``."""
        return (self.register.name,) if self.index is None else (self.register.name, self.index)

    @property
    def label(self):
        """``"CTRL"`` or ``"RDBAL[1]"``."""
        return self.register.name if self.index is None else f"{self.register.name}[{self.index}]"

    def port(self, field, port):
        """Flattened port name of ``field``'s ``port``, as in Verilog and in the golden model."""
        return port_name(self, field, port)


def port_name(instance, field, port):
    """``"CTRL__ENABLE__data"``, ``"RDBAL__1__data"``, ``"MPC__inc"``: the flattened name (as
    :meth:`amaranth.lib.wiring.Signature.flatten` paths are joined) of a field's port."""
    path = list(instance.path)
    if not instance.register.single:
        path.append(field.name)
    path.append(port)
    return "__".join(str(part) for part in path)


class RegisterMap:
    """The registers of one block.

    Parameters
    ----------
    name : str
        The block's name (a heading in the register map, a prefix nowhere).
    registers : list of :class:`Register`
        The registers; names unique, no two at the same offset (arrays expanded).
    doc : str
        What the block is, for the register map.

    Raises
    ------
    ValueError
        Two registers share a name or an offset, or a name is one the bank uses itself
        (``bus``, ``unmapped``).
    """

    def __init__(self, name, registers, *, doc=""):
        self.name, self.doc = name, doc
        self.registers = tuple(registers)
        if not self.registers:
            raise ValueError(f"Register map {name!r} has no register")
        by_name, by_offset = {}, {}
        for register in self.registers:
            if not isinstance(register, Register):
                raise TypeError(f"Register map {name!r}: {register!r} is not a Register")
            if register.name in RESERVED_NAMES:
                raise ValueError(f"Register map {name!r}: {register.name!r} is a name the "
                                 f"register bank uses itself; choose another")
            if register.name in by_name:
                raise ValueError(f"Register map {name!r}: two registers are named "
                                 f"{register.name!r}")
            by_name[register.name] = register
        for instance in self._expand():
            other = by_offset.get(instance.offset)
            if other is not None:
                raise ValueError(f"Register map {name!r}: {instance.label} and {other.label} "
                                 f"are both at offset {instance.offset:#x}")
            by_offset[instance.offset] = instance
        self._by_name = by_name
        self._by_offset = dict(sorted(by_offset.items()))

    def _expand(self):
        for register in self.registers:
            if isinstance(register, RegisterArray):
                for index in range(register.count):
                    yield RegisterInstance(register, index, register.offset_of(index))
            else:
                yield RegisterInstance(register, None, register.offset)

    def instances(self):
        """Every register at every offset (arrays expanded), by offset."""
        return list(self._by_offset.values())

    def lookup(self, offset):
        """The :class:`RegisterInstance` at byte ``offset``, or ``None`` (unmapped)."""
        return self._by_offset.get(offset)

    def __getitem__(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"Register map {self.name!r} has no register {name!r}") from None

    def __iter__(self):
        return iter(self.registers)

    def __len__(self):
        return len(self.registers)

    @property
    def size(self):
        """Bytes from offset 0 to the end of the last register."""
        return max(self._by_offset) + REGISTER_BYTES

    @property
    def addr_width(self):
        """Width of a word address reaching every register (at least 1)."""
        return max(1, (max(self._by_offset) // REGISTER_BYTES).bit_length())

    def __repr__(self):
        return f"RegisterMap({self.name!r}, {len(self.registers)} registers)"
