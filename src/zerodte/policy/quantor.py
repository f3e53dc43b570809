"""Quantor: the fuzzy position sizer, the volatility analyzer and one ``analyze`` facade.

**Fuzzy sizer.** Nine factors, each mapped to a favourability in [0, 1] by a documented
membership function (``tri(x; a, b, c)`` rises linearly from ``a`` to a peak at ``b`` and
falls to ``c``; ``ramp(x; a, b)`` rises from 0 at ``a`` to 1 at ``b``), for an entry in
direction ``d`` (+1 call, -1 put; a straddle counts every directional factor as 0.5)::

    rsi        tri(d (rsi_14 - 50); -10, 15, 35)       momentum, not yet overbought
    adx        ramp(adx_14; 15, 35)                     a trend to ride
    bollinger  tri(d (bb_pos_20 - .5); -.2, .2, .45)   room before the band
    atr        tri(atr_14_pct; .01, .05, .15)          enough movement, not chaos
    volume     tri(volume_spike; .8, 2, 5)             participation, not a blow-off
    macd       ramp(d macd_hist; -.005, .01)
    stochastic tri(d (stoch_k_14 - 50); -10, 15, 40)
    obv        ramp(d obv_trend_30m; -.1, .4)
    momentum   ramp(d momentum_15m; -.02, .15)

``score`` = the mean of the known factors (an unknown factor is left out; with fewer than
five known, the score is 0 and nothing is traded). Contracts::

    risk budget = equity * max_risk_fraction * score,   per contract = ask * 100 (all at risk)
    contracts   = min(floor(budget / per contract), max_contracts, affordable)

and zero (with the reason) when ``score < min_score``; equity and the max loss (the whole
premium, or ``exits.max_loss_per_trade`` when smaller) are inputs.

**Volatility analyzer.** Realised volatility ``rv_30m`` (annualised points), the VIX and the
variance risk premium ``vrp = VIX - rv_30m``; the IV skew from the chain, ``iv(put, K_p) -
iv(call, K_c)`` at strikes 1 % out of the money on each side when a quote book is given
(else unknown). Trading is refused when ``vrp > max_vrp`` (options priced far above what
the market moves: premium sellers' territory, not a buyer's).

:func:`analyze` returns ``(should_trade, position_size, reasons)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from zerodte.config.decision_settings import QuantorSettings
from zerodte.types import CONTRACT_MULTIPLIER, AccountState, OptionContract, QuoteBook, Right


def tri(x: float, a: float, b: float, c: float) -> float:
    """Triangular membership: 0 at ``a``, 1 at ``b``, 0 at ``c``."""
    if math.isnan(x) or x <= a or x >= c:
        return 0.0
    return (x - a) / (b - a) if x <= b else (c - x) / (c - b)


def ramp(x: float, a: float, b: float) -> float:
    """Ramp membership: 0 below ``a``, 1 above ``b``, linear between."""
    if math.isnan(x):
        return 0.0
    return min(max((x - a) / (b - a), 0.0), 1.0)


def _v(features: Mapping[str, float], name: str) -> float:
    value = features.get(name)
    return math.nan if value is None else float(value)


FACTORS = ("rsi", "adx", "bollinger", "atr", "volume", "macd", "stochastic", "obv", "momentum")


def fuzzy_factors(features: Mapping[str, float], direction: float) -> dict[str, float]:
    """The nine memberships (NaN where the input is unknown)."""
    d = direction

    def known(*names: str) -> bool:
        return all(not math.isnan(_v(features, n)) for n in names)

    def directional(name: str, fn: object) -> float:
        x = _v(features, name)
        if math.isnan(x):
            return math.nan
        if d == 0:
            return 0.5
        return fn(x)  # type: ignore[operator]

    out = {
        "rsi": directional("rsi_14", lambda x: tri(d * (x - 50), -10, 15, 35)),
        "adx": ramp(_v(features, "adx_14"), 15, 35) if known("adx_14") else math.nan,
        "bollinger": directional("bb_pos_20", lambda x: tri(d * (x - 0.5), -0.2, 0.2, 0.45)),
        "atr": tri(_v(features, "atr_14_pct"), 0.01, 0.05, 0.15)
        if known("atr_14_pct")
        else math.nan,
        "volume": tri(_v(features, "volume_spike"), 0.8, 2.0, 5.0)
        if known("volume_spike")
        else math.nan,
        "macd": directional("macd_hist", lambda x: ramp(d * x, -0.005, 0.01)),
        "stochastic": directional("stoch_k_14", lambda x: tri(d * (x - 50), -10, 15, 40)),
        "obv": directional("obv_trend_30m", lambda x: ramp(d * x, -0.1, 0.4)),
        "momentum": directional("momentum_15m", lambda x: ramp(d * x, -0.02, 0.15)),
    }
    return out


def fuzzy_score(factors: Mapping[str, float]) -> float:
    """Mean of the known factors; 0 with fewer than five known."""
    known = [v for v in factors.values() if not math.isnan(v)]
    return sum(known) / len(known) if len(known) >= 5 else 0.0


@dataclass(frozen=True)
class VolatilityReading:
    """What the volatility analyzer saw."""

    realised_vol: float
    vix: float
    vrp: float
    iv_skew: float


def analyze_volatility(
    features: Mapping[str, float],
    vix: float,
    *,
    quotes: QuoteBook | None = None,
    spot: float = math.nan,
    expiry: object = None,
    strike_step: float = 1.0,
) -> VolatilityReading:
    """Realised vol, VIX, VRP and (with a quote book) the 1 %-OTM put-call IV skew."""
    rv = _v(features, "rv_30m")
    skew = math.nan
    if quotes is not None and math.isfinite(spot) and expiry is not None:
        kp = math.floor(spot * 0.99 / strike_step) * strike_step
        kc = math.ceil(spot * 1.01 / strike_step) * strike_step
        put = quotes.quote(OptionContract("SPY", expiry, Right.PUT, kp), at="close")  # type: ignore[arg-type]
        call = quotes.quote(OptionContract("SPY", expiry, Right.CALL, kc), at="close")  # type: ignore[arg-type]
        if put is not None and call is not None:
            skew = float(put.iv - call.iv)
    return VolatilityReading(rv, vix, vix - rv if not math.isnan(rv) else math.nan, skew)


@dataclass(frozen=True)
class QuantorResult:
    """``analyze``'s answer."""

    should_trade: bool
    position_size: int
    reasons: tuple[str, ...]
    score: float
    factors: dict[str, float] = field(default_factory=dict)
    volatility: VolatilityReading | None = None


def analyze(
    features: Mapping[str, float],
    *,
    direction: float,
    ask: float,
    account: AccountState,
    vix: float,
    config: QuantorSettings,
    max_loss: float = math.inf,
    fee_per_contract: float = 0.65,
    quotes: QuoteBook | None = None,
    spot: float = math.nan,
    expiry: object = None,
) -> QuantorResult:
    """Should this entry be taken, how many contracts, and why (module docstring)."""
    factors = fuzzy_factors(features, direction)
    score = fuzzy_score(factors)
    vol = analyze_volatility(features, vix, quotes=quotes, spot=spot, expiry=expiry)
    reasons = [
        f"fuzzy score {score:.2f} ({sum(not math.isnan(v) for v in factors.values())} factors)"
    ]
    if not math.isnan(vol.vrp):
        reasons.append(f"vrp {vol.vrp:+.1f} (VIX {vix:.1f} - rv {vol.realised_vol:.1f})")
    if score < config.min_score:
        return QuantorResult(
            False, 0, (*reasons, f"score below {config.min_score:g}"), score, factors, vol
        )
    if not math.isnan(vol.vrp) and vol.vrp > config.max_vrp:
        return QuantorResult(
            False, 0, (*reasons, f"vrp above {config.max_vrp:g}"), score, factors, vol
        )
    if not (math.isfinite(ask) and ask > 0):
        return QuantorResult(False, 0, (*reasons, f"no usable ask ({ask!r})"), score, factors, vol)
    per_contract = min(ask * CONTRACT_MULTIPLIER, max_loss) + 2 * fee_per_contract
    budget = account.equity * config.max_risk_fraction * score
    affordable = math.floor(account.buying_power / (ask * CONTRACT_MULTIPLIER + fee_per_contract))
    size = max(min(math.floor(budget / per_contract), config.max_contracts, affordable), 0)
    reasons.append(f"risk budget ${budget:,.2f} / ${per_contract:,.2f} per contract -> {size}")
    return QuantorResult(size >= 1, size, tuple(reasons), score, factors, vol)
