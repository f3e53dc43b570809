"""Held-out evaluation of every probabilistic output of a walk-forward bundle.

Outputs (each a binary event with a forecast probability):

* ``direction_up``: P(up | the price moves) = ``p_up / (p_up + p_down)`` against
  ``fwd_ret > 0`` (rows with ``fwd_ret == 0`` dropped). This is the output the planted edge
  is about: at ``edge = 0`` prices are a martingale and it cannot beat climatology.
* ``direction_down``, ``direction_neutral``, ``direction_up_class``: one-vs-rest class
  probabilities of [down, neutral, up] (neutral = within the band). These can beat
  climatology even in a martingale, because volatility (hence the chance of leaving the
  neutral band) is predictable.
* ``confidence``: calibrated P(the up/down call is right) against the call being right.

Climatology is each segment's training base rate. Only rows of test windows are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.models.bundle import ModelBundle
from zerodte.models.calibration import BinaryReport, binary_report, plot_reliability
from zerodte.models.walkforward_fit import DIRS, call_right, predict_frame


def _p_up(df: pd.DataFrame, prefix: str = "") -> np.ndarray:
    up = df[f"{prefix}direction_prob_up"].to_numpy(np.float64)
    dn = df[f"{prefix}direction_prob_down"].to_numpy(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return up / (up + dn)


def held_out_reports(
    bundle: ModelBundle,
    market_frame: pd.DataFrame,
    features: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, BinaryReport]:
    """Reports of the module docstring on the test windows of ``bundle``'s segments."""
    pred = predict_frame(bundle, market_frame, features, raw=True)
    ts = np.asarray(pd.DatetimeIndex(market_frame.index).as_unit("ns").asi8)
    # final (deployable) segment has no test window inside the data: exclude its rows
    test_seg = [j for j, s in enumerate(bundle.segments) if int(s.valid_from.value) <= ts[-1]]
    held = pred["segment"].isin(test_seg).to_numpy()
    seg = pred["segment"].to_numpy()
    groups = np.asarray(market_frame["session"].astype(str))
    fwd = targets["fwd_ret"].to_numpy(np.float64)
    lab = targets["direction"].to_numpy(np.float64)

    def base(key: str) -> np.ndarray:
        rates = {j: s.base_rates.get(key, np.nan) for j, s in enumerate(bundle.segments)}
        return np.array([rates.get(int(j), np.nan) if not np.isnan(j) else np.nan for j in seg])

    def report(
        name: str, p_raw: np.ndarray, p_cal: np.ndarray, y: np.ndarray, key: str
    ) -> BinaryReport:
        m = held & ~np.isnan(y)
        b = base(key)[m]
        return binary_report(
            name,
            p_raw[m],
            p_cal[m],
            y[m],
            groups[m],
            float(np.nanmean(b)),
            n_boot=n_boot,
            seed=seed,
        )

    out: dict[str, BinaryReport] = {}
    up = np.where(np.isnan(fwd) | (fwd == 0), np.nan, (fwd > 0).astype(np.float64))
    out["direction_up"] = report("direction_up", _p_up(pred, "raw_"), _p_up(pred), up, "up")
    for k, col in enumerate(DIRS):
        name = "direction_up_class" if col.endswith("up") else col.replace("_prob", "")
        y = np.where(np.isnan(lab), np.nan, (lab == k).astype(np.float64))
        out[name] = report(name, pred[f"raw_{col}"].to_numpy(), pred[col].to_numpy(), y, col)
    right = call_right(pred, fwd)
    conf_base = np.nanmean(right[held]) if held.any() else np.nan
    m = held & ~np.isnan(right)
    out["confidence"] = binary_report(
        "confidence",
        pred["ml_confidence"].to_numpy()[m],
        pred["calibrated_confidence"].to_numpy()[m],
        right[m],
        groups[m],
        float(conf_base),
        n_boot=n_boot,
        seed=seed,
    )
    return out


def confidence_buckets(
    confidence: np.ndarray, right: np.ndarray, n_buckets: int = 5
) -> list[dict[str, float]]:
    """Hit rate per confidence quantile bucket (low to high)."""
    ok = ~(np.isnan(confidence) | np.isnan(right))
    c, r = confidence[ok], right[ok]
    edges = np.quantile(c, np.linspace(0, 1, n_buckets + 1))
    b = np.clip(np.searchsorted(edges, c, side="right") - 1, 0, n_buckets - 1)
    return [
        {
            "bucket": float(i),
            "mean_confidence": float(c[b == i].mean()),
            "hit_rate": float(r[b == i].mean()),
            "n": float((b == i).sum()),
        }
        for i in range(n_buckets)
        if (b == i).any()
    ]


def calibration_summary(
    reports: dict[str, BinaryReport], plot_path: Path | None, title: str = ""
) -> dict[str, Any]:
    """JSON of ``zerodte eval calibration``: per output metrics plus the plot path."""
    plot = plot_reliability(reports, plot_path, title) if plot_path is not None else None
    return {
        "outputs": {name: r.to_json() for name, r in reports.items()},
        "reliability_plot": str(plot) if plot is not None else None,
    }
