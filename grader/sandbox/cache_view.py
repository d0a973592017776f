"""A jail's own view of the compile cache: a folder in its staging (read-only to it, listable by
no one) into which the judge links the warmed entries of the job's problem, the visible calls'
programs when the job comes and the hidden calls' programs only when it sends the hidden inputs.

Why: a cache entry's name is the hash of the program that asks for it, and a program's hash
depends on its shapes. A jail that could open every entry could learn a hidden test's shapes in
its visible phase, by compiling candidate programs and seeing which hit (JAX reports each hit,
and a hit is ~6 times faster than a compile), then show them in a visible output. Through its
view a jail hits, before the hidden inputs, only programs of the visible calls.

`jaxjudge warm` records which entries each phase of a problem's grade compiles
(PHASES_PREFIX<problem>.json in the cache folder, the judge's only)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# The compile cache folder's mode: write and search for its owner (the judge) alone. No jail
# reaches it, not even one that shares the judge's filesystem (uid isolation in the judge image):
# a jail reads the entries its job may load through a view of its own (below), whose files are
# links to the folder's entries.
STORE_MODE = 0o300
# A view's mode: search only, for anyone; read for no one. A jail (its owner's uid mapped, or
# another uid) can open an entry by its exact name, which is the hash of the program asking for
# it, but cannot list the folder; it is read-only to the jail, which cannot chmod it either.
VIEW_MODE = 0o311


def jail_cache(folder: Path | None) -> Path | None:
    """`folder` when jails may read it (through their views): a directory only its owner may
    enter, and even its owner may not list. Anything else (a folder an older judge warmed,
    world-listable and holding the reference's source locations, or sealed to 0311 and then
    reachable to a jail sharing the judge's filesystem) is no cache at all, until `jaxjudge
    warm` seals it."""
    if folder is None:
        return None
    try:
        mode = folder.stat().st_mode
    except OSError:
        return None
    return folder if stat.S_ISDIR(mode) and not stat.S_IMODE(mode) & 0o477 else None


def cache_env(folder: str, writable: bool) -> dict[str, str]:
    """JAX settings for the persistent compile cache at `folder`, as seen by the runner.

    Readers are told nothing takes under 1e9 s to compile, so they never try to write. XLA's
    autotune-cache path would enter every key, and jails see the cache elsewhere than its
    trusted writer does: with it on, no entry would ever hit. The trusted writer (its runner
    started through grader.sandbox.stripped) strips every source location from a program
    before compiling it: an entry is then exactly what compiling the location-free program
    gives, the program its key hashes, so the jail that hits it learns nothing it did not write
    (no file name, line or function name of the code that warmed it).
    """
    return {"JAX_COMPILATION_CACHE_DIR": folder,
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0" if writable else "1e9",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "-1",
            "JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES": "none"}


# The view's folder in a jail's staging folder, and so at /submission/jaxcache in the jail.
VIEW_NAME = "jaxcache"
PHASES_PREFIX = "phases-"
VISIBLE, HIDDEN = "visible", "hidden"
_ENTRY = re.compile(r"[\w.+-]{1,250}-cache")  # a JAX entry's file name, never a path
_PROBLEM = re.compile(r"[\w.-]{1,200}")


@dataclass(frozen=True)
class CacheView:
    """Which of a problem's warmed programs a job's jail may load: the phases linked when the
    job comes (`at_start`) and when its hidden calls are sent (`at_release`). A grade: visible,
    then hidden; a Run: visible only; a run whose public calls hold hidden inputs: both at once."""

    problem: str
    at_start: tuple[str, ...] = (VISIBLE,)
    at_release: tuple[str, ...] = (HIDDEN,)


def manifest_path(store: Path, problem: str) -> Path:
    return store / f"{PHASES_PREFIX}{problem}.json"


def write_manifest(store: Path, problem: str, phases: dict[str, list[str]]) -> None:
    """What each phase of `problem`'s grade compiles, for the judge's eyes only (0600)."""
    path = manifest_path(store, problem)
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({k: sorted(v) for k, v in phases.items()}, f)
    os.replace(temp, path)


def entries(store: Path, problem: str, phases: Iterable[str]) -> list[str]:
    """The entry names `phases` of `problem` compile, as `jaxjudge warm` recorded them; none
    when it has not (a cache warmed by an older judge serves no jail until warmed again)."""
    if not _PROBLEM.fullmatch(problem):
        return []
    try:
        recorded = json.loads(manifest_path(store, problem).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = [n for phase in phases for n in recorded.get(phase, ()) if isinstance(n, str)]
    return [n for n in dict.fromkeys(names) if _ENTRY.fullmatch(n)]


def make(staging: Path) -> Path:
    """The empty view in a jail's staging folder, before the jail starts."""
    view = staging / VIEW_NAME
    view.mkdir()
    view.chmod(VIEW_MODE)
    return view


def link(store: Path, view: Path, problem: str, phases: Iterable[str]) -> int:
    """Puts `phases`' entries of `problem` from `store` into `view` (a hard link, else a
    read-only copy); entries missing from the store are skipped. Returns how many are in."""
    done = 0
    for name in entries(store, problem, phases):
        source, target = store / name, view / name
        try:
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            pass
        except OSError:  # another filesystem, or links refused: copy it
            with contextlib.suppress(OSError):
                shutil.copyfile(source, target, follow_symlinks=False)
                target.chmod(0o444)
        done += target.exists()
    return done


def link_moment(store: Path | None, view: Path | None, cache: CacheView | None,
                released: bool) -> None:
    """A job's programs of one moment (its start, or the release of its hidden calls) into its
    jail's view, when there is a sealed `store`, a view and a CacheView."""
    if store is not None and view is not None and cache is not None:
        link(store, view, cache.problem, cache.at_release if released else cache.at_start)
