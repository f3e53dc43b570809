"""Trade labels, penalty points and setup archetypes (pure functions of recorded values).

Labels, the first rule that holds (``loss = pnl < 0``, ``win = pnl > 0``, ``R`` the sum of
the available regrets)::

    model_failure     entry + exit + decay > 2.0
    conflict_failure  loss, mesh confusion (agent alignment < 0.6) and R > 1.0
    trap_loss         loss and trap_entry >= 0.5
    decay_loss        loss and decay >= 0.5
    late_exit_loss    loss and late_exit >= 0.5
    pin_loss          loss and pin >= 0.5
    timing_loss       loss and timing >= 0.5
    good_trade        win and R < 1.0
    lucky_win         win (R >= 1.0: it paid despite the regrets)
    scratch           pnl == 0
    acceptable_loss   any other loss

Penalty points of a trade: ``+10`` when ``R > 2.5``, ``+15`` when ``exit + late_exit >
1.5``, ``+20`` on ``conflict_failure`` (they add up).

Archetypes, decided at the decision bar ``t0`` from what was known then (first that holds;
``d`` the direction, bands are 0.2 % of spot)::

    gamma_flip      the zero-gamma flip level (prior-day OI) is within the band of S_t0
    pin_fade        max pain is beyond the band and on d's side (trading toward the pin)
    trap_avoidance  within the last 5 bars the opposite side broke its 30-bar extreme
                    and S_t0 is back beyond that bar's close in d's direction
    momentum_break  S_t0 is at its 30-bar extreme in d's direction with d momentum_5m > 0
    fade_reversal   against the 15-minute momentum (d momentum_15m < 0), or a call with
                    RSI < 30 / a put with RSI > 70
    unclassified    none of these
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from zerodte.learning.path import MarketPath
from zerodte.learning.regret import is_breakout

LABELS: tuple[str, ...] = (
    "model_failure",
    "conflict_failure",
    "trap_loss",
    "decay_loss",
    "late_exit_loss",
    "pin_loss",
    "timing_loss",
    "good_trade",
    "lucky_win",
    "scratch",
    "acceptable_loss",
)
ARCHETYPES: tuple[str, ...] = (
    "gamma_flip",
    "pin_fade",
    "trap_avoidance",
    "momentum_break",
    "fade_reversal",
    "unclassified",
)
PENALTY_REGRET_SUM = 10.0
PENALTY_EXIT = 15.0
PENALTY_CONFLICT = 20.0


def _v(r: Mapping[str, float], key: str) -> float:
    """A regret for a threshold test: NaN (unavailable) never passes a threshold."""
    x = r.get(key, math.nan)
    return -math.inf if not math.isfinite(x) else float(x)


def regret_sum(r: Mapping[str, float]) -> tuple[float, int]:
    """(sum of the available regrets, how many were available)."""
    vals = [float(x) for x in r.values() if math.isfinite(x)]
    return float(sum(vals)), len(vals)


def label(r: Mapping[str, float], pnl: float, confused: bool) -> str:
    """The trade's label (module docstring)."""
    total, _ = regret_sum(r)
    loss, win = pnl < 0, pnl > 0
    if _v(r, "entry_regret") + _v(r, "exit_regret") + _v(r, "decay_regret") > 2.0:
        return "model_failure"
    if loss and confused and total > 1.0:
        return "conflict_failure"
    for key, name in (
        ("trap_entry_regret", "trap_loss"),
        ("decay_regret", "decay_loss"),
        ("late_exit_regret", "late_exit_loss"),
        ("pin_regret", "pin_loss"),
        ("timing_regret", "timing_loss"),
    ):
        if loss and _v(r, key) >= 0.5:
            return name
    if win:
        return "good_trade" if total < 1.0 else "lucky_win"
    return "scratch" if pnl == 0 else "acceptable_loss"


def penalty_points(r: Mapping[str, float], trade_label: str) -> float:
    """+10 / +15 / +20 penalty points (module docstring)."""
    total, _ = regret_sum(r)
    points = 0.0
    if total > 2.5:
        points += PENALTY_REGRET_SUM
    if _v(r, "exit_regret") + _v(r, "late_exit_regret") > 1.5:
        points += PENALTY_EXIT
    if trade_label == "conflict_failure":
        points += PENALTY_CONFLICT
    return points


def archetype(  # noqa: PLR0917 (one value per rule input)
    path: MarketPath,
    pos: int,
    direction: float,
    momentum_5m: float,
    momentum_15m: float,
    rsi_14: float,
    flip: float,
    max_pain: float,
    band: float = 0.002,
    trap_minutes: int = 5,
    lookback: int = 30,
) -> str:
    """The setup archetype of an entry at row ``pos`` (module docstring)."""
    spot = float(path.close[pos])
    width = band * spot
    if math.isfinite(flip) and abs(spot - flip) <= width:
        return "gamma_flip"
    toward = np.sign(max_pain - spot) == direction
    if math.isfinite(max_pain) and abs(max_pain - spot) > width and toward:
        return "pin_fade"
    for back in range(1, trap_minutes + 1):
        u = pos - back
        if u < 0 or path.session[u] != path.session[pos]:
            break
        brk, _ = is_breakout(path, u, -direction, lookback)
        if brk and direction * (spot - path.close[u]) > 0:
            return "trap_avoidance"
    brk_now, _ = is_breakout(path, pos, direction, lookback)
    if brk_now and direction * momentum_5m > 0:
        return "momentum_break"
    if (
        direction * momentum_15m < 0
        or (direction > 0 and rsi_14 < 30)
        or (direction < 0 and rsi_14 > 70)
    ):
        return "fade_reversal"
    return "unclassified"
