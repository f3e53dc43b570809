"""The V4 gates (expected value, regime attribution) and the regime quality filter.

Regimes here are the rule-based regimes of :func:`zerodte.regime.rules.classify_regime`
(from the features every run has), so the gates work without a predictor bundle.

**EV gate** (``gates.v4.ev_enabled``). Per regime, after ``w`` wins and ``l`` losses with
mean win ``W`` and mean loss ``L`` (dollars, ``L > 0``)::

    p   = (a0 + w) / (a0 + b0 + w + l)                  Beta(a0, b0) prior on the win rate
    R   = (k R0 + (w + l) W / L) / (k + w + l)          payoff ratio shrunk to R0 (k trades)
    EV  = p R - (1 - p)                                 per dollar risked

An entry passes while ``EV >= 0`` (the prior, 0.5 x 1 - 0.5 = 0, passes: no evidence, no
veto). **Regime attribution** (``gates.v4.attribution_enabled``): per regime the posterior
mean P&L per trade ``sum(pnl) / (n + n0)`` (shrunk to 0 by ``n0 = prior_pnl_trades``); a
regime with ``n >= min_trades`` and a negative posterior mean is disabled; it is re-enabled
after ``reenable_after_trades`` trades in other regimes, with its history halved (so it
must earn its place again, but faster than from scratch).

**Regime quality** (``gates.regime_quality``, the predecessor's Phase 6; off by default:
it measured harmful there). ``Q = .30 clarity + .25 sweet + .20 conf + .15 stability + .10
liquidity`` with ``clarity = 2 |hmm_trend - .5|``, ``sweet = 1`` inside ``[vix_sweet_low,
vix_sweet_high]`` falling linearly to 0 ten points outside, ``conf = hmm_confidence``,
``stability = max(0, 1 - |vix_change_15m| / max_vix_change_15m)``, ``liquidity =
hmm_liquidity``. Vetoes (each logged with its numbers): ``Q < min_quality``; a rapid
transition (the trend HMM's most likely state has probability < 0.6: it is between
states); VIX and the HMM disagreeing (VIX above the sweet spot while ``hmm_volatility <
0.3``, or below it while ``hmm_volatility > 0.7``). Without HMM outputs it vetoes nothing.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zerodte.config.decision_settings import RegimeQualitySettings, V4GateSettings
from zerodte.policy.memory import EntryMemory
from zerodte.regime.rules import classify_regime
from zerodte.types import Action, Decision, Observation, Veto

logger = logging.getLogger(__name__)


def _regime(observation: Observation) -> str:
    """The rule-based regime; ``"unknown"`` when the feature set lacks its inputs."""
    try:
        return str(classify_regime(observation.features).value)
    except KeyError:
        return "unknown"


@dataclass
class _RegimeBook:
    n: int = 0
    wins: int = 0
    losses: int = 0
    win_sum: float = 0.0
    loss_sum: float = 0.0
    pnl: float = 0.0

    def add(self, pnl: float) -> None:
        self.n += 1
        self.pnl += pnl
        if pnl > 0:
            self.wins += 1
            self.win_sum += pnl
        elif pnl < 0:
            self.losses += 1
            self.loss_sum -= pnl

    def halve(self) -> None:
        for name in ("n", "wins", "losses"):
            setattr(self, name, getattr(self, name) // 2)
        self.win_sum /= 2
        self.loss_sum /= 2
        self.pnl /= 2


@dataclass
class _RegimeLearner:
    memory_: EntryMemory = field(default_factory=EntryMemory, init=False)
    books_: dict[str, _RegimeBook] = field(default_factory=dict, init=False)

    def _book(self, regime: str) -> _RegimeBook:
        return self.books_.setdefault(regime, _RegimeBook())

    def observe_trade(self, row: Mapping[str, Any]) -> None:
        """Book a closed trade under the regime seen when it was let through."""
        regime = self.memory_.find(row.get("entry_time"))
        if regime is not None:
            self._book(regime).add(float(row["pnl"]))
            self._booked(regime)

    def _booked(self, regime: str) -> None:
        """Hook after a trade is booked."""


@dataclass
class ExpectedValueGate(_RegimeLearner):
    """Positive expected value under a Bayesian prior, per regime (module docstring)."""

    config: V4GateSettings = field(default_factory=V4GateSettings)
    name: str = "ev"

    def expected_value(self, regime: str) -> tuple[float, float, float]:
        """``(EV, p, R)`` of ``regime`` under the posterior."""
        c, b = self.config, self._book(regime)
        p = (c.prior_wins + b.wins) / (c.prior_wins + c.prior_losses + b.wins + b.losses)
        n = b.wins + b.losses
        ratio = c.prior_payoff
        if b.wins and b.losses:
            observed = (b.win_sum / b.wins) / (b.loss_sum / b.losses)
            ratio = (c.prior_payoff_weight * c.prior_payoff + n * observed) / (
                c.prior_payoff_weight + n
            )
        return p * ratio - (1 - p), p, ratio

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto when the regime's posterior EV is negative."""
        if decision.action == Action.HOLD:
            return None
        regime = _regime(observation)
        ev, p, ratio = self.expected_value(regime)
        if ev < 0:
            return Veto(
                self.name, f"regime {regime}: EV {ev:+.3f} (win rate {p:.2f}, payoff {ratio:.2f})"
            )
        self.memory_.remember(observation.time, regime)
        return None


@dataclass
class RegimeAttributionGate(_RegimeLearner):
    """Disables regimes whose posterior mean P&L is negative (module docstring)."""

    config: V4GateSettings = field(default_factory=V4GateSettings)
    name: str = "regime_attribution"
    disabled_: dict[str, int] = field(default_factory=dict, init=False)
    trades_: int = field(default=0, init=False)

    def posterior_mean(self, regime: str) -> float:
        """``sum(pnl) / (n + n0)``."""
        b = self._book(regime)
        return b.pnl / (b.n + self.config.prior_pnl_trades)

    def _booked(self, regime: str) -> None:
        self.trades_ += 1
        c = self.config
        for name, since in list(self.disabled_.items()):
            if name != regime and self.trades_ - since >= c.reenable_after_trades:
                self._book(name).halve()
                del self.disabled_[name]
                logger.info(
                    "regime %s re-enabled after %d trades elsewhere", name, c.reenable_after_trades
                )
        b = self._book(regime)
        if regime not in self.disabled_ and b.n >= c.min_trades and self.posterior_mean(regime) < 0:
            self.disabled_[regime] = self.trades_
            logger.info(
                "regime %s disabled: posterior mean %.2f over %d trades",
                regime,
                self.posterior_mean(regime),
                b.n,
            )

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto entries in a disabled regime."""
        if decision.action == Action.HOLD:
            return None
        regime = _regime(observation)
        if regime in self.disabled_:
            b = self._book(regime)
            return Veto(
                self.name,
                f"regime {regime} disabled: posterior mean "
                f"${self.posterior_mean(regime):+.2f}/trade over {b.n} trades",
            )
        self.memory_.remember(observation.time, regime)
        return None


def quality_score(v: Mapping[str, float], c: RegimeQualitySettings) -> dict[str, float]:
    """The five components and the weighted score ``Q`` (module docstring)."""
    vix = v["vix"]
    outside = max(c.vix_sweet_low - vix, vix - c.vix_sweet_high, 0.0)
    parts = {
        "clarity": 2.0 * abs(v["hmm_trend"] - 0.5),
        "sweet": max(0.0, 1.0 - outside / 10.0),
        "confidence": v["hmm_confidence"],
        "stability": max(0.0, 1.0 - abs(v.get("vix_change_15m", 0.0)) / c.max_vix_change_15m),
        "liquidity": v["hmm_liquidity"],
    }
    weights = {
        "clarity": 0.30,
        "sweet": 0.25,
        "confidence": 0.20,
        "stability": 0.15,
        "liquidity": 0.10,
    }
    parts["quality"] = sum(weights[k] * parts[k] for k in weights)
    return parts


@dataclass
class RegimeQualityGate:
    """The regime quality filter (module docstring)."""

    config: RegimeQualitySettings
    name: str = "regime_quality"

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        """Veto low quality, rapid transitions and VIX/HMM conflicts."""
        if decision.action == Action.HOLD:
            return None
        ctx, c = observation.context, self.config
        keys = ("hmm_trend", "hmm_volatility", "hmm_liquidity", "hmm_confidence")
        if any(k not in ctx or math.isnan(float(ctx[k])) for k in keys):
            return None
        v = {k: float(ctx[k]) for k in keys}
        v["vix"] = observation.vix
        change = observation.features.get("vix_change_15m", math.nan)
        v["vix_change_15m"] = 0.0 if math.isnan(change) else float(change)
        probs = [float(ctx.get(f"hmm_trend_p{k}", math.nan)) for k in range(3)]
        if all(not math.isnan(p) for p in probs) and max(probs) < 0.6:
            veto = Veto(
                self.name,
                f"rapid transition: trend state probabilities {[round(p, 2) for p in probs]}",
            )
        elif observation.vix > c.vix_sweet_high and v["hmm_volatility"] < 0.3:
            veto = Veto(
                self.name,
                f"VIX {observation.vix:.1f} high but hmm_volatility {v['hmm_volatility']:.2f} calm",
            )
        elif observation.vix < c.vix_sweet_low and v["hmm_volatility"] > 0.7:
            veto = Veto(
                self.name,
                f"VIX {observation.vix:.1f} low but hmm_volatility {v['hmm_volatility']:.2f} high",
            )
        else:
            parts = quality_score(v, c)
            if parts["quality"] >= c.min_quality:
                return None
            shown = ", ".join(f"{k}={x:.2f}" for k, x in parts.items())
            veto = Veto(self.name, f"quality {parts['quality']:.2f} < {c.min_quality:g} ({shown})")
        logger.debug("regime quality veto at %s: %s", observation.time, veto.reason)
        return veto
