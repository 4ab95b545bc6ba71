"""The lockstep scoreboard: the same traffic into gateware and golden model, every output compared.

One loop serves every simulator. It talks to the gateware through a small port adapter
(:class:`AmaranthPorts` for the Amaranth simulator, :class:`slique.sim.benches.CocotbPorts` for
cocotb on Verilator or Icarus) and to the model through its ``step()``. Every cycle it drives the
inputs, lets the gateware settle, compares every output the model has (the payload only while
``o_stream.valid``), and checks conservation on the gateware's own observations:
``offered == delivered + dropped + level``. At the end it drains the slique and checks the
issue's form, ``offered == delivered + dropped``.
"""

from dataclasses import dataclass, field

from amaranth.hdl import Value


__all__ = ["Mismatch", "LockstepResult", "AmaranthPorts", "ModelPorts", "run_lockstep",
           "replay_hint", "lockstep_in_amaranth", "golden_run", "compare_outputs"]


INPUTS = ("i_stream__valid", "i_stream__payload", "o_stream__ready")


class Mismatch(AssertionError):
    """The gateware and the golden model disagreed, or a conservation check failed."""


@dataclass
class LockstepResult:
    """What the gateware did, as observed on its ports.

    Attributes
    ----------
    cycles : int
        Cycles simulated, drain included.
    offered, delivered, dropped : int
        Beats accepted or dropped at the input, beats taken at the output, beats dropped.
    high_water : int
        Largest level seen.
    levels : list of int
        Level each cycle (gateware), when recorded.
    model_levels : list of int
        Level each cycle (golden model), when recorded.
    """

    cycles: int = 0
    offered: int = 0
    delivered: int = 0
    dropped: int = 0
    high_water: int = 0
    levels: list = field(default_factory=list)
    model_levels: list = field(default_factory=list)

    def as_dict(self):
        return dict(self.__dict__)


def replay_hint(seed, command):
    """The sentence every failure carries: the seed and the command that replays it."""
    return f"seed={seed}; replay with: {command}"


class AmaranthPorts:
    """Port adapter for an Amaranth simulator testbench (``ctx``) on a slique component."""

    def __init__(self, ctx, component):
        self._ctx = ctx
        self._signals = {}
        for path, _flow, value in component.signature.flatten(component):
            self._signals["__".join(str(part) for part in path)] = Value.cast(value)

    def has(self, name):
        return name in self._signals

    def drive(self, **values):
        for name, value in values.items():
            self._ctx.set(self._signals[name], value)

    async def settle(self):
        pass

    def sample(self, name):
        signal = self._signals[name]
        return self._ctx.get(signal) & ((1 << len(signal)) - 1)

    async def tick(self):
        await self._ctx.tick()


class ModelPorts:
    """Port adapter that answers from a golden model: the scoreboard with no simulator at all."""

    def __init__(self, model):
        self._model = model
        self._inputs = {}
        self._outputs = None

    def has(self, name):
        return getattr(self._outputs, name, None) is not None

    def drive(self, **values):
        self._inputs.update(values)

    async def settle(self):
        self._outputs = self._model.step(**self._inputs)

    def sample(self, name):
        return getattr(self._outputs, name)

    async def tick(self):
        pass


def compare_outputs(cycle, expected, ports, hint):
    """The scoreboard of every bench: compare each output the model gives (a name -> value
    mapping; ``None``: not compared this cycle) with the gateware's, and return the gateware's
    values. Raises :class:`Mismatch` naming the cycle, the output and both values."""
    observed = {}
    for name, value in expected.items():
        if value is None:
            continue
        observed[name] = ports.sample(name)
        if observed[name] != value:
            raise Mismatch(f"cycle {cycle}: {name} is {_show(observed[name])} in the gateware "
                           f"but {_show(value)} in the golden model; {hint}")
    return observed


def _show(value):
    """Small numbers in decimal, wide ones (addresses, keys, payloads) in hexadecimal."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 9:
        return f"{value:#x}"
    return f"{value}"


def _compare(cycle, expected, ports, hint):
    present = dict(expected.present())
    if "o_stream__payload" in present and not expected.o_stream__valid:
        present["o_stream__payload"] = None
    return compare_outputs(cycle, present, ports, hint)


def _check_conservation(cycle, result, dropped, level, hint):
    """Everything offered before this cycle was delivered, dropped, or is held."""
    if result.offered != result.delivered + dropped + level:
        raise Mismatch(f"cycle {cycle}: conservation broken: offered {result.offered} != "
                       f"delivered {result.delivered} + dropped {dropped} + level {level}; "
                       f"{hint}")


async def run_lockstep(ports, model, producer, consumer, *, cycles, depth, hint, record=False):
    """Run ``cycles`` cycles of traffic, then drain; return a :class:`LockstepResult`.

    Parameters
    ----------
    ports : port adapter
        ``drive(**values)``, ``await settle()``, ``sample(name)``, ``await tick()``, ``has(name)``.
    model : golden model
        ``step(**inputs) -> SliquePorts``.
    producer, consumer : :mod:`slique.sim.traffic` generators
    cycles : int
        Cycles of traffic before the drain.
    depth : int
        Most entries the block can hold (bounds the drain).
    hint : str
        Seed and replay command, carried by every failure.
    record : bool
        Keep the level of every cycle.
    """
    result = LockstepResult()
    drain_limit = cycles + 2 * depth + 16
    for cycle in range(drain_limit):
        if cycle == cycles:
            producer.stop()
            consumer.drain()
        valid, payload = producer.drive()
        ready = consumer.drive()
        ports.drive(i_stream__valid=valid, i_stream__payload=payload, o_stream__ready=ready)
        await ports.settle()
        expected = model.step(i_stream__valid=valid, i_stream__payload=payload,
                              o_stream__ready=ready)
        observed = _compare(cycle, expected, ports, hint)
        level = observed.get("level", 0)
        _check_conservation(cycle, result, observed.get("dropped", 0), level, hint)
        taken = valid and observed["i_stream__ready"]
        _account(result, observed, taken=taken, delivered=ready and observed["o_stream__valid"])
        if record:
            result.levels.append(level)
            result.model_levels.append(expected.level or 0)
        producer.advance(taken)
        await ports.tick()
        result.cycles = cycle + 1
        if cycle >= cycles and model.level == 0 and not producer.valid:
            break
    await _finish(result, ports, hint)
    return result


def _account(result, observed, *, taken, delivered):
    result.offered += bool(taken)
    result.delivered += bool(delivered)
    result.high_water = max(result.high_water, observed.get("level", 0))


async def _finish(result, ports, hint):
    """After the drain: the slique is empty and every beat offered was delivered or dropped."""
    await ports.settle()
    if ports.has("dropped"):
        result.dropped = ports.sample("dropped")
    level = ports.sample("level") if ports.has("level") else 0
    if level != 0:
        raise Mismatch(f"the slique did not drain: level {level} after {result.cycles} cycles "
                       f"with the consumer always ready; {hint}")
    if result.offered != result.delivered + result.dropped:
        raise Mismatch(f"conservation broken: offered {result.offered} != delivered "
                       f"{result.delivered} + dropped {result.dropped}; {hint}")


def lockstep_in_amaranth(component, model, *, seed, cycles, pattern="random", hint="", record=False):
    """Run :func:`run_lockstep` on ``component`` in the Amaranth simulator; return the result."""
    from amaranth.hdl import ClockDomain, Module, Shape
    from amaranth.sim import Simulator

    from .traffic import make_traffic

    producer, consumer = make_traffic(seed, Shape.cast(component.shape).width, pattern)
    depth = getattr(component, "depth", 0)
    outcome = {}

    async def testbench(ctx):
        outcome["result"] = await run_lockstep(
            AmaranthPorts(ctx, component), model, producer, consumer,
            cycles=cycles, depth=depth, hint=hint or f"seed={seed}", record=record)

    top = Module()  # gives comb-only blocks (ZeroSlique) a clock to step by
    top.domains.sync = ClockDomain()
    top.submodules.dut = component
    simulator = Simulator(top)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return outcome["result"]


def golden_run(model, reference, *, seed, width, cycles, depth, pattern="random", record=False):
    """Run ``model`` alone on the traffic of ``seed`` (checked against ``reference``, a second
    instance of the same model), as the golden side of a demo or a comparison."""
    import asyncio

    from .traffic import make_traffic

    producer, consumer = make_traffic(seed, width, pattern)
    return asyncio.run(run_lockstep(ModelPorts(model), reference, producer, consumer,
                                    cycles=cycles, depth=depth, hint=f"seed={seed}",
                                    record=record))
