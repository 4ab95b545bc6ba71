"""The port values a slique model produces in one cycle, named as the gateware's Verilog ports."""

from dataclasses import dataclass, fields

from amaranth.hdl import Shape


__all__ = ["SliquePorts", "payload_mask"]


@dataclass(frozen=True, slots=True)
class SliquePorts:
    """Outputs of a slique during one cycle.

    Names are the gateware's flattened port names (``i_stream.ready`` is ``i_stream__ready``), so
    a bench reads the same names from a Verilog top, an Amaranth simulation and a model.
    ``o_stream__payload`` is ``None`` when ``o_stream__valid`` is low (the payload is then
    meaningless and never compared). Status members are ``None`` for blocks without them.
    """

    i_stream__ready: int
    o_stream__valid: int
    o_stream__payload: int | None
    level: int | None = None
    full: int | None = None
    high_water: int | None = None
    dropped: int | None = None
    drop: int | None = None

    @classmethod
    def names(cls):
        return tuple(field.name for field in fields(cls))

    def present(self):
        """The members this block has, as a dict (members that are ``None`` left out)."""
        return {name: getattr(self, name) for name in self.names()
                if name == "o_stream__payload" or getattr(self, name) is not None}


def payload_mask(shape):
    """All-ones mask of the width of ``shape``; payloads are compared as raw unsigned bits."""
    return (1 << Shape.cast(shape).width) - 1
