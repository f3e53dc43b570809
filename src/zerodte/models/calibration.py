"""Calibration: reliability curves, Brier score, ECE, and Platt / isotonic calibrators.

For a binary outcome ``y in {0, 1}`` and forecast probability ``p``:

* Brier score ``B = mean((p - y)^2)`` (Brier 1950); the climatological forecast is the
  constant training base rate ``p0`` with ``B0 = mean((p0 - y)^2)``; skill is ``B0 - B``.
* Expected calibration error ``ECE = sum_b (n_b / n) |mean(y)_b - mean(p)_b|`` over equal-
  width probability bins (Naeini et al. 2015; Guo et al. 2017).
* Platt scaling fits ``P(y=1) = sigmoid(a * logit(p) + b)`` (Platt 1999); isotonic
  regression fits a monotone step function (Zadrozny & Elkan 2002). Both are fitted on a
  calibration window after training and before test (see :mod:`.walkforward`).

Confidence intervals use a session block bootstrap: rows of one session share overlapping
labels, so sessions, not rows, are resampled.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from zerodte.errors import ModelError

logger = logging.getLogger(__name__)

_EPS = 1e-6
Method = Literal["isotonic", "platt"]


def _clean(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = ~(np.isnan(p) | np.isnan(y))
    return p[ok], y[ok]


def brier_score(p: np.ndarray, y: np.ndarray) -> float:
    """Mean squared error of probabilities ``p`` against outcomes ``y`` (NaN rows dropped)."""
    p, y = _clean(p, y)
    return float(np.mean((p - y) ** 2)) if len(p) else float("nan")


def reliability_curve(
    p: np.ndarray, y: np.ndarray, n_bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width bin: mean forecast, observed frequency, count (empty bins dropped)."""
    p, y = _clean(p, y)
    b = np.clip((p * n_bins).astype(np.int64), 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins).astype(np.float64)
    sp = np.bincount(b, weights=p, minlength=n_bins)
    sy = np.bincount(b, weights=y, minlength=n_bins)
    keep = count > 0
    return sp[keep] / count[keep], sy[keep] / count[keep], count[keep]


def expected_calibration_error(p: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """ECE over ``n_bins`` equal-width bins (see the module docstring)."""
    mp, fy, n = reliability_curve(p, y, n_bins)
    return float(np.sum(n * np.abs(fy - mp)) / np.sum(n)) if len(n) else float("nan")


def _logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` with ``p`` clipped away from 0 and 1."""
    return np.asarray(np.log(np.clip(p, _EPS, 1 - _EPS) / np.clip(1 - p, _EPS, 1)))


def _up_given_move(probs: np.ndarray) -> np.ndarray:
    """``up / (up + down)`` of ``[down, neutral, up]`` rows (NaN where both are 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(probs[:, 2] / (probs[:, 2] + probs[:, 0]))


class PlattCalibrator:
    """Platt scaling on the logit of the raw probability."""

    def __init__(self, random_state: int | None = None) -> None:
        self.random_state = random_state

    def fit(self, p: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        """Fit ``sigmoid(a logit(p) + b)`` on finite rows; returns self."""
        p, y = _clean(p, y)
        if len(np.unique(y)) < 2:
            raise ModelError(f"Platt calibration needs both outcomes, saw {len(y)} rows of one")
        self.model_ = LogisticRegression(C=1e4).fit(_logit(p)[:, None], y.astype(int))
        return self

    def predict(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (NaN stays NaN)."""
        p = np.asarray(p, dtype=np.float64)
        out = np.full(p.shape, np.nan)
        ok = ~np.isnan(p)
        if ok.any():
            out[ok] = self.model_.predict_proba(_logit(p[ok])[:, None])[:, 1]
        return out


class IsotonicCalibrator:
    """Isotonic (monotone non-decreasing) calibration, clipped outside the fitted range."""

    def __init__(self, random_state: int | None = None) -> None:
        self.random_state = random_state

    def fit(self, p: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        """Fit the monotone map on finite rows; returns self."""
        p, y = _clean(p, y)
        if len(p) < 2:
            raise ModelError(f"isotonic calibration needs data, saw {len(p)} rows")
        self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(p, y)
        return self

    def predict(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (NaN stays NaN)."""
        p = np.asarray(p, dtype=np.float64)
        out = np.full(p.shape, np.nan)
        ok = ~np.isnan(p)
        if ok.any():
            out[ok] = self.model_.predict(p[ok])
        return out


Calibrator = PlattCalibrator | IsotonicCalibrator


def make_calibrator(method: Method, random_state: int | None = None) -> Calibrator:
    """A new unfitted calibrator (``settings.models.calibration_method``)."""
    if method == "isotonic":
        return IsotonicCalibrator(random_state)
    if method == "platt":
        return PlattCalibrator(random_state)
    raise ModelError(f"unknown calibration method {method!r}; use 'isotonic' or 'platt'")


class MulticlassCalibrator:
    """One-vs-rest calibration of class probabilities, renormalised to sum to one."""

    def __init__(
        self, method: Method = "isotonic", random_state: int | None = None, factored: bool = False
    ) -> None:
        self.method = method
        self.random_state = random_state
        # factored (3 classes [down, neutral, up]): calibrate P(neutral) and
        # P(up | not neutral) = up / (up + down), then recompose; one-vs-rest calibration of
        # ``up`` and ``down`` separately is dominated by the neutral-vs-move (volatility) axis
        # and scrambles the sign information of the ratio.
        self.factored = factored

    def fit(self, probs: np.ndarray, labels: np.ndarray) -> MulticlassCalibrator:
        """Fit one calibrator per column of ``probs`` (``labels`` are class indices)."""
        ok = ~(np.isnan(probs).any(axis=1) | np.isnan(labels))
        if self.factored and probs.shape[1] == 3:
            move = ok & (labels != 1)
            q = _up_given_move(probs)
            move &= np.isfinite(q)
            self.calibrators_ = [
                make_calibrator(self.method, self.random_state).fit(
                    probs[ok, 1], (labels[ok] == 1).astype(np.float64)
                ),
                make_calibrator(self.method, self.random_state).fit(
                    q[move], (labels[move] == 2).astype(np.float64)
                ),
            ]
            return self
        self.calibrators_ = [
            make_calibrator(self.method, self.random_state).fit(
                probs[ok, k], (labels[ok] == k).astype(np.float64)
            )
            for k in range(probs.shape[1])
        ]
        return self

    def predict(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated, renormalised probabilities (rows with NaN stay NaN)."""
        if getattr(self, "factored", False) and probs.shape[1] == 3:
            q = _up_given_move(probs)
            n = np.clip(self.calibrators_[0].predict(probs[:, 1]), 0.0, 1.0 - 1e-6)  # up + down > 0
            qc = self.calibrators_[1].predict(np.where(np.isfinite(q), q, 0.5))
            out = np.column_stack([(1 - n) * (1 - qc), n, (1 - n) * qc])
            return np.where(np.isnan(probs).any(axis=1, keepdims=True), np.nan, out)
        cal = np.column_stack([c.predict(probs[:, k]) for k, c in enumerate(self.calibrators_)])
        total = cal.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            # a row calibrated to all zeros keeps the raw probabilities rather than 0/0
            return np.where(total > 0, cal / np.where(total > 0, total, 1.0), probs)


class RegimeCalibrator:
    """One calibrator per regime label, with a global fallback for sparse regimes."""

    def __init__(
        self, method: Method = "isotonic", min_samples: int = 200, random_state: int | None = None
    ) -> None:
        self.method = method
        self.min_samples = min_samples
        self.random_state = random_state

    def fit(self, p: np.ndarray, y: np.ndarray, regimes: np.ndarray) -> RegimeCalibrator:
        """Fit the global calibrator and one per regime with ``min_samples`` finite rows."""
        self.global_ = make_calibrator(self.method, self.random_state).fit(p, y)
        self.by_regime_: dict[Any, Calibrator] = {}
        ok = ~(np.isnan(np.asarray(p, float)) | np.isnan(np.asarray(y, float)))
        for r in np.unique(regimes[ok]):
            m = ok & (regimes == r)
            if m.sum() >= self.min_samples and len(np.unique(y[m])) == 2:
                self.by_regime_[r] = make_calibrator(self.method, self.random_state).fit(p[m], y[m])
        return self

    def predict(self, p: np.ndarray, regimes: np.ndarray) -> np.ndarray:
        """Calibrated probabilities using each row's regime calibrator when fitted."""
        out = self.global_.predict(p)
        for r, cal in self.by_regime_.items():
            m = regimes == r
            out[m] = cal.predict(np.asarray(p)[m])
        return out


def _block_bootstrap(
    diff: np.ndarray, groups: np.ndarray, n_boot: int, seed: int
) -> tuple[float, float]:
    """95 % interval of ``mean(diff)`` resampling whole groups (sessions)."""
    _, inv = np.unique(groups, return_inverse=True)
    sums = np.bincount(inv, weights=diff)
    counts = np.bincount(inv).astype(np.float64)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(sums), size=(n_boot, len(sums)))
    means = sums[pick].sum(axis=1) / counts[pick].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass
class BinaryReport:
    """Held-out metrics of one probabilistic output (see :func:`binary_report`)."""

    name: str
    n: int
    accuracy: float
    accuracy_ci95: tuple[float, float]
    accuracy_climatology: float
    accuracy_gain_ci95: tuple[float, float]
    brier: float
    brier_raw: float
    brier_climatology: float
    brier_skill_ci95: tuple[float, float]
    ece_raw: float
    ece_calibrated: float
    base_rate_train: float
    curve: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (the reliability curve under ``reliability``)."""
        out = {k: v for k, v in self.__dict__.items() if k != "curve"}
        out["accuracy_ci95"] = list(self.accuracy_ci95)
        out["accuracy_gain_ci95"] = list(self.accuracy_gain_ci95)
        out["brier_skill_ci95"] = list(self.brier_skill_ci95)
        out["reliability"] = self.curve
        return out


def binary_report(  # noqa: PLR0917
    name: str,
    p_raw: np.ndarray,
    p_cal: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    base_rate: float,
    *,
    n_bins: int = 15,
    n_boot: int = 1000,
    seed: int = 0,
) -> BinaryReport:
    """Held-out accuracy, Brier and ECE of a binary output against climatology.

    ``base_rate`` is the training-window frequency of ``y = 1`` (the climatological
    forecast). ``accuracy`` is of the calibrated call ``p_cal > 0.5``; climatology always
    calls the training majority. ``accuracy_gain_ci95`` and ``brier_skill_ci95`` (``B0 - B``)
    are session block-bootstrap intervals; an edge is shown when they exclude 0.
    """
    p_raw = np.asarray(p_raw, float)
    p_cal = np.asarray(p_cal, float)
    y = np.asarray(y, float)
    ok = ~(np.isnan(p_cal) | np.isnan(y) | np.isnan(p_raw))
    p_raw, p_cal, y, g = p_raw[ok], p_cal[ok], y[ok], np.asarray(groups)[ok]
    if not len(y):
        raise ModelError(f"no held-out rows with both a prediction and a label for {name!r}")
    hit = ((p_cal > 0.5) == (y > 0.5)).astype(np.float64)
    hit0 = (np.full(len(y), base_rate > 0.5) == (y > 0.5)).astype(np.float64)
    se = (p_cal - y) ** 2
    se0 = (base_rate - y) ** 2
    mp, fy, cnt = reliability_curve(p_cal, y, n_bins)
    return BinaryReport(
        name=name,
        n=len(y),
        accuracy=float(hit.mean()),
        accuracy_ci95=_block_bootstrap(hit, g, n_boot, seed),
        accuracy_climatology=float(hit0.mean()),
        accuracy_gain_ci95=_block_bootstrap(hit - hit0, g, n_boot, seed),
        brier=float(se.mean()),
        brier_raw=float(np.mean((p_raw - y) ** 2)),
        brier_climatology=float(se0.mean()),
        brier_skill_ci95=_block_bootstrap(se0 - se, g, n_boot, seed),
        ece_raw=expected_calibration_error(p_raw, y, n_bins),
        ece_calibrated=expected_calibration_error(p_cal, y, n_bins),
        base_rate_train=float(base_rate),
        curve={"mean_predicted": mp.tolist(), "observed": fy.tolist(), "count": cnt.tolist()},
    )


def plot_reliability(reports: Mapping[str, BinaryReport], path: Path, title: str = "") -> Path:
    """Write a reliability diagram (one line per output) as a PNG; returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zerodte.io import atomic_write

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    for name, rep in reports.items():
        c = rep.curve
        ax.plot(
            c["mean_predicted"],
            c["observed"],
            "o-",
            ms=3,
            label=f"{name} (ECE {rep.ece_calibrated:.3f})",
        )
    ax.set_xlabel("predicted probability (calibrated)")
    ax.set_ylabel("observed frequency (held out)")
    ax.set_title(title or "reliability")
    ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(Path(path), lambda p: fig.savefig(p, format="png", dpi=100))
    plt.close(fig)
    return Path(path)
