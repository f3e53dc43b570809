"""``--json`` output that is always valid JSON (RFC 8259: no NaN or Infinity).

A number that is not finite (a quote the model cannot price, an undefined statistic) is
printed as ``null``; numpy scalars, dates and paths become their JSON forms. Messages and
errors go to stderr, so stdout holds the JSON document alone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _clean(obj: Any) -> Any:
    # imported here, not above: every command module imports this one, and neither
    # `zerodte --help` nor a command's --help needs numpy or pandas
    import numpy as np
    import pandas as pd

    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | np.ndarray):
        return [_clean(v) for v in obj]
    if isinstance(obj, pd.Timestamp | dt.datetime | dt.date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def to_json(obj: Any, *, sort_keys: bool = True) -> str:
    """``obj`` as an indented JSON document, non-finite numbers as ``null``."""
    return json.dumps(_clean(obj), indent=2, sort_keys=sort_keys, allow_nan=False)


def print_json(obj: Any, *, sort_keys: bool = True) -> None:
    """Print :func:`to_json` of ``obj`` on stdout."""
    print(to_json(obj, sort_keys=sort_keys))


def format_figure(value: Any) -> str:
    """:func:`zerodte.research.serialize.format_figure`, imported on first use: the
    ``zerodte.research`` package imports scipy and pandas, which no --help needs."""
    from zerodte.research.serialize import format_figure as research_format_figure

    return research_format_figure(value)
