"""Performance statistics: pure functions of a run's trade log and equity curve.

``summarize`` is the single source of a run's headline numbers (``summary.json``). Every
value is JSON-native; a statistic that is undefined for the data (a win rate with no trades,
a Sharpe ratio with zero variance, a profit factor with no losing trade) is ``None``, never
a made-up number. The key set and each definition are in docs/statistics.md.

Conventions
-----------
* Daily series use the session date of each equity row (timestamps converted to
  America/New_York); a day's equity is the last cycle's equity; the first day's return is
  relative to ``start_equity``.
* Sharpe = mean(r) / std(r, ddof=1) * sqrt(252) on daily returns, risk-free rate 0.
* Sortino = mean(r) * 252 / (sqrt(mean(min(r, 0)^2)) * sqrt(252)): the downside deviation
  is the root mean square of the negative part over *all* days (target 0), which is the
  convention of empyrical and of Sortino & Price (1994).
* Max drawdown is measured on the full cycle-by-cycle equity curve with ``start_equity`` as
  the first point, in dollars and in percent of the running peak.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.research.bootstrap import (
    SESSION_BLOCK,
    bootstrap_ci,
    default_block_length,
    seeded_indices,
    session_bootstrap_ci,
)

logger = logging.getLogger(__name__)

TRADING_DAYS = 252
NY = "America/New_York"
FAMILY_ALPHA = 0.05
"""Family-wise error rate of the project's Bonferroni verdicts (``zerodte compare``, the
QThink effect): ``m`` comparisons are each read at level ``1 - FAMILY_ALPHA / m``."""

SUMMARY_KEYS: tuple[str, ...] = (
    "avg_hold_minutes",
    "avg_loss",
    "avg_win",
    "bootstrap_n",
    "bootstrap_seed",
    "days",
    "exit_reasons",
    "exposure",
    "fees_paid",
    "final_equity",
    "gross_loss",
    "gross_profit",
    "losses",
    "max_drawdown",
    "max_drawdown_pct",
    "per_trade_pnl",
    "per_trade_pnl_ci95",
    "per_trade_pnl_ci_method",
    "pnl",
    "pnl_pct",
    "pnl_to_dd",
    "profit_factor",
    "returns_kurtosis",
    "returns_skew",
    "sharpe",
    "sharpe_ci95",
    "sortino",
    "spread_cost",
    "start_equity",
    "trades",
    "win_rate",
    "wins",
)
"""Every key ``summarize`` returns (sorted); docs/statistics.md defines each one."""


def _to_ny(ts: pd.Series) -> pd.Series:
    ts = pd.to_datetime(ts)
    if ts.dt.tz is None:
        # Naive stamps are taken to be exchange time already (the project convention).
        return ts
    return ts.dt.tz_convert(NY)


def _session_days(ts: pd.Series) -> np.ndarray:
    """The session of every stamp (its day in exchange time) as ``datetime64[D]``.

    A year of cycles has 100,000 stamps and 252 sessions: grouping by day numbers and making
    ``datetime.date`` objects of the distinct days only is three times cheaper than a
    ``date`` object per stamp (and groups the same rows in the same order).
    """
    wall = _to_ny(ts)
    if wall.dt.tz is not None:
        wall = wall.dt.tz_localize(None)  # exchange wall time, whose day is the session
    return np.asarray(wall.to_numpy().astype("datetime64[D]"))


def _dates(days: np.ndarray) -> list[Any]:
    """``datetime.date`` of each ``datetime64`` day."""
    return list(np.asarray(days).astype("datetime64[D]").astype(object))


def _in_time_order(equity: pd.DataFrame) -> pd.DataFrame:
    """``equity`` sorted by ``timestamp`` (stable); a run's curve already is, and is then
    used as it is instead of copying a cycle-by-cycle frame."""
    if equity["timestamp"].is_monotonic_increasing:
        return equity
    return equity.sort_values("timestamp", kind="stable")


def daily_equity(equity: pd.DataFrame) -> pd.Series:
    """Equity at the last cycle of each session, indexed by session date (sorted)."""
    if equity.empty:
        return pd.Series(dtype=float)
    frame = _in_time_order(equity)
    values = frame["equity"].astype(float)
    if values.isna().any():
        raise DataError(
            "equity curve has NaN equity values; the recorder must mark every cycle "
            f"(first NaN at row {int(np.flatnonzero(values.isna().to_numpy())[0])})"
        )
    closes = values.groupby(_session_days(frame["timestamp"])).last()
    closes.index = pd.Index(_dates(closes.index.to_numpy()), dtype=object, name="session")
    return closes


def daily_returns(equity: pd.DataFrame, start_equity: float) -> pd.Series:
    """Simple daily returns of the session-close equity; day 1 is relative to ``start_equity``."""
    closes = daily_equity(equity)
    if closes.empty:
        return closes
    prev = closes.shift(1)
    prev.iloc[0] = start_equity
    return (closes / prev - 1.0).rename("return")


def daily_pnl(trades: pd.DataFrame, sessions: list[Any] | None = None) -> pd.Series:
    """Sum of trade P&L by trade session; with ``sessions`` reindexed to them with 0.0.

    A session in ``sessions`` without trades gets a real 0.0: the strategy was running and
    made nothing that day. Trades on sessions outside ``sessions`` raise ``ValueError``.
    """
    if trades.empty:
        by_day = pd.Series(dtype=float)
    else:
        keys = pd.to_datetime(trades["session"]).dt.date
        by_day = trades["pnl"].astype(float).groupby(keys.to_numpy()).sum()
    if sessions is None:
        return by_day.sort_index()
    wanted = pd.Index(sessions)
    outside = by_day.index.difference(wanted)
    if len(outside):
        raise ValueError(
            f"{len(outside)} trade session(s) are outside the given sessions "
            f"(first: {outside[0]}); pass every session the controller ran on"
        )
    return by_day.reindex(wanted, fill_value=0.0)


def _equity_sessions(equity: pd.DataFrame) -> list[Any] | None:
    if equity.empty:
        return None
    return _dates(np.unique(_session_days(equity["timestamp"])))


def per_session_trades(trades: pd.DataFrame, sessions: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Summed trade P&L and trade count of every session in ``sessions`` (0 where none).

    A trade row is one count (a partial exit is its own row, as in :func:`summarize`).
    """
    days = pd.Index(sessions)
    if trades.empty:
        return np.zeros(len(days)), np.zeros(len(days))
    keys = pd.to_datetime(trades["session"]).dt.date.to_numpy()
    pnl = trades["pnl"].astype(float).groupby(keys).sum()
    count = trades["pnl"].groupby(keys).size()
    outside = pnl.index.difference(days)
    if len(outside):
        raise ValueError(
            f"{len(outside)} trade session(s) are outside the given sessions "
            f"(first: {outside[0]}); pass every session the controller ran on"
        )
    return (
        pnl.reindex(days, fill_value=0.0).to_numpy(float),
        count.reindex(days, fill_value=0).to_numpy(float),
    )


def per_trade_ci95(
    trades: pd.DataFrame,
    sessions: list[Any] | None = None,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    block: float | None = None,
    alpha: float = 0.05,
    indices: np.ndarray | None = None,
) -> tuple[float, float] | None:
    """95 % session-block bootstrap interval of the mean P&L per trade (level ``1 - alpha``).

    Trades of one session, and of neighbouring sessions, share the market's regime: they
    are not independent, and resampling trades i.i.d. makes the interval too narrow when
    trades cluster (a controller that trades a few stressed weeks). The interval resamples
    blocks of consecutive sessions (:func:`~zerodte.research.bootstrap.session_bootstrap_ci`)
    and takes the ratio of summed P&L to summed trades of each replica, widened for the
    number of sessions with a trade (few sessions, few independent draws). ``sessions``
    (every session the run covered, idle ones included) defaults to the trades' sessions;
    ``indices``, the sessions' resampling matrix when it is already drawn
    (:func:`~zerodte.research.bootstrap.seeded_indices`).
    """
    if len(trades) < 2:
        return None
    if sessions is None:
        sessions = sorted(set(pd.to_datetime(trades["session"]).dt.date.tolist()))
    pnl, count = per_session_trades(trades, list(sessions))
    return session_bootstrap_ci(
        {"pnl": pnl, "n": count},
        lambda s: s["pnl"] / s["n"],
        n_boot=n_boot,
        seed=seed,
        block=block,
        alpha=alpha,
        clusters=int((count > 0).sum()),
        indices=indices,
    )


def excludes_zero(ci: tuple[float, float] | list[float] | None) -> bool:
    """Whether the interval ``ci`` lies wholly above or wholly below 0 (False for None)."""
    return ci is not None and (ci[0] > 0 or ci[1] < 0)


def sharpe_ratio(returns: np.ndarray | pd.Series, periods: int = TRADING_DAYS) -> float | None:
    """Annualised Sharpe ratio ``mean / std(ddof=1) * sqrt(periods)``; None if undefined."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return None
    std = float(r.std(ddof=1))
    if std == 0.0 or not math.isfinite(std):
        return None
    return float(r.mean() / std * math.sqrt(periods))


def sortino_ratio(returns: np.ndarray | pd.Series, periods: int = TRADING_DAYS) -> float | None:
    """Annualised Sortino ratio (downside RMS over all days, target 0); None if undefined."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside == 0.0:
        return None
    return float(r.mean() * periods / (downside * math.sqrt(periods)))


def max_drawdown(curve: np.ndarray | pd.Series) -> tuple[float, float]:
    """Largest peak-to-trough fall of an equity curve: ``(dollars, percent of peak)``.

    Both are non-negative; the percent is taken at the trough of largest percent fall
    (which need not be the trough of largest dollar fall).
    """
    v = np.asarray(curve, dtype=float)
    if len(v) == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(v)
    dd = peak - v
    with np.errstate(divide="ignore", invalid="ignore"):
        dd_pct = np.where(peak > 0, dd / peak * 100.0, 0.0)
    return float(dd.max()), float(dd_pct.max())


def _moments(r: np.ndarray) -> tuple[float | None, float | None]:
    """Sample skewness and (non-excess, Pearson) kurtosis; None with < 3 obs or zero std."""
    if len(r) < 3:
        return None, None
    z = r - r.mean()
    m2 = float(np.mean(z**2))
    if m2 == 0.0:
        return None, None
    return float(np.mean(z**3) / m2**1.5), float(np.mean(z**4) / m2**2)


def _finite_or_none(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def summarize(
    trades: pd.DataFrame,
    equity: pd.DataFrame,
    *,
    start_equity: float,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Headline statistics of one run (see docs/statistics.md for every key).

    Parameters
    ----------
    trades
        Trade log with at least ``pnl``, ``fees``, ``exit_reason``, ``hold_minutes``,
        ``session`` (the columns of ``zerodte.records.TRADE_COLUMNS``). An optional
        ``spread_cost`` column (dollars) is summed into ``spread_cost``.
    equity
        Equity curve with ``timestamp``, ``equity`` and ``open_positions`` per cycle.
    start_equity
        Account equity before the first cycle (> 0).
    n_boot, seed
        Bootstrap replicas and seed of the confidence intervals (deterministic).

    Returns
    -------
    dict
        JSON-native values with exactly the keys of ``SUMMARY_KEYS``.
    """
    if not start_equity > 0:
        raise ValueError(f"start_equity must be > 0; got {start_equity!r}")
    pnl = trades["pnl"].astype(float).to_numpy() if len(trades) else np.zeros(0)
    if np.isnan(pnl).any():
        raise DataError(
            f"{int(np.isnan(pnl).sum())} trade(s) have NaN pnl; every closed trade must carry "
            "its realised P&L (check the recorder)"
        )
    n = len(pnl)
    wins_mask, loss_mask = pnl > 0, pnl < 0
    gross_profit = float(pnl[wins_mask].sum())
    gross_loss = float(-pnl[loss_mask].sum())
    total = float(pnl.sum())

    fees = trades["fees"].astype(float) if n else pd.Series(dtype=float)
    spread_cost: float | None = None
    if "spread_cost" in trades.columns and n and trades["spread_cost"].notna().any():
        spread_cost = float(trades["spread_cost"].astype(float).sum())

    holds = trades["hold_minutes"].astype(float).dropna() if n else pd.Series(dtype=float)
    reasons = (
        trades["exit_reason"].fillna("unknown").astype(str).value_counts().sort_index()
        if n
        else pd.Series(dtype=int)
    )

    # Equity-curve statistics.
    final_equity: float | None = None
    dd_dollars: float | None = None
    dd_pct: float | None = None
    exposure: float | None = None
    sharpe = sortino = skew = kurt = None
    sharpe_ci: list[float] | None = None
    days = 0
    indices: np.ndarray | None = None
    if not equity.empty:
        ordered = _in_time_order(equity)
        curve = np.concatenate([[start_equity], ordered["equity"].astype(float).to_numpy()])
        final_equity = float(curve[-1])
        dd_dollars, dd_pct = max_drawdown(curve)
        exposure = float((ordered["open_positions"].astype(float) > 0).mean())
        rets = daily_returns(ordered, start_equity).to_numpy()
        days = len(rets)
        sharpe = sharpe_ratio(rets)
        sortino = sortino_ratio(rets)
        skew, kurt = _moments(rets)
        if days >= 2 and (n >= 2 or (sharpe is not None and days >= 3)):
            # the Sharpe interval and the per-trade one resample the same sessions with the
            # same seed and block: one matrix serves both
            indices = seeded_indices(days, n_boot, seed, default_block_length(days))
        if sharpe is not None and days >= 3:
            ci = bootstrap_ci(
                rets,
                "sharpe",
                n_boot=n_boot,
                seed=seed,
                block=default_block_length(days),
                indices=indices,
            )
            if ci is not None:
                sharpe_ci = [ci[0] * math.sqrt(TRADING_DAYS), ci[1] * math.sqrt(TRADING_DAYS)]
        if abs(final_equity - start_equity - total) > 0.01:
            logger.info(
                "equity change %.2f differs from summed trade P&L %.2f (open position at the "
                "end of the run, or an accounting gap)",
                final_equity - start_equity,
                total,
            )

    sessions = _equity_sessions(equity)
    per_trade_ci = (
        per_trade_ci95(
            trades,
            sessions,
            n_boot=n_boot,
            seed=seed,
            indices=indices if sessions is not None and len(sessions) == days else None,
        )
        if n >= 2
        else None
    )
    summary: dict[str, Any] = {
        "avg_hold_minutes": float(holds.mean()) if len(holds) else None,
        "avg_loss": float(pnl[loss_mask].mean()) if loss_mask.any() else None,
        "avg_win": float(pnl[wins_mask].mean()) if wins_mask.any() else None,
        "bootstrap_n": int(n_boot),
        "bootstrap_seed": int(seed),
        "days": int(days),
        "exit_reasons": {str(k): int(v) for k, v in reasons.items()},
        "exposure": exposure,
        "fees_paid": float(fees.sum()) if n else 0.0,
        "final_equity": final_equity,
        "gross_loss": gross_loss,
        "gross_profit": gross_profit,
        "losses": int(loss_mask.sum()),
        "max_drawdown": dd_dollars,
        "max_drawdown_pct": dd_pct,
        "per_trade_pnl": total / n if n else None,
        "per_trade_pnl_ci95": list(per_trade_ci) if per_trade_ci else None,
        "per_trade_pnl_ci_method": SESSION_BLOCK,
        "pnl": total,
        "pnl_pct": total / start_equity * 100.0,
        "pnl_to_dd": total / dd_dollars if dd_dollars else None,
        "profit_factor": gross_profit / gross_loss if gross_loss > 0 else None,
        "returns_kurtosis": kurt,
        "returns_skew": skew,
        "sharpe": sharpe,
        "sharpe_ci95": sharpe_ci,
        "sortino": sortino,
        "spread_cost": spread_cost,
        "start_equity": float(start_equity),
        "trades": int(n),
        "win_rate": float(wins_mask.mean()) if n else None,
        "wins": int(wins_mask.sum()),
    }
    for key, value in summary.items():
        if isinstance(value, float):
            summary[key] = _finite_or_none(value)
    return summary


def paired_bootstrap_diff(
    a: pd.Series,
    b: pd.Series,
    *,
    sessions: list[Any] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    block: float | None = None,
) -> tuple[float, tuple[float, float] | None]:
    """Mean daily P&L difference ``a - b`` of two controllers on the same days, with a CI.

    Parameters
    ----------
    a, b
        Daily P&L series indexed by session (e.g. from :func:`daily_pnl`). They are aligned
        on ``sessions`` when given, else on the union of both indexes; a missing day is a
        real 0.0 (that controller ran and made nothing), so pass ``sessions`` when a
        controller may have had no trade on a day the other did not trade either.
    n_boot, seed
        Bootstrap replicas and seed.
    block
        Mean block length for a stationary bootstrap over days; ``None`` resamples days
        i.i.d. Resampling whole days keeps the pairing: both controllers faced the same
        market on each resampled day.

    Returns
    -------
    (diff, ci95)
        Mean of the daily differences and its 95 % percentile interval (``None`` with fewer
        than two days).
    """
    index = pd.Index(sessions) if sessions is not None else a.index.union(b.index)
    for name, s in (("a", a), ("b", b)):
        extra = s.index.difference(index)
        if len(extra):
            raise ValueError(
                f"series {name} has {len(extra)} day(s) outside the sessions (first: "
                f"{extra[0]}); pass every session both controllers ran on"
            )
        if s.isna().any():
            raise ValueError(f"series {name} has NaN daily P&L; a day with no trades is 0.0")
    diff = (a.reindex(index, fill_value=0.0) - b.reindex(index, fill_value=0.0)).to_numpy(float)
    if len(diff) == 0:
        raise ValueError("paired_bootstrap_diff needs at least one session")
    ci = bootstrap_ci(diff, "mean", n_boot=n_boot, seed=seed, block=block)
    return float(diff.mean()), ci
