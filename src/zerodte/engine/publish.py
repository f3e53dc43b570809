"""Publishing a run: its directory and its rows in the SQL store appear together, or not at all.

Protocol of :func:`publish_run` for a run directory ``<parent>/<name>``:

1. take a lock file ``<parent>/.<name>.staging-<token>.lock`` (``filelock``), then write
   every file of the run into the staging directory ``<parent>/.<name>.staging-<token>``
   and, last, ``PUBLISH.json`` (run id, token, whether the run is recorded): the staging
   directory is complete;
2. record the run in the SQL store in one transaction, with the token in its ``meta``:
   the commit point of a recorded run;
3. move the staging directory into place (an existing directory of the same run, a
   rerun's predecessor, is renamed aside first and deleted after), then release and remove
   the lock.

:func:`recover_runs` repairs what a crash left in ``parent``, and is run before a run is
published there and by ``zerodte runs list``/``show``. For every staging directory whose
lock is free (its writer is dead): if it is complete and either not recorded, or recorded
with its own token, it is moved into place (step 3); otherwise (incomplete, or never
recorded) it is deleted. A run directory therefore never exists without its store row, and
a store row never lacks its directory once ``recover_runs`` has run.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from zerodte.engine.rundir import MANIFEST
from zerodte.errors import ConfigError
from zerodte.io import atomic_write_json, fsync_dir, fsync_tree

logger = logging.getLogger(__name__)

MARKER = "PUBLISH.json"
_STAGING = ".staging-"
_OLD = ".old-"

TokenLookup = Callable[[str], str | None]
"""``run_id -> publish token`` of the run recorded in the store, or None when not recorded."""


TOKEN_KEY = "publish_token"
"""Key of the publish token in a recorded run's ``meta``."""


def store_lookup(store: Any) -> TokenLookup:
    """A :data:`TokenLookup` reading ``meta[TOKEN_KEY]`` through ``store.get_run``."""

    def lookup(run_id: str) -> str | None:
        row = store.get_run(run_id)
        token = ((row or {}).get("meta") or {}).get(TOKEN_KEY)
        return None if token is None else str(token)

    return lookup


def _staging_of(target: Path, token: str) -> Path:
    return target.parent / f".{target.name}{_STAGING}{token}"


def _lock_of(staging: Path) -> Path:
    return staging.parent / f"{staging.name}.lock"


def _move_into_place(staging: Path, target: Path) -> None:
    """Step 3: replace ``target`` with ``staging`` (the old directory, if any, set aside)."""
    aside = target.parent / f".{target.name}{_OLD}{secrets.token_hex(4)}"
    if target.exists():
        os.replace(target, aside)
    os.replace(staging, target)
    fsync_dir(target.parent)
    (target / MARKER).unlink(missing_ok=True)
    if aside.exists():
        shutil.rmtree(aside, ignore_errors=True)


RUN_MARK = MANIFEST
"""The file every run directory holds: only a directory with it (or an empty one) is
replaced by a run published to the same path."""


def check_can_create(path: Path) -> Path:
    """``path`` when it is a directory or can be made one: its nearest existing ancestor (or
    itself) is a directory.

    Raises
    ------
    ConfigError
        A file stands where ``path`` or one of its parents would be.
    """
    path = Path(path)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = (
                    "where a directory is needed"
                    if part == path
                    else f"so the directory {path} cannot be made under it"
                )
                raise ConfigError(
                    f"{part} is a file, {where}; set engine.runs_dir (or --run-dir) to a "
                    "directory, or move the file away"
                )
            break
    return path


def check_run_dir(target: Path) -> Path:
    """``target`` when a run may be published there: absent, an empty directory, or an
    earlier run's directory (it holds :data:`RUN_MARK`), which a rerun replaces.

    Raises
    ------
    ConfigError
        ``target`` is a file, or a directory holding anything but a run; publishing would
        delete it.
    """
    target = Path(target)
    check_can_create(target.parent)
    if not target.exists():
        return target
    if not target.is_dir():
        raise ConfigError(
            f"the run directory {target} is a file; a run would replace it. Name a new "
            "directory (--run-dir) or move the file away"
        )
    if (target / RUN_MARK).is_file() or not any(target.iterdir()):
        return target
    raise ConfigError(
        f"the run directory {target} holds files but no {RUN_MARK}, so it is not an earlier "
        "run's; a run would replace it and delete them. Name a new or empty directory "
        "(--run-dir), or move those files away"
    )


def check_run_target(run_dir: Path | None, runs_dir: Path) -> None:
    """Before a run: ``run_dir`` may take it (:func:`check_run_dir`), or, when the run will
    go under ``runs_dir/<run_id>``, that directory can be made (:func:`check_can_create`)."""
    if run_dir is not None:
        check_run_dir(run_dir)
    else:
        check_can_create(runs_dir)


def publish_run(
    target: Path,
    run_id: str,
    write_files: Callable[[Path], None],
    record: Callable[[str], None] | None,
    lookup: TokenLookup | None = None,
) -> Path:
    """Write a run directory and record its rows so that neither exists without the other.

    Parameters
    ----------
    target
        The run directory to create (replaced when it is an earlier run's: a rerun; see
        :func:`check_run_dir`).
    run_id
        The run's id.
    write_files
        Writes every file of the run into the directory it is given.
    record
        Records the run in the store, given the publish token to keep in its ``meta``;
        None when the run is not recorded.
    lookup
        Token of a recorded run, for :func:`recover_runs` of ``target.parent`` first.
    """
    target = check_run_dir(Path(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_runs(target.parent, lookup)
    token = secrets.token_hex(6)
    staging = _staging_of(target, token)
    lock_path = _lock_of(staging)
    lock = FileLock(str(lock_path))
    try:
        with lock:
            committed = False
            try:
                staging.mkdir()
                write_files(staging)
                atomic_write_json(
                    staging / MARKER,
                    {"run_id": run_id, "token": token, "recorded": record is not None},
                )
                fsync_tree(staging)
                if record is not None:
                    record(token)  # the commit point of a recorded run
                committed = True
                _move_into_place(staging, target)
            finally:
                # Failed before the commit: nothing was published. After it, a staging
                # directory left by a failed move is completed by the next recover_runs.
                if staging.exists() and not committed:
                    shutil.rmtree(staging, ignore_errors=True)
    finally:
        lock_path.unlink(missing_ok=True)  # released; its staging directory is gone
    logger.debug("published run %s in %s", run_id, target)
    return target


def _complete(staging: Path) -> dict[str, object] | None:
    try:
        marker = json.loads((staging / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _recover_one(staging: Path, lookup: TokenLookup | None) -> str:
    name = staging.name[1:].split(_STAGING, 1)[0]
    target = staging.parent / name
    marker = _complete(staging)
    if marker is not None and not marker.get("recorded"):
        _move_into_place(staging, target)
        return f"completed the unrecorded run directory {name}"
    if marker is not None and lookup is not None:
        recorded = lookup(str(marker.get("run_id")))
        if recorded is not None and recorded == marker.get("token"):
            _move_into_place(staging, target)
            return f"completed the run directory {name} (recorded in the store)"
    if marker is not None and lookup is None:
        return ""  # cannot tell whether it was recorded without the store: leave it
    shutil.rmtree(staging, ignore_errors=True)
    return f"removed the unpublished run directory {staging.name}"


def _remove_stray_lock(lock_path: Path) -> None:
    """A lock whose staging directory never came to be (its writer died before mkdir)."""
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return
    try:
        if not lock_path.with_suffix("").exists():
            lock_path.unlink(missing_ok=True)
    finally:
        lock.release()


def recover_runs(parent: Path, lookup: TokenLookup | None) -> list[str]:
    """Complete or remove what crashed publishers left in ``parent``; return what was done."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    done: list[str] = []
    for path in sorted(parent.iterdir()):
        if path.name.startswith(".") and _OLD in path.name and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            done.append(f"removed {path.name}")
            continue
        is_staging = path.name.startswith(".") and _STAGING in path.name
        if not is_staging:
            continue
        if path.suffix == ".lock":
            if not path.with_suffix("").exists():
                _remove_stray_lock(path)
            continue
        lock_path = _lock_of(path)
        lock = FileLock(str(lock_path))
        try:
            lock.acquire(timeout=0)
        except (Timeout, OSError):
            continue  # its writer is alive
        try:
            line = _recover_one(path, lookup)
        finally:
            lock.release()
        lock_path.unlink(missing_ok=True)
        if line:
            done.append(line)
    for line in done:
        logger.info("runs in %s: %s", parent, line)
    return done
