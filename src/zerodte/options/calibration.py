"""Implied vols and spreads of real option quotes, for calibrating the surface and spreads.

Pure functions on DataFrames (the caller reads the files). Used by the real-data tests and
for the numbers in docs/options.md. Input: the Lean minute quote table
(``timestamp, bid_close, ask_close, right, strike, expiry, dte, ...``) and the Cboe VIX
daily table (``date, open, close``).

Conventions
-----------
* Quotes are the last bid/ask of the minute, so they are taken at the bar end
  (``timestamp + 1 min``); minutes to expiry run to 16:00 ET of the expiry date.
* The forward is backed out per minute from put–call parity on each strike with both
  sides quoted, ``F = K + (C - P) / D`` (averaged over strikes), so no index minute bars
  are needed and the dividend yield is implied by the quotes.
* VIX inside the day is the value known at that minute: only daily values exist for those
  dates, and the close is known only after 16:00, so every minute of the session takes
  the day's open (the last value published before it). Interpolating toward the close
  would let the calibration see the day's future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from zerodte.options.expiry import year_fraction
from zerodte.options.iv import implied_vol
from zerodte.options.surface import VolSurface


def vix_at(times: pd.Series, vix_daily: pd.DataFrame) -> np.ndarray:
    """The daily VIX value known at each time (as of): the day's open during the session.

    NaN for a day the table does not cover (never guessed from a neighbour).
    """
    daily = vix_daily.assign(date=pd.to_datetime(vix_daily["date"]).dt.date).set_index("date")
    return np.asarray(times.dt.date.map(daily["open"]).to_numpy(dtype=float), dtype=np.float64)


def quote_ivs(quotes: pd.DataFrame, vix_daily: pd.DataFrame, rate: float) -> pd.DataFrame:
    """Mid, parity forward, minutes to expiry, implied vol and moneyness of every quote.

    Rows with a missing side, a crossed or locked quote, or no parity forward are dropped.
    Adds ``mid, spread, spread_pct, time_end, mte, fwd, iv, x (= ln K/F), otm, vix``.
    """
    q = quotes.copy()
    q = q[(q["bid_close"] > 0) & (q["ask_close"] > q["bid_close"])].copy()
    q["mid"] = 0.5 * (q["bid_close"] + q["ask_close"])
    q["spread"] = q["ask_close"] - q["bid_close"]
    q["spread_pct"] = 100.0 * q["spread"] / q["mid"]
    q["time_end"] = q["timestamp"] + pd.Timedelta(minutes=1)
    close = pd.to_datetime(q["expiry"].astype(str)).dt.tz_localize("America/New_York")
    close = close + pd.Timedelta(hours=16)
    q["mte"] = (close - q["time_end"]).dt.total_seconds() / 60.0
    q = q[q["mte"] > 0]
    t = year_fraction(q["mte"].to_numpy())
    q["disc"] = np.exp(-rate * t)
    keys = ["timestamp", "expiry", "strike"]
    wide = q.pivot_table(index=keys, columns="right", values="mid").dropna()
    disc = q.groupby(keys)["disc"].first().reindex(wide.index)
    fwd_k = wide.index.get_level_values("strike") + (wide["C"] - wide["P"]) / disc
    fwd = fwd_k.groupby(level=["timestamp", "expiry"]).mean().rename("fwd")
    q = q.join(fwd, on=["timestamp", "expiry"]).dropna(subset=["fwd"])
    t = year_fraction(q["mte"].to_numpy())
    # spot = F e^{-rT} with q = 0 makes S e^{(r-q)T} = F, i.e. price off the forward.
    spot = q["fwd"].to_numpy() * np.exp(-rate * t)
    q["iv"] = implied_vol(
        q["mid"].to_numpy(),
        spot,
        q["strike"].to_numpy(),
        t,
        rate,
        0.0,
        (q["right"] == "C").to_numpy(),
    )
    q["x"] = np.log(q["strike"] / q["fwd"])
    q["otm"] = np.where(q["right"] == "C", q["x"] >= 0, q["x"] < 0)
    q["vix"] = vix_at(q["time_end"], vix_daily)
    return q.reset_index(drop=True)


def surface_ivs(frame: pd.DataFrame, surface: VolSurface) -> np.ndarray:
    """The surface's IVs at the quotes of ``frame`` (spot = forward, so ``r - q`` = 0)."""
    flat = VolSurface(
        iv_vix_ratio=surface.iv_vix_ratio,
        zero_dte_term_mult=surface.zero_dte_term_mult,
        skew_slope=surface.skew_slope,
        smile_curvature=surface.smile_curvature,
        smile_z_cap=surface.smile_z_cap,
        iv_floor=surface.iv_floor,
        tod_minutes=surface.tod_minutes,
        tod_mult=surface.tod_mult,
    )
    return flat.iv(frame["fwd"], frame["strike"], frame["mte"], frame["vix"])


def fit_smile(frame: pd.DataFrame, z_cap: float, floor: float = 0.05) -> dict[str, float]:
    """Least-squares ``(level, skew_slope, smile_curvature)`` on the IVs of ``frame``.

    ``level`` is the ATM IV / VIX ratio for these quotes (``iv_vix_ratio * J(m)``). Only
    OTM quotes with a finite IV should be passed; residuals are in vol points.
    """
    iv = frame["iv"].to_numpy()

    def resid(p: np.ndarray) -> np.ndarray:
        s = VolSurface(
            iv_vix_ratio=p[0],
            skew_slope=p[1],
            smile_curvature=p[2],
            smile_z_cap=z_cap,
            iv_floor=floor,
        )
        return surface_ivs(frame, s) - iv

    fit = least_squares(resid, x0=np.array([1.3, -0.1, 0.02]), loss="soft_l1", f_scale=0.05)
    r = resid(fit.x)
    return {
        "level": float(fit.x[0]),
        "skew_slope": float(fit.x[1]),
        "smile_curvature": float(fit.x[2]),
        "median_abs_err": float(np.median(np.abs(r))),
        "n": float(len(iv)),
    }
