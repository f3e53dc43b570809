"""Forward-looking labels for the predictors (never features: they use data after ``t``).

For a decision at the close of bar ``t`` with horizon ``h`` (minutes)::

    fwd_ret_t   = 100 * (close_{t+h} / close_t - 1)                 # percent
    direction_t = 0 (down) if fwd_ret < -band, 2 (up) if fwd_ret > band, else 1 (neutral)
    up_t        = 1 if fwd_ret > 0, 0 if fwd_ret < 0, NaN if exactly 0
    reach_{x}_{h}_{up}   = 1 if max(high_{t+1..t+h}) >= close_t * (1 + x/100)
    reach_{x}_{h}_{down} = 1 if min(low_{t+1..t+h})  <= close_t * (1 - x/100)
    reach_{x}_{h}_{any}  = up or down;   tradeable = reach_{x0}_{h}_{any}

Labels never cross a session boundary: a row whose horizon runs past its session's last bar
is NaN (0DTE positions are flat by the close), so a label at ``t`` depends only on bars
``t+1 .. t+h`` of the same session.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

DIRECTION_CLASSES: tuple[str, str, str] = ("down", "neutral", "up")


def _session_codes(frame: pd.DataFrame) -> np.ndarray:
    return pd.factorize(frame["session"])[0].astype(np.int64)


def _shifted(values: np.ndarray, sess: np.ndarray, k: int) -> np.ndarray:
    """``values[t+k]`` when bar ``t+k`` is in the same session as ``t``, else NaN."""
    out = np.full(len(values), np.nan)
    if k < len(values):
        same = sess[k:] == sess[:-k]
        out[:-k] = np.where(same, values[k:], np.nan)
    return out


def forward_return(frame: pd.DataFrame, horizon: int, symbol: str = "spy") -> np.ndarray:
    """Percent return from the close of ``t`` to the close of ``t + horizon`` (same session)."""
    close = frame[f"{symbol}_close"].to_numpy(np.float64)
    return 100.0 * (_shifted(close, _session_codes(frame), horizon) / close - 1.0)


def make_targets(
    frame: pd.DataFrame,
    horizon: int,
    neutral_band_pct: float,
    thresholds_pct: Sequence[float] = (),
    horizons: Sequence[int] = (),
) -> pd.DataFrame:
    """All labels of the module docstring, indexed like ``frame`` (the market frame)."""
    sess = _session_codes(frame)
    close = frame["spy_close"].to_numpy(np.float64)
    fwd = forward_return(frame, horizon)
    known = ~np.isnan(fwd)
    direction = np.where(fwd > neutral_band_pct, 2.0, np.where(fwd < -neutral_band_pct, 0.0, 1.0))
    up = np.where(fwd > 0, 1.0, 0.0)
    out = {
        "fwd_ret": fwd,
        "abs_ret": np.abs(fwd),
        "direction": np.where(known, direction, np.nan),
        "up": np.where(known & (fwd != 0), up, np.nan),
    }
    high = frame["spy_high"].to_numpy(np.float64)
    low = frame["spy_low"].to_numpy(np.float64)
    for h in sorted(set(horizons) | ({horizon} if thresholds_pct else set())):
        hi = np.full(len(close), -np.inf)
        lo = np.full(len(close), np.inf)
        for k in range(1, h + 1):
            hi = np.fmax(hi, _shifted(high, sess, k))
            lo = np.fmin(lo, _shifted(low, sess, k))
        valid = ~np.isnan(_shifted(close, sess, h))
        for x in thresholds_pct:
            r_up = (hi >= close * (1 + x / 100.0)).astype(np.float64)
            r_dn = (lo <= close * (1 - x / 100.0)).astype(np.float64)
            name = f"reach_{x:g}_{h}"
            out[f"{name}_up"] = np.where(valid, r_up, np.nan)
            out[f"{name}_down"] = np.where(valid, r_dn, np.nan)
            out[f"{name}_any"] = np.where(valid, np.maximum(r_up, r_dn), np.nan)
    if thresholds_pct:
        out["tradeable"] = out[f"reach_{thresholds_pct[0]:g}_{horizon}_any"]
    return pd.DataFrame(out, index=frame.index)
