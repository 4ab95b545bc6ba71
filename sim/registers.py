"""Golden model of a block's registers at the transaction level: reads and writes by offset.

:class:`RegisterFile` holds what a :class:`slique.hdl.RegisterBank` holds (``rw`` values,
``rc`` counts, ``w1c`` and ``w1s`` bits) and answers bus accesses with the same rules (see
:mod:`slique.hdl.registers`), with no clock: the transaction-level models (the DMA engine's,
``GoldenNIC``) use it directly, and :class:`slique.sim.RegisterBank` steps it one clock cycle at
a time behind the Wishbone handshake.

A field is named by its register, the field's name (omitted for a register without fields) and
the array index (for a :class:`~slique.hdl.registers.RegisterArray`)::

    regs = RegisterFile(description)
    regs.write(0xC018 + 0x40 * 1, 12)            # RDT[1] = 12
    regs.value("RDT", index=1)                   # 12
    regs.increment("MPC")                        # the block counts a missed packet
    regs.read(0x4010)                            # 1, and MPC is cleared (read-to-clear)
"""

from dataclasses import dataclass, field as dataclass_field

from slique.hdl.bounded_slique import COUNTER_WIDTH
from slique.hdl.registers import REGISTER_BYTES, RegisterMap


__all__ = ["RegisterFile", "Access", "FULL_SEL"]


#: ``sel`` selecting all four bytes.
FULL_SEL = (1 << REGISTER_BYTES) - 1

_COUNTER_MAX = (1 << COUNTER_WIDTH) - 1

#: Access modes whose value the bank keeps.
STORED = ("rw", "rc", "w1c", "w1s")


def lane_mask(sel):
    """The bit mask of the bytes ``sel`` selects: ``0b0101`` -> ``0x00FF00FF``."""
    return sum(0xFF << (8 * lane) for lane in range(REGISTER_BYTES) if sel >> lane & 1)


@dataclass
class Access:
    """What one bus access did.

    Attributes
    ----------
    mapped : bool
        Whether a register is at the offset.
    value : int
        Data returned (0 for writes and unmapped offsets).
    written : dict
        ``{(path, field): bits}`` for every field a write touched (``sel`` selected one of its
        bytes): the bits written, in place in the field (shifted down), unselected bytes 0.
    strobed : set
        ``{(path, field)}`` of the ``r`` fields a read selected (their ``r_stb``).
    """
    mapped: bool
    value: int = 0
    written: dict = dataclass_field(default_factory=dict)
    strobed: set = dataclass_field(default_factory=set)


class RegisterFile:
    """Transaction-level golden model of the registers of ``registers`` (a RegisterMap).

    Attributes
    ----------
    unmapped : int
        Accesses at unmapped offsets (saturating at ``2**32 - 1``).
    """

    def __init__(self, registers):
        if not isinstance(registers, RegisterMap):
            raise TypeError(f"RegisterFile needs a RegisterMap, not {registers!r}")
        self.registers = registers
        self.unmapped = 0
        self._values = {}   # rw, rc, w1c, w1s: kept here
        self._status = {}   # r: driven by the block
        self._fields = {}
        for instance in registers.instances():
            for field in instance.register.fields:
                key = (instance.path, field.name)
                self._fields[key] = (instance, field)
                if field.access in STORED:
                    self._values[key] = instance.register.field_reset(field)
                elif field.access == "r":
                    self._status[key] = 0

    # -- names -----------------------------------------------------------------------------

    def key(self, name, field=None, index=None):
        """The key ``(path, field)`` of a field, checked."""
        register = self.registers[name]
        path = (name,) if index is None else (name, index)
        if register.single:
            if field not in (None, name):
                raise KeyError(f"Register {name!r} has no fields; it has no field {field!r}")
            field = name
        if (path, field) not in self._fields:
            raise KeyError(f"Register {name!r} has no field {field!r} at index {index!r}")
        return path, field

    def fields(self):
        """Every ``(instance, field)``, by offset."""
        return list(self._fields.values())

    def field_of(self, key):
        """The ``(instance, field)`` of a key."""
        return self._fields[key]

    # -- the block's side ------------------------------------------------------------------

    def value(self, name, field=None, index=None):
        """Current value of an ``rw``, ``rc``, ``w1c`` or ``w1s`` field, or of an ``r`` field's
        input."""
        key = self.key(name, field, index)
        return self._values[key] if key in self._values else self._status.get(key, 0)

    def set_status(self, name, value, field=None, index=None):
        """Drive an ``r`` field's ``r_data``."""
        key = self.key(name, field, index)
        self._require(key, "r")
        self._status[key] = value & self._fields[key][1].maximum

    def increment(self, name, amount=1, field=None, index=None):
        """Count ``amount`` events in an ``rc`` field (``inc``); saturates."""
        key = self.key(name, field, index)
        self._require(key, "rc")
        self._values[key] = min(self._values[key] + amount, self._fields[key][1].maximum)

    def raise_bits(self, name, bits, field=None, index=None):
        """Set cause bits of a ``w1c`` field (``set``)."""
        key = self.key(name, field, index)
        self._require(key, "w1c")
        self._values[key] |= bits & self._fields[key][1].maximum

    def clear_bits(self, name, bits, field=None, index=None):
        """Clear mask bits of a ``w1s`` field (``clear``)."""
        key = self.key(name, field, index)
        self._require(key, "w1s")
        self._values[key] &= ~bits

    def load(self, name, value, field=None, index=None):
        """Load an ``rw`` field with ``hw_write`` from the block (``hw_stb``, ``hw_data``)."""
        key = self.key(name, field, index)
        self._require(key, "rw")
        if not self._fields[key][1].hw_write:
            raise ValueError(f"Field {key} has no hw_write port")
        self._values[key] = value & self._fields[key][1].maximum

    def _require(self, key, access):
        actual = self._fields[key][1].access
        if actual != access:
            raise ValueError(f"Field {key} is {actual!r}, not {access!r}")

    # -- the bus side ----------------------------------------------------------------------

    def read(self, offset, sel=FULL_SEL):
        """Read the register at byte ``offset``: its value (0 if unmapped), with side effects."""
        return self.access(offset, sel=sel).value

    def write(self, offset, data, sel=FULL_SEL):
        """Write ``data`` at byte ``offset`` through the byte selects ``sel``; return whether a
        register is there."""
        return self.access(offset, write=True, data=data, sel=sel).mapped

    def access(self, offset, *, write=False, data=0, sel=FULL_SEL):
        """One bus access; returns an :class:`Access`. The rules are those of
        :mod:`slique.hdl.registers` (and the gateware's)."""
        instance = self.registers.lookup(offset)
        if instance is None:
            self.unmapped = min(self.unmapped + 1, _COUNTER_MAX)
            return Access(mapped=False)
        result = Access(mapped=True)
        if not write:
            result.value = self._word(instance)
        lanes = lane_mask(sel)
        for field in instance.register.fields:
            key = (instance.path, field.name)
            selected = bool(sel & field.lanes)
            if write:
                if selected:
                    self._write_field(key, field, data & lanes & field.mask, lanes & field.mask)
                    result.written[key] = (data & lanes & field.mask) >> field.lsb
            elif field.access == "rc" and sel & field.lanes == field.lanes:
                self._values[key] = 0
            elif field.access == "r" and selected:
                result.strobed.add(key)
        return result

    def _word(self, instance):
        word = 0
        for field in instance.register.fields:
            key = (instance.path, field.name)
            if field.access == "r":
                word |= self._status[key] << field.lsb
            elif field.access != "w":
                word |= self._values[key] << field.lsb
        return word

    def _write_field(self, key, field, bits, mask):
        if field.access == "rw":
            old = self._values[key] << field.lsb
            self._values[key] = (old & ~mask | bits) >> field.lsb
        elif field.access == "w1c":
            self._values[key] &= ~(bits >> field.lsb)
        elif field.access == "w1s":
            self._values[key] |= bits >> field.lsb
