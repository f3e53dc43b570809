"""Online calibration of trade confidence, and optional MLflow experiment tracking.

:class:`CalibrationTracker` learns ``P(profit | raw confidence)`` from closed trades with
Platt scaling (a two-parameter logistic fit is stable on tens of trades, where isotonic
regression would overfit), refitted after every trade. Until ``min_trades`` trades are
known it reports nothing (``None``): a gate must not act on an unfitted map.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

logger = logging.getLogger(__name__)

_EPS = 1e-6


class CalibrationTracker:
    """P(profit) as a function of raw confidence, learned from closed trades."""

    def __init__(self, min_trades: int = 30) -> None:
        self.min_trades = min_trades
        self.confidences_: list[float] = []
        self.wins_: list[int] = []
        self.model_: LogisticRegression | None = None
        self.win_rate_: float | None = None

    @property
    def n_trades(self) -> int:
        """Closed trades with a known raw confidence."""
        return len(self.wins_)

    def record(self, raw_confidence: float, pnl: float) -> None:
        """Add one closed trade (profit means ``pnl > 0``); NaN confidence is ignored."""
        if raw_confidence is None or math.isnan(raw_confidence) or math.isnan(pnl):
            logger.debug("trade without confidence or P&L not used for calibration")
            return
        self.confidences_.append(float(raw_confidence))
        self.wins_.append(int(pnl > 0))
        self._refit()

    def _refit(self) -> None:
        y = np.asarray(self.wins_)
        self.win_rate_ = float(y.mean())
        if self.n_trades < self.min_trades or len(np.unique(y)) < 2:
            self.model_ = None
            return
        c = np.clip(np.asarray(self.confidences_), _EPS, 1 - _EPS)
        z = np.log(c / (1 - c))[:, None]
        self.model_ = LogisticRegression(C=1.0).fit(z, y)

    def calibrated(self, raw_confidence: float) -> float | None:
        """Calibrated P(profit), or ``None`` before ``min_trades`` trades are known."""
        if self.n_trades < self.min_trades or math.isnan(raw_confidence):
            return None
        if self.model_ is None:  # only wins or only losses so far: the observed rate
            return self.win_rate_
        c = min(max(float(raw_confidence), _EPS), 1 - _EPS)
        return float(self.model_.predict_proba([[math.log(c / (1 - c))]])[0, 1])


def track_run(  # noqa: PLR0917
    tracking_uri: str | None,
    experiment: str,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: list[Path] = (),  # type: ignore[assignment]
) -> str | None:
    """Log a training run to MLflow when ``tracking_uri`` is set; returns the run id.

    ``settings.models.mlflow_tracking_uri``: e.g. ``file:./mlruns`` for a local store.
    Returns ``None`` (and logs why) when tracking is off or mlflow is not installed.
    """
    if not tracking_uri:
        return None
    try:
        import mlflow
    except ImportError:
        logger.warning("models.mlflow_tracking_uri is set but mlflow is not installed; not tracked")
        return None
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params({k: str(v)[:250] for k, v in params.items()})
        finite = {
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, int | float) and math.isfinite(v)
        }
        mlflow.log_metrics(finite)
        for path in artifacts:
            if Path(path).is_file():
                mlflow.log_artifact(str(path))
        return str(run.info.run_id)
