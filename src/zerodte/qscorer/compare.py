"""Baseline vs Q-scorer on the same window, data, exits and friction (``zerodte q compare``).

Both controllers run through :func:`zerodte.engine.backtest.run_backtest` on the same
market data; only the entry controller differs. The difference in per-trade P&L::

    D = sum_d pnl_q(d) / sum_d n_q(d)  -  sum_d pnl_b(d) / sum_d n_b(d)

gets a paired bootstrap interval that resamples blocks of consecutive sessions ``d``
(both controllers faced the same market on each resampled day; neighbouring days share a
regime). ``significant`` is true only when that 95 %
interval lies above zero. The mean daily P&L difference with its paired interval
(:func:`zerodte.research.stats.paired_bootstrap_diff`) is reported as well.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config import with_overrides
from zerodte.config.root import Settings
from zerodte.engine.backtest import BacktestResult, run_backtest
from zerodte.market.loading import MarketData
from zerodte.policy.base import EntryController
from zerodte.policy.controllers import build_controller
from zerodte.research.bootstrap import default_block_length, session_bootstrap_ci
from zerodte.research.stats import daily_pnl, paired_bootstrap_diff

logger = logging.getLogger(__name__)

BASELINE_FEATURE_SET = "default"
"""Features of the baseline's run (the engine's default set: momentum needs its columns)."""

TABLE_KEYS: tuple[str, ...] = (
    "trades",
    "win_rate",
    "pnl",
    "per_trade_pnl",
    "per_trade_pnl_ci95",
    "fees_paid",
    "max_drawdown",
    "pnl_to_dd",
    "sharpe",
)


def slice_market(md: MarketData, sessions: list[date]) -> MarketData:
    """``md`` restricted to ``sessions`` (bars, frame and a derived data hash)."""
    wanted = set(sessions)
    frame = md.frame.loc[md.frame["session"].isin(wanted)]
    bars = {
        s: b.loc[b["timestamp"].dt.date.isin(wanted)].reset_index(drop=True)
        for s, b in md.bars.items()
    }
    key = f"{md.data_hash}:{min(wanted)}:{max(wanted)}:{len(wanted)}"
    return MarketData(
        bars=bars,
        frame=frame,
        data_hash=hashlib.sha256(key.encode()).hexdigest(),
        source=f"{md.source}[{min(wanted)}..{max(wanted)}]",
        sessions=sorted(wanted),
        synthetic=md.synthetic,
    )


def per_trade_diff(
    q_trades: pd.DataFrame,
    b_trades: pd.DataFrame,
    sessions: list[date],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float | None, list[float] | None]:
    """Per-trade P&L difference (Q minus baseline) with a paired session-block bootstrap CI.

    The interval's level is ``1 - alpha`` (95 % by default; a smaller ``alpha`` for a
    family-wise interval when several controllers are compared with one baseline).

    Both controllers' sessions are resampled together in blocks of consecutive sessions
    (:func:`~zerodte.research.bootstrap.session_bootstrap_ci`).

    ``None`` when either side has no trade (a difference of averages over nothing does not
    exist); the interval is ``None`` with fewer than two sessions.
    """
    days = pd.Index(sessions)

    def daily(trades: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if trades.empty:
            return np.zeros(len(days)), np.zeros(len(days))
        key = pd.to_datetime(trades["session"]).dt.date.to_numpy()
        pnl = trades["pnl"].astype(float).groupby(key).sum().reindex(days, fill_value=0.0)
        # a partially closed position makes several rows, a straddle one row per leg: count
        # positions by the position's tag (the opening tag of a single-leg position)
        tags = trades["position_tag"] if "position_tag" in trades.columns else trades["tag"]
        tags = tags.fillna(trades["tag"])
        n = tags.groupby(key).nunique().reindex(days, fill_value=0)
        return pnl.to_numpy(float), n.to_numpy(float)

    pq, nq = daily(q_trades)
    pb, nb = daily(b_trades)
    if nq.sum() == 0 or nb.sum() == 0:
        return None, None
    diff = float(pq.sum() / nq.sum() - pb.sum() / nb.sum())
    ci = session_bootstrap_ci(
        {"pq": pq, "nq": nq, "pb": pb, "nb": nb},
        lambda t: t["pq"] / t["nq"] - t["pb"] / t["nb"],
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
        # the difference is known only as well as the scarcer side's trading sessions
        clusters=int(min((nq > 0).sum(), (nb > 0).sum())),
    )
    return diff, None if ci is None else [ci[0], ci[1]]


@dataclass
class Comparison:
    """The two runs and their paired differences."""

    baseline: BacktestResult
    q_scorer: BacktestResult
    diff_per_trade_pnl: float | None
    diff_per_trade_pnl_ci95: list[float] | None
    diff_daily_pnl: float
    diff_daily_pnl_ci95: list[float] | None
    sessions: list[date]

    @property
    def significant(self) -> bool:
        """True only when the per-trade difference's interval lies above zero."""
        ci = self.diff_per_trade_pnl_ci95
        return ci is not None and ci[0] > 0

    def table(self) -> list[dict[str, Any]]:
        """One row per controller with :data:`TABLE_KEYS`."""
        return [
            {"controller": name, **{k: r.summary.get(k) for k in TABLE_KEYS}}
            for name, r in (("baseline", self.baseline), ("q_scorer", self.q_scorer))
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready result."""
        return {
            "window": [str(self.sessions[0]), str(self.sessions[-1])],
            "sessions": len(self.sessions),
            "baseline": self.baseline.summary,
            "q_scorer": self.q_scorer.summary,
            "table": self.table(),
            "diff_per_trade_pnl": self.diff_per_trade_pnl,
            "diff_per_trade_pnl_ci95": self.diff_per_trade_pnl_ci95,
            "diff_daily_pnl": self.diff_daily_pnl,
            "diff_daily_pnl_ci95": self.diff_daily_pnl_ci95,
            "significant": self.significant,
        }


def compare(
    settings: Settings,
    md: MarketData,
    q_controller: EntryController,
    *,
    baseline: str = "momentum",
    out_dir: Path | None = None,
    n_boot: int = 2000,
    code_version: str = "unknown",
    record: bool = False,
    q_summary: Mapping[str, Any] | None = None,
) -> Comparison:
    """Run the baseline and the Q-scorer on ``md`` and compare them (paired by session).

    With ``record`` both runs go to the run store (``settings.store``), the Q-scorer's with
    ``q_summary`` (its off-policy values) in its summary, so the dashboard shows them.
    """
    b_settings = with_overrides(settings, {"entry.controller": baseline}, "--baseline")
    base_ctrl = build_controller(b_settings)
    common: dict[str, Any] = {"record": record, "n_boot": n_boot, "code_version": code_version}
    b = run_backtest(
        b_settings,
        md,
        controller=base_ctrl,
        run_dir=None if out_dir is None else out_dir / f"baseline_{baseline}",
        write=out_dir is not None,
        feature_set=BASELINE_FEATURE_SET,
        **common,
    )
    q = run_backtest(
        settings,
        md,
        controller=q_controller,
        run_dir=None if out_dir is None else out_dir / "q_scorer",
        write=out_dir is not None,
        feature_set=settings.qscorer.feature_set,
        summary_extra=q_summary,
        **common,
    )
    sessions = list(md.sessions)
    d, ci = per_trade_diff(q.trades, b.trades, sessions, n_boot=n_boot, seed=settings.engine.seed)
    dq = daily_pnl(q.trades, sessions) if not q.trades.empty else pd.Series(0.0, index=sessions)
    db = daily_pnl(b.trades, sessions) if not b.trades.empty else pd.Series(0.0, index=sessions)
    dd, dd_ci = paired_bootstrap_diff(
        dq, db, sessions=sessions, n_boot=n_boot, seed=0, block=default_block_length(len(sessions))
    )
    return Comparison(
        baseline=b,
        q_scorer=q,
        diff_per_trade_pnl=d,
        diff_per_trade_pnl_ci95=ci,
        diff_daily_pnl=dd,
        diff_daily_pnl_ci95=None if dd_ci is None else [float(dd_ci[0]), float(dd_ci[1])],
        sessions=sessions,
    )
