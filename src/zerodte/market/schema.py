"""The canonical minute-bar schema shared by every source and the store.

A bar frame has exactly the columns :data:`BAR_COLUMNS`: ``timestamp`` (tz-aware
America/New_York, the bar START: a bar stamped 09:30 covers [09:30, 09:31)), then
``open high low close`` (float64, price units) and ``volume`` (float64; VIX has 0).
Rows are sorted by timestamp with no duplicates.

The *market frame* is the wide, aligned form the engine and features use: indexed by
``timestamp``, with columns ``{sym}_{field}`` in lower case (``spy_close``, ``vix_open``, ...)
plus ``session`` (the trading date) and ``minute`` (minutes since the session open).
Symbols other than SPY are joined as of what was known at each minute (see
:func:`market_frame` and :mod:`zerodte.market.intervals`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from zerodte.market.calendar import TradingCalendar

TIMEZONE = "America/New_York"
SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "VIX")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = ("timestamp", *PRICE_COLUMNS, "volume")


def empty_bars() -> pd.DataFrame:
    """An empty frame with the canonical bar dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS[1:]})
    frame.insert(0, "timestamp", pd.Series(dtype=f"datetime64[ns, {TIMEZONE}]"))
    return frame


def to_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` restricted to :data:`BAR_COLUMNS` with canonical dtypes and order."""
    out = frame.loc[:, list(BAR_COLUMNS)].copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"]).dt.tz_convert(TIMEZONE)
    out["timestamp"] = out["timestamp"].astype(pd.DatetimeTZDtype("ns", TIMEZONE))
    for col in BAR_COLUMNS[1:]:
        out[col] = out[col].astype("float64")
    return out.sort_values("timestamp", kind="stable").reset_index(drop=True)


def market_frame(
    bars: Mapping[str, pd.DataFrame],
    intervals: Mapping[str, str] | None = None,
    calendar: TradingCalendar | None = None,
) -> pd.DataFrame:
    """Align per-symbol bar frames into the wide market frame on SPY's timestamps.

    SPY defines the cycle grid. Every other symbol is joined **as of** what was known at
    each decision (the bar's close, :func:`zerodte.market.intervals.asof_values`): a
    1-minute bar at its own minute, a 5-minute bar once it has ended, a daily bar's open
    during its session. A minute missing from a 1-minute series takes the last bar known
    (of the same session or the one before, never older); what is still unknown stays NaN
    for the caller to handle explicitly. A symbol stored at a daily interval also gets the
    marker column ``{sym}_daily`` (1.0): features that need an intraday series of it are
    then left out (:meth:`zerodte.features.sets.FeatureSet.resolve`).
    """
    from zerodte.market.calendar import TradingCalendar
    from zerodte.market.intervals import asof_values

    if "SPY" not in bars:
        raise KeyError("market_frame needs SPY bars: SPY defines the cycle grid")
    intervals = dict(intervals or {})
    spy = bars["SPY"].set_index("timestamp")
    out = pd.DataFrame(index=spy.index)
    out.index.name = "timestamp"
    sessions = pd.DatetimeIndex(out.index).tz_convert(TIMEZONE).normalize()
    cal: TradingCalendar | None = calendar
    for sym, frame in bars.items():
        interval = intervals.get(sym, "1min")
        if sym == "SPY":
            f = spy  # the grid is SPY's own index: reindexing onto it would only copy
        else:
            if cal is None:
                cal = TradingCalendar()
            f = asof_values(frame, pd.DatetimeIndex(out.index), interval, cal)  # type: ignore[arg-type]
        for col in (*PRICE_COLUMNS, "volume"):
            out[f"{sym.lower()}_{col}"] = f[col].to_numpy(dtype=np.float64)
        if interval == "1day":
            out[f"{sym.lower()}_daily"] = 1.0
    # One datetime.date per session, shared by its minutes (a date per minute is 3 MB a
    # year, and every per-cycle list of sessions made from the frame would keep them).
    codes, days = pd.factorize(sessions, sort=False)
    out["session"] = pd.DatetimeIndex(days).date[codes]
    day_open = pd.Series(out.index, index=out.index).groupby(sessions).transform("min")
    elapsed = pd.DatetimeIndex(out.index) - pd.DatetimeIndex(day_open)
    out["minute"] = (np.asarray(elapsed.total_seconds()) // 60).astype(np.int64)
    return out
