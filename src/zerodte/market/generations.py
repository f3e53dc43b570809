"""Generations of the market store: all the files one command writes are published at once.

Layout under the store's ``bars`` directory::

    CURRENT                          name of the published generation, e.g. "g000042"
    g000042/symbol=SPY/year=2024.parquet
    g000041/...                      the generation before it (kept for readers still on it)
    .lock                            the writers' lock (filelock)
    .staging-g000043-<token>/        a transaction being written (never read)

A generation directory never changes once published. A writer, holding the lock:

1. writes every new or changed file into a fresh staging directory and hard-links the
   unchanged files of the current generation beside them (a copy where links fail);
2. fsyncs the files and directories and renames the staging directory to ``g<n+1>``;
3. replaces ``CURRENT`` atomically (temp file, fsync, rename): this is the commit point;
4. deletes generations older than the one it replaced.

A crash before step 3 leaves ``CURRENT`` on the old generation, a crash after it leaves the
new one: readers, which read ``CURRENT`` once and then only that directory, see the old or
the new state, never a mix. :meth:`Generations.recover` (run when a store is opened) sweeps
what a crashed writer left: staging directories, generations newer than ``CURRENT`` that
were never published, and temporary files. It needs the lock and is skipped while another
process writes. A store in the older flat layout (``bars/symbol=SPY/...``) becomes
generation 1 on its first open.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from zerodte.errors import DataError
from zerodte.io import atomic_write_text, fsync_dir, fsync_tree

logger = logging.getLogger(__name__)

POINTER = "CURRENT"
LOCK = ".lock"
STAGING_PREFIX = ".staging-"
LEGACY_GLOB = "symbol=*"
_GENERATION = re.compile(r"^g(\d{6,})$")
WRITE_LOCK_TIMEOUT = 120.0
"""Seconds a writer waits for another writer before giving up with a DataError."""


def generation_name(number: int) -> str:
    """Directory name of generation ``number``: ``g000042``."""
    return f"g{number:06d}"


def generation_number(name: str) -> int | None:
    """Number of a generation directory name, or None for any other name."""
    match = _GENERATION.match(name)
    return int(match.group(1)) if match else None


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError as exc:  # filesystems without hard links: a copy is as good, only bigger
        logger.debug("hard link %s -> %s failed (%s); copying", src, dst, exc)
        shutil.copy2(src, dst)


class Staging:
    """One open transaction: a private directory that becomes the next generation."""

    def __init__(self, path: Path, base: Path | None) -> None:
        self.path = path
        self.base = base
        self.written: set[str] = set()

    def target(self, relative: str) -> Path:
        """Where to write the new version of ``relative`` (``symbol=SPY/year=2024.parquet``)."""
        self.written.add(relative)
        out = self.path / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        return out

    def existing(self, relative: str) -> Path | None:
        """The version of ``relative`` this transaction sees: its own, else the base's."""
        if relative in self.written:
            return self.path / relative
        if self.base is not None and (self.base / relative).is_file():
            return self.base / relative
        return None

    def link_unchanged(self) -> None:
        """Hard-link every file of the base generation this transaction did not rewrite."""
        if self.base is None:
            return
        for src in self.base.rglob("*"):
            rel = src.relative_to(self.base).as_posix()
            if src.is_file() and rel not in self.written:
                _link_or_copy(src, self.path / rel)


class Generations:
    """The generation directories and pointer of one ``bars`` directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- reading -------------------------------------------------------------------------
    def current_name(self) -> str | None:
        """Name in ``CURRENT``, or None when nothing was published."""
        try:
            name = (self.root / POINTER).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if generation_number(name) is None:
            raise DataError(
                f"{self.root / POINTER} holds {name[:40]!r}, not a generation name; the store "
                "was edited by hand. Restore it or move the data directory away and re-import"
            )
        return name

    def current(self) -> Path | None:
        """Directory readers use: the published generation, or the legacy flat layout."""
        name = self.current_name()
        if name is not None:
            path = self.root / name
            if not path.is_dir():
                raise DataError(
                    f"{self.root / POINTER} names {name}, which does not exist; the store was "
                    "changed by hand. Move the data directory away and re-import"
                )
            return path
        if self.root.is_dir() and any(self.root.glob(LEGACY_GLOB)):
            return self.root
        return None

    def _numbers(self) -> list[int]:
        if not self.root.is_dir():
            return []
        found = (generation_number(p.name) for p in self.root.iterdir() if p.is_dir())
        return sorted(n for n in found if n is not None)

    # -- writing -------------------------------------------------------------------------
    def _lock(self) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / LOCK))

    @contextmanager
    def transaction(self) -> Iterator[Staging]:
        """Stage a new generation; publish it when the block ends without an exception.

        Raises
        ------
        DataError
            Another process held the lock for :data:`WRITE_LOCK_TIMEOUT` seconds, or the
            store's directory cannot be created or written.
        """
        try:
            lock = self._lock()
            lock.acquire(timeout=WRITE_LOCK_TIMEOUT)
        except Timeout as exc:  # a TimeoutError, so an OSError: caught first
            raise DataError(
                f"the market store {self.root} is locked by another writer ({self.root / LOCK}) "
                f"for more than {WRITE_LOCK_TIMEOUT:g} s; wait for it to finish and retry"
            ) from exc
        except OSError as exc:
            raise DataError(
                f"cannot write the market store at {self.root} ({exc.strerror or exc}); choose a "
                "writable data directory (--data-dir or data.data_dir)"
            ) from None
        try:
            self._recover_locked()
            base = self.current()
            number = (self._numbers() or [0])[-1] + 1
            name = generation_name(number)
            path = self.root / f"{STAGING_PREFIX}{name}-{secrets.token_hex(4)}"
            path.mkdir()
            staging = Staging(path, base)
            try:
                yield staging
                if staging.written:
                    self._publish(staging, name)
            finally:
                if path.exists():
                    shutil.rmtree(path, ignore_errors=True)
        finally:
            lock.release()

    def _publish(self, staging: Staging, name: str) -> None:
        staging.link_unchanged()
        fsync_tree(staging.path)
        final = self.root / name
        os.replace(staging.path, final)
        fsync_dir(self.root)
        previous = self.current_name()
        atomic_write_text(self.root / POINTER, name + "\n")  # the commit point
        logger.debug("published generation %s (was %s)", name, previous)
        keep = {name, previous}
        for number in self._numbers():
            old = generation_name(number)
            if old not in keep:
                shutil.rmtree(self.root / old, ignore_errors=True)
        if previous is None:
            self._drop_legacy()

    # -- recovery ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Sweep what crashed writers left and migrate a legacy layout; return what was done.

        Does nothing (and returns ``[]``) when another process holds the lock: that writer
        is alive and its files are not stale.
        """
        if not self.root.is_dir():
            return []
        try:
            lock = self._lock()
            lock.acquire(timeout=0)
        except Timeout:
            logger.debug("store %s is being written; recovery skipped", self.root)
            return []
        except OSError as exc:  # a read-only store cannot hold stale writer files
            logger.debug("cannot lock %s (%s); recovery skipped", self.root, exc)
            return []
        try:
            return self._recover_locked()
        finally:
            lock.release()

    def _recover_locked(self) -> list[str]:
        done: list[str] = []
        current = self.current_name()
        published = generation_number(current) if current is not None else None
        for path in sorted(self.root.iterdir()):
            number = generation_number(path.name) if path.is_dir() else None
            stale_gen = number is not None and (published is None or number > published)
            if path.name.startswith(STAGING_PREFIX) or stale_gen:
                shutil.rmtree(path, ignore_errors=True)
                done.append(f"removed unpublished {path.name}")
            elif path.is_file() and path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                done.append(f"removed temporary file {path.name}")
        if current is None and any(self.root.glob(LEGACY_GLOB)):
            self._migrate_legacy()
            done.append("moved the flat layout into generation g000001")
        elif current is not None:
            done.extend(self._drop_legacy())
        for line in done:
            logger.info("market store %s: %s", self.root, line)
        return done

    def _migrate_legacy(self) -> None:
        staging = Staging(self.root / f"{STAGING_PREFIX}{generation_name(1)}-legacy", None)
        staging.path.mkdir()
        for src in sorted(self.root.glob(f"{LEGACY_GLOB}/*")):
            if src.is_file() and not src.name.endswith(".tmp"):
                _link_or_copy(src, staging.target(src.relative_to(self.root).as_posix()))
        self._publish(staging, generation_name(1))

    def _drop_legacy(self) -> list[str]:
        dropped = []
        for path in self.root.glob(LEGACY_GLOB):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                dropped.append(f"removed the old flat-layout directory {path.name}")
        return dropped
