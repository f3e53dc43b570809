"""The store's run and trade columns and the Python values a run is stored as.

Nothing here imports SQLAlchemy: :mod:`zerodte.store.schema` builds its tables from these
column lists, :class:`~zerodte.store.runs.RunStore` binds the values through SQLAlchemy,
and :mod:`zerodte.store.sqlite_rows` writes the same values to a current SQLite store
without it. Both writers take their rows from :func:`run_row` and :func:`trade_values`, so
they store the same values by construction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from zerodte.errors import DataError
from zerodte.records import TRADE_COLUMNS
from zerodte.research.serialize import jsonable

logger = logging.getLogger(__name__)

NY = "America/New_York"

RUN_COLUMNS: tuple[str, ...] = (
    "run_id",
    "created_at",
    "controller",
    "mode",
    "start",
    "end",
    "seed",
    "config_hash",
    "data_hash",
    "code_version",
    "summary",
    "run_dir",
    "meta",
)
"""Columns of the ``runs`` table, in table order (a test checks them against the schema)."""
RUN_TIME_COLUMNS = ("created_at", "start", "end")
RUN_JSON_COLUMNS = ("summary", "meta")

INT_COLUMNS = frozenset({"trade_id", "qty", "legs"})
DATE_COLUMNS = frozenset({"session", "expiry"})
TIME_COLUMNS = frozenset({"entry_time", "exit_time"})
STRING_COLUMNS = frozenset(
    {
        "tag",
        "symbol",
        "underlying",
        "right",
        "exit_reason",
        "entry_controller",
        "signal_strategy",
        "position_tag",
        "entry_quote",
        "exit_quote",
    }
)
TEXT_COLUMNS = frozenset({"signal_reasoning"})
REQUIRED_TRADE_COLUMNS = frozenset(
    {
        "trade_id",
        "session",
        "entry_time",
        "exit_time",
        "symbol",
        "right",
        "qty",
        "entry_price",
        "exit_price",
        "fees",
        "pnl",
    }
)
"""Columns every closed trade has; all others are context and may be NULL."""


def aware(value: Any) -> dt.datetime | None:
    """A tz-aware datetime from a datetime/date/str; naive values are exchange time."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts is pd.NaT:
        return None
    if ts.tzinfo is None:
        ts = ts.tz_localize(NY)
    return ts.to_pydatetime()


def column_values(name: str, col: pd.Series) -> list[Any]:
    """Python values of one trade column ready for the driver; missing values are None.

    Times are tz-aware UTC datetimes, dates ``datetime.date``, the others ``int``,
    ``str`` or ``float``.
    """
    missing = col.isna().to_numpy()
    if name in TIME_COLUMNS:
        ts = pd.to_datetime(col)
        if ts.dt.tz is None:
            ts = ts.dt.tz_localize(NY)
        values: list[Any] = list(ts.dt.tz_convert(dt.UTC).dt.to_pydatetime())
    elif name in DATE_COLUMNS:
        # a date is kept as it is (pd.Timestamp(d).date() == d); anything else is parsed
        values = [
            None if m else (v if type(v) is dt.date else pd.Timestamp(v).date())
            for v, m in zip(col.tolist(), missing, strict=True)
        ]
    elif name in INT_COLUMNS:
        values = [int(v) if not m else None for v, m in zip(col, missing, strict=True)]
    elif name in STRING_COLUMNS or name in TEXT_COLUMNS:
        values = [str(v) for v in col.tolist()]
    else:
        try:
            floats = pd.to_numeric(col, errors="raise").astype(float).to_numpy()
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"trade column {name!r} must be numeric; saw {col.dropna().iloc[:3].tolist()}"
            ) from exc
        values = floats.tolist()  # Python floats, as float(v) of each
    if not missing.any():
        return values
    return [None if m else v for v, m in zip(values, missing, strict=True)]


def trade_values(frame: pd.DataFrame) -> list[list[Any]]:
    """The values of every column of ``TRADE_COLUMNS`` (in that order), column by column.

    Raises
    ------
    DataError
        A column of ``TRADE_COLUMNS`` is missing, or a float column is not numeric.
    """
    missing = [c for c in TRADE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"trades frame lacks columns {missing}; it must have every column of "
            "zerodte.records.TRADE_COLUMNS (null where a component supplied nothing)"
        )
    extra = sorted(set(frame.columns) - set(TRADE_COLUMNS))
    if extra:
        logger.debug("trade columns not stored in the SQL store: %s", extra)
    return [column_values(name, frame[name]) for name in TRADE_COLUMNS]


def run_row(meta: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The ``runs`` row of a run (see :meth:`zerodte.store.runs.RunStore.record_run`).

    Keys of ``meta`` that are not run columns go into the ``meta`` JSON column (None when
    there are none); a missing ``created_at`` is left out, for the database clock.

    Raises
    ------
    ValueError
        ``meta`` has no ``run_id``, or ``summary`` holds a non-finite number.
    """
    run_id = meta.get("run_id")
    if not run_id:
        raise ValueError(f"meta must carry a non-empty run_id; got keys {sorted(meta)}")
    row: dict[str, Any] = {"run_id": str(run_id)}
    others: dict[str, Any] = {}
    for key, value in meta.items():
        if key == "run_id":
            continue
        if key in RUN_COLUMNS and key not in RUN_JSON_COLUMNS:
            row[key] = aware(value) if key in RUN_TIME_COLUMNS else value
        else:
            others[key] = value
    if row.get("created_at") is None:
        row.pop("created_at", None)  # the database clock fills it in
    if row.get("seed") is not None:
        row["seed"] = int(row["seed"])
    for key in ("controller", "mode", "config_hash", "data_hash", "code_version", "run_dir"):
        if row.get(key) is not None:
            row[key] = str(row[key])
    row["summary"] = jsonable(dict(summary))
    row["meta"] = jsonable(others) if others else None
    return row
