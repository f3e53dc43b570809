"""A run's rows written to a current SQLite store through the standard library's sqlite3.

Importing SQLAlchemy costs about 0.09 s of CPU and binding 1,800 trade rows through it
another 0.04 s: a third of what finishing a year's backtest costs. When the store is a
SQLite file (``store.path``; no ``store.url``, no ``echo``) whose ``alembic_version`` is the
head of the packaged migration scripts, :func:`record_run_if_current` writes the run with
``sqlite3`` and returns True. It stores the values
:meth:`~zerodte.store.runs.RunStore.record_run` stores, from the same
:func:`~zerodte.store.columns.run_row` and :func:`~zerodte.store.columns.trade_values`,
encoded as SQLAlchemy's SQLite dialect encodes them: times as UTC text
``YYYY-MM-DD HH:MM:SS.ffffff``, dates as ``YYYY-MM-DD``, JSON as ``json.dumps`` text
(``None`` as ``null``); tests/store/test_sqlite_rows.py compares the rows both write.

Anything else (no file yet, a PostgreSQL URL, a database behind head or newer than the
code, a file that cannot be read, a path that SQLAlchemy reads as another file) returns
False before anything is written, and the caller records through
:class:`~zerodte.store.runs.RunStore`, which migrates the schema or says what is wrong.
The connection gets the pragmas of :func:`zerodte.store.engine.make_engine` and the rows
are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from zerodte.config.settings import StoreSettings
from zerodte.records import TRADE_COLUMNS
from zerodte.store.columns import (
    DATE_COLUMNS,
    RUN_JSON_COLUMNS,
    RUN_TIME_COLUMNS,
    TIME_COLUMNS,
    run_row,
    trade_values,
)
from zerodte.store.pragmas import SQLITE_PRAGMAS
from zerodte.store.revisions import script_head

logger = logging.getLogger(__name__)


def utc_text(value: dt.datetime | None) -> str | None:
    """An aware time as SQLAlchemy stores it in SQLite: naive UTC with microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(
            f"store times must be tz-aware datetimes; got {value!r}. Localize to "
            "America/New_York before recording."
        )
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def date_text(value: dt.date | None) -> str | None:
    """A date as SQLAlchemy stores it in SQLite (``YYYY-MM-DD``)."""
    return None if value is None else value.isoformat()


def _encoded_run(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in RUN_TIME_COLUMNS:
        if key in out:
            out[key] = utc_text(out[key])
    for key in RUN_JSON_COLUMNS:
        out[key] = json.dumps(out[key])
    return out


def _encoded_trades(run_id: str, columns: Sequence[list[Any]]) -> list[tuple[Any, ...]]:
    encoded: list[list[Any]] = []
    for name, values in zip(TRADE_COLUMNS, columns, strict=True):
        if name in TIME_COLUMNS:
            values = [utc_text(v) for v in values]
        elif name in DATE_COLUMNS:
            values = [date_text(v) for v in values]
        encoded.append(values)
    ids = [run_id] * (len(encoded[0]) if encoded else 0)
    return list(zip(ids, *encoded, strict=True))


def _connect(path: Path) -> sqlite3.Connection | None:
    """A connection to an existing store at the scripts' head, else None (nothing created)."""
    head = script_head()
    if head is None:
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        logger.debug("store %s not opened with sqlite3 (%s); using SQLAlchemy", path, exc)
        return None
    try:
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        found = conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).fetchone()
        revisions = (
            tuple(str(r[0]) for r in conn.execute("SELECT version_num FROM alembic_version"))
            if found
            else ()
        )
    except sqlite3.Error as exc:
        conn.close()
        logger.debug("store %s not read with sqlite3 (%s); using SQLAlchemy", path, exc)
        return None
    if revisions != (head,):
        conn.close()
        return None
    return conn


def record_run_if_current(
    settings: StoreSettings,
    meta: Mapping[str, Any],
    summary: Mapping[str, Any],
    trades: pd.DataFrame,
) -> bool:
    """Record the run as :meth:`RunStore.record_run` does, if the store allows it here.

    Returns
    -------
    bool
        True when the run was recorded; False when the store is not an existing SQLite
        file at the scripts' head (nothing was written: record through ``RunStore``).

    Raises
    ------
    ValueError, DataError
        As :meth:`RunStore.record_run` for a bad ``meta``, ``summary`` or ``trades``.
    """
    if settings.url or settings.echo:
        return False
    path = Path(settings.path).expanduser()
    if not path.is_file():
        return False
    row = _encoded_run(run_row(meta, summary))
    run_id = str(row["run_id"])
    rows = _encoded_trades(run_id, trade_values(trades))
    conn = _connect(path)
    if conn is None:
        return False
    names = ("run_id", *TRADE_COLUMNS)
    insert_trades = (
        f"INSERT INTO trades ({', '.join(_quoted(n) for n in names)}) "
        f"VALUES ({', '.join('?' * len(names))})"
    )
    insert_run = (
        f"INSERT INTO runs ({', '.join(_quoted(n) for n in row)}) "
        f"VALUES ({', '.join('?' * len(row))})"
    )
    try:
        with conn:  # one transaction: committed, or rolled back on an error
            conn.execute("DELETE FROM trades WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            conn.execute(insert_run, tuple(row.values()))
            if rows:
                conn.executemany(insert_trades, rows)
    finally:
        conn.close()
    logger.info("recorded run %s with %d trade(s)", run_id, len(rows))
    return True


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
