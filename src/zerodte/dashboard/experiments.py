"""Experiment results as the dashboard and the agent API serve them, and where they come from.

Every result carries what keeps a reader from cherry-picking (STYLE.md): its trade count,
its friction (fees and the half-spreads paid), its per-trade P&L interval (session-block
bootstrap), the number of distinct configurations tried in its family, and its deflated
Sharpe ratio against that family (Bailey & López de Prado 2014).

:class:`ExperimentSource` is the seam. :class:`RunFamilies` backs it with the runs in the
store: a *family* is every run on the same data window (same data hash, first and last
session), its trials are the distinct configurations (config hashes) run there, and the
deflation uses the variance of their Sharpe ratios. The experiments system's studies can
back the same interface; until one is installed, :meth:`ExperimentSource.monitor` reports
no running trial and no promotion, and the page says so.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from zerodte.research.overfitting import deflated_sharpe
from zerodte.store.views import RunViews

logger = logging.getLogger(__name__)

TRADING_DAYS = 252
MAX_RUNS = 10_000


class Interval(BaseModel):
    """The per-trade P&L interval of a result."""

    low: float | None
    high: float | None
    level: float
    method: str | None


class Friction(BaseModel):
    """What the result paid: fees and the half-spreads crossed."""

    fees_paid: float | None
    spread_cost: float | None


class ExperimentResult(BaseModel):
    """One trial's result in its family's context (never without trades, friction,
    interval, the family's trial count and deflated Sharpe)."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    family: str
    controller: str | None
    mode: str | None
    start: str | None
    end: str | None
    created_at: str | None
    config_hash: str | None
    trades: int
    pnl: float | None
    per_trade_pnl: float | None
    interval: Interval
    friction: Friction
    sharpe: float | None
    max_drawdown: float | None
    win_rate: float | None
    family_trials: int
    deflated_sharpe: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return self.model_dump(mode="json")


@dataclass
class ExperimentMonitor:
    """What the experiments monitor shows beyond the results."""

    system: str
    message: str
    running: list[dict[str, Any]] = field(default_factory=list)
    promotion: dict[str, Any] | None = None
    pbo: dict[str, Any] | None = None


class ExperimentSource(Protocol):
    """Where experiment results and the state of the experiments system come from."""

    def results(self) -> list[ExperimentResult]:
        """Every result, with its family's trial count and deflated Sharpe."""
        ...

    def monitor(self) -> ExperimentMonitor:
        """Running trials, promotion state and PBO (empty when no system reports)."""
        ...


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _family_key(run: dict[str, Any]) -> str:
    data = run.get("data_hash") or "unknown"
    start = (run.get("start") or "?")[:10]
    end = (run.get("end") or "?")[:10]
    return f"{data}:{start}..{end}"


def _dsr(run: dict[str, Any], trials: int, sharpe_var: float | None) -> dict[str, Any]:
    summary = run["summary"]
    sharpe = _finite(summary.get("sharpe"))
    days = int(summary.get("days") or 0)
    if sharpe is None or days < 3:
        return {"dsr": None, "reason": f"no Sharpe ratio ({days} day(s) of returns)"}
    if trials > 1 and sharpe_var is None:
        return {"dsr": None, "reason": "fewer than two trials of the family have a Sharpe ratio"}
    res = deflated_sharpe(
        sharpe,
        days,
        trials,
        sharpe_var or 0.0,
        _finite(summary.get("returns_skew")) or 0.0,
        _finite(summary.get("returns_kurtosis")) or 3.0,
        periods_per_year=TRADING_DAYS,
    )
    out = res.to_dict()
    out["reason"] = "DSR >= 0.95" if res.significant else "DSR below 0.95: not significant"
    return out


def result_of(run: dict[str, Any], family: str, trials: int, var: float | None) -> ExperimentResult:
    """A run's result within its family (``trials`` distinct configurations, Sharpe var)."""
    s = run["summary"]
    ci = s.get("per_trade_pnl_ci95")
    return ExperimentResult(
        run_id=run["run_id"],
        family=family,
        controller=run.get("controller"),
        mode=run.get("mode"),
        start=run.get("start"),
        end=run.get("end"),
        created_at=run.get("created_at"),
        config_hash=run.get("config_hash"),
        trades=int(s.get("trades") or 0),
        pnl=_finite(s.get("pnl")),
        per_trade_pnl=_finite(s.get("per_trade_pnl")),
        interval=Interval(
            low=None if not ci else _finite(ci[0]),
            high=None if not ci else _finite(ci[1]),
            level=0.95,
            method=s.get("per_trade_pnl_ci_method"),
        ),
        friction=Friction(
            fees_paid=_finite(s.get("fees_paid")), spread_cost=_finite(s.get("spread_cost"))
        ),
        sharpe=_finite(s.get("sharpe")),
        max_drawdown=_finite(s.get("max_drawdown")),
        win_rate=_finite(s.get("win_rate")),
        family_trials=trials,
        deflated_sharpe=_dsr(run, trials, var),
    )


class RunFamilies:
    """:class:`ExperimentSource` over the recorded runs (module docstring)."""

    def __init__(self, views: RunViews) -> None:
        self.views = views

    def results(self) -> list[ExperimentResult]:
        """Every recorded run as a result of its data window's family."""
        runs, total = self.views.runs(limit=MAX_RUNS)
        if total > MAX_RUNS:
            logger.warning("experiment results: %d runs, only the newest %d read", total, MAX_RUNS)
        families: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for run in runs:
            families[_family_key(run)].append(run)
        out: list[ExperimentResult] = []
        for key, members in families.items():
            trials = len({m.get("config_hash") or m["run_id"] for m in members})
            sharpes = [
                x for x in (_finite(m["summary"].get("sharpe")) for m in members) if x is not None
            ]
            var = float(np.var(sharpes, ddof=1)) if len(sharpes) >= 2 else None
            out.extend(result_of(m, key, trials, var) for m in members)
        return out

    def monitor(self) -> ExperimentMonitor:
        """No experiments system reports to the store yet: nothing runs, nothing is promoted."""
        return ExperimentMonitor(
            system="absent",
            message=(
                "no experiments system reports here yet: ideas wait in the queue, and the "
                "scoreboard lists the recorded runs grouped by data window"
            ),
            pbo={"value": None, "reason": "PBO needs the trial-by-period returns of a study"},
        )
