"""Port adapter between the lockstep scoreboard and a cocotb DUT handle."""

from cocotb.triggers import ReadOnly, RisingEdge, Timer


__all__ = ["CocotbPorts"]


class CocotbPorts:
    """Drives and samples a DUT by its flattened port names (``i_stream__valid``, ``level``...).

    Inputs written after a rising edge take effect for the next one; :meth:`settle` waits for the
    read-only phase so that combinational outputs (``i_stream__ready``) reflect this cycle's inputs.
    """

    def __init__(self, dut, clock):
        self._dut = dut
        self._clock = clock
        self._handles = {}

    def _handle(self, name):
        if name not in self._handles:
            self._handles[name] = getattr(self._dut, name)
        return self._handles[name]

    def has(self, name):
        return hasattr(self._dut, name)

    def drive(self, **values):
        for name, value in values.items():
            self._handle(name).value = value

    async def settle(self):
        await ReadOnly()

    def sample(self, name):
        value = self._handle(name).value
        return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)

    async def tick(self):
        if self._clock is None:  # a comb-only design (ZeroSlique): a cycle is a time step
            await Timer(10, unit="ns")
        else:
            await RisingEdge(self._clock)
