"""The ``prediction`` controller: trade the calibrated direction of a predictor.

Rule (inputs are the context columns of :mod:`zerodte.models.walkforward_fit`)::

    ra   = predicted_return / return_std                     (risk-adjusted return)
    conf = calibrated_confidence if known else ml_confidence
    BUY_CALLS if ra >=  min_ra and p_up   > p_down and conf >= min_conf
    BUY_PUTS  if ra <= -min_ra and p_down > p_up   and conf >= min_conf
    HOLD      otherwise, and whenever a needed prediction is missing (NaN)

``min_ra = entry.prediction_min_risk_adjusted``, ``min_conf =
entry.prediction_min_confidence``. ``decide`` reads ``observation.context``;
``decide_batch`` reads frame columns of the same names (the engine joins
``predict_frame``'s output); both run the same vectorised rule, so they agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from zerodte.config.root import Settings
from zerodte.policy.base import decision_frame, one_hot
from zerodte.types import Action, Decision, Observation

INPUTS: tuple[str, ...] = (
    "predicted_return",
    "return_std",
    "direction_prob_down",
    "direction_prob_neutral",
    "direction_prob_up",
    "ml_confidence",
    "calibrated_confidence",
)


class PredictionController:
    """Trade the calibrated predicted direction when it clears both thresholds."""

    name = "prediction"

    def __init__(self, min_risk_adjusted: float, min_confidence: float) -> None:
        self.min_risk_adjusted = float(min_risk_adjusted)
        self.min_confidence = float(min_confidence)

    @classmethod
    def from_settings(cls, settings: Settings) -> PredictionController:
        """From ``entry.prediction_min_risk_adjusted`` / ``prediction_min_confidence``."""
        e = settings.entry
        return cls(e.prediction_min_risk_adjusted, e.prediction_min_confidence)

    def _rule(self, v: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            ra = v["predicted_return"] / v["return_std"]
        conf = np.where(
            np.isnan(v["calibrated_confidence"]), v["ml_confidence"], v["calibrated_confidence"]
        )
        up, dn = v["direction_prob_up"], v["direction_prob_down"]
        confident = conf >= self.min_confidence
        call = confident & (ra >= self.min_risk_adjusted) & (up > dn)
        put = confident & (ra <= -self.min_risk_adjusted) & (dn > up)
        action = np.where(call, int(Action.BUY_CALLS), np.where(put, int(Action.BUY_PUTS), 0))
        return action.astype(np.int8), ra, conf

    def _reason(self, action: int, ra: float, conf: float) -> str:
        if math.isnan(ra) or math.isnan(conf):
            return "no prediction"
        verb = {0: "hold", 1: "call", 2: "put"}[action]
        return (
            f"{verb}: risk-adjusted {ra:+.2f} vs ±{self.min_risk_adjusted:g}, "
            f"confidence {conf:.3f} vs {self.min_confidence:g}"
        )

    def decide(self, observation: Observation) -> Decision:
        """Apply the rule to ``observation.context`` (missing keys count as NaN)."""
        ctx = observation.context
        v = {k: np.array([float(ctx.get(k, np.nan))]) for k in INPUTS}
        action, ra, conf = self._rule(v)
        a = Action(int(action[0]))
        probs = tuple(float(a == x) for x in (Action.HOLD, Action.BUY_CALLS, Action.BUY_PUTS))
        context = {k: float(v[k][0]) for k in INPUTS if not np.isnan(v[k][0])}
        return Decision(
            a,
            scores=(0.0, float(np.nan_to_num(ra[0])), -float(np.nan_to_num(ra[0]))),
            probs=probs,
            reasons=(self._reason(int(a), float(ra[0]), float(conf[0])),),
            confidence=None if np.isnan(conf[0]) else float(conf[0]),
            context=context,
        )

    def decide_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The same rule over frame columns (absent columns count as NaN)."""
        n = len(frame)
        v = {
            k: frame[k].to_numpy(np.float64) if k in frame.columns else np.full(n, np.nan)
            for k in INPUTS
        }
        action, ra, conf = self._rule(v)
        score = np.nan_to_num(ra)
        reason = np.array(
            [
                self._reason(int(a), float(r), float(c))
                for a, r, c in zip(action, ra, conf, strict=True)
            ],
            dtype=object,
        )
        return decision_frame(
            frame.index,
            action,
            np.column_stack([np.zeros(n), score, -score]),
            one_hot(action),
            reason,
            confidence=conf,
            context=v,
        )
