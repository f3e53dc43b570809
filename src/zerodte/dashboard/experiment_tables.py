""":class:`ExperimentTables`: the experiments system's families, queue and trials, as the
dashboard and the agent API show them.

Every trial of the experiments system (``experiment_trials``: one configuration on one
family window) becomes an :class:`~zerodte.dashboard.experiments.ExperimentResult`, beside
the recorded runs that :class:`~zerodte.dashboard.experiments.RunFamilies` groups by data
window. A trial's deflated Sharpe and its family's trial count are recomputed **now**, over
every trial its family and stage have run so far (pruned study trials counted, as the
promotion rule counts them), not copied from the moment the trial was decided, so a result
read later carries every trial run since. Its interval and friction are those its backtest
reported when it was decided (session-block bootstrap; fees and half-spreads).

The monitor shows the ideas being run (worker, stage, heartbeat), the promotion state (ideas
per status and the promoted ones with their decision) and each family's PBO (CSCV over its
quick trials' daily returns).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from zerodte.dashboard.experiments import (
    ExperimentMonitor,
    ExperimentResult,
    Friction,
    Interval,
    RunFamilies,
)
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.promotion import PRUNED, family_dsrs, family_report
from zerodte.research.stats import max_drawdown, sharpe_ratio
from zerodte.store.experiments import ExperimentStore, TrialRow

logger = logging.getLogger(__name__)

STAGES = ("quick", "validation")
PROMOTED = ("passed_quick", "validated")


def _float(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if np.isfinite(x) else None


def _dsr_doc(stats: Mapping[str, Any]) -> dict[str, Any]:
    dsr = stats.get("dsr")
    reasons = list(stats.get("reasons") or [])
    if dsr is None:
        reason = "; ".join(reasons) or "no deflated Sharpe"
    else:
        reason = "DSR >= 0.95" if dsr >= 0.95 else "DSR below 0.95: not significant"
    return {
        "dsr": dsr,
        "sr0": stats.get("sr0"),
        "n_trials": stats.get("n_trials"),
        "reason": reason,
    }


def trial_result(
    trial: TrialRow,
    stats: Mapping[str, Any],
    decided: Mapping[str, Any],
    cfg: FamilyConfig,
    initial_cash: float,
) -> ExperimentResult:
    """One trial as a result: ``stats`` over its family now, ``decided`` its stored decision."""
    daily = np.asarray(trial.daily_pnl, float)
    ci = decided.get("per_trade_pnl_ci95")
    dd = max_drawdown(initial_cash + np.concatenate([[0.0], np.cumsum(daily)]))[0]
    controller = trial.params.get("entry.controller") or cfg.base.get("entry.controller")
    return ExperimentResult(
        run_id=trial.trial_key,
        family=trial.family,
        controller=None if controller is None else str(controller),
        mode=f"experiment:{trial.stage}",
        start=str(trial.first_session),
        end=str(trial.last_session),
        created_at=None if trial.created_at is None else trial.created_at.isoformat(),
        config_hash=trial.param_hash,
        trades=trial.trades,
        pnl=trial.pnl,
        per_trade_pnl=trial.pnl / trial.trades if trial.trades else None,
        interval=Interval(
            low=None if not ci else _float(ci[0]),
            high=None if not ci else _float(ci[1]),
            level=0.95,
            method=decided.get("per_trade_pnl_ci_method"),
        ),
        friction=Friction(
            fees_paid=_float(decided.get("fees_paid")),
            spread_cost=_float(decided.get("spread_cost")),
        ),
        sharpe=sharpe_ratio(daily / initial_cash),
        max_drawdown=dd,
        win_rate=None,
        family_trials=int(stats["n_trials"]),
        deflated_sharpe=_dsr_doc(stats),
    )


class ExperimentTables:
    """:class:`~zerodte.dashboard.experiments.ExperimentSource` over the experiments store.

    Parameters
    ----------
    store
        The experiments system's store (families, ideas, trials).
    initial_cash
        The starting equity daily returns are taken over (``broker.initial_cash``), as the
        promotion rule takes them.
    runs
        The recorded runs, shown beside the trials (None: trials only).
    """

    def __init__(
        self, store: ExperimentStore, initial_cash: float, runs: RunFamilies | None = None
    ) -> None:
        self.store = store
        self.initial_cash = initial_cash
        self.runs = runs
        self._reports: dict[str, tuple[frozenset[str], dict[str, Any]]] = {}

    def _report(self, cfg: FamilyConfig) -> dict[str, Any]:
        """The family's report (its PBO: CSCV is the costly part), kept while no trial is
        added (trials are only ever added)."""
        trials = self.store.trials(cfg.name)
        keys = frozenset(t.trial_key for t in trials)
        known = self._reports.get(cfg.name)
        if known is None or known[0] != keys:
            known = (keys, family_report(trials, cfg, self.initial_cash))
            self._reports[cfg.name] = known
        return known[1]

    def _configs(self) -> dict[str, FamilyConfig]:
        out = {}
        for name in self.store.families():
            doc = self.store.family(name)
            if doc is not None:
                out[name] = FamilyConfig.from_dict(doc)
        return out

    def _family_results(self, cfg: FamilyConfig, decided: Mapping[int, Any]) -> list[Any]:
        trials = self.store.trials(cfg.name)
        pruned = sum(1 for t in trials if t.stage == PRUNED)
        out = []
        for stage in STAGES:
            same = [t for t in trials if t.stage == stage]
            extra = pruned if stage == "quick" else 0
            dsrs = family_dsrs(same, self.initial_cash, also_tried=extra)
            for t in same:
                stats = dsrs[t.trial_key]
                result = (decided.get(t.idea_id or -1) or {}).get(stage) or {}
                out.append(trial_result(t, stats, result, cfg, self.initial_cash))
        return out

    def results(self) -> list[ExperimentResult]:
        """Every quick and validation trial of every family, then the recorded runs."""
        decided = {int(i["id"]): i.get("result") for i in self.store.ideas()}
        out: list[ExperimentResult] = []
        for cfg in self._configs().values():
            out.extend(self._family_results(cfg, decided))
        if self.runs is not None:
            out.extend(self.runs.results())
        return out

    def monitor(self) -> ExperimentMonitor:
        """Ideas being run, promotion state, and each family's PBO."""
        configs = self._configs()
        if not configs:
            if self.runs is not None:
                return self.runs.monitor()
            return ExperimentMonitor(system="absent", message="no experiment family yet")
        ideas = self.store.ideas()
        running = [_running(i) for i in ideas if i["status"] == "running"]
        counts = Counter(str(i["status"]) for i in ideas)
        promoted = [_promoted(i) for i in ideas if i["status"] in PROMOTED]
        reports = {name: self._report(cfg) for name, cfg in configs.items()}
        n_trials = sum(int(r["n_trials"]) for r in reports.values())
        message = (
            f"experiments: {len(configs)} famil{'y' if len(configs) == 1 else 'ies'}, "
            f"{n_trials} quick trial(s), {counts.get('pending', 0)} idea(s) pending, "
            f"{len(running)} running, {len(promoted)} promoted"
        )
        return ExperimentMonitor(
            system="experiments",
            message=message,
            running=running,
            promotion={"counts": dict(counts), "promoted": promoted},
            pbo=_pbo(reports),
        )


def _running(idea: Mapping[str, Any]) -> dict[str, Any]:
    beat = idea.get("heartbeat_at")
    return {
        "idea_id": idea["id"],
        "family": idea["family"],
        "title": idea["title"],
        "stage": idea.get("stage"),
        "worker": idea.get("claimed_by"),
        "attempts": idea.get("attempts"),
        "heartbeat_at": None if beat is None else beat.isoformat(),
        "params": idea["overrides"],
    }


def _promoted(idea: Mapping[str, Any]) -> dict[str, Any]:
    result = idea.get("result") or {}
    stage = "validation" if idea["status"] == "validated" else "quick"
    r = result.get(stage) or {}
    keys = ("n_trials", "trades", "per_trade_pnl", "per_trade_pnl_ci95", "dsr", "pbo")
    return {
        "idea_id": idea["id"],
        "family": idea["family"],
        "title": idea["title"],
        "status": idea["status"],
        "params": idea["overrides"],
        **{k: r.get(k) for k in keys},
    }


def _pbo(reports: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    by_family = {
        name: {"pbo": r.get("pbo"), "n_trials": r["n_trials"]} for name, r in reports.items()
    }
    known = [(name, v) for name, v in by_family.items() if v["pbo"] is not None]
    if len(reports) == 1 and known:
        value: float | None = known[0][1]["pbo"]
        reason = f"CSCV over family {known[0][0]}'s {known[0][1]['n_trials']} quick trial(s)"
    elif len(reports) == 1:
        value, reason = None, "PBO needs at least two quick trials in the family"
    else:
        value, reason = None, "one PBO per family (by_family)"
    return {"value": value, "reason": reason, "by_family": by_family}
