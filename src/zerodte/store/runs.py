"""``RunStore``: record runs with their trades and query them back across runs."""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from zerodte.errors import DataError
from zerodte.records import TRADE_COLUMNS
from zerodte.research.serialize import jsonable
from zerodte.store.engine import migrate
from zerodte.store.schema import (
    DATE_COLUMNS,
    INT_COLUMNS,
    RUN_COLUMNS,
    STRING_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
    runs,
)
from zerodte.store.schema import trades as trades_table

logger = logging.getLogger(__name__)

NY = "America/New_York"
_RUN_TIME_KEYS = ("created_at", "start", "end")


def _aware(value: Any) -> dt.datetime | None:
    """A tz-aware datetime from a datetime/date/str; naive values are exchange time."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(NY)
    return ts.to_pydatetime()


def _filter_value(name: str, value: Any) -> Any:
    """Coerce a filter value to the column's Python type (dates, aware times)."""
    if name in DATE_COLUMNS:
        return pd.Timestamp(value).date()
    if name in TIME_COLUMNS:
        return _aware(value)
    return value


def _column_values(name: str, col: pd.Series) -> list[Any]:
    """Python values of one trade column ready for the driver; missing values are None."""
    missing = col.isna().to_numpy()
    if name in TIME_COLUMNS:
        ts = pd.to_datetime(col)
        if ts.dt.tz is None:
            ts = ts.dt.tz_localize(NY)
        values: list[Any] = list(ts.dt.tz_convert(dt.UTC).dt.to_pydatetime())
    elif name in DATE_COLUMNS:
        values = [
            pd.Timestamp(v).date() if not m else None for v, m in zip(col, missing, strict=True)
        ]
    elif name in INT_COLUMNS:
        values = [int(v) if not m else None for v, m in zip(col, missing, strict=True)]
    elif name in STRING_COLUMNS or name in TEXT_COLUMNS:
        values = [str(v) for v in col]
    else:
        try:
            floats = pd.to_numeric(col, errors="raise").astype(float).to_numpy()
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"trade column {name!r} must be numeric; saw {col.dropna().iloc[:3].tolist()}"
            ) from exc
        values = [float(v) for v in floats]
    return [None if m else v for v, m in zip(values, missing, strict=True)]


def _trade_rows(run_id: str, frame: pd.DataFrame) -> list[dict[str, Any]]:
    missing = [c for c in TRADE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"trades frame lacks columns {missing}; it must have every column of "
            "zerodte.records.TRADE_COLUMNS (null where a component supplied nothing)"
        )
    extra = sorted(set(frame.columns) - set(TRADE_COLUMNS))
    if extra:
        logger.debug("trade columns not stored in the SQL store: %s", extra)
    columns = [_column_values(name, frame[name]) for name in TRADE_COLUMNS]
    names = ("run_id", *TRADE_COLUMNS)
    rows = zip(*columns, strict=True)
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
        run_id = meta.get("run_id")
        if not run_id:
            raise ValueError(f"meta must carry a non-empty run_id; got keys {sorted(meta)}")
        run_id = str(run_id)
        row: dict[str, Any] = {"run_id": run_id}
        others: dict[str, Any] = {}
        for key, value in meta.items():
            if key == "run_id":
                continue
            if key in RUN_COLUMNS and key not in ("summary", "meta"):
                row[key] = _aware(value) if key in _RUN_TIME_KEYS else value
            else:
                others[key] = value
        if row.get("created_at") is None:
            row.pop("created_at", None)  # the database clock fills it in
        for key in ("seed",):
            if row.get(key) is not None:
                row[key] = int(row[key])
        for key in ("controller", "mode", "config_hash", "data_hash", "code_version", "run_dir"):
            if row.get(key) is not None:
                row[key] = str(row[key])
        row["summary"] = jsonable(dict(summary))
        row["meta"] = jsonable(others) if others else None
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
            query = query.where(trades_table.c.entry_time >= _aware(since))
        if until is not None:
            query = query.where(trades_table.c.entry_time < _aware(until))
        query = query.order_by(trades_table.c.run_id, trades_table.c.trade_id, trades_table.c.id)
        with self.engine.connect() as conn:
            return _trades_frame(conn.execute(query), with_run_id=True)
