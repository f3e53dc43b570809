"""``options calibrate``: fit one root's model to its stored real quotes and report errors.

:func:`calibrate` fits the surface and the bid/ask model on every 0DTE day of the root
(:mod:`zerodte.options.fit`), and reports the same fit leave-one-day-out: for each day, the
parameters fitted on the other days and that day's IV, mid and spread errors by
moneyness and time of day, and the modelled quotes below one tick where the real market
quoted one. The full-data parameters are what :func:`~zerodte.options.params.save_params`
writes for backtests on that root (loaded only through ``options.model_params``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config.settings import OptionsSettings
from zerodte.errors import DataError
from zerodte.options.contracts import rules_for
from zerodte.options.fit import errors, fit, leave_one_day_out, prepare
from zerodte.options.tables import read_table

VIX_DAILY_COLUMNS = ("date", "open", "close")


def read_vix_daily(path: Path) -> pd.DataFrame:
    """A Cboe daily VIX CSV (:data:`VIX_DAILY_COLUMNS`, more columns allowed), checked.

    Raises
    ------
    DataError
        The file is missing or not a CSV, lacks a column, or has a row whose date is not a
        date, whose open or close is not a positive number, or whose date repeats (the
        message names the first such row and its line).
    """
    raw = read_table(
        path, pd.read_csv, "a daily VIX file", "CSV", VIX_DAILY_COLUMNS, lower_columns=True
    )  # Cboe writes DATE,OPEN,...
    day = pd.to_datetime(raw["date"].astype(str), errors="coerce", format="mixed")
    checks = [("date", day.isna(), "not a date (YYYY-MM-DD)")]
    for col in ("open", "close"):
        value = pd.to_numeric(raw[col], errors="coerce")
        checks.append((col, ~(np.isfinite(value) & (value > 0)), "not a positive number"))
    checks.append(("date", day.duplicated(keep=False) & day.notna(), "a date that repeats"))
    for col, bad, what in checks:
        rows = np.flatnonzero(bad.to_numpy())
        if len(rows):
            r = int(rows[0])
            raise DataError(
                f"{path}: row {r} (line {r + 2}) has {col}={raw[col].iloc[r]!r}: {what}; "
                "fix or drop the row"
            )
    return raw.assign(date=day.dt.date.astype(str))


def calibrate(
    quotes: pd.DataFrame, vix: pd.DataFrame, root: str, base: OptionsSettings | None = None
) -> dict[str, Any]:
    """The calibration report of ``root`` (module docstring), JSON-ready.

    Raises
    ------
    ConfigError
        ``root`` is not a known root (:data:`zerodte.options.contracts.RULES`).
    DataError
        No two-sided 0DTE quotes of ``root`` with a known VIX (the report needs at least
        one day; leave-one-day-out needs two).
    """
    rules_for(root)  # a ConfigError naming the known roots
    base = base or OptionsSettings()
    rows = prepare(quotes[quotes["root"].astype(str).str.upper() == root.upper()], vix)
    if rows.empty:
        raise DataError(
            f"no two-sided 0DTE {root} quotes with a known VIX to calibrate on; import quotes "
            "with `zerodte data import-options` and VIX for those days with `zerodte data "
            "import FILE --symbol VIX` (or give --vix FILE)"
        )
    params = fit(rows, base, root)
    days = sorted({d.isoformat() for d in rows["day"]})
    return {
        "root": root.upper(),
        "days": days,
        "quotes": len(rows),
        "params": params,
        "in_sample": errors(rows, base, params),
        "leave_one_day_out": leave_one_day_out(rows, base, root) if len(days) > 1 else [],
        "configurations": 2,
    }
