"""The put/call ratio computed from option chains: the ``put-call`` series.

For one chain snapshot taken at ``T`` (every listed contract of the chosen expirations)::

    ratio    = sum(volume of puts) / sum(volume of calls)
    ratio_oi = sum(open interest of puts) / sum(open interest of calls)

``volume`` is each contract's session volume up to ``T`` (what a Tradier chain reports), so
the ratio is known at ``T``; open interest is the previous day's (OCC publishes it
overnight), also known at ``T``. A ratio whose denominator is zero (no call traded yet) is
NaN, unknown, never 0 or infinity. Contracts whose volume or open interest is missing are
left out of that sum (counted in ``contracts`` only when both are present).

:func:`snapshot_row` takes one snapshot; :func:`from_minute_volumes` turns stored option
minute bars (per-minute volume) into one snapshot per minute, each known at its bar's end,
with session-cumulative sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.sentiment.series import empty, normalize

RIGHTS = {"put": "put", "p": "put", "call": "call", "c": "call"}


def _rights(values: pd.Series, where: str) -> pd.Series:
    rights = values.astype(str).str.strip().str.lower().map(RIGHTS)
    if rights.isna().any():
        k = int(np.flatnonzero(rights.isna().to_numpy())[0])
        raise DataError(
            f"{where}: row {k + 1} [right] is {values.iloc[k]!r}; use put/call (or P/C)"
        )
    return rights


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def snapshot_row(chain: pd.DataFrame, known_at: pd.Timestamp, source: str) -> pd.DataFrame:
    """One ``put-call`` row from a chain snapshot with columns ``right``, ``volume``,
    ``open_interest`` (module docstring)."""
    where = f"chain snapshot {known_at}"
    missing = [c for c in ("right", "volume", "open_interest") if c not in chain.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}")
    if chain.empty:
        raise DataError(f"{where}: an empty chain has no put/call ratio")
    rights = _rights(chain["right"], where)
    vol = pd.to_numeric(chain["volume"], errors="coerce").to_numpy(dtype=float)
    oi = pd.to_numeric(chain["open_interest"], errors="coerce").to_numpy(dtype=float)
    if (vol < 0).any() or (oi < 0).any() or np.isinf(vol).any() or np.isinf(oi).any():
        raise DataError(f"{where}: negative or infinite volume or open interest")
    put = (rights == "put").to_numpy()
    both = np.isfinite(vol) & np.isfinite(oi)
    pv, cv = float(np.nansum(vol[put])), float(np.nansum(vol[~put]))
    po, co = float(np.nansum(oi[put])), float(np.nansum(oi[~put]))
    row = {
        "known_at": pd.Timestamp(known_at).tz_convert("UTC"),
        "put_volume": pv,
        "call_volume": cv,
        "put_oi": po,
        "call_oi": co,
        "ratio": _ratio(pv, cv),
        "ratio_oi": _ratio(po, co),
        "contracts": float(both.sum()),
        "source": source,
    }
    return normalize("put-call", pd.DataFrame([row]), where)


def from_minute_volumes(bars: pd.DataFrame, source: str) -> pd.DataFrame:
    """``put-call`` rows from option minute bars with columns ``timestamp`` (bar start,
    tz-aware), ``right`` and ``volume``: one row per minute, session-cumulative, known at
    the bar's end. Open interest is not in minute bars: ``put_oi``/``call_oi`` are 0 and
    ``ratio_oi`` NaN."""
    where = "option minute bars"
    missing = [c for c in ("timestamp", "right", "volume") if c not in bars.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}")
    if bars.empty:
        return empty("put-call")
    rights = _rights(bars["right"], where)
    vol = pd.to_numeric(bars["volume"], errors="coerce").fillna(0.0)  # no print: no volume
    if (vol < 0).any() or np.isinf(vol).any():
        raise DataError(f"{where}: negative or infinite volume")
    ts = pd.to_datetime(bars["timestamp"]).dt.tz_convert("America/New_York")
    frame = pd.DataFrame({"t": ts, "put": vol.where(rights == "put", 0.0)})
    frame["call"] = vol.where(rights == "call", 0.0)
    frame["n"] = 1.0
    per_min = frame.groupby("t")[["put", "call", "n"]].sum()
    minutes = pd.DatetimeIndex(per_min.index)
    day = minutes.normalize()
    cum = per_min.groupby(day).cumsum()
    out = pd.DataFrame(
        {
            "known_at": (minutes + pd.Timedelta(minutes=1)).tz_convert("UTC"),
            "put_volume": cum["put"].to_numpy(),
            "call_volume": cum["call"].to_numpy(),
            "put_oi": 0.0,
            "call_oi": 0.0,
            "contracts": per_min["n"].to_numpy(),
            "source": source,
        }
    )
    calls = out["call_volume"].to_numpy()
    out["ratio"] = np.where(
        calls > 0, out["put_volume"].to_numpy() / np.where(calls > 0, calls, 1), np.nan
    )
    out["ratio_oi"] = np.nan
    return normalize("put-call", out, where)
