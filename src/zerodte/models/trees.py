"""Boosted-tree heads (XGBoost): direction, tradeable, signed strength, move size, reach.

Heads (each an XGBoost model on the same features; Chen & Guestrin 2016):

* ``direction``: softmax over [down, neutral, up] of the forward return (``targets.py``);
* ``tradeable``: P(move of at least the first threshold either way within the horizon);
* ``strength``: regression of the signed forward return (percent);
* ``abs_move``: regression of ``|forward return|``; ``return_std = abs_move * sqrt(pi/2)``
  (for a zero-mean Gaussian ``E|r| = sigma * sqrt(2/pi)``);
* ``up``: P(up | move), a binary head on the sign of every non-zero forward return; with
  ``direction`` it splits the softmax's move mass: ``up = (1 - neutral) q``,
  ``down = (1 - neutral)(1 - q)`` (the softmax spends its splits on neutral vs move, i.e. on
  volatility, and leaves the sign under-fitted); without ``direction`` it is output as
  ``up_prob``;
* ``reach``: P(reach threshold ``x`` within horizon ``h``) up, down and either way, for
  every ``x`` in ``thresholds_pct`` and ``h`` in ``horizons``.

Missing feature values are left to XGBoost's learned default directions, never filled.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

from zerodte.errors import ModelError

logger = logging.getLogger(__name__)

HEADS: tuple[str, ...] = ("direction", "tradeable", "strength", "abs_move", "reach", "up")


@dataclass(frozen=True)
class TreeConfig:
    """Configuration of :class:`TreeHeads` (creates it with :meth:`build`)."""

    heads: tuple[str, ...] = ("direction", "up", "tradeable", "strength", "abs_move")
    thresholds_pct: tuple[float, ...] = (0.10, 0.20)
    horizons: tuple[int, ...] = (5, 15, 30)
    n_estimators: int = 150
    max_depth: int = 3
    learning_rate: float = 0.05
    min_child_weight: float = 200.0
    subsample: float = 0.7
    max_bin: int = 64
    n_jobs: int = 2
    random_state: int = 0
    columns: tuple[str, ...] | None = None

    def build(self) -> TreeHeads:
        """A new unfitted :class:`TreeHeads`."""
        return TreeHeads(**asdict(self))


class TreeHeads:
    """XGBoost heads over causal features (see the module docstring)."""

    def __init__(  # noqa: PLR0917
        self,
        heads: Sequence[str] = ("direction", "up", "tradeable", "strength", "abs_move"),
        thresholds_pct: Sequence[float] = (0.10, 0.20),
        horizons: Sequence[int] = (5, 15, 30),
        n_estimators: int = 150,
        max_depth: int = 3,
        learning_rate: float = 0.05,
        min_child_weight: float = 200.0,
        subsample: float = 0.7,
        max_bin: int = 64,
        n_jobs: int = 2,
        random_state: int = 0,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.heads = tuple(heads)
        self.thresholds_pct = tuple(thresholds_pct)
        self.horizons = tuple(horizons)
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.max_bin = max_bin
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.columns = tuple(columns) if columns is not None else None

    def _params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "max_bin": self.max_bin,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
            "tree_method": "hist",
        }

    def _targets(self, y: pd.DataFrame) -> dict[str, tuple[str, str]]:
        """``model name -> (target column, kind)`` for the configured heads."""
        unknown = set(self.heads) - set(HEADS)
        if unknown:
            raise ModelError(f"unknown tree heads {sorted(unknown)}; valid: {HEADS}")
        spec: dict[str, tuple[str, str]] = {}
        for head in self.heads:
            if head == "direction":
                spec["direction"] = ("direction", "multi")
            elif head == "tradeable":
                spec["tradeable"] = ("tradeable", "binary")
            elif head == "strength":
                spec["strength"] = ("fwd_ret", "reg")
            elif head == "abs_move":
                spec["abs_move"] = ("abs_ret", "reg")
            elif head == "up":
                spec["up"] = ("up", "binary")
            else:
                for x in self.thresholds_pct:
                    for h in self.horizons:
                        for side in ("up", "down", "any"):
                            col = f"reach_{x:g}_{h}_{side}"
                            spec[col] = (col, "binary")
        missing = sorted({c for c, _ in spec.values()} - set(y.columns))
        if missing:
            raise ModelError(
                f"tree heads need target columns {missing}; build targets with "
                "models.targets.make_targets(frame, horizon, band, thresholds, horizons)"
            )
        return spec

    def _x(self, X: pd.DataFrame) -> np.ndarray:
        cols = list(self.columns_)
        missing = [c for c in cols if c not in X.columns]
        if missing:
            raise ModelError(f"features {missing[:5]} missing; the trees were fit on {cols[:5]}...")
        return X.loc[:, cols].to_numpy(np.float32)

    def fit(self, X: pd.DataFrame, y: pd.DataFrame) -> TreeHeads:
        """Fit every head on the rows where its target is known; returns self."""
        self.columns_ = self.columns if self.columns is not None else tuple(X.columns)
        x = self._x(X)
        self.models_: dict[str, Any] = {}
        for name, (col, kind) in self._targets(y).items():
            t = y[col].to_numpy(np.float64)
            ok = ~np.isnan(t)
            if kind == "multi":
                if len(np.unique(t[ok])) < 3:
                    raise ModelError(
                        f"direction head needs all three classes, saw {np.unique(t[ok])}"
                    )
                model: Any = xgb.XGBClassifier(objective="multi:softprob", **self._params())
                model.fit(x[ok], t[ok].astype(int))
            elif kind == "binary":
                if len(np.unique(t[ok])) < 2:
                    logger.warning("tree head %s has one class in training; skipped", name)
                    continue
                model = xgb.XGBClassifier(objective="binary:logistic", **self._params())
                model.fit(x[ok], t[ok].astype(int))
            else:
                model = xgb.XGBRegressor(objective="reg:squarederror", **self._params())
                model.fit(x[ok], t[ok])
            self.models_[name] = model
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Head outputs per row: ``direction_prob_*``, ``tradeable_prob``, ``strength``,
        ``return_std``, ``reach_*`` probabilities."""
        x = self._x(X)
        out: dict[str, np.ndarray] = {}
        for name, model in self.models_.items():
            if name == "direction":
                p = model.predict_proba(x)
                for k, cls in enumerate(("down", "neutral", "up")):
                    out[f"direction_prob_{cls}"] = p[:, k].astype(np.float64)
            elif name == "strength":
                out["strength"] = model.predict(x).astype(np.float64)
            elif name == "abs_move":
                out["return_std"] = np.maximum(model.predict(x), 1e-6) * math.sqrt(math.pi / 2)
            else:
                out[f"{name}_prob"] = model.predict_proba(x)[:, 1].astype(np.float64)
        if "up_prob" in out and "direction_prob_neutral" in out:
            q = out.pop("up_prob")
            move = 1.0 - out["direction_prob_neutral"]
            out["direction_prob_up"], out["direction_prob_down"] = move * q, move * (1.0 - q)
        return pd.DataFrame(out, index=X.index)


@dataclass
class AblationResult:
    """Held-out metric deltas when one feature group is dropped (positive = group helps)."""

    base: dict[str, float]
    deltas: dict[str, dict[str, float]] = field(default_factory=dict)


def direction_metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Multiclass log loss and Brier (sum over classes) of [down, neutral, up] probabilities."""
    ok = ~(np.isnan(labels) | np.isnan(probs).any(axis=1))
    p, lab = np.clip(probs[ok], 1e-9, 1), labels[ok].astype(int)
    onehot = np.eye(3)[lab]
    return {
        "log_loss": float(-np.mean(np.log(p[np.arange(len(lab)), lab]))),
        "brier": float(np.mean(np.sum((p - onehot) ** 2, axis=1))),
        "n": float(len(lab)),
    }


def feature_ablation(  # noqa: PLR0917
    config: TreeConfig,
    X: pd.DataFrame,
    y: pd.DataFrame,
    train: np.ndarray,
    test: np.ndarray,
    groups: dict[str, Sequence[str]],
) -> AblationResult:
    """Refit the direction head without each feature group; report held-out deltas.

    ``delta = metric(without group) - metric(all)``: a positive log-loss delta means the
    group carried information on this window (one window: noisy, not a significance test).
    """
    cfg = TreeConfig(**{**asdict(config), "heads": ("direction",)})
    lab = y["direction"].to_numpy(np.float64)

    def score(cols: Sequence[str]) -> dict[str, float]:
        m = TreeHeads(**{**asdict(cfg), "columns": tuple(cols)}).fit(X.iloc[train], y.iloc[train])
        p = m.predict(X.iloc[test])[[f"direction_prob_{c}" for c in ("down", "neutral", "up")]]
        return direction_metrics(p.to_numpy(), lab[test])

    all_cols = list(cfg.columns or X.columns)
    result = AblationResult(base=score(all_cols))
    for name, cols in groups.items():
        keep = [c for c in all_cols if c not in set(cols)]
        if not keep or len(keep) == len(all_cols):
            continue
        s = score(keep)
        result.deltas[name] = {k: s[k] - result.base[k] for k in ("log_loss", "brier")}
    return result
