"""Two-stage tuning of the Q entry thresholds (``zerodte q optimize``).

Parameters: ``entry.q_threshold`` (dollars), ``entry.q_min_conf`` (0..1) and
``entry.q_min_abs_ret`` (dollars).

1. **Coarse sweep** on window A: every distinct configuration of the grid run through the
   engine (:func:`run_backtest`, same exits and friction as everything else), ranked by
   daily Sharpe ratio (configurations with fewer than ``min_trades`` trades rank last).
2. **Window B**, strictly later than A: every distinct configuration is run again, and
   the winner is the best on B among the ``top_k`` of A.

The winner's Sharpe ratio on B is deflated (Bailey & López de Prado 2014) against the
trials **on that one window**: ``n_trials`` = the number of distinct configurations (a
configuration run on both windows is one trial, and a duplicate of the grid is counted
once), ``trials_sharpe_var`` = the variance of their Sharpe ratios on B. Mixing the
windows' Sharpe ratios, or counting a re-run as a new trial, would misstate both inputs.
``significant`` is the DSR's verdict at 95 %; every reported number carries the count.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zerodte.config.root import Settings
from zerodte.engine.backtest import run_backtest
from zerodte.market.loading import MarketData
from zerodte.qscorer.artifacts import LoadedModel
from zerodte.qscorer.controller import QScorerController
from zerodte.research.overfitting import deflated_sharpe, sharpe_moments
from zerodte.research.stats import daily_pnl

logger = logging.getLogger(__name__)

DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "q_threshold": (0.0, 2.0, 5.0, 10.0),
    "q_min_conf": (0.0, 0.6, 0.8),
    "q_min_abs_ret": (0.0, 5.0),
}


@dataclass
class Trial:
    """One configuration evaluated on one window."""

    params: dict[str, float]
    stage: str
    trades: int
    pnl: float
    sharpe: float | None
    daily: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the daily series)."""
        return {
            "params": self.params,
            "stage": self.stage,
            "trades": self.trades,
            "pnl": self.pnl,
            "sharpe_daily": self.sharpe,
        }


def _run(
    settings: Settings, md: MarketData, loaded: LoadedModel, params: dict[str, float], stage: str
) -> Trial:
    ctrl = QScorerController(
        loaded,
        q_threshold=params.get("q_threshold", 0.0),
        q_min_conf=params.get("q_min_conf", 0.0),
        q_min_abs_ret=params.get("q_min_abs_ret", 0.0),
    )
    res = run_backtest(
        settings,
        md,
        controller=ctrl,
        write=False,
        record=False,
        feature_set=settings.qscorer.feature_set,
        n_boot=50,
    )
    sessions = list(md.sessions)
    daily = (
        daily_pnl(res.trades, sessions).to_numpy(float)
        if not res.trades.empty
        else np.zeros(len(sessions))
    )
    # Daily returns on the starting equity: the Sharpe ratio the DSR deflates.
    ret = daily / settings.broker.initial_cash
    sharpe: float | None = None
    if len(ret) >= 3 and np.std(ret, ddof=1) > 0:
        sharpe = float(ret.mean() / np.std(ret, ddof=1))
    n_trades = int(res.trades["tag"].nunique()) if not res.trades.empty else 0
    return Trial(params, stage, n_trades, float(daily.sum()), sharpe, ret)


def _key(t: Trial, min_trades: int) -> float:
    if t.sharpe is None or t.trades < min_trades:
        return -np.inf
    return t.sharpe


def optimize_thresholds(
    settings: Settings,
    loaded: LoadedModel,
    window_a: MarketData,
    window_b: MarketData,
    *,
    grid: dict[str, Sequence[float]] | None = None,
    top_k: int = 3,
    min_trades: int = 5,
) -> dict[str, Any]:
    """Coarse grid on ``window_a``, re-evaluation of the best ``top_k`` on ``window_b``.

    Returns the trials, the winner, ``n_trials`` and its deflated Sharpe ratio.
    """
    if max(window_a.sessions) >= min(window_b.sessions):
        raise ValueError(
            "optimisation window B must be strictly later than window A "
            f"(A ends {max(window_a.sessions)}, B starts {min(window_b.sessions)})"
        )
    g = {k: tuple(v) for k, v in (grid or DEFAULT_GRID).items()}
    names = list(g)
    configs = list(dict.fromkeys(itertools.product(*(g[n] for n in names))))
    params = [dict(zip(names, combo, strict=True)) for combo in configs]
    coarse = [_run(settings, window_a, loaded, p, "coarse") for p in params]
    on_b = [_run(settings, window_b, loaded, p, "window_b") for p in params]
    top = sorted(range(len(coarse)), key=lambda i: _key(coarse[i], min_trades), reverse=True)
    fine = [on_b[i] for i in top[:top_k]]
    winner = max(fine, key=lambda t: _key(t, min_trades))
    trials = [*coarse, *on_b]
    sharpes = np.array([t.sharpe for t in on_b if t.sharpe is not None])
    dsr: dict[str, Any] | None = None
    significant = False
    reason = ""
    if winner.sharpe is None or winner.trades < min_trades:
        reason = f"winner made {winner.trades} trades on window B (< {min_trades}); no edge"
    elif len(sharpes) < 2:
        reason = "fewer than two trials with a defined Sharpe ratio on window B"
    else:
        sr, skew, kurt, n_obs = sharpe_moments(winner.daily)
        res = deflated_sharpe(sr, n_obs, len(params), float(np.var(sharpes, ddof=1)), skew, kurt)
        dsr = res.to_dict()
        significant = bool(res.significant)
        reason = "DSR >= 0.95" if significant else "DSR below 0.95: not significant"
    return {
        "n_trials": len(params),
        "n_trials_note": "distinct configurations; the deflation uses their Sharpe on window B",
        "n_runs": len(trials),
        "n_coarse": len(coarse),
        "n_fine": len(fine),
        "window_a": [str(window_a.sessions[0]), str(window_a.sessions[-1])],
        "window_b": [str(window_b.sessions[0]), str(window_b.sessions[-1])],
        "winner": winner.to_dict(),
        "deflated_sharpe": dsr,
        "significant": significant,
        "verdict": reason,
        "trials": [t.to_dict() for t in trials],
    }
