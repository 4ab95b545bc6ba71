"""A cocotb Wishbone B4 initiator: :class:`slique.sim.wishbone.WishboneMaster` on a DUT handle.

cocotbext-wishbone 2.0.1 (PyPI) works with cocotb 2.1 against
:class:`slique.hdl.RegisterBank` in both handshakes, but it imports ``cocotb_bus`` without
declaring it (a second package to install by hand), runs its own coroutines per transaction,
and has no cycle-by-cycle hook for a lockstep scoreboard. So slique does not depend on it:
this driver is the same cycle-stepped initiator the Amaranth-simulator
tests use, through :class:`~slique.sim.benches.ports.CocotbPorts`::

    bus = WishboneDriver(dut, dut.clk)               # classic or pipelined: from the ports
    await bus.write(0xC018, 12)                      # RDT[0] = 12
    value = await bus.read(0x4010)                   # MPC
    results = await bus.run([WishboneAccess(...), ...])
"""

from slique.sim.wishbone import WishboneAccess, WishboneMaster, transact

from .ports import CocotbPorts


__all__ = ["WishboneDriver"]


class WishboneDriver:
    """Transactions on a Wishbone slave port of a cocotb DUT.

    Parameters
    ----------
    dut : cocotb handle
    clock : cocotb handle
        The clock the bus is synchronous to (the caller starts it).
    prefix : str
        The bus's port prefix (``bus`` for ``bus__cyc``, ``bus__stb``...).
    timeout : int
        Cycles an access may wait for its answer.

    The handshake is pipelined when the DUT has ``<prefix>__stall``, classic otherwise.
    """

    def __init__(self, dut, clock, *, prefix="bus", timeout=64):
        self.ports = CocotbPorts(dut, clock)
        self.master = WishboneMaster(pipelined=self.ports.has(f"{prefix}__stall"),
                                     prefix=prefix, timeout=timeout)
        self.ports.drive(**self.master.drive())

    async def run(self, accesses):
        """Run ``accesses`` in order; return their :class:`~slique.sim.wishbone.WishboneResult`."""
        return await transact(self.ports, self.master, *accesses)

    async def read(self, offset, sel=0xF):
        """Read at byte ``offset``; return the data (raises if the slave answers ``err``)."""
        result, = await self.run([WishboneAccess(offset, sel=sel)])
        if result.response != "ack":
            raise AssertionError(f"read at {offset:#x} answered {result.response}")
        return result.data

    async def write(self, offset, data, sel=0xF):
        """Write ``data`` at byte ``offset``; return ``"ack"`` or ``"err"``."""
        result, = await self.run([WishboneAccess(offset, write=True, data=data, sel=sel)])
        return result.response
