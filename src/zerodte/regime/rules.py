"""Rule-based five-regime filter with the entry directions each regime allows.

Rules, applied in this order (first match wins), on default features:

1. ``UNKNOWN`` if any input is NaN (warm-up or missing data): no entries.
2. ``CRASH`` if ``ret_30m <= crash_ret_30m`` (-1 % in 30 minutes), or ``vix_level >=
   crash_vix`` with ``vix_change_15m >= crash_vix_jump`` and ``ret_15m < 0``.
   Allowed: nothing by default. Buying 0DTE puts into a crash means paying the widest
   spreads and richest implied volatility of the year, and the snap-back rallies are as
   violent as the fall; ``crash_allows_puts=True`` permits puts.
3. ``BULL_TREND`` if ``adx_14 >= trend_adx`` and ``di_diff_14 > 0`` and ``ret_30m > 0``:
   calls only.
4. ``BEAR_TREND`` if ``adx_14 >= trend_adx`` and ``di_diff_14 < 0`` and ``ret_30m < 0``:
   puts only.
5. ``HIGH_VOL_RANGE`` if ``vix_level >= high_vix`` or ``rv_30m >= high_rv``: both directions
   (range trading; the sizing and exit rules carry the extra risk).
6. ``LOW_VOL_RANGE`` otherwise: both directions.

The scalar :func:`classify_regime` and the vectorised :func:`classify_regimes` share the
thresholds and agree row by row (tested).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from zerodte.types import Action

RULE_INPUTS: tuple[str, ...] = (
    "ret_15m",
    "ret_30m",
    "adx_14",
    "di_diff_14",
    "vix_level",
    "vix_change_15m",
    "rv_30m",
)


class Regime(StrEnum):
    """Rule-based market regime."""

    CRASH = "crash"
    BULL_TREND = "bull_trend"
    BEAR_TREND = "bear_trend"
    HIGH_VOL_RANGE = "high_vol_range"
    LOW_VOL_RANGE = "low_vol_range"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RegimeThresholds:
    """Thresholds of the rule-based filter (log returns; VIX and rv in percent points)."""

    crash_ret_30m: float = -0.010
    crash_vix: float = 30.0
    crash_vix_jump: float = 2.0
    trend_adx: float = 25.0
    high_vix: float = 22.0
    high_rv: float = 25.0
    crash_allows_puts: bool = False

    def allowed(self, regime: Regime) -> frozenset[Action]:
        """Entry actions allowed in ``regime``."""
        both = frozenset({Action.BUY_CALLS, Action.BUY_PUTS})
        table: dict[Regime, frozenset[Action]] = {
            Regime.CRASH: frozenset({Action.BUY_PUTS}) if self.crash_allows_puts else frozenset(),
            Regime.BULL_TREND: frozenset({Action.BUY_CALLS}),
            Regime.BEAR_TREND: frozenset({Action.BUY_PUTS}),
            Regime.HIGH_VOL_RANGE: both,
            Regime.LOW_VOL_RANGE: both,
            Regime.UNKNOWN: frozenset(),
        }
        return table[regime]


DEFAULT_THRESHOLDS = RegimeThresholds()


def classify_regime(
    features: Mapping[str, float], thresholds: RegimeThresholds = DEFAULT_THRESHOLDS
) -> Regime:
    """Classify one row of features (see the module docstring for the rules)."""
    try:
        v = {c: float(features[c]) for c in RULE_INPUTS}
    except KeyError as exc:
        raise KeyError(f"classify_regime needs features {RULE_INPUTS}; missing {exc}") from None
    if any(math.isnan(x) for x in v.values()):
        return Regime.UNKNOWN
    th = thresholds
    if v["ret_30m"] <= th.crash_ret_30m or (
        v["vix_level"] >= th.crash_vix
        and v["vix_change_15m"] >= th.crash_vix_jump
        and v["ret_15m"] < 0
    ):
        return Regime.CRASH
    if v["adx_14"] >= th.trend_adx and v["di_diff_14"] > 0 and v["ret_30m"] > 0:
        return Regime.BULL_TREND
    if v["adx_14"] >= th.trend_adx and v["di_diff_14"] < 0 and v["ret_30m"] < 0:
        return Regime.BEAR_TREND
    if v["vix_level"] >= th.high_vix or v["rv_30m"] >= th.high_rv:
        return Regime.HIGH_VOL_RANGE
    return Regime.LOW_VOL_RANGE


def classify_regimes(
    features: pd.DataFrame, thresholds: RegimeThresholds = DEFAULT_THRESHOLDS
) -> pd.Series:
    """Vectorised :func:`classify_regime`: a Series of :class:`Regime` values (strings)."""
    missing = [c for c in RULE_INPUTS if c not in features.columns]
    if missing:
        raise KeyError(f"classify_regimes needs features {RULE_INPUTS}; missing {missing}")
    f = {c: features[c].to_numpy(dtype=np.float64) for c in RULE_INPUTS}
    th = thresholds
    unknown = np.zeros(len(features), dtype=bool)
    for arr in f.values():
        unknown |= np.isnan(arr)
    crash = (f["ret_30m"] <= th.crash_ret_30m) | (
        (f["vix_level"] >= th.crash_vix)
        & (f["vix_change_15m"] >= th.crash_vix_jump)
        & (f["ret_15m"] < 0)
    )
    strong = f["adx_14"] >= th.trend_adx
    bull = strong & (f["di_diff_14"] > 0) & (f["ret_30m"] > 0)
    bear = strong & (f["di_diff_14"] < 0) & (f["ret_30m"] < 0)
    high = (f["vix_level"] >= th.high_vix) | (f["rv_30m"] >= th.high_rv)
    labels = np.select(
        [unknown, crash, bull, bear, high],
        [
            r.value
            for r in (
                Regime.UNKNOWN,
                Regime.CRASH,
                Regime.BULL_TREND,
                Regime.BEAR_TREND,
                Regime.HIGH_VOL_RANGE,
            )
        ],
        default=Regime.LOW_VOL_RANGE.value,
    )
    return pd.Series(labels, index=features.index, name="regime", dtype=object)
