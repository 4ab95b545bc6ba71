"""The bus arbiter: several DMA clients (queues) share one burst master, a command at a time."""

from amaranth import *
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .wishbone_master import (command_layout, done_layout, read_beat_layout,
                              write_beat_layout)


__all__ = ["BusArbiter", "client_signature"]


def client_signature(*, data_width, word_addr_width, beats_width, tag_width):
    """A DMA client's side of the burst master, seen from the client: it drives commands and
    write beats, and receives read beats and completions (never back-pressured). A client
    offers write beats only for its write command, from the cycle it offers the command until
    it has given all of them: the engine passes them to the master through a skid buffer,
    which takes a beat as soon as the client is granted."""
    return wiring.Signature({
        "cmd": Out(stream.Signature(command_layout(word_addr_width, beats_width, tag_width))),
        "write": Out(stream.Signature(write_beat_layout(data_width))),
        "read": In(stream.Signature(read_beat_layout(data_width, tag_width),
                                    always_ready=True)),
        "done": In(stream.Signature(done_layout(tag_width), always_ready=True)),
    })


class BusArbiter(wiring.Component):
    """Grants the master to one client per command, round-robin.

    A client offers a command on ``clients[i].cmd``; the arbiter passes the granted client's
    command to the master, routes its write beats, and delivers the read beats and the
    completion of that command to that client only (the others see no ``valid``). The master
    takes a command only while it has none (or in the cycle of its ``done``: its
    ``cmd.ready``), so the arbiter keeps no state of its own about it. The grant
    moves only while no command is with the master (or in the cycle of its ``done``), to the
    next client (round-robin) with a command waiting, so no client waits more than one
    command of each other client. A client has at most one command in flight.

    Parameters
    ----------
    count : int
        Clients.
    data_width, word_addr_width, beats_width, tag_width : int
        As the master's.

    Attributes
    ----------
    clients : ``In(client_signature(...)).array(count)``
    master : ``Out(client_signature(...))``
        Towards :class:`~slique.hdl.dma.wishbone_master.WishboneBurstMaster`.
    """

    def __init__(self, count, *, data_width, word_addr_width, beats_width, tag_width):
        self._count = count
        signature = client_signature(data_width=data_width, word_addr_width=word_addr_width,
                                     beats_width=beats_width, tag_width=tag_width)
        super().__init__({
            "clients": In(signature).array(count),
            "master": Out(signature),
        })

    def elaborate(self, platform):
        m = Module()
        count = self._count
        grant = Signal(range(max(count, 2)))

        # round-robin: the first client after the current grant with a command waiting
        offered = Signal(count)
        m.d.comb += offered.eq(Cat(client.cmd.valid for client in self.clients))
        chosen = Signal.like(grant)
        any_offered = Signal()
        m.d.comb += any_offered.eq(offered.any())
        with m.Switch(grant):
            for current in range(count):
                with m.Case(current):
                    for step in reversed(range(1, count + 1)):
                        index = (current + step) % count
                        with m.If(offered[index]):
                            m.d.comb += chosen.eq(index)

        cmd_fire = Signal()
        # no command with the master after this cycle's done: the master's ``cmd.ready``
        # (it takes a command exactly when it has none, or in the cycle of its done)
        free = Signal()
        m.d.comb += [
            cmd_fire.eq(self.master.cmd.valid & self.master.cmd.ready),
            free.eq(self.master.cmd.ready),
        ]
        with m.If(free & any_offered & ~cmd_fire):
            m.d.sync += grant.eq(chosen)

        # a command passes only from the client granted in an earlier cycle, and only when
        # no command is with the master (or its done is in this cycle)
        granted_valid = Signal()
        for index, client in enumerate(self.clients):
            selected = grant == index
            m.d.comb += [
                client.cmd.ready.eq(selected & self.master.cmd.ready),
                client.write.ready.eq(selected & self.master.write.ready),
                client.read.valid.eq(selected & self.master.read.valid),
                client.read.payload.eq(self.master.read.payload),
                client.done.valid.eq(selected & self.master.done.valid),
                client.done.payload.eq(self.master.done.payload),
            ]
            with m.If(selected):
                m.d.comb += [
                    granted_valid.eq(client.cmd.valid),
                    self.master.cmd.payload.eq(client.cmd.payload),
                    self.master.write.valid.eq(client.write.valid),
                    self.master.write.payload.eq(client.write.payload),
                ]
        m.d.comb += self.master.cmd.valid.eq(granted_valid)
        return m
