"""Golden model of :class:`slique.hdl.mac.SkidBuffer`."""

from .._ports import SliquePorts


__all__ = ["SkidBuffer"]


class SkidBuffer:
    """Cycle-accurate model of the skid buffer: ``i_stream.ready``, ``o_stream.valid`` and
    ``o_stream.payload`` are registers, so :meth:`head` and :meth:`ready` tell them before
    :meth:`step`.

    Attributes
    ----------
    o_valid, o_payload : int
        The output register.
    skid_valid, skid : int
        The skid register.
    """

    def __init__(self):
        self.o_valid = self.o_payload = 0
        self.skid_valid = self.skid = 0

    @property
    def ready(self):
        """``i_stream.ready`` this cycle."""
        return int(not self.skid_valid)

    @property
    def head(self):
        """``(o_stream.valid, o_stream.payload)`` this cycle."""
        return self.o_valid, self.o_payload

    @property
    def level(self):
        """Beats held."""
        return self.o_valid + self.skid_valid

    def beats(self):
        """The payloads held, oldest first."""
        return [payload for valid, payload in ((self.o_valid, self.o_payload),
                                               (self.skid_valid, self.skid)) if valid]

    def step(self, *, i_stream__valid, i_stream__payload, o_stream__ready):
        """Outputs during one cycle with these inputs; then the clock edge."""
        ports = SliquePorts(i_stream__ready=self.ready, o_stream__valid=self.o_valid,
                            o_stream__payload=self.o_payload if self.o_valid else None,
                            level=self.level)
        if i_stream__valid and self.ready:
            if self.o_valid and not o_stream__ready:
                self.skid, self.skid_valid = i_stream__payload, 1
            else:
                self.o_payload, self.o_valid = i_stream__payload, 1
        elif o_stream__ready or not self.o_valid:
            self.o_payload, self.o_valid = self.skid, self.skid_valid
            self.skid_valid = 0
        return ports
