"""The canonical minute-bar schema shared by every source and the store.

A bar frame has exactly the columns :data:`BAR_COLUMNS`: ``timestamp`` (tz-aware
America/New_York, the bar START: a bar stamped 09:30 covers [09:30, 09:31)), then
``open high low close`` (float64, price units) and ``volume`` (float64; VIX has 0).
Rows are sorted by timestamp with no duplicates.

The *market frame* is the wide, aligned form the engine and features use: indexed by
``timestamp``, with columns ``{sym}_{field}`` in lower case (``spy_close``, ``vix_open``, ...)
plus ``session`` (the trading date) and ``minute`` (minutes since the session open).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

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


def market_frame(bars: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Align per-symbol bar frames into the wide market frame on SPY's timestamps.

    SPY defines the cycle grid. Other symbols are forward-filled within a session only
    (a missing VIX minute takes the previous VIX minute of the same day, never a value from
    another day); what is still missing stays NaN for the caller to handle explicitly.
    """
    if "SPY" not in bars:
        raise KeyError("market_frame needs SPY bars: SPY defines the cycle grid")
    spy = bars["SPY"].set_index("timestamp")
    out = pd.DataFrame(index=spy.index)
    out.index.name = "timestamp"
    sessions = pd.DatetimeIndex(out.index).tz_convert(TIMEZONE).normalize()
    for sym, frame in bars.items():
        f = frame.set_index("timestamp").reindex(out.index)
        if sym != "SPY":
            f = f.groupby(sessions).ffill()
        for col in (*PRICE_COLUMNS, "volume"):
            out[f"{sym.lower()}_{col}"] = f[col].to_numpy(dtype=np.float64)
    out["session"] = sessions.date  # vectorised; same datetime.date values
    day_open = pd.Series(out.index, index=out.index).groupby(sessions).transform("min")
    elapsed = pd.DatetimeIndex(out.index) - pd.DatetimeIndex(day_open)
    out["minute"] = (np.asarray(elapsed.total_seconds()) // 60).astype(np.int64)
    return out
