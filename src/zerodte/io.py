"""Atomic file writes: temp file in the same directory, fsync, rename; verified file pairs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    """fsync a directory, so that renames and new entries in it survive a power loss."""
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (bottom-up), then ``root`` itself."""
    for dirpath, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp_path)`` then fsync and atomically rename ``tmp_path`` onto ``path``.

    Readers see either the old file or the complete new one, never a partial write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda p: p.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as canonical JSON (sorted keys, 2-space indent) atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"
    return atomic_write_text(path, text)


def previous_name(name: str) -> str:
    """Name of the previous version of a pair file: ``q_scorer.pt`` -> ``q_scorer.previous.pt``."""
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.previous.{suffix}" if dot else f"{name}.previous"


def read_verified_pair(
    directory: Path, data_name: str, meta_name: str, sha_key: str
) -> tuple[bytes, bytes] | None:
    """``(data, metadata)`` bytes when the metadata is an object whose ``sha_key`` is the
    data file's SHA-256; None when a file is missing or the two do not match."""
    try:
        meta_bytes = (Path(directory) / meta_name).read_bytes()
        data = (Path(directory) / data_name).read_bytes()
        meta = json.loads(meta_bytes)
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get(sha_key) != hashlib.sha256(data).hexdigest():
        return None
    return data, meta_bytes


def publish_pair(
    directory: Path, files: tuple[str, str], data: bytes, meta: Any, *, sha_key: str
) -> Path:
    """Write a data file and its metadata (``files``: their names; the metadata holds the
    data's SHA-256 under ``sha_key``) so that a complete pair exists at every instant.

    When ``directory`` holds a verified pair that differs, it is first copied to the
    :func:`previous_name` files (data, then metadata); then the new data file and the new
    metadata are written, each atomically. A crash at any point leaves the current pair or,
    between the last two renames, the previous one complete.
    """
    directory = Path(directory)
    data_name, meta_name = files
    current = read_verified_pair(directory, data_name, meta_name, sha_key)
    if current is not None and json.loads(current[1]).get(sha_key) != meta[sha_key]:
        atomic_write_bytes(directory / previous_name(data_name), current[0])
        atomic_write_bytes(directory / previous_name(meta_name), current[1])
    atomic_write_bytes(directory / data_name, data)
    atomic_write_json(directory / meta_name, meta)
    return directory
