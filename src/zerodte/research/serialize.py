"""Conversion of statistics and metadata to JSON-native values (no NaN, no numpy types)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def jsonable(obj: Any) -> Any:
    """Convert to JSON-native types; NaN/inf raise (a statistic must be a number or None)."""
    if obj is pd.NaT or obj is pd.NA:
        return None  # a missing time or value is null, like None
    if obj is None or (isinstance(obj, bool | str | int) and not isinstance(obj, np.integer)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        if not math.isfinite(value):
            raise ValueError(
                f"non-finite number {value} in a report value; undefined statistics must be "
                "None with the reason documented"
            )
        return value
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.Timestamp | dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot put {type(obj).__name__} ({obj!r}) into summary.json")


def format_figure(value: Any) -> str:
    """A report figure as text: 2 decimals with thousands separators, lists in brackets.

    ``None`` (an undefined statistic) is ``-``; NaN is shown as ``nan``, never as a number.
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_figure(x) for x in value) + "]"
    return str(value)
