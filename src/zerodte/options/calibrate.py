"""``options calibrate``: fit one root's model to its stored real quotes and report errors.

:func:`calibrate` fits the surface and the bid/ask model on every 0DTE day of the root
(:mod:`zerodte.options.fit`), and reports the same fit leave-one-day-out: for each day, the
parameters fitted on the other days and that day's IV, mid and spread errors by
moneyness and time of day, and the modelled quotes below one tick where the real market
quoted one. The full-data parameters are what :func:`~zerodte.options.params.save_params`
writes for backtests on that root (loaded only through ``options.model_params``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from zerodte.config.settings import OptionsSettings
from zerodte.errors import DataError
from zerodte.options.fit import errors, fit, leave_one_day_out, prepare


def calibrate(
    quotes: pd.DataFrame, vix: pd.DataFrame, root: str, base: OptionsSettings | None = None
) -> dict[str, Any]:
    """The calibration report of ``root`` (module docstring), JSON-ready.

    Raises
    ------
    DataError
        No two-sided 0DTE quotes of ``root`` with a known VIX (the report needs at least
        one day; leave-one-day-out needs two).
    """
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
