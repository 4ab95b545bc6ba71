"""The simulator build cache's bound: LRU eviction, held entries, staging leftovers, the bound's
variable, ``slique cache``. Fake entries in a temporary cache: no simulator runs here."""

import fcntl
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from slique import cli
from slique.sim import build_cache
from slique.sim.build_cache import (LIMIT_ENV, STAGING_GRACE_SECONDS, entries, evict, in_use,
                                    limit_bytes)


def _entry(root, name, size, last_used, size_file=True):
    """A fake complete build of ``size`` bytes (a ``data`` file), last used at ``last_used``."""
    path = root / name
    path.mkdir(parents=True)
    (path / "data").write_bytes(b"x" * size)
    (path / "build.log").write_text("built\n")
    (root / f"{name}.lock").touch()
    if size_file:
        (path / "size").write_text(str(build_cache.tree_bytes(path)))
    (path / "ready").touch()
    os.utime(path / "ready", (last_used, last_used))
    return path


def _hold(root, name, mode=fcntl.LOCK_SH):
    """Hold an entry's lock as a run (shared) or a build (exclusive) of another process would."""
    lock = open(root / f"{name}.lock", "a")
    fcntl.flock(lock, mode)
    return lock


def _names(found):
    return [entry.name for entry in found]


def test_eviction_removes_least_recently_used_first(tmp_path, seed, replay):
    rng = random.Random(seed)
    root = tmp_path / "build"
    now = time.time()
    ages = rng.sample(range(10, 10_000), 8)
    for index, age in enumerate(ages):
        _entry(root, f"top-verilator-{index:04d}", 1000, now - age)
    by_age = [f"top-verilator-{index:04d}" for index, _ in
              sorted(enumerate(ages), key=lambda pair: -pair[1])]  # oldest first
    before = entries(root)
    assert _names(before) == by_age, replay
    each = before[0].bytes
    assert each == 1000 + len("built\n")  # data and build.log, measured when it was built

    removed, kept = evict(root, 3 * each + each // 2)  # room for three
    assert _names(removed) == by_age[:5], replay
    assert _names(kept) == by_age[5:] == _names(entries(root)), replay
    assert len(before) == len(kept) + len(removed)  # every entry kept or removed, none lost
    assert sum(entry.bytes for entry in kept) <= 3 * each + each // 2
    for name in by_age[:5]:
        assert not (root / name).exists() and not (root / f"{name}.lock").exists(), replay
    for name in by_age[5:]:
        assert (root / name / "ready").exists() and (root / f"{name}.lock").exists()
    assert sorted(path.name for path in root.iterdir()) == sorted(
        by_age[5:] + [f"{name}.lock" for name in by_age[5:]])  # nothing half-removed left

    assert evict(root, 3 * each) == ([], kept)  # at the bound already: nothing goes


def test_use_marks_an_entry_recently_used(tmp_path):
    root = tmp_path / "build"
    now = time.time()
    for index in range(3):
        _entry(root, f"top-icarus-{index}", 100, now - 1000 + index)
    assert _names(entries(root)) == ["top-icarus-0", "top-icarus-1", "top-icarus-2"]

    def make(staging):
        raise AssertionError("a cached entry was built again")

    with in_use(root, "top-icarus-0", make) as path:
        assert path == root / "top-icarus-0"
    assert _names(entries(root)) == ["top-icarus-1", "top-icarus-2", "top-icarus-0"]
    each = entries(root)[0].bytes
    removed, kept = evict(root, each)
    assert _names(removed) == ["top-icarus-1", "top-icarus-2"]
    assert _names(kept) == ["top-icarus-0"]


@pytest.mark.parametrize("mode", [fcntl.LOCK_SH, fcntl.LOCK_EX], ids=["run", "build"])
def test_held_entries_survive_eviction(tmp_path, mode):
    root = tmp_path / "build"
    now = time.time()
    for index in range(4):
        _entry(root, f"top-verilator-{index}", 500, now - 100 + index)
    held = [_hold(root, "top-verilator-0", mode), _hold(root, "top-verilator-2", mode)]
    removed, kept = evict(root, 0)
    assert _names(removed) == ["top-verilator-1", "top-verilator-3"]
    assert _names(kept) == ["top-verilator-0", "top-verilator-2"]
    assert len(removed) + len(kept) == 4
    for name in ("top-verilator-0", "top-verilator-2"):
        assert (root / name / "data").stat().st_size == 500
        assert (root / f"{name}.lock").exists()
    for lock in held:
        lock.close()
    removed, kept = evict(root, 0)
    assert _names(removed) == ["top-verilator-0", "top-verilator-2"] and kept == []
    assert list(root.iterdir()) == []


def test_an_entry_in_use_is_held_until_the_block_ends(tmp_path):
    root = tmp_path / "build"
    _entry(root, "top-verilator-a", 100, time.time() - 50)
    with in_use(root, "top-verilator-a", lambda staging: None) as path:
        assert evict(root, 0) == ([], entries(root))
        assert (path / "ready").exists()
    removed, kept = evict(root, 0)
    assert _names(removed) == ["top-verilator-a"] and kept == []


def test_a_new_build_evicts_down_to_the_bound_of_the_variable(tmp_path, monkeypatch):
    root = tmp_path / "build"
    now = time.time()
    for index in range(5):
        _entry(root, f"top-verilator-{index}", 100_000, now - 100 + index)
    each = entries(root)[0].bytes
    built = []

    def make(staging):
        built.append(staging.name)
        assert staging.parent == root
        assert staging.name.rpartition("-")[0] in (".top-verilator-new", ".top-verilator-newer")
        (staging / "top").write_bytes(b"y" * 150_000)
        (staging / "Vtop__pch.h.fast.gch").write_bytes(b"z" * 300_000)  # only compiling needs it

    monkeypatch.setenv(LIMIT_ENV, str((2 * each + 150_100) / 1e9))  # the new one and two more
    with in_use(root, "top-verilator-new", make) as path:
        assert len(built) == 1
        assert (path / "top").exists() and not (path / "Vtop__pch.h.fast.gch").exists()
        assert (path / "size").read_text() == "150000"  # without the header
    assert _names(entries(root)) == ["top-verilator-3", "top-verilator-4", "top-verilator-new"]
    assert sum(entry.bytes for entry in entries(root)) <= limit_bytes()
    assert not [path for path in root.iterdir() if path.name.startswith(".")]

    # A bound of zero keeps only the build just made (held while the cache is evicted).
    monkeypatch.setenv(LIMIT_ENV, "0")
    with in_use(root, "top-verilator-newer", make) as path:
        assert (path / "ready").exists()
    assert len(built) == 2
    assert _names(entries(root)) == ["top-verilator-newer"]


def test_a_failed_build_leaves_nothing(tmp_path):
    root = tmp_path / "build"

    def make(staging):
        (staging / "half").write_text("half built")
        raise RuntimeError("the compiler failed")

    with pytest.raises(RuntimeError, match="the compiler failed"):
        with in_use(root, "top-icarus-broken", make):
            pass
    assert [path.name for path in root.iterdir()] == ["top-icarus-broken.lock"]
    evict(root, 0)
    assert list(root.iterdir()) == []  # its lock file, an orphan now, goes too


@pytest.mark.parametrize("text, expected", [
    ("", 8_000_000_000), ("8", 8_000_000_000), (" 2.5 ", 2_500_000_000), ("0", 0),
    ("inf", float("inf"))])
def test_the_bound_comes_from_the_variable(text, expected):
    assert limit_bytes({LIMIT_ENV: text}) == expected
    assert limit_bytes({}) == 8_000_000_000


@pytest.mark.parametrize("text", ["eight", "-1", "nan", "8GB"])
def test_a_bad_bound_says_what_it_wants(text):
    with pytest.raises(ValueError, match=rf"\$SLIQUE_BUILD_CACHE_GB .* gigabytes"):
        limit_bytes({LIMIT_ENV: text})


def test_staging_directories_go_only_when_nobody_builds_them_and_they_are_old(tmp_path):
    root = tmp_path / "build"
    root.mkdir()
    old = time.time() - STAGING_GRACE_SECONDS - 60
    dirs = {}
    for label in ("building-old", "killed-old", "killed-young", "nolock-old"):
        name = f"top-verilator-{label}"
        dirs[label] = root / f".{name}-ab_cd12z"
        dirs[label].mkdir()
        (dirs[label] / "Vtop.cpp").write_text("// half built")
        if label != "nolock-old":
            (root / f"{name}.lock").touch()
        if label.endswith("-old"):
            os.utime(dirs[label], (old, old))
    building = _hold(root, "top-verilator-building-old", fcntl.LOCK_EX)
    removing = root / ".removing-top-icarus-gone-0123abcd"  # an interrupted removal
    removing.mkdir()
    (removing / "sim.vvp").write_text("x")
    (root / "top-icarus-orphan.lock").touch()  # the lock of an entry removed by older code
    _entry(root, "top-icarus-kept", 10, time.time())

    removed, kept = evict(root, 10**9)
    assert removed == [] and _names(kept) == ["top-icarus-kept"]
    assert dirs["building-old"].exists() and (root / "top-verilator-building-old.lock").exists()
    assert dirs["killed-young"].exists() and (root / "top-verilator-killed-young.lock").exists()
    assert not dirs["killed-old"].exists() and not (root / "top-verilator-killed-old.lock").exists()
    assert not dirs["nolock-old"].exists()
    assert not removing.exists() and not (root / "top-icarus-orphan.lock").exists()
    assert (root / "top-icarus-kept.lock").exists()
    building.close()
    evict(root, 10**9)
    assert not dirs["building-old"].exists()  # a killed build now: old and nobody holds it


def test_entries_from_before_sizes_are_measured_once_without_build_only_files(tmp_path):
    root = tmp_path / "build"
    now = time.time()
    for name in ("top-verilator-free", "top-verilator-held"):
        path = _entry(root, name, 1000, now, size_file=False)
        (path / "Vtop__pch.h.slow.gch").write_bytes(b"z" * 5000)
    held = _hold(root, "top-verilator-held")
    sizes = {entry.name: entry.bytes for entry in entries(root)}
    assert sizes["top-verilator-free"] == 1006
    assert not (root / "top-verilator-free" / "Vtop__pch.h.slow.gch").exists()
    assert (root / "top-verilator-free" / "size").read_text() == "1006"
    assert sizes["top-verilator-held"] == 6006  # in use: measured, left alone
    assert (root / "top-verilator-held" / "Vtop__pch.h.slow.gch").exists()
    assert not (root / "top-verilator-held" / "size").exists()
    held.close()
    assert {entry.name: entry.bytes for entry in entries(root)}["top-verilator-held"] == 1006


def test_a_lock_removed_while_waited_for_is_taken_again(tmp_path):
    path = tmp_path / "top-icarus-x.lock"
    path.touch()
    stale = open(path, "a")
    path.unlink()  # removed with its entry while this handle waited for it
    lock = build_cache._locked(path, fcntl.LOCK_EX, stale)
    assert stale.closed and lock is not stale
    assert os.fstat(lock.fileno()).st_ino == os.stat(path).st_ino
    assert build_cache._try_exclusive(path) is None  # held
    lock.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 10**6), st.booleans()),
                      min_size=1, max_size=8),
       fraction=st.floats(0, 1.2))
def test_eviction_properties(cases, fraction):
    """Whatever the sizes, ages and held entries: nothing held goes, what goes is older than
    every unheld entry that stays, and the cache ends under its bound unless only held entries
    (or none) remain to remove."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "build"
        now = time.time()
        held = []
        for index, (size, age, hold) in enumerate(cases):
            _entry(root, f"top-verilator-{index}", size, now - age)
            if hold:
                held.append(_hold(root, f"top-verilator-{index}"))
        before = entries(root)
        limit = int(fraction * sum(entry.bytes for entry in before))
        removed, kept = evict(root, limit)
        held_names = {f"top-verilator-{index}" for index, case in enumerate(cases) if case[2]}
        assert sorted(_names(removed) + _names(kept)) == sorted(_names(before))
        assert not held_names & set(_names(removed))
        assert _names(kept) == _names(entries(root))
        unheld_kept = [entry for entry in kept if entry.name not in held_names]
        for gone in removed:
            assert all((gone.last_used, gone.name) <= (stay.last_used, stay.name)
                       for stay in unheld_kept)
        if sum(entry.bytes for entry in kept) > limit:
            assert unheld_kept == []
        for lock in held:
            lock.close()


def test_slique_cache_shows_and_clears(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SLIQUE_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(LIMIT_ENV, "3")
    root = tmp_path / "build"
    now = time.time()
    for index in range(4):
        _entry(root, f"top-icarus-{index}", 2000, now - 10 + index)
    each = entries(root)[0].bytes

    assert cli.main(["cache", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["path"] == str(root) and document["builds"] == 4
    assert document["bytes"] == 4 * each and document["limit_bytes"] == 3_000_000_000
    assert document["removed_builds"] == 0
    assert [entry["name"] for entry in document["entries"]] == [f"top-icarus-{i}" for i in range(4)]

    assert cli.main(["cache", "--max-gb", str(2.5 * each / 1e9), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["builds"] == 2 and document["removed_builds"] == 2
    assert document["removed_bytes"] + document["bytes"] == 4 * each
    assert [entry["name"] for entry in document["entries"]] == ["top-icarus-2", "top-icarus-3"]

    held = _hold(root, "top-icarus-3")
    assert cli.main(["cache", "--clear"]) == 0
    out = capsys.readouterr().out
    assert f"{root}: 1 builds" in out and "removed 1 builds" in out and "1 in use stay" in out
    held.close()
    assert _names(entries(root)) == ["top-icarus-3"]


def test_a_build_removed_before_each_use_fails_instead_of_looping(tmp_path, monkeypatch):
    root = tmp_path / "build"
    built = []

    def make(staging):
        built.append(staging.name)
        (staging / "sim.vvp").write_text("x")

    def evicted_by_another_process(root, limit):  # as if between the lock's conversions
        shutil.rmtree(root / "top-icarus-tiny")
        return [], []

    monkeypatch.setattr(build_cache, "evict", evicted_by_another_process)
    with pytest.raises(RuntimeError, match=r"removed 3 times .* \$SLIQUE_BUILD_CACHE_GB too small"):
        with in_use(root, "top-icarus-tiny", make):
            pass
    assert len(built) == 3
    assert [path.name for path in root.iterdir()] == ["top-icarus-tiny.lock"]


def test_a_bad_bound_fails_before_building_and_in_slique_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(LIMIT_ENV, "lots")
    monkeypatch.setenv("SLIQUE_CACHE_DIR", str(tmp_path))
    built = []
    with pytest.raises(ValueError, match=r"\$SLIQUE_BUILD_CACHE_GB"):
        with in_use(tmp_path / "build", "top-icarus-x", built.append):
            pass
    assert built == [] and not (tmp_path / "build").exists()
    with pytest.raises(SystemExit, match=r"slique cache: \$SLIQUE_BUILD_CACHE_GB .* not 'lots'"):
        cli.main(["cache"])


def test_an_orphan_lock_whose_entry_appeared_is_kept(tmp_path):
    root = tmp_path / "build"
    _entry(root, "top-icarus-new", 10, time.time())  # published after the sweep listed the lock
    assert not build_cache._remove_entry(root, "top-icarus-new", orphan=True)
    assert (root / "top-icarus-new" / "ready").exists() and (root / "top-icarus-new.lock").exists()
    assert build_cache._remove_entry(root, "top-icarus-new")
    assert list(root.iterdir()) == []
