"""The momentum rule: follow the SPY move of the last few minutes.

Rule (documented in docs/engine.md)::

    r_t = 100 * (close_t / close_{t-L} - 1)        # percent SPY return over L minutes
    BUY_CALLS  if r_t >  threshold
    BUY_PUTS   if r_t < -threshold
    HOLD       otherwise (also while r_t is unknown: fewer than L bars of the session)

``L = entry.momentum_lookback_minutes``, ``threshold = entry.momentum_threshold_pct``.
The return is the feature ``momentum_{L}m`` (:mod:`zerodte.features`, causal percent
change, available for L in 1, 5, 15, 30, 60); the decision is deterministic, so its
propensities are one-hot.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from zerodte.errors import ConfigError
from zerodte.policy.base import decision_frame, one_hot
from zerodte.types import Action, Decision, Observation

_ONE_HOT: dict[Action, tuple[float, float, float]] = {
    Action.HOLD: (1.0, 0.0, 0.0),
    Action.BUY_CALLS: (0.0, 1.0, 0.0),
    Action.BUY_PUTS: (0.0, 0.0, 1.0),
}


def momentum_column(lookback: int) -> str:
    """Name of the feature holding the percent SPY return over ``lookback`` minutes."""
    return f"momentum_{lookback}m"


def _missing(column: str, seen: list[str]) -> ConfigError:
    return ConfigError(
        f"momentum controller needs feature {column!r} but the features have "
        f"{seen[:12]}{'...' if len(seen) > 12 else ''}; set entry.momentum_lookback_minutes "
        "to one of 1, 5, 15, 30, 60 or use a feature set that provides it"
    )


class MomentumController:
    """Buy calls after an up-move, puts after a down-move, hold otherwise."""

    name = "momentum"
    batch_rows_independent = True
    """``decide_batch`` decides each row from that row alone, so the backtest may ask it a
    piece of sessions at a time (:class:`~zerodte.engine.sources.PieceDecisions`)."""

    def __init__(self, lookback_minutes: int, threshold_pct: float) -> None:
        if lookback_minutes < 1 or threshold_pct < 0:
            raise ValueError("momentum needs lookback_minutes >= 1 and threshold_pct >= 0")
        self.lookback_minutes = int(lookback_minutes)
        self.threshold_pct = float(threshold_pct)
        self.column = momentum_column(self.lookback_minutes)
        self.feature_inputs = (self.column,)
        """The one feature the rule reads (:func:`~zerodte.types.features_read`)."""

    def _reason_parts(self) -> tuple[str, str]:
        """The reason's text before and after the return: ``head + f"{ret:+.3f}" + tail``."""
        return f"spy {self.lookback_minutes}m return ", f"% vs ±{self.threshold_pct:g}%"

    def _reason(self, ret: float) -> str:
        head, tail = self._reason_parts()
        return f"{head}{ret:+.3f}{tail}"

    def decide(self, observation: Observation) -> Decision:
        """Apply the rule to ``observation.features[ret_{L}m]``."""
        try:
            ret = float(observation.features[self.column])
        except KeyError as exc:
            raise _missing(self.column, sorted(observation.features)) from exc
        if math.isnan(ret):
            return Decision(Action.HOLD, probs=_ONE_HOT[Action.HOLD], reasons=("no momentum yet",))
        if ret > self.threshold_pct:
            action = Action.BUY_CALLS
        elif ret < -self.threshold_pct:
            action = Action.BUY_PUTS
        else:
            action = Action.HOLD
        return Decision(
            action, scores=(0.0, ret, -ret), probs=_ONE_HOT[action], reasons=(self._reason(ret),)
        )

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Apply the rule to every row; ``frame`` is the market frame joined with features."""
        if self.column not in frame.columns:
            raise _missing(self.column, list(frame.columns))
        ret = frame[self.column].to_numpy(dtype=np.float64)
        n = len(frame)
        action = np.zeros(n, dtype=np.int8)
        with np.errstate(invalid="ignore"):
            action[ret > self.threshold_pct] = int(Action.BUY_CALLS)
            action[ret < -self.threshold_pct] = int(Action.BUY_PUTS)
        known = ~np.isnan(ret)
        scores = np.where(known, ret, 0.0)
        reason = np.empty(n, dtype=object)
        reason[~known] = "no momentum yet"
        idx = np.flatnonzero(known)
        # Formatting every row is the costly part of this method (inlined: a method call
        # per row would cost as much again); it is still far cheaper than decide() per row.
        head, tail = self._reason_parts()
        reason[idx] = [f"{head}{r:+.3f}{tail}" for r in ret[idx].tolist()]
        return decision_frame(
            frame.index,
            action,
            np.column_stack([np.zeros(n), scores, -scores]),
            one_hot(action),
            reason,
        )
