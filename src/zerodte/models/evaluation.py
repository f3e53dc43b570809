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
* ``confidence_by_regime``, ``direction_up_by_regime`` (when ``regimes`` are given): the
  same raw outputs calibrated by a :class:`~.calibration.RegimeCalibrator` (one calibrator
  per regime label, global fallback) fit on each segment's calibration window, so
  ``ece_calibrated`` compares per-regime with global calibration on the same rows.

Climatology is each segment's training base rate. Only rows of test windows are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.models.bundle import ModelBundle
from zerodte.models.calibration import (
    BinaryReport,
    Method,
    RegimeCalibrator,
    binary_report,
    plot_reliability,
)
from zerodte.models.walkforward_fit import (
    DIRS,
    calibrated,
    call_right,
    model_inputs,
    predict_frame,
    rows_outputs,
)


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
    regimes: np.ndarray | None = None,
    regime_method: Method = "platt",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, BinaryReport]:
    """Reports of the module docstring on the test windows of ``bundle``'s segments.

    ``regimes`` is one causal regime label per row (e.g. the rule-based
    :func:`zerodte.regime.classify_regimes`); it adds the ``*_by_regime`` outputs.
    """
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
    if regimes is not None:
        labels = np.asarray(regimes).astype(str)
        windows = calibration_window_outputs(bundle, market_frame, features)
        up_base = float(np.nanmean(base("up")[held & ~np.isnan(up)]))
        for name, p_raw, y, base_rate in (
            ("confidence_by_regime", pred["ml_confidence"].to_numpy(), right, conf_base),
            ("direction_up_by_regime", _p_up(pred, "raw_"), up, up_base),
        ):
            p_cal = np.full(len(p_raw), np.nan)
            for j, (rows, outputs) in windows.items():
                if name.startswith("confidence"):
                    p_c, y_c = outputs["ml_confidence"].to_numpy(), call_right(outputs, fwd[rows])
                else:
                    p_c, y_c = _p_up(outputs, "raw_"), up[rows]
                ok = ~(np.isnan(p_c) | np.isnan(y_c))
                mine = seg == j
                if ok.sum() < 2 or not mine.any():
                    continue
                cal = RegimeCalibrator(regime_method).fit(p_c[ok], y_c[ok], labels[rows][ok])
                p_cal[mine] = cal.predict(p_raw[mine], labels[mine])
            m = held & ~np.isnan(y)
            out[name] = binary_report(
                name,
                p_raw[m],
                p_cal[m],
                y[m],
                groups[m],
                float(base_rate),
                n_boot=n_boot,
                seed=seed,
            )
    return out


def calibration_window_outputs(
    bundle: ModelBundle, market_frame: pd.DataFrame, features: pd.DataFrame
) -> dict[int, tuple[np.ndarray, pd.DataFrame]]:
    """Per segment: row positions of its calibration window and its outputs there.

    The outputs are the segment's own (raw ``raw_direction_prob_*``, calibrated
    direction probabilities and ``ml_confidence``), as its calibrators saw them; segments
    without a calibration window are left out.
    """
    X = model_inputs(bundle.kind, market_frame, features)
    ts = np.asarray(pd.DatetimeIndex(market_frame.index).as_unit("ns").asi8)
    lookback = int(bundle.config.get("sequence_length", 1))
    out: dict[int, tuple[np.ndarray, pd.DataFrame]] = {}
    for j, s in enumerate(bundle.segments):
        if s.calib_start is None or s.calib_end is None:
            continue
        rows = np.flatnonzero((ts >= s.calib_start.value) & (ts <= s.calib_end.value))
        if not len(rows):
            continue
        raw = rows_outputs(bundle.kind, s, X, rows, lookback)
        outputs = calibrated(s, raw)
        for c in DIRS:
            outputs[f"raw_{c}"] = raw[c].to_numpy()
        out[j] = (rows, outputs)
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
