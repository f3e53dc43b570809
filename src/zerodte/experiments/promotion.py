"""Promotion and validation rules that count every trial of the family.

A quick-test winner is the best of many tries, so its in-sample figure is biased upwards.
An idea is **promoted** to validation only when, over *every* quick trial its family has
run (the new one included, whatever their outcome)::

    trades >= min_trades  AND  P&L per trade > 0
    AND  DSR >= dsr_min   (deflated Sharpe, n_trials = the family's quick trials and
                           its pruned study trials, V[SR] = the variance of the quick
                           trials' daily Sharpe ratios)
    AND  PBO <= pbo_max   (CSCV over the family's T x N matrix of daily returns, the
                           blocks made of whole trading days; needs >= 2 trials)

and it is **validated** when, on the later, disjoint validation window::

    trades >= min_trades  AND  P&L per trade > 0
    AND  DSR >= dsr_min   (n_trials = every validation trial of the family)

Daily returns are daily P&L over the starting equity (``broker.initial_cash``), as in
:mod:`zerodte.qscorer.optimize`. A day without trades is a real 0.0. Sharpe ratios are per
trading day. A trial whose returns have zero variance has no Sharpe ratio: it still counts
as a trial, but cannot be promoted. References: Bailey & López de Prado (2014) for the DSR,
Bailey, Borwein, López de Prado & Zhu (2017) for PBO (see :mod:`zerodte.research.overfitting`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zerodte.errors import DataError
from zerodte.experiments.family import FamilyConfig
from zerodte.research.overfitting import deflated_sharpe, pbo, sharpe_moments
from zerodte.store.experiments import TrialRow

logger = logging.getLogger(__name__)

MAX_PBO_SPLITS = 16


@dataclass(frozen=True)
class FamilyStats:
    """The overfitting statistics of one trial against every trial of its family and stage."""

    n_trials: int
    trades: int
    pnl: float
    per_trade: float | None
    sharpe: float | None
    dsr: float | None
    sr0: float | None
    pbo: float | None
    pbo_splits: int | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-native form."""
        return {
            "n_trials": self.n_trials,
            "trades": self.trades,
            "pnl": self.pnl,
            "per_trade_pnl": self.per_trade,
            "sharpe_daily": self.sharpe,
            "dsr": self.dsr,
            "sr0": self.sr0,
            "pbo": self.pbo,
            "pbo_splits": self.pbo_splits,
            "reasons": list(self.reasons),
        }


def returns_matrix(trials: Sequence[TrialRow], initial_cash: float) -> np.ndarray:
    """The ``T x N`` matrix of daily returns; every trial must cover the same days and data."""
    if not trials:
        raise ValueError("no trials")
    first = trials[0]
    for t in trials[1:]:
        same = (t.first_session, t.last_session, len(t.daily_pnl), t.data_hash) == (
            first.first_session,
            first.last_session,
            len(first.daily_pnl),
            first.data_hash,
        )
        if not same:
            raise DataError(
                f"family {first.family} ({first.stage}): trial {t.trial_key} covers "
                f"{t.first_session}..{t.last_session} ({len(t.daily_pnl)} days, data "
                f"{t.data_hash[:12]}) but {first.trial_key} covers {first.first_session}.."
                f"{first.last_session} ({len(first.daily_pnl)} days, data {first.data_hash[:12]}); "
                "trials of one family and stage must run on the same days of the same data"
            )
    return np.column_stack([np.asarray(t.daily_pnl, float) for t in trials]) / initial_cash


def _sharpe(r: np.ndarray) -> float | None:
    if len(r) < 3 or float(np.std(r, ddof=1)) == 0.0:
        return None
    return float(r.mean() / np.std(r, ddof=1))


def pbo_splits(n_days: int) -> int:
    """The number of CSCV groups: the largest even number <= min(16, days)."""
    return min(MAX_PBO_SPLITS, n_days - n_days % 2)


def family_stats(
    candidate: str,
    trials: Sequence[TrialRow],
    initial_cash: float,
    min_trades: int,
    *,
    also_tried: int = 0,
) -> FamilyStats:
    """DSR of ``candidate`` over every trial in ``trials`` and the family's PBO.

    ``also_tried`` trials were run and dropped before the full window (pruned study
    trials): they count in the DSR's number of trials but have no full-window returns for
    the PBO matrix or the Sharpe variance.
    """
    by_key = {t.trial_key: t for t in trials}
    if candidate not in by_key:
        raise ValueError(f"trial {candidate!r} is not among the family's trials")
    keys = list(by_key)
    m = returns_matrix([by_key[k] for k in keys], initial_cash)
    cand = by_key[candidate]
    per_trade = cand.pnl / cand.trades if cand.trades else None
    sharpes = [s for s in (_sharpe(m[:, j]) for j in range(m.shape[1])) if s is not None]
    var = float(np.var(sharpes, ddof=1)) if len(sharpes) >= 2 else 0.0
    sr, dsr, sr0, reasons = _deflated(m[:, keys.index(candidate)], len(keys) + also_tried, var)
    pbo_value = None
    splits = pbo_splits(m.shape[0])
    if m.shape[1] >= 2 and splits >= 2:
        pbo_value = pbo(m, n_splits=splits).pbo
    return FamilyStats(
        n_trials=len(keys) + also_tried,
        trades=cand.trades,
        pnl=cand.pnl,
        per_trade=per_trade,
        sharpe=sr,
        dsr=dsr,
        sr0=sr0,
        pbo=pbo_value,
        pbo_splits=splits if pbo_value is not None else None,
        reasons=tuple(reasons),
    )


def _deflated(
    col: np.ndarray, n_trials: int, sharpe_var: float
) -> tuple[float | None, float | None, float | None, list[str]]:
    """``(sharpe, dsr, sr0, reasons)`` of one trial's daily returns among ``n_trials``."""
    sr = _sharpe(col)
    if sr is None:
        return None, None, None, ["no daily Sharpe ratio (no trades or zero variance)"]
    sr_, skew, kurt, n_obs = sharpe_moments(col)
    try:
        res = deflated_sharpe(sr_, n_obs, n_trials, sharpe_var, skew, kurt)
    except ValueError as exc:  # a degenerate return distribution: no DSR, no promotion
        return sr, None, None, [f"DSR undefined: {exc}"]
    return sr, res.dsr, res.sr0, []


def family_dsrs(
    trials: Sequence[TrialRow], initial_cash: float, *, also_tried: int = 0
) -> dict[str, dict[str, Any]]:
    """Every trial's Sharpe and DSR against all of ``trials`` (what :func:`family_stats`
    gives each, without the PBO), from one returns matrix: ``{trial_key: {...}}``."""
    trials = list({t.trial_key: t for t in trials}.values())
    if not trials:
        return {}
    m = returns_matrix(trials, initial_cash)
    all_sr = [_sharpe(m[:, j]) for j in range(m.shape[1])]
    known = [s for s in all_sr if s is not None]
    var = float(np.var(known, ddof=1)) if len(known) >= 2 else 0.0
    n_trials = len(trials) + also_tried
    out = {}
    for j, t in enumerate(trials):
        sr, dsr, sr0, reasons = _deflated(m[:, j], n_trials, var)
        out[t.trial_key] = {
            "n_trials": n_trials,
            "sharpe_daily": sr,
            "dsr": dsr,
            "sr0": sr0,
            "reasons": reasons,
        }
    return out


def _failures(stats: FamilyStats, cfg: FamilyConfig, *, need_pbo: bool) -> list[str]:
    out = list(stats.reasons)
    if stats.trades < cfg.min_trades:
        out.append(f"{stats.trades} trades < min_trades {cfg.min_trades}")
    if stats.per_trade is None or stats.per_trade <= 0:
        out.append("P&L per trade is not positive")
    if stats.dsr is None or stats.dsr < cfg.dsr_min:
        shown = "n/a" if stats.dsr is None else f"{stats.dsr:.3f}"
        out.append(f"DSR {shown} < {cfg.dsr_min} over {stats.n_trials} trial(s)")
    if need_pbo:
        if stats.pbo is None:
            out.append("PBO needs at least 2 trials in the family")
        elif stats.pbo > cfg.pbo_max:
            out.append(f"family PBO {stats.pbo:.3f} > {cfg.pbo_max}")
    return out


PRUNED = "quick_pruned"
"""Stage of study trials stopped at an early successive-halving rung (counted, not ranked)."""


def decision(
    candidate: str, trials: Sequence[TrialRow], cfg: FamilyConfig, initial_cash: float, stage: str
) -> tuple[str, dict[str, Any]]:
    """The stage's verdict by the rules in the module docstring.

    ``trials`` may hold every trial of the family: the quick rule uses the quick trials
    (and counts the pruned ones); the validation rule uses the validation trials.
    ``quick``: ``passed_quick`` or ``rejected``; ``validation``: ``validated`` or
    ``failed_validation``.
    """
    passed, failed = {"quick": ("passed_quick", "rejected")}.get(
        stage, ("validated", "failed_validation")
    )
    same = [t for t in trials if t.stage == stage]
    pruned = sum(1 for t in trials if t.stage == PRUNED) if stage == "quick" else 0
    stats = family_stats(candidate, same, initial_cash, cfg.min_trades, also_tried=pruned)
    failures = _failures(stats, cfg, need_pbo=stage == "quick")
    status = failed if failures else passed
    return status, {**stats.to_dict(), "decision": status, "failures": failures}


def family_report(
    trials: Sequence[TrialRow], cfg: FamilyConfig, initial_cash: float
) -> dict[str, Any]:
    """The family's standing now: its best quick trial's DSR and the PBO, over every trial."""
    quick = [t for t in trials if t.stage == "quick"]
    pruned = sum(1 for t in trials if t.stage == PRUNED)
    out: dict[str, Any] = {"family": cfg.name, "n_trials": len(quick) + pruned, "best": None}
    if not quick:
        return out
    m = returns_matrix(quick, initial_cash)
    sharpes = [_sharpe(m[:, j]) for j in range(m.shape[1])]
    best = quick[int(np.argmax([s if s is not None else -np.inf for s in sharpes]))]
    stats = family_stats(best.trial_key, quick, initial_cash, cfg.min_trades, also_tried=pruned)
    out["best"] = {"trial_key": best.trial_key, "params": best.params, **stats.to_dict()}
    out["pbo"] = stats.pbo
    out["n_validation_trials"] = sum(1 for t in trials if t.stage == "validation")
    return out
