"""A frame carrying every input of the decision controllers, and observations built from it
exactly as the engine builds them (context = regime/predictor values without NaN)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from zerodte.types import Observation

TZ = "America/New_York"
CONTEXT = (
    "hmm_trend",
    "hmm_volatility",
    "hmm_liquidity",
    "hmm_confidence",
    "hmm_trend_p0",
    "hmm_trend_p1",
    "hmm_trend_p2",
    "direction_prob_up",
    "direction_prob_down",
    "predicted_return",
    "direction_prob_up_30m",
    "direction_prob_down_30m",
    "direction_prob_up_60m",
    "direction_prob_down_60m",
)
FEATURES = (
    "momentum_5m",
    "momentum_15m",
    "jerk_5m",
    "rsi_14",
    "volume_spike",
    "macd_hist",
    "bb_pos_20",
    "hma_10_dist",
    "hma_20_dist",
    "hma_50_dist",
    "spy_qqq_agree_5m",
    "put_call_ratio",
    "minute_of_session",
    "vix_change_15m",
    "rv_15m",
)


def decision_frame_inputs(n: int = 800, seed: int = 5) -> pd.DataFrame:
    """Random but plausible inputs; some NaN so that unknown values are exercised."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-10 09:30", periods=n, freq="1min", tz=TZ)
    trend = rng.uniform(0, 1, n)
    up = rng.uniform(0.1, 0.7, n)
    cols: dict[str, np.ndarray] = {
        "spy_close": 500 + rng.normal(0, 1, n).cumsum(),
        "qqq_close": 400 + rng.normal(0, 1, n).cumsum(),
        "vix_close": rng.uniform(9, 42, n),
        "hmm_trend": trend,
        "hmm_volatility": rng.uniform(0, 1, n),
        "hmm_liquidity": rng.uniform(0, 1, n),
        "hmm_confidence": rng.uniform(0, 1, n),
        "hmm_trend_p0": 1 - trend,
        "hmm_trend_p1": np.zeros(n),
        "hmm_trend_p2": trend,
        "direction_prob_up": up,
        "direction_prob_down": 1 - up - 0.2,
        "predicted_return": rng.normal(0, 0.1, n),
    }
    for h in (30, 60):
        u = np.clip(up + rng.normal(0, 0.1, n), 0, 0.8)
        cols[f"direction_prob_up_{h}m"] = u
        cols[f"direction_prob_down_{h}m"] = 0.8 - u
    cols.update(
        momentum_5m=rng.normal(0, 0.1, n),
        momentum_15m=rng.normal(0, 0.15, n),
        jerk_5m=rng.normal(0, 1e-3, n),
        rsi_14=rng.uniform(10, 90, n),
        volume_spike=rng.uniform(0.2, 6, n),
        macd_hist=rng.normal(0, 0.01, n),
        bb_pos_20=rng.uniform(0, 1, n),
        hma_10_dist=rng.normal(0, 0.05, n),
        hma_20_dist=rng.normal(0, 0.05, n),
        hma_50_dist=rng.normal(0, 0.05, n),
        spy_qqq_agree_5m=rng.choice([-1.0, 1.0], n),
        put_call_ratio=rng.uniform(0.4, 2.0, n),
        minute_of_session=np.arange(n) % 390 + 1.0,
        vix_change_15m=rng.normal(0, 1, n),
        rv_15m=rng.uniform(5, 30, n),
    )
    frame = pd.DataFrame(cols, index=idx)
    for name in ("hmm_trend", "direction_prob_up", "direction_prob_up_30m", "rsi_14"):
        frame.loc[frame.index[rng.choice(n, 25, replace=False)], name] = np.nan
    frame.iloc[:10, frame.columns.get_loc("hmm_confidence")] = np.nan
    return frame


def observation_of(frame: pd.DataFrame, i: int) -> Observation:
    """Row ``i`` as the engine's observation."""
    row = frame.iloc[i]
    t = frame.index[i]
    ctx = {k: float(row[k]) for k in CONTEXT if k in row and not math.isnan(float(row[k]))}
    feats = {k: float(row[k]) for k in FEATURES if k in row}
    return Observation(
        i,
        t,
        t.date(),
        30.0,
        200.0,
        float(row["spy_close"]),
        float(row["qqq_close"]),
        float(row["vix_close"]),
        feats,
        ctx,
    )
