"""``RunStore``: record runs with their trades and query them back across runs."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from zerodte.records import TRADE_COLUMNS
from zerodte.store.columns import (
    DATE_COLUMNS,
    INT_COLUMNS,
    NY,
    STRING_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
    aware,
    run_row,
    trade_values,
)
from zerodte.store.engine import migrate
from zerodte.store.schema import runs
from zerodte.store.schema import trades as trades_table

logger = logging.getLogger(__name__)


def _filter_value(name: str, value: Any) -> Any:
    """Coerce a filter value to the column's Python type (dates, aware times)."""
    if name in DATE_COLUMNS:
        return pd.Timestamp(value).date()
    if name in TIME_COLUMNS:
        return aware(value)
    return value


def _trade_rows(run_id: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    names = ("run_id", *TRADE_COLUMNS)
    rows = zip(*trade_values(frame), strict=True)
    return [dict(zip(names, (run_id, *values), strict=True)) for values in rows]


def _trades_frame(result: sa.CursorResult[Any], with_run_id: bool) -> pd.DataFrame:
    names = (["run_id"] if with_run_id else []) + list(TRADE_COLUMNS)
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    frame = frame.reindex(columns=names)
    for name in TRADE_COLUMNS:
        if name in TIME_COLUMNS:
            frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_convert(NY)
        elif name in INT_COLUMNS:
            frame[name] = frame[name].astype("int64") if frame[name].notna().all() else frame[name]
        elif not (name in DATE_COLUMNS or name in STRING_COLUMNS or name in TEXT_COLUMNS):
            frame[name] = pd.to_numeric(frame[name]).astype(float)
    return frame


def _run_dict(row: sa.Row[Any]) -> dict[str, Any]:
    out = dict(row._mapping)
    for key in ("start", "end"):
        if out.get(key) is not None:
            out[key] = pd.Timestamp(out[key]).tz_convert(NY).to_pydatetime()
    return out


class RunStore:
    """Runs and their trades in a SQL database (SQLite or PostgreSQL).

    Parameters
    ----------
    engine
        From :func:`zerodte.store.engine.make_engine`.
    migrate_schema
        Upgrade the schema to the latest revision first (idempotent and quick).
    """

    def __init__(self, engine: sa.Engine, *, migrate_schema: bool = True) -> None:
        self.engine = engine
        if migrate_schema:
            migrate(engine)

    def record_run(
        self, meta: Mapping[str, Any], summary: Mapping[str, Any], trades: pd.DataFrame
    ) -> None:
        """Insert (or replace) one run and all its trades in a single transaction.

        Parameters
        ----------
        meta
            Must hold ``run_id``; may hold ``created_at``, ``controller``, ``mode``, ``start``,
            ``end``, ``seed``, ``config_hash``, ``data_hash``, ``code_version``, ``run_dir``.
            Other keys are kept in the ``meta`` JSON column. Naive times are exchange time.
        summary
            The run's ``summary.json`` dict (JSON-native; NaN raises).
        trades
            Trades with every column of ``TRADE_COLUMNS``; NaN/NaT are stored as NULL.
        """
        row = run_row(meta, summary)
        run_id = row["run_id"]
        trade_rows = _trade_rows(run_id, trades)
        with self.engine.begin() as conn:
            conn.execute(trades_table.delete().where(trades_table.c.run_id == run_id))
            conn.execute(runs.delete().where(runs.c.run_id == run_id))
            conn.execute(runs.insert().values(**row))
            if trade_rows:
                conn.execute(trades_table.insert(), trade_rows)
        logger.info("recorded run %s with %d trade(s)", run_id, len(trade_rows))

    def list_runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first: its columns, ``summary`` and ``meta`` dicts."""
        query = sa.select(runs).order_by(runs.c.created_at, runs.c.run_id)
        with self.engine.connect() as conn:
            return [_run_dict(r) for r in conn.execute(query)]

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """One run as in :meth:`list_runs`, or None when no run has this id."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).first()
        return _run_dict(row) if row is not None else None

    def trades(self, run_id: str) -> pd.DataFrame:
        """Trades of one run with ``TRADE_COLUMNS`` (times in New York), by ``trade_id``."""
        query = (
            sa.select(*(trades_table.c[name] for name in TRADE_COLUMNS))
            .where(trades_table.c.run_id == run_id)
            .order_by(trades_table.c.trade_id, trades_table.c.id)
        )
        with self.engine.connect() as conn:
            return _trades_frame(conn.execute(query), with_run_id=False)

    def query_trades(
        self,
        *,
        since: Any = None,
        until: Any = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Trades across runs matching every filter, with a leading ``run_id`` column.

        Parameters
        ----------
        since, until
            Entry-time bounds, ``since <= entry_time < until`` (naive = exchange time).
        **filters
            ``run_id`` or any trade column: a scalar means equality, a list/tuple/set means
            membership, ``None`` means NULL. Example:
            ``query_trades(entry_controller="rules", exit_reason=["stop_loss", "max_hold"])``.
        """
        allowed = ("run_id", *TRADE_COLUMNS)
        query = sa.select(trades_table.c.run_id, *(trades_table.c[n] for n in TRADE_COLUMNS))
        for key, value in filters.items():
            if key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1)
                raise ValueError(
                    f"unknown trade filter {key!r}"
                    + (f"; did you mean {hint[0]!r}?" if hint else "")
                    + " (filters are run_id and the columns of TRADE_COLUMNS)"
                )
            column = trades_table.c[key]
            if value is None:
                query = query.where(column.is_(None))
            elif isinstance(value, list | tuple | set | frozenset | np.ndarray):
                query = query.where(column.in_([_filter_value(key, v) for v in value]))
            else:
                query = query.where(column == _filter_value(key, value))
        if since is not None:
            query = query.where(trades_table.c.entry_time >= aware(since))
        if until is not None:
            query = query.where(trades_table.c.entry_time < aware(until))
        query = query.order_by(trades_table.c.run_id, trades_table.c.trade_id, trades_table.c.id)
        with self.engine.connect() as conn:
            return _trades_frame(conn.execute(query), with_run_id=True)
