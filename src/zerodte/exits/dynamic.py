"""Greeks-aware stop and take-profit, and the dynamic exit evaluator.

**Greeks-aware** (``exits.greeks.enabled``): the stop and the take-profit move with VIX and
the option's |delta| (``quote.delta``; a straddle's is the sum of its legs')::

    scale = clip((VIX / vix_ref) * (delta_ref / max(|delta|, 0.05)), min_scale, max_scale)
    stop  = stop_loss_pct * scale;   target = take_profit_pct * scale

A high VIX or a low delta (the premium swings more in percent) widens both; a calm market
or a deep option tightens them. Without a delta or a VIX the scale is 1.

**Dynamic exit evaluator** (``exits.dynamic.enabled``, off by default; after the trailing
rules, before the time rules). Each check is switchable; the first that fires wins, with
reason ``dynamic_exit`` and the check named in the detail. ``d`` is +1 for a call, -1 for
a put (0 for a straddle: the directional checks skip it); the entry values are those of
the first evaluation after the fill (the rule remembers them per position)::

    thesis_invalidation  d (p_up - p_down) <= -0.15 now (the predictions turned against it)
    confidence_collapse  hmm_confidence < (1 - confidence_drop) x its entry value
    regime_change        the HMM trend's side (beyond 0.45 / 0.55) flipped against d
    theta_vs_gain        pnl <= 0 and |theta| 15/390 > |delta| S (rv_15m/100) sqrt(15/(252 390))
                         (15 minutes of decay outweigh the expected 15-minute move's gain)
    momentum_exhaustion  pnl > 0 and (call: rsi_14 > high and jerk_5m < 0; put: mirror)
    flat_time_decay      minutes_held >= flat_minutes and |pnl_pct| < flat_band_pct
    profit_protection    max_gain_pct >= lock_above_pct and pnl_pct <= max_gain_pct - pullback

Unknown inputs (NaN, absent) never fire a check.
"""

from __future__ import annotations

import math

from zerodte.config.decision_settings import DynamicExitSettings, GreeksExitSettings
from zerodte.exits.base import TrackedPosition
from zerodte.types import SESSION_MINUTES, ExitReason, ExitSignal, Observation, OptionQuote, Right

_FIFTEEN_MIN_YEARS = 15.0 / (252.0 * SESSION_MINUTES)


def greeks_scale(config: GreeksExitSettings, quote: OptionQuote | None, vix: float) -> float:
    """The stop/target multiplier (module docstring)."""
    delta = math.nan if quote is None else quote.delta
    if not (math.isfinite(delta) and math.isfinite(vix) and vix > 0):
        return 1.0
    raw = (vix / config.vix_ref) * (config.delta_ref / max(abs(delta), 0.05))
    return min(max(raw, config.min_scale), config.max_scale)


class GreeksStopLoss:
    """Stop loss at ``stop_loss_pct x scale`` (replaces the plain stop when enabled)."""

    name = ExitReason.STOP_LOSS.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, stop_pct: float, min_hold: float, config: GreeksExitSettings) -> None:
        self.stop_pct, self.min_hold, self.config = stop_pct, min_hold, config

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire at the scaled stop."""
        stop = self.stop_pct * greeks_scale(self.config, quote, observation.vix)
        if position.minutes_held > self.min_hold and position.pnl_pct <= -stop:
            return ExitSignal(
                ExitReason.STOP_LOSS, None, f"pnl {position.pnl_pct:.2f}% <= -{stop:.2f}% (greeks)"
            )
        return None


class GreeksTakeProfit:
    """Take profit at ``take_profit_pct x scale``."""

    name = ExitReason.TAKE_PROFIT.value
    feature_inputs: tuple[str, ...] = ()
    needs_quote = True

    def __init__(self, target_pct: float, config: GreeksExitSettings) -> None:
        self.target_pct, self.config = target_pct, config

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Fire at the scaled target."""
        target = self.target_pct * greeks_scale(self.config, quote, observation.vix)
        if position.pnl_pct >= target:
            return ExitSignal(
                ExitReason.TAKE_PROFIT,
                None,
                f"pnl {position.pnl_pct:.2f}% >= {target:.2f}% (greeks)",
            )
        return None


def _get(mapping: object, key: str) -> float:
    value = getattr(mapping, "get", lambda _k, _d=None: None)(key, None)
    return math.nan if value is None else float(value)


class DynamicExit:
    """The dynamic exit evaluator (module docstring)."""

    name = ExitReason.DYNAMIC.value
    needs_quote = True
    feature_inputs = ("rsi_14", "jerk_5m", "rv_15m")

    def __init__(self, config: DynamicExitSettings) -> None:
        self.config = config
        self._entry: dict[tuple[str, int], dict[str, float]] = {}

    def _direction(self, position: TrackedPosition) -> float:
        p = position.position
        if p.group:
            return 0.0
        return 1.0 if p.contract.right is Right.CALL else -1.0

    def evaluate(
        self, position: TrackedPosition, quote: OptionQuote | None, observation: Observation
    ) -> ExitSignal | None:
        """Run the enabled checks in order; the first that fires wins."""
        c = self.config
        ctx, feats = observation.context, observation.features
        key = (position.position.tag, position.position.entry_time.value)
        entry = self._entry.setdefault(
            key,
            {"hmm_confidence": _get(ctx, "hmm_confidence"), "hmm_trend": _get(ctx, "hmm_trend")},
        )
        if len(self._entry) > 256:  # closed positions never come back
            self._entry.pop(next(iter(self._entry)))
        d = self._direction(position)
        pnl = position.pnl_pct
        edge = _get(ctx, "direction_prob_up") - _get(ctx, "direction_prob_down")
        trend = _get(ctx, "hmm_trend")
        side = 1.0 if trend > 0.55 else (-1.0 if trend < 0.45 else 0.0)
        entry_side = entry["hmm_trend"]
        entry_side = 1.0 if entry_side > 0.55 else (-1.0 if entry_side < 0.45 else 0.0)
        rsi, jerk = _get(feats, "rsi_14"), _get(feats, "jerk_5m")
        checks: list[tuple[bool, str, bool]] = [
            (c.thesis_invalidation, "thesis_invalidation", d != 0 and d * edge <= -0.15),
            (
                c.confidence_collapse,
                "confidence_collapse",
                _get(ctx, "hmm_confidence") < (1.0 - c.confidence_drop) * entry["hmm_confidence"],
            ),
            (c.regime_change, "regime_change", d != 0 and side == -d and entry_side != -d),
            (c.theta_vs_gain, "theta_vs_gain", pnl <= 0 and self._theta_wins(quote, observation)),
            (
                c.momentum_exhaustion,
                "momentum_exhaustion",
                pnl > 0
                and (
                    (d > 0 and rsi > c.exhaustion_rsi_high and jerk < 0)
                    or (d < 0 and rsi < c.exhaustion_rsi_low and jerk > 0)
                ),
            ),
            (
                c.flat_time_decay,
                "flat_time_decay",
                position.minutes_held >= c.flat_minutes and abs(pnl) < c.flat_band_pct,
            ),
            (
                c.profit_protection,
                "profit_protection",
                position.max_gain_pct >= c.lock_above_pct
                and pnl <= position.max_gain_pct - c.pullback_pct,
            ),
        ]
        for enabled, check, fires in checks:
            if enabled and fires:
                return ExitSignal(ExitReason.DYNAMIC, None, f"{check}: pnl {pnl:.2f}%")
        return None

    def _theta_wins(self, quote: OptionQuote | None, observation: Observation) -> bool:
        if quote is None:
            return False
        rv = _get(observation.features, "rv_15m")
        theta, delta = quote.theta, quote.delta
        if not all(math.isfinite(x) for x in (rv, theta, delta)):
            return False
        decay = abs(theta) * 15.0 / SESSION_MINUTES
        gain = abs(delta) * observation.spy * (rv / 100.0) * math.sqrt(_FIFTEEN_MIN_YEARS)
        return decay > gain
