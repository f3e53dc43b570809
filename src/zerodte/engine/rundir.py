"""Run directories: ``runs/<run_id>/`` with the manifest, summary, records and report.

``summary.json`` holds only what the data, the configuration and the seed determine (no
wall-clock value), so a rerun writes it byte for byte again; creation times and the code
version go to ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte import __version__
from zerodte.errors import DataError
from zerodte.io import atomic_write, atomic_write_json

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
TRADES = "trades.parquet"
EQUITY = "equity.parquet"
DECISIONS = "decisions.parquet"


def make_run_id(config_hash: str, data_hash: str, controller: str, seed: int) -> str:
    """Deterministic id ``<controller>-<12 hex>`` from what decides a run's outcome."""
    key = f"{config_hash}|{data_hash}|{controller}|{seed}".encode()
    return f"{controller}-{hashlib.sha256(key).hexdigest()[:12]}"


def code_version(repo: Path | None = None) -> str:
    """``<package version>+g<commit>`` when a git checkout is found, else the version.

    Reads git once; call it at the composition root and pass the value down.
    """
    where = repo or Path(__file__).resolve().parents[3]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("no git commit for the code version: %s", exc)
        return __version__
    commit = out.stdout.strip()
    if out.returncode != 0 or not commit:
        return __version__
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.strip()
    return f"{__version__}+g{commit}{'.dirty' if dirty else ''}"


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as Parquet atomically (no index).

    Only text columns are dictionary-encoded. Parquet's writer holds a dictionary-encoded
    column chunk's pages until its dictionary is complete, and the numbers of a run's
    records (cash, equity, scores per cycle) have too many distinct values to gain from a
    dictionary: encoding them plainly writes files of about the same size (a year of
    decisions is smaller, the equity curve 2 % larger) with a third to a fifth of the
    writer's memory (a three-year run's decisions: +15 MB instead of +53 MB).

    Arrow's allocator keeps the pages of the conversion for reuse; they are handed back
    once the file is written, so what a run does next (its store row) does not stack on
    them.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    def write(target: Path) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        text = [
            f.name
            for f in table.schema
            if pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)
            or pa.types.is_dictionary(f.type)
        ]
        pq.write_table(table, target, use_dictionary=text)

    out = atomic_write(path, write)
    pa.default_memory_pool().release_unused()
    return out


def write_records(
    run_dir: Path,
    *,
    trades: pd.DataFrame,
    equity: pd.DataFrame,
    decisions: pd.DataFrame | None,
) -> None:
    """Write the run's trade, equity and decision records."""
    write_parquet(run_dir / TRADES, _storable(trades))
    write_parquet(run_dir / EQUITY, equity)
    if decisions is not None:
        write_parquet(run_dir / DECISIONS, decisions)


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns that are entirely null become float NaN columns, which Parquet stores
    with a concrete type (an all-None object column has none)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].isna().all():
            out[col] = out[col].astype("float64")
    return out


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json``."""
    return atomic_write_json(run_dir / MANIFEST, dict(manifest))


def _damaged(path: Path, problem: str) -> DataError:
    return DataError(
        f"{path}: {problem}; the run directory {path.parent} is damaged. Run it again to "
        "write it anew, or remove the directory"
    )


def read_run_json(path: Path) -> dict[str, Any]:
    """A run directory's JSON object (manifest, summary, experiment record).

    Raises
    ------
    DataError
        The file is missing, unreadable, not JSON or not an object; the message names it.
    """
    if not path.is_file():
        raise _damaged(path, "is missing")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are both
        raise _damaged(path, f"is not readable JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise _damaged(path, f"holds a JSON {type(doc).__name__}, not an object")
    return doc


def read_run_parquet(path: Path) -> pd.DataFrame:
    """A run directory's record (trades, equity, decisions, journals) as a frame.

    Raises
    ------
    DataError
        The file is missing or not a readable Parquet file; the message names it.
    """
    if not path.is_file():
        raise _damaged(path, "is missing")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise _damaged(path, f"is not a readable Parquet file ({exc})") from exc
