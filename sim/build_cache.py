"""The simulator build cache: entries held while in use, their sizes, least-recently-used eviction.

:func:`slique.sim.runner.run_bench` keeps each simulator build under ``$SLIQUE_CACHE_DIR/build``
(default ``~/.cache/slique/build``) through :func:`in_use`::

    <toplevel>-<sim>-<key>/          a complete build: it has ``ready`` (whose mtime says when it
                                     was last used) and ``size`` (its bytes, written when built)
    <toplevel>-<sim>-<key>.lock      its lock: exclusive while it is built, shared while it is
                                     used; eviction takes it without waiting, or leaves the entry
    .<toplevel>-<sim>-<key>-XXXXXXXX/  a build in progress, published by a rename
    .removing-.../                   an entry being removed (renamed first, then deleted)

The cache is bounded by ``$SLIQUE_BUILD_CACHE_GB`` gigabytes (10^9 bytes; default 8; ``inf``
for no bound): after each new build, the least recently used complete entries are removed until
the total is under the bound. An entry in use (its lock held by a build or a run) is never
removed; nor is a build in progress: a staging directory goes only when nobody builds it (its
lock is free) and it is older than an hour (the leftover of a killed run). Lock files of entries
that are gone are removed too. Verilator's precompiled headers (``*.gch``, about 96 MB each,
needed only while compiling) are dropped before a build is published, and from entries built
before sizes were recorded when they are first measured. ``slique cache`` shows the cache and
clears it (``--clear``, ``--max-gb``).
"""

import fcntl
import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


__all__ = ["LIMIT_ENV", "DEFAULT_LIMIT_GB", "STAGING_GRACE_SECONDS", "Entry", "limit_bytes",
           "in_use", "entries", "evict", "tree_bytes"]


#: The environment variable that bounds the build cache, in gigabytes (10^9 bytes).
LIMIT_ENV = "SLIQUE_BUILD_CACHE_GB"
DEFAULT_LIMIT_GB = 8.0
#: A staging directory nobody builds in is removed once it is this old.
STAGING_GRACE_SECONDS = 3600
#: Files only compiling needs: Verilator's precompiled headers.
BUILD_ONLY_SUFFIXES = (".gch",)
READY, SIZE, LOCK_SUFFIX, REMOVING = "ready", "size", ".lock", ".removing-"
#: Builds of one entry that :func:`in_use` makes before giving up on evictions that keep removing
#: it (by other processes, between its lock's conversions; a cache bound of a few bytes).
_ATTEMPTS = 3


@dataclass(frozen=True)
class Entry:
    """A complete build in the cache.

    Attributes
    ----------
    name : str
        Its directory name, ``<toplevel>-<sim>-<key>``.
    bytes : int
        Its size (from its ``size`` file, or measured).
    last_used : float
        When it was last built or used (the mtime of its ``ready``), seconds since the epoch.
    """

    name: str
    bytes: int
    last_used: float


def limit_bytes(environ=None):
    """The cache's bound in bytes, from ``$SLIQUE_BUILD_CACHE_GB`` (default 8 GB)."""
    text = (os.environ if environ is None else environ).get(LIMIT_ENV, "").strip()
    if not text:
        return int(DEFAULT_LIMIT_GB * 1e9)
    try:
        gigabytes = float(text)
    except ValueError:
        gigabytes = -1
    if not gigabytes >= 0:
        raise ValueError(f"${LIMIT_ENV} is the simulator build cache's bound in gigabytes "
                         f"(a number >= 0, e.g. 8, or inf), not {text!r}")
    return gigabytes * 1e9 if gigabytes == float("inf") else int(gigabytes * 1e9)


def tree_bytes(path):
    """Bytes of the files under ``path`` (symbolic links not followed)."""
    total = 0
    try:
        with os.scandir(path) as found:
            for item in found:
                if item.is_dir(follow_symlinks=False):
                    total += tree_bytes(item.path)
                else:
                    total += item.stat(follow_symlinks=False).st_size
    except FileNotFoundError:
        pass
    return total


# --- locks ---------------------------------------------------------------------------------------
# Removing an entry unlinks its lock file while holding it, so whoever takes a lock checks that it
# holds the file now at that path (else it took a removed one, and opens the path again).

def _is_current(lock, path):
    try:
        return os.fstat(lock.fileno()).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _locked(path, mode, lock=None):
    """``lock`` (or a new handle on ``path``) holding ``mode`` on the file now at ``path``."""
    while True:
        if lock is None:
            lock = open(path, "a")
        fcntl.flock(lock, mode)
        if _is_current(lock, path):
            return lock
        lock.close()
        lock = None


def _try_exclusive(path):
    """An exclusive lock on ``path`` if nobody holds it (``None`` otherwise); creates no file."""
    try:
        lock = open(path, "r")
    except FileNotFoundError:
        return _EmptyLock()
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    if _is_current(lock, path):
        return lock
    lock.close()
    return None


class _EmptyLock:
    """Stands for the lock of an entry that has no lock file (nobody can hold it)."""

    def close(self):
        pass


# --- building and using --------------------------------------------------------------------------

@contextmanager
def in_use(root, name, make):
    """Yield the complete build ``root/name``, held (shared lock) so that eviction leaves it.

    When it is not cached, ``make(staging)`` builds it into a fresh staging directory under an
    exclusive lock; it is then published by a rename (without its build-only files, with its
    ``size``), and the cache is evicted down to :func:`limit_bytes`. Each use marks it used.
    """
    root = Path(root)
    limit = limit_bytes()  # a bad bound fails before anything is built
    root.mkdir(parents=True, exist_ok=True)
    final, lock_path = root / name, root / f"{name}{LOCK_SUFFIX}"
    lock = _locked(lock_path, fcntl.LOCK_SH)
    try:
        for attempt in range(_ATTEMPTS + 1):
            if (final / READY).exists():
                break
            if attempt == _ATTEMPTS:
                raise RuntimeError(f"{final} was removed {_ATTEMPTS} times between its build and "
                                   f"its use: is ${LIMIT_ENV} too small?")
            lock = _locked(lock_path, fcntl.LOCK_EX, lock)  # a conversion: waits for a builder
            if not (final / READY).exists():
                _publish(root, final, make)
                evict(root, limit)  # this entry is held: it stays
            lock = _locked(lock_path, fcntl.LOCK_SH, lock)  # a conversion: evictions can slip in
        os.utime(final / READY)
        yield final
    finally:
        lock.close()


def _publish(root, final, make):
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=root))
    try:
        make(staging)
        _drop_build_only(staging)
        (staging / SIZE).write_text(str(tree_bytes(staging)))
        (staging / READY).touch()
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _drop_build_only(path):
    with os.scandir(path) as found:
        for item in found:
            if item.name.endswith(BUILD_ONLY_SUFFIXES) and item.is_file(follow_symlinks=False):
                os.unlink(item.path)


# --- listing and eviction ------------------------------------------------------------------------

def _entry_bytes(path):
    """An entry's bytes from its ``size`` file; an entry from before sizes were recorded is
    measured once (after dropping its build-only files, when nobody holds it)."""
    try:
        return int((path / SIZE).read_text())
    except (FileNotFoundError, ValueError):
        pass
    lock = _try_exclusive(path.parent / f"{path.name}{LOCK_SUFFIX}")
    if lock is None:
        return tree_bytes(path)
    try:
        if not (path / READY).exists():
            return 0  # removed meanwhile
        _drop_build_only(path)
        size = tree_bytes(path)
        (path / SIZE).write_text(str(size))
        return size
    finally:
        lock.close()


def entries(root):
    """The complete builds under ``root``, least recently used first."""
    found = []
    try:
        with os.scandir(root) as items:
            names = [item.name for item in items if not item.name.startswith(".")
                     and item.is_dir(follow_symlinks=False)]
    except FileNotFoundError:
        return []
    for name in names:
        path = Path(root) / name
        try:
            last_used = (path / READY).stat().st_mtime
        except FileNotFoundError:
            continue  # not complete (or being removed)
        found.append(Entry(name, _entry_bytes(path), last_used))
    return sorted(found, key=lambda entry: (entry.last_used, entry.name))


def _remove_tree(root, path):
    trash = Path(root) / f"{REMOVING}{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        path.rename(trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _remove_entry(root, name, orphan=False):
    """Remove the entry ``name`` and its lock file, if nobody holds its lock (an ``orphan``'s
    lock file only if it still has no entry); say whether."""
    lock_path = Path(root) / f"{name}{LOCK_SUFFIX}"
    lock = _try_exclusive(lock_path)
    if lock is None:
        return False
    try:
        if orphan and (Path(root) / name).exists():
            return False  # built since the directory was listed
        _remove_tree(root, Path(root) / name)
        if not isinstance(lock, _EmptyLock):
            os.unlink(lock_path)  # still held: whoever waits for it opens the path again
        return True
    finally:
        lock.close()


def _sweep(root, now):
    """Remove leftovers: half-removed entries, stale staging directories, orphan lock files."""
    with os.scandir(root) as items:
        items = list(items)
    names = {item.name for item in items}
    building = set()
    for item in items:
        if not item.name.startswith(".") or not item.is_dir(follow_symlinks=False):
            continue
        if item.name.startswith(REMOVING):
            shutil.rmtree(item.path, ignore_errors=True)
            continue
        name = item.name[1:].rpartition("-")[0]
        lock = _try_exclusive(Path(root) / f"{name}{LOCK_SUFFIX}")
        try:
            stale = lock is not None and (now - item.stat(follow_symlinks=False).st_mtime
                                          >= STAGING_GRACE_SECONDS)
        except FileNotFoundError:  # published (or removed) since it was listed
            stale = False
        if stale:
            shutil.rmtree(item.path, ignore_errors=True)
        else:
            building.add(name)
        if lock is not None:
            lock.close()
    for lock_name in names:
        name = lock_name[:-len(LOCK_SUFFIX)]
        if lock_name.endswith(LOCK_SUFFIX) and name not in names and name not in building:
            _remove_entry(root, name, orphan=True)


def evict(root, limit):
    """Remove leftovers, then the least recently used complete builds that nobody holds until
    the total is at most ``limit`` bytes. Return ``(removed, kept)``, lists of :class:`Entry`."""
    root = Path(root)
    if not root.is_dir():
        return [], []
    _sweep(root, time.time())
    kept = entries(root)
    total = sum(entry.bytes for entry in kept)
    removed = []
    for entry in list(kept):
        if total <= limit:
            break
        if _remove_entry(root, entry.name):
            kept.remove(entry)
            removed.append(entry)
            total -= entry.bytes
    return removed, kept
