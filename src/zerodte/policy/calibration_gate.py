"""The calibration gate: block entries whose learned P(profit) is too low.

The gate owns a :class:`~zerodte.models.tracking.CalibrationTracker`. The engine (or a
research loop) calls :meth:`CalibrationGate.observe_trade` for every closed trade with the
raw confidence stored on it (trade column ``ml_confidence``). Once ``min_trades`` trades are
known, an entry whose calibrated P(profit) is below ``min_prob`` is vetoed. The raw
confidence comes from ``decision.confidence``, else ``ml_confidence`` in the decision's or
the observation's context; an entry without one is let through (nothing to judge).
"""

from __future__ import annotations

import math
from typing import Any

from zerodte.config.root import Settings
from zerodte.models.tracking import CalibrationTracker
from zerodte.types import Action, Decision, Observation, Veto


def raw_confidence(observation: Observation, decision: Decision) -> float | None:
    """The raw model confidence behind ``decision`` (see the module docstring)."""
    if decision.confidence is not None:
        return float(decision.confidence)
    for ctx in (decision.context, observation.context):
        value = ctx.get("ml_confidence")
        if isinstance(value, int | float) and not math.isnan(value):
            return float(value)
    return None


class CalibrationGate:
    """Veto entries with calibrated P(profit) < ``min_prob`` after ``min_trades`` trades."""

    name = "calibration"

    def __init__(self, min_prob: float = 0.42, min_trades: int = 30) -> None:
        self.min_prob = min_prob
        self.tracker = CalibrationTracker(min_trades)

    @classmethod
    def from_settings(cls, settings: Settings) -> CalibrationGate:
        """From ``gates.calibration_min_prob`` and ``gates.calibration_min_trades``."""
        g = settings.gates
        return cls(g.calibration_min_prob, g.calibration_min_trades)

    def observe_trade(self, trade: dict[str, Any]) -> None:
        """Learn from one closed trade row (``ml_confidence``, ``pnl``)."""
        conf = trade.get("ml_confidence")
        pnl = trade.get("pnl")
        if conf is None or pnl is None:
            return
        self.tracker.record(float(conf), float(pnl))

    def calibrated(self, raw: float | None) -> float | None:
        """Calibrated P(profit) for a raw confidence (``None`` while unknown)."""
        return None if raw is None else self.tracker.calibrated(raw)

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto a low-probability entry once the tracker has enough trades."""
        if decision.action == Action.HOLD:
            return None
        p = self.calibrated(raw_confidence(observation, decision))
        if p is None or p >= self.min_prob:
            return None
        return Veto(
            self.name,
            f"calibrated P(profit) {p:.3f} < {self.min_prob:g} "
            f"(learned from {self.tracker.n_trades} trades)",
        )


def build_calibration_gates(settings: Settings) -> list[CalibrationGate]:
    """``[CalibrationGate]`` when ``gates.calibration_enabled`` else ``[]``."""
    return [CalibrationGate.from_settings(settings)] if settings.gates.calibration_enabled else []
