"""Entry gates driven by market regime (rule-based filter and the HMM trend)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from zerodte.regime.rules import DEFAULT_THRESHOLDS, RULE_INPUTS, RegimeThresholds, classify_regime
from zerodte.types import Action, Decision, Observation, Veto

_ENTRIES = (Action.BUY_CALLS, Action.BUY_PUTS)


@dataclass(frozen=True)
class RegimeFilterGate:
    """Vetoes an entry whose direction the current rule-based regime does not allow.

    The regime is classified from ``observation.features`` with
    :func:`zerodte.regime.rules.classify_regime`; ``UNKNOWN`` (a NaN input) and ``CRASH``
    (unless ``thresholds.crash_allows_puts``) allow nothing. HOLD is never vetoed.
    """

    thresholds: RegimeThresholds = DEFAULT_THRESHOLDS
    name: str = field(default="regime_filter")

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto ``decision`` when its direction is not allowed in the current regime."""
        if decision.action not in _ENTRIES:
            return None
        feats = observation.features
        regime = classify_regime(feats, self.thresholds)
        allowed = self.thresholds.allowed(regime)
        if decision.action in allowed:
            return None
        shown = ", ".join(f"{c}={float(feats[c]):.4g}" for c in RULE_INPUTS)
        allowed_txt = "/".join(sorted(a.name for a in allowed)) or "nothing"
        return Veto(
            self.name,
            f"{decision.action.name} not allowed in regime {regime.value} "
            f"(allows {allowed_txt}); {shown}",
        )


@dataclass(frozen=True)
class RegimeConflictGate:
    """Vetoes an entry against a confident HMM trend.

    Reads ``hmm_trend`` (0 = down, 0.5 = neutral, 1 = up) and ``hmm_confidence`` from
    ``observation.context``. BUY_CALLS is vetoed when ``hmm_trend < low``, BUY_PUTS when
    ``hmm_trend > high``, in both cases only if ``hmm_confidence >= min_confidence``.
    Without HMM outputs in the context (or NaN ones) there is no evidence of conflict and
    the gate allows the entry; wiring the regime model is the composition root's job.
    """

    low: float = 0.3
    high: float = 0.7
    min_confidence: float = 0.6
    name: str = field(default="regime_conflict")

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto ``decision`` when it trades against a confident HMM trend."""
        if decision.action not in _ENTRIES:
            return None
        trend = float(observation.context.get("hmm_trend", math.nan))
        conf = float(observation.context.get("hmm_confidence", math.nan))
        if math.isnan(trend) or math.isnan(conf) or conf < self.min_confidence:
            return None
        if decision.action == Action.BUY_CALLS and trend < self.low:
            side = f"hmm_trend={trend:.3f} < {self.low}"
        elif decision.action == Action.BUY_PUTS and trend > self.high:
            side = f"hmm_trend={trend:.3f} > {self.high}"
        else:
            return None
        return Veto(
            self.name,
            f"{decision.action.name} against the HMM trend: {side} with "
            f"hmm_confidence={conf:.3f} >= {self.min_confidence}",
        )
