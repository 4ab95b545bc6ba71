"""One description of a slique run, shared by tests, benches and the CLI.

A run is a JSON-able dict (so it can cross into the simulator through the environment)::

    {"design": "bounded", "shape": "unsigned32", "depth": 16, "on_full": "drop",
     "storage": "ring", "seed": 7, "cycles": 2000, "pattern": "random", "replay": "..."}

:func:`gateware` and :func:`golden_model` build the two sides from it.
"""

from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data

from slique import hdl
from slique.hdl._parameters import check_choice

from . import bounded_slique, zero_slique
from .lockstep import replay_hint


__all__ = ["PacketBeat", "SHAPES", "DESIGNS", "run_parameters", "gateware", "golden_model",
           "parameters_hint"]


class PacketBeat(data.Struct):
    """A packet beat, the payload shape of the flow path's sliques (and of the tests)."""
    data: 8
    first: 1
    last: 1
    queue: 4


#: Payload shapes by name.
SHAPES = {
    "bit": unsigned(1),
    "unsigned8": unsigned(8),
    "unsigned32": unsigned(32),
    "signed12": signed(12),
    "packet-beat": PacketBeat,
}

DESIGNS = ("zero", "bounded")


def run_parameters(design="bounded", *, shape="unsigned32", depth=16, on_full="backpressure",
                   storage="auto", seed=1, cycles=2000, pattern="random", replay="", record=False):
    """A checked run description (see the module docstring)."""
    check_choice("design", design, DESIGNS)
    check_choice("shape", shape, tuple(SHAPES))
    return dict(design=design, shape=shape, width=Shape.cast(SHAPES[shape]).width, depth=depth,
                on_full=on_full, storage=storage, seed=seed, cycles=cycles, pattern=pattern,
                replay=replay, record=record)


def _construct(module, parameters):
    shape = SHAPES[parameters["shape"]]
    if parameters["design"] == "zero":
        return module.ZeroSlique(shape)
    return module.BoundedSlique(shape, parameters["depth"], on_full=parameters["on_full"],
                                storage=parameters["storage"])


def gateware(parameters):
    """The Amaranth component the run describes."""
    return _construct(hdl, parameters)


def golden_model(parameters):
    """The golden model the run describes."""
    return _construct(_models, parameters)


class _models:
    ZeroSlique = zero_slique.ZeroSlique
    BoundedSlique = bounded_slique.BoundedSlique


def parameters_hint(parameters):
    """Seed and replay command of a run, for its failure messages."""
    return replay_hint(parameters["seed"], parameters.get("replay") or repr(parameters))
