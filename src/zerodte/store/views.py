"""Read-only views of the run store for the dashboard and its API: runs, trades, P&L curves.

Rows come back as JSON-ready dicts (times ISO-8601 in America/New_York, dates
``YYYY-MM-DD``, SQL NULL as ``None``), selected column by column without a DataFrame, so
that a 2,000-trade run's trades or P&L curve is served in a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from zerodte.records import TRADE_COLUMNS
from zerodte.store.schema import DATE_COLUMNS, TIME_COLUMNS, runs, trades

NY = ZoneInfo("America/New_York")
RUN_FIELDS = ("run_id", "created_at", "controller", "mode", "start", "end", "seed")
"""Columns of a run listed beside its ``summary``."""


def json_value(value: Any) -> Any:
    """A SQL value as JSON: aware times to New York ISO, dates to ISO, NaN to None."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(NY).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _run_row(mapping: Any) -> dict[str, Any]:
    out = {key: json_value(mapping[key]) for key in RUN_FIELDS}
    out["code_version"] = mapping["code_version"]
    out["config_hash"] = mapping["config_hash"]
    out["data_hash"] = mapping["data_hash"]
    out["summary"] = dict(mapping["summary"] or {})
    return out


def _as_time(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=NY)
    return dt.datetime.combine(value, dt.time(), tzinfo=NY)


class RunViews:
    """Queries over ``runs`` and ``trades`` (the schema is migrated by :class:`RunStore`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _filtered(
        self,
        query: Any,
        controller: str | None,
        mode: str | None,
        since: dt.date | dt.datetime | None,
        until: dt.date | dt.datetime | None,
    ) -> Any:
        if controller is not None:
            query = query.where(runs.c.controller == controller)
        if mode is not None:
            query = query.where(runs.c.mode.like(f"{mode}%"))
        if since is not None:
            query = query.where(runs.c.start >= _as_time(since))
        if until is not None:
            query = query.where(runs.c.start < _as_time(until))
        return query

    def runs(
        self,
        *,
        controller: str | None = None,
        mode: str | None = None,
        since: dt.date | dt.datetime | None = None,
        until: dt.date | dt.datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """Runs matching the filters, newest first, and how many match in all.

        ``mode`` matches a prefix (``backtest`` matches ``backtest:synthetic``); ``since`` and
        ``until`` bound the run's first session, ``since <= start < until``.
        """
        query = self._filtered(sa.select(runs), controller, mode, since, until)
        query = query.order_by(runs.c.created_at.desc(), runs.c.run_id).limit(limit).offset(offset)
        count = self._filtered(
            sa.select(sa.func.count()).select_from(runs), controller, mode, since, until
        )
        with self.engine.connect() as conn:
            rows = [_run_row(m) for m in conn.execute(query).mappings()]
            total = int(conn.execute(count).scalar_one())
        return rows, total

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run as in :meth:`runs`, plus its ``meta``; ``None`` when unknown."""
        with self.engine.connect() as conn:
            mapping = conn.execute(sa.select(runs).where(runs.c.run_id == run_id)).mappings()
            row = mapping.first()
        if row is None:
            return None
        out = _run_row(row)
        out["meta"] = dict(row["meta"] or {})
        return out

    def controllers(self) -> list[str]:
        """Distinct controllers of the recorded runs."""
        query = sa.select(runs.c.controller).distinct().order_by(runs.c.controller)
        with self.engine.connect() as conn:
            return [str(c) for c in conn.execute(query).scalars() if c is not None]

    def trades(
        self,
        run_id: str,
        *,
        limit: int | None = None,
        offset: int = 0,
        columns: tuple[str, ...] = TRADE_COLUMNS,
    ) -> tuple[list[dict[str, Any]], int]:
        """Trades of one run by ``trade_id`` (``columns``, default every column of
        ``TRADE_COLUMNS``) and the count."""
        unknown = sorted(set(columns) - set(TRADE_COLUMNS))
        if unknown:
            raise ValueError(f"unknown trade columns {unknown}; use names of TRADE_COLUMNS")
        query = (
            sa.select(*(trades.c[name] for name in columns))
            .where(trades.c.run_id == run_id)
            .order_by(trades.c.trade_id, trades.c.id)
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        count = sa.select(sa.func.count()).where(trades.c.run_id == run_id)
        with self.engine.connect() as conn:
            result = conn.execute(query)
            names = list(result.keys())
            rows = [dict(zip(names, r, strict=True)) for r in result]
            total = int(conn.execute(count).scalar_one())
        # Only time and date columns need converting: floats come back finite or None
        # (a missing value is stored as NULL), strings and integers as they are.
        for name in names:
            if name in TIME_COLUMNS or name in DATE_COLUMNS:
                for row in rows:
                    row[name] = json_value(row[name])
        return rows, total

    def pnl_points(self, run_id: str) -> list[tuple[int, dt.datetime, float]]:
        """``(trade_id, exit_time, pnl)`` of every trade of the run, in exit order."""
        query = (
            sa.select(trades.c.trade_id, trades.c.exit_time, trades.c.pnl)
            .where(trades.c.run_id == run_id)
            .order_by(trades.c.exit_time, trades.c.trade_id)
        )
        with self.engine.connect() as conn:
            return [(int(t), e, float(p)) for t, e, p in conn.execute(query)]

    def trade_count(self) -> int:
        """Trades across all runs."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(trades)).scalar_one())

    def trade_groups(self, column: str) -> list[dict[str, Any]]:
        """Trades, P&L sum and mean per value of a trade ``column``, across every run."""
        if column not in TRADE_COLUMNS:
            raise ValueError(f"unknown trade column {column!r}; use one of TRADE_COLUMNS")
        col = trades.c[column]
        query = sa.select(
            col, sa.func.count(), sa.func.sum(trades.c.pnl), sa.func.sum(trades.c.fees)
        ).group_by(col)
        with self.engine.connect() as conn:
            return [
                {
                    "value": json_value(v),
                    "trades": int(n),
                    "pnl": float(p or 0.0),
                    "per_trade": float(p or 0.0) / int(n),
                    "fees": float(f or 0.0),
                }
                for v, n, p, f in conn.execute(query)
            ]
