"""One trial: an idea's settings through the engine on one window of its family's market.

The engine is the same as every backtest's (:func:`zerodte.engine.backtest.run_backtest`:
the option repricing, the honest fills and the exit rules); a trial only restricts the
market to the stage's sessions (:func:`zerodte.qscorer.compare.slice_market`), so the
validation run never sees a quick-test day. Its run directory
(``<runs_dir>/experiments/<family>/idea-<id>-<stage>``) gets ``trades.parquet``,
``summary.json`` and ``experiment.json``; ``ANALYSIS.md`` and ``SUMMARY.txt`` are written
once the decision is known (:func:`write_decision`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zerodte.config import Settings
from zerodte.engine.rundir import write_records
from zerodte.experiments.analysis import EXPERIMENT_FILE, analyze_run
from zerodte.experiments.family import FamilyConfig, Windows, trial_settings, windows
from zerodte.io import atomic_write_json
from zerodte.market.loading import MarketData, load_market
from zerodte.research.serialize import jsonable
from zerodte.research.stats import daily_pnl
from zerodte.store.experiments import Claim, TrialRow, trial_key

logger = logging.getLogger(__name__)

TRIAL_BOOT = 200
"""Bootstrap replicas of a trial's summary intervals (the decision does not use them)."""


@dataclass
class MarketCache:
    """The family's market and windows, loaded once per worker process and family."""

    settings: Settings
    _cache: dict[str, tuple[MarketData, Windows]] | None = None

    def get(self, cfg: FamilyConfig) -> tuple[MarketData, Windows]:
        """The market of ``cfg`` (generated or loaded once) and its windows."""
        if self._cache is None:
            self._cache = {}
        key = json.dumps(cfg.to_dict(), sort_keys=True)
        if key not in self._cache:
            md = load_market(self.settings, days=cfg.days, seed=cfg.seed, edge=cfg.edge)
            self._cache[key] = (md, windows(md.sessions, cfg))
        return self._cache[key]


@dataclass(frozen=True)
class TrialOutcome:
    """A finished backtest of one trial, before its decision."""

    row: TrialRow
    summary: dict[str, Any]
    run_dir: Path | None


def window_market(md: MarketData, sessions: tuple[Any, ...]) -> MarketData:
    """The market restricted to ``sessions`` (nothing outside them is visible)."""
    from zerodte.qscorer.compare import slice_market

    return slice_market(md, list(sessions))


def run_trial(  # noqa: PLR0917 (the parts of one trial)
    settings: Settings,
    cfg: FamilyConfig,
    overrides: Mapping[str, Any],
    stage: str,
    key: str,
    param_hash: str,
    market: MarketCache,
    *,
    idea_id: int | None = None,
    worker: str | None = None,
    run_dir: Path | None = None,
    info: Mapping[str, Any] | None = None,
    days: int | None = None,
) -> TrialOutcome:
    """Backtest ``overrides`` on the ``stage`` window of ``cfg``'s market.

    ``days`` keeps only the first ``days`` sessions of the window (the rungs of a
    successive-halving study). With ``run_dir`` the trial's records are written there.
    """
    s = trial_settings(settings, cfg, overrides)
    md, win = market.get(cfg)
    sessions = win.of(stage)
    if days is not None:
        sessions = sessions[:days]
    sliced = window_market(md, sessions)
    from zerodte.engine.backtest import run_backtest

    res = run_backtest(
        s,
        sliced,
        write=False,
        record=False,
        run_id=f"exp-{cfg.name}-{key.replace(':', '-')}",
        n_boot=TRIAL_BOOT,
    )
    daily = (
        daily_pnl(res.trades, list(sessions)).to_numpy(float)
        if not res.trades.empty
        else np.zeros(len(sessions))
    )
    trades = int(res.summary.get("trades") or 0)
    row = TrialRow(
        trial_key=key,
        family=cfg.name,
        stage=stage,
        param_hash=param_hash,
        params=dict(overrides),
        first_session=sessions[0],
        last_session=sessions[-1],
        data_hash=md.data_hash,
        daily_pnl=tuple(float(x) for x in daily),
        trades=trades,
        pnl=float(daily.sum()),
        idea_id=idea_id,
        worker=worker,
        run_dir=None if run_dir is None else str(run_dir),
    )
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_records(run_dir, trades=res.trades, equity=res.equity, decisions=None)
        atomic_write_json(run_dir / "summary.json", jsonable(res.summary))
        experiment = {
            **dict(info or {}),
            "family": cfg.name,
            "idea_id": idea_id,
            "stage": stage,
            "overrides": dict(overrides),
            "settings": {k: v for k, v in {**cfg.base, **overrides}.items()},
            "first_session": str(sessions[0]),
            "last_session": str(sessions[-1]),
            "n_sessions": len(sessions),
            "data_source": sliced.source,
            "data_hash": md.data_hash,
            "decision": None,
        }
        atomic_write_json(run_dir / EXPERIMENT_FILE, jsonable(experiment))
    logger.info(
        "trial %s: %d trades, P&L %.2f on %s..%s", key, trades, row.pnl, sessions[0], sessions[-1]
    )
    summary = {**res.summary, "data_source": res.summary.get("data_source") or sliced.source}
    return TrialOutcome(row=row, summary=summary, run_dir=run_dir)


def run_claim(  # noqa: PLR0917 (the parts of one claimed trial)
    settings: Settings,
    family: Mapping[str, Any],
    claim: Claim,
    market: MarketCache,
    run_dir: Path | None,
    hypothesis: str | None = None,
) -> TrialOutcome:
    """Run the trial of a claimed idea's stage (no store access: the claimer records it)."""
    return run_trial(
        settings,
        FamilyConfig.from_dict(family),
        claim.overrides,
        claim.stage,
        trial_key(claim.idea_id, claim.stage),
        claim.param_hash,
        market,
        idea_id=claim.idea_id,
        worker=claim.worker,
        run_dir=run_dir,
        info={"title": claim.title, "hypothesis": hypothesis},
    )


def write_decision(run_dir: Path, decision: Mapping[str, Any]) -> None:
    """Add the decision to ``experiment.json`` and write ``ANALYSIS.md`` and ``SUMMARY.txt``."""
    path = run_dir / EXPERIMENT_FILE
    experiment = json.loads(path.read_text())
    experiment["decision"] = jsonable(dict(decision))
    atomic_write_json(path, experiment)
    analyze_run(run_dir, experiment)
