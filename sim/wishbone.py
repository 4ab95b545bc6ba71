"""A Wishbone B4 initiator for benches: classic or pipelined, one clock cycle at a time.

:class:`WishboneMaster` is plain Python with no simulator in it: each cycle :meth:`drive`
says what the initiator puts on the bus and :meth:`advance` tells it what the target answered
at the clock edge. It therefore runs anywhere a port adapter does (``drive``, ``settle``,
``sample``, ``tick``): the Amaranth simulator (:class:`slique.sim.lockstep.AmaranthPorts`),
cocotb (:class:`slique.sim.benches.ports.CocotbPorts`, wrapped for transactions by
:class:`slique.sim.benches.wishbone.WishboneDriver`) or a golden model
(:class:`slique.sim.lockstep.ModelPorts`). Lockstep benches call :meth:`drive` and
:meth:`advance` themselves, between the gateware and the model; :func:`transact` runs a list of
accesses to completion for everything else.

Accesses are by byte offset (``adr = offset >> 2`` on a 32-bit bus with byte granularity).
Nothing hangs: an access not answered within ``timeout`` cycles raises
:class:`WishboneTimeout`, and an answer with no request outstanding raises
:class:`WishboneProtocolError`.
"""

from collections import deque
from dataclasses import dataclass


__all__ = ["WishboneAccess", "WishboneResult", "WishboneMaster", "WishboneTimeout",
           "WishboneProtocolError", "transact"]


class WishboneTimeout(AssertionError):
    """An access was not answered in time."""


class WishboneProtocolError(AssertionError):
    """The target answered with nothing outstanding, or with ``ack`` and ``err`` together."""


@dataclass(frozen=True)
class WishboneAccess:
    """One access.

    Attributes
    ----------
    offset : int
        Byte offset, a multiple of 4.
    write : bool
    data : int
        Data to write (ignored for reads).
    sel : int
        Byte selects, 4 bits.
    gap : int
        Idle cycles before the request is put on the bus.
    """
    offset: int
    write: bool = False
    data: int = 0
    sel: int = 0xF
    gap: int = 0

    @property
    def adr(self):
        """The word address on the bus."""
        return self.offset >> 2


@dataclass(frozen=True)
class WishboneResult:
    """An answered access: the access, ``"ack"`` or ``"err"``, the read data, and the cycles
    in which it was accepted and answered (counted from the initiator's first cycle)."""
    access: WishboneAccess
    response: str
    data: int
    accepted: int
    answered: int


class WishboneMaster:
    """A cycle-stepped Wishbone B4 initiator (see the module documentation).

    Parameters
    ----------
    pipelined : bool
        Pipelined handshake (the target has ``stall``): a new request in every cycle the
        target does not stall, answers matched in order. Classic otherwise: the request is held
        until it is answered.
    prefix : str
        Name of the bus in the flattened port names (``bus`` gives ``bus__cyc``...).
    timeout : int
        Cycles an access may wait for its answer (or a stalled request for acceptance).

    Attributes
    ----------
    results : list of WishboneResult
        Answered accesses, in order.
    """

    def __init__(self, *, pipelined=False, prefix="bus", timeout=64):
        self.pipelined = pipelined
        self.prefix = prefix
        self.timeout = timeout
        self.results = []
        self.cycle = 0
        self._queue = deque()
        self._gap = None          # idle cycles left before the head of the queue goes out
        self._outstanding = deque()  # (access, accepted cycle), oldest first
        self._presented = None    # the request on the bus this cycle
        self._waiting = 0

    def submit(self, *accesses):
        """Queue accesses; they go out in order."""
        for access in accesses:
            if access.offset % 4:
                raise ValueError(f"Wishbone offset {access.offset:#x} is not a multiple of 4")
            self._queue.append(access)

    @property
    def idle(self):
        """Nothing queued and nothing waiting for an answer."""
        return not self._queue and not self._outstanding and self._presented is None

    def _name(self, signal):
        return f"{self.prefix}__{signal}"

    def drive(self):
        """The initiator's outputs in this cycle, by flattened port name."""
        presented = self._presented
        if presented is None and self._queue and self._can_issue():
            if self._gap is None:
                self._gap = self._queue[0].gap
            if self._gap == 0:
                presented = self._presented = self._queue.popleft()
                self._gap = None
            else:
                self._gap -= 1
        busy = presented is not None or bool(self._outstanding)
        access = presented or WishboneAccess(0)
        return {
            self._name("cyc"): int(busy),
            self._name("stb"): int(presented is not None),
            self._name("we"): int(presented is not None and access.write),
            self._name("adr"): access.adr,
            self._name("dat_w"): access.data if presented is not None and access.write else 0,
            self._name("sel"): access.sel if presented is not None else 0,
        }

    def _can_issue(self):
        return self.pipelined or not self._outstanding

    def advance(self, *, ack, err=0, dat_r=0, stall=0):
        """The clock edge: what the target answered in this cycle."""
        if ack and err:
            raise WishboneProtocolError(f"cycle {self.cycle}: ack and err in the same cycle")
        presented = self._presented
        if presented is not None and not (self.pipelined and stall):
            if not self.pipelined:
                # classic: the request stays on the bus until it is answered
                if not self._outstanding:
                    self._outstanding.append((presented, self.cycle))
            else:
                self._outstanding.append((presented, self.cycle))
                self._presented = None
        if ack or err:
            if not self._outstanding:
                raise WishboneProtocolError(f"cycle {self.cycle}: {'ack' if ack else 'err'} "
                                            f"with no request outstanding")
            access, accepted = self._outstanding.popleft()
            self.results.append(WishboneResult(access, "ack" if ack else "err",
                                               dat_r if ack and not access.write else 0,
                                               accepted, self.cycle))
            if not self.pipelined:
                self._presented = None
            self._waiting = 0
        elif self._outstanding or self._presented is not None:
            self._waiting += 1
            if self._waiting > self.timeout:
                waiting = self._outstanding[0][0] if self._outstanding else self._presented
                raise WishboneTimeout(f"cycle {self.cycle}: no answer within {self.timeout} "
                                      f"cycles to {waiting}")
        self.cycle += 1

    def answer_names(self, has):
        """The answer signals present, as ``{keyword of advance: port name}``, given ``has``
        (a port adapter's ``has``)."""
        return {keyword: self._name(signal) for keyword, signal in
                [("ack", "ack"), ("err", "err"), ("dat_r", "dat_r"), ("stall", "stall")]
                if has(self._name(signal))}


async def transact(ports, master, *accesses, limit=None):
    """Run ``accesses`` (and anything already queued) through ``master`` on a port adapter
    until it is idle; return their :class:`WishboneResult`\\ s. The bus is left idle."""
    first = len(master.results)
    master.submit(*accesses)
    answers = master.answer_names(ports.has)
    cycles = 0
    while not master.idle:
        ports.drive(**master.drive())
        await ports.settle()
        master.advance(**{keyword: ports.sample(name) for keyword, name in answers.items()})
        await ports.tick()
        cycles += 1
        if limit is not None and cycles > limit:
            raise WishboneTimeout(f"accesses not done after {limit} cycles")
    ports.drive(**master.drive())
    return master.results[first:]
