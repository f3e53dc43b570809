"""Regret scores of a closed trade: seven numbers in [0, 1] from recorded data only.

Notation (per trade): direction ``d`` (+1 call, -1 put); ``t0`` the decision bar (the last
cycle before the entry fill whose executed action was the entry); ``S_u`` SPY's close at
bar ``u``; ``C = entry_price x 100`` the premium paid per contract; ``loss = [pnl < 0]``;
``g_h(u)`` the ghost reward (dollars per contract, net of friction) of the trade's right
decided at bar ``u`` and held ``h`` minutes (``zerodte.qscorer.ghosts``). ``clip`` is to
[0, 1]. Defaults in :class:`RegretConfig`.

``entry_regret``
    ``clip((max_{u in [t0-W, t0+W]} g_h(u) - g_h(t0)) / C)``: how much better the best
    entry within ``W`` minutes around the decision was, in premiums. Known at
    ``t0 + W + h + 2`` minutes (the ghost of the last bar ends there).
``exit_regret``
    ``clip(max(missed, overstay))`` with ``missed = |delta| 100 max(0, max_{u in (x, x+E]}
    d (S_u - S_x)) / C`` (continuation after the exit bar ``x``) and ``overstay =
    (max_gain_pct - gross_pct) / 100`` (the share of the premium given back from the best
    mark of the hold; ``gross_pct = (exit - entry) / entry x 100``). Known at ``x + E``.
``timing_regret``
    ``loss x max(clip((a* - alignment) / a*), [block = chop_mid] (1 - ER_30))``: entered
    with agent alignment under ``a* = 0.6`` or in mid-day chop; ``ER_30 = |S_t0 - S_{t0-30}|
    / sum |dS|`` over the 30 bars to ``t0`` (Kaufman's efficiency ratio: 1 a straight line,
    near 0 chop; the chop term is absent with fewer than 5 bars). Known at ``t0``.
``decay_regret``
    ``loss x clip(100 (V(S_e, t_e) - V(S_e, t_x)) / (-pnl per contract))``: theta's share of
    the loss, ``V`` the option model's mid at the entry spot and VIX, priced at the entry
    and at the exit time. Known at the exit.
``pin_regret``
    ``loss x clip(1 - dist / (b S_t0))``, ``dist`` the distance from ``S_t0`` to max pain or,
    when net dealer GEX is positive (a pinning regime), to the largest-|GEX| strike,
    whichever is nearer; ``b = 0.2 %``. Prior-day open interest only. Known at ``t0``.
``trap_entry_regret``
    ``[breakout] x clip(max(0, max_{0<k<=N} d (S_t0 - S_{t0+k})) / range_30)``: the entry
    was at a 30-bar extreme in ``d``'s direction (``d S_t0 >= max d S`` of the 30 bars
    before) and price reversed within ``N = 5`` minutes; ``range_30`` = high - low of those
    closes (at least one cent). Known at ``t0 + N``.
``late_exit_regret``
    ``loss x max(magnet, crush)``: ``magnet`` = ``clip((|S_e - V_0| - |S_x - V_x|) / |S_e -
    V_0|)`` when the session VWAP ``V`` sat on the adverse side at entry (``sign(V_0 - S_e)
    = -d``): the share of the way to VWAP travelled while held; ``crush`` =
    ``clip((M - m_x) / M)`` with ``m_x`` minutes to the close at the exit and ``M = 30``: held
    into the expiry crush. Known at the exit.

A regret that its data cannot give (no ghost at ``t0``, no open interest, no bars) is NaN,
never 0; ``regret_sum`` adds the available ones and ``regrets_available`` counts them.
A trade's ``known_at`` is the latest of the times above: nothing that uses the trade's
regret (labels, weights) may act before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zerodte.learning.path import MarketPath
from zerodte.records import REGRET_COLUMNS

REGRET_KINDS: tuple[str, ...] = REGRET_COLUMNS


@dataclass(frozen=True)
class RegretConfig:
    """Windows and thresholds of the regret formulas (module docstring)."""

    entry_window: int = 10  # W, minutes each side of the decision
    ghost_horizon: int = 15  # h, minutes of the ghost rewards compared
    exit_window: int = 15  # E, minutes after the exit
    alignment_floor: float = 0.6  # a*, mesh confusion below it
    chop_lookback: int = 30
    pin_band: float = 0.002  # b, fraction of spot
    trap_minutes: int = 5  # N
    breakout_lookback: int = 30
    crush_minutes: float = 30.0  # M
    latency_minutes: int = 2

    def known_after(self) -> tuple[pd.Timedelta, pd.Timedelta]:
        """(after the decision, after the exit) by which every regret is known."""
        m = pd.Timedelta(minutes=1)
        entry = max(
            self.entry_window + self.ghost_horizon + self.latency_minutes, self.trap_minutes
        )
        return entry * m, self.exit_window * m


@dataclass(frozen=True)
class TradeFacts:
    """What the formulas read of one trade (positions are rows of the :class:`MarketPath`)."""

    direction: float
    premium: float  # C, dollars per contract
    pnl_per_contract: float
    gross_pct: float
    max_gain_pct: float
    delta: float
    decision_pos: int
    exit_pos: int
    entry_spot: float
    exit_spot: float
    alignment: float
    block: str
    decay_dollars: float  # 100 (V(S_e, t_e) - V(S_e, t_x)), NaN when not priced
    max_pain: float
    pin_strike: float
    net_gex: float


def _clip(x: float) -> float:
    return float(min(max(x, 0.0), 1.0)) if math.isfinite(x) else math.nan


def entry_regret(ghost: np.ndarray, at: int, premium: float) -> float:
    """``clip((max ghost in window - ghost at decision) / C)``; ``ghost`` over the window."""
    if not (0 <= at < len(ghost)) or not np.isfinite(ghost[at]) or premium <= 0:
        return math.nan
    best = float(np.nanmax(ghost))
    return _clip((best - float(ghost[at])) / premium)


def exit_regret(path: MarketPath, f: TradeFacts, cfg: RegretConfig) -> float:
    """Missed continuation or overstay (module docstring)."""
    after = path.window(f.exit_pos, 0, cfg.exit_window)
    after = after[after > f.exit_pos]
    s_x = path.close[f.exit_pos]
    move = float(np.max(f.direction * (path.close[after] - s_x))) if len(after) else 0.0
    missed = abs(f.delta) * 100.0 * max(move, 0.0) / f.premium if f.premium > 0 else math.nan
    overstay = (f.max_gain_pct - f.gross_pct) / 100.0
    parts = [p for p in (missed, overstay) if math.isfinite(p)]
    return _clip(max(parts)) if parts else math.nan


def efficiency_ratio(path: MarketPath, pos: int, lookback: int) -> float:
    """Kaufman's efficiency ratio of the closes over ``lookback`` bars to ``pos`` (NaN < 5)."""
    rows = path.window(pos, lookback, 0)
    if len(rows) < 5:
        return math.nan
    c = path.close[rows]
    travel = float(np.sum(np.abs(np.diff(c))))
    return abs(float(c[-1] - c[0])) / travel if travel > 0 else 0.0


def timing_regret(path: MarketPath, f: TradeFacts, cfg: RegretConfig) -> float:
    """Low alignment or mid-day chop, on a loss."""
    if f.pnl_per_contract >= 0:
        return 0.0
    parts = []
    if math.isfinite(f.alignment):
        parts.append(_clip((cfg.alignment_floor - f.alignment) / cfg.alignment_floor))
    er = efficiency_ratio(path, f.decision_pos, cfg.chop_lookback)
    if math.isfinite(er):
        parts.append((1.0 - er) if f.block == "chop_mid" else 0.0)
    return _clip(max(parts)) if parts else math.nan


def decay_regret(f: TradeFacts) -> float:
    """Theta's share of the loss."""
    if f.pnl_per_contract >= 0:
        return 0.0
    return _clip(f.decay_dollars / -f.pnl_per_contract)


def pin_regret(f: TradeFacts, cfg: RegretConfig, spot: float) -> float:
    """Entered near max pain or the dealer pin strike, on a loss."""
    if not math.isfinite(f.max_pain):
        return math.nan
    if f.pnl_per_contract >= 0:
        return 0.0
    dist = abs(spot - f.max_pain)
    if math.isfinite(f.net_gex) and f.net_gex > 0 and math.isfinite(f.pin_strike):
        dist = min(dist, abs(spot - f.pin_strike))
    return _clip(1.0 - dist / (cfg.pin_band * spot))


def is_breakout(path: MarketPath, pos: int, direction: float, lookback: int) -> tuple[bool, float]:
    """(``d S_pos >= max d S`` of the ``lookback`` bars before, their range)."""
    rows = path.window(pos, lookback, 0)
    rows = rows[rows < pos]
    if len(rows) < 5:
        return False, math.nan
    prior = path.close[rows]
    rng = max(float(prior.max() - prior.min()), 0.01)
    return bool(direction * path.close[pos] >= float(np.max(direction * prior))), rng


def trap_entry_regret(path: MarketPath, f: TradeFacts, cfg: RegretConfig) -> float:
    """A breakout entry that reversed within ``N`` minutes."""
    brk, rng = is_breakout(path, f.decision_pos, f.direction, cfg.breakout_lookback)
    if not math.isfinite(rng):
        return math.nan
    if not brk:
        return 0.0
    after = path.window(f.decision_pos, 0, cfg.trap_minutes)
    after = after[after > f.decision_pos]
    if not len(after):
        return math.nan
    adverse = float(np.max(f.direction * (path.close[f.decision_pos] - path.close[after])))
    return _clip(max(adverse, 0.0) / rng)


def late_exit_regret(path: MarketPath, f: TradeFacts, cfg: RegretConfig) -> float:
    """Held into the VWAP magnet or the expiry crush, on a loss."""
    if f.pnl_per_contract >= 0:
        return 0.0
    v0, vx = path.vwap[f.decision_pos], path.vwap[f.exit_pos]
    magnet = 0.0
    gap0 = abs(f.entry_spot - v0)
    if np.sign(v0 - f.entry_spot) == -f.direction and gap0 > 0:
        magnet = _clip((gap0 - abs(f.exit_spot - vx)) / gap0)
    crush = _clip((cfg.crush_minutes - path.minutes_to_close[f.exit_pos]) / cfg.crush_minutes)
    return max(magnet, crush)


def regret_scores(
    path: MarketPath, f: TradeFacts, ghost_window: np.ndarray, at: int, cfg: RegretConfig
) -> dict[str, float]:
    """All seven regrets of one trade (``ghost_window``: the right's ghosts, ``at`` its t0)."""
    spot0 = float(path.close[f.decision_pos])
    return {
        "entry_regret": entry_regret(ghost_window, at, f.premium),
        "exit_regret": exit_regret(path, f, cfg),
        "timing_regret": timing_regret(path, f, cfg),
        "decay_regret": decay_regret(f),
        "pin_regret": pin_regret(f, cfg, spot0),
        "trap_entry_regret": trap_entry_regret(path, f, cfg),
        "late_exit_regret": late_exit_regret(path, f, cfg),
    }
