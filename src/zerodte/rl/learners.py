"""Training of the learners that learn from trades and ghosts: ``zerodte train bandit`` and
``zerodte train threshold``.

:func:`train_bandit` runs the bandit over a training window on the streaming path, where the
engine shows it every closed trade as it happens (``observe_trade``: the realised net P&L
per contract at the entry context), then shows it the ghost rewards of the actions it did
not take in that run (``observe_ghosts`` at ``qscorer.horizon_minutes``: the counterfactual
P&L, with the paper broker's friction, of a call and a put entered at every cycle where the
bandit held or was vetoed). The learned state is saved with the bandit's config and the
data and code it was learned on; ``entry.bandit.state_path`` restores it in a later run.

Exploration is that of the bandit's own epsilon-greedy policy with its exact propensities;
training on a window and evaluating on a later one is the caller's choice of windows (the
CLI's market options).

:func:`train_threshold` learns the RL threshold learner (:mod:`zerodte.policy.threshold`)
in front of ``entry.controller`` the same way: a logging run with the learner as the last
gate (realised outcomes of the signals it accepted, as they close), then the ghost outcomes
of the signals it rejected; the state is saved with its config and provenance and restored
with ``entry.threshold.state_path`` (``--threshold-model`` of backtest, compare and trade).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zerodte.config import Settings, with_overrides
from zerodte.engine.backtest import run_backtest
from zerodte.market.loading import MarketData
from zerodte.policy.controllers.bandit import BanditController
from zerodte.policy.gates import build_gates
from zerodte.policy.threshold import ThresholdLearnerGate
from zerodte.qscorer.ghosts import GhostTradeEvaluator

logger = logging.getLogger(__name__)


def train_bandit(
    settings: Settings,
    md: MarketData,
    out: Path,
    *,
    code_version: str = "unknown",
) -> dict[str, Any]:
    """Learn the bandit on ``md`` and save its state to ``out``; returns what was learned.

    Without a predictor bundle the walk-forward HMM regime is joined (the bandit's context).
    """
    cs = _with_context(settings, {"entry.controller": "bandit"})
    ctrl = BanditController.from_settings(cs.entry.bandit)

    run = run_backtest(
        cs,
        md,
        controller=ctrl,
        path="streaming",
        write=False,
        record=False,
        n_boot=200,
        code_version=code_version,
    )
    from_trades = int(ctrl.arms_.n_.sum())
    horizon = cs.qscorer.horizon_minutes
    from_ghosts = 0
    if cs.entry.bandit.learn_from_ghosts:
        missed = GhostTradeEvaluator(cs, horizons=[horizon]).missed_records(md.frame, run.decisions)
        context = [c for c in run.decisions.columns if c.startswith(("hmm_", "direction_prob"))]
        extra = run.decisions.set_index("cycle")[context]
        rows = missed.join(extra, on="cycle")
        from_ghosts = ctrl.observe_ghosts(rows, horizon)
    provenance = _provenance(md, code_version)
    path = ctrl.save_state(Path(out), provenance)
    logger.info("bandit learned %d trades and %d ghosts -> %s", from_trades, from_ghosts, path)
    return {
        "state_path": str(path),
        "profile": cs.entry.bandit.profile,
        "trades": int(run.summary["trades"]),
        "updates_from_trades": from_trades,
        "updates_from_ghosts": from_ghosts,
        "ghost_horizon_minutes": horizon,
        "per_trade_pnl": run.summary["per_trade_pnl"],
        **provenance,
    }


def _with_context(settings: Settings, changes: dict[str, Any]) -> Settings:
    """``changes`` applied, and the walk-forward HMM regime joined when no predictor is."""
    if settings.models.predictor_bundle is None:
        changes = {**changes, "models.regime_context": True}
    return with_overrides(settings, changes)


def _provenance(md: MarketData, code_version: str) -> dict[str, Any]:
    return {
        "data_hash": md.data_hash,
        "data_source": md.source,
        "code_version": code_version,
        "window": [str(md.sessions[0]), str(md.sessions[-1])] if md.sessions else [],
    }


def train_threshold(
    settings: Settings,
    md: MarketData,
    out: Path,
    *,
    code_version: str = "unknown",
) -> dict[str, Any]:
    """Learn the threshold learner in front of ``entry.controller`` on ``md``; save it.

    A ``state_path`` already set is the starting point (learning continues from it). Without
    a predictor bundle the walk-forward HMM regime is joined (four of the 16 features).
    """
    cs = _with_context(settings, {"entry.threshold.enabled": True})
    gates = build_gates(cs)
    gate = next(g for g in gates if isinstance(g, ThresholdLearnerGate))
    start_n = int(gate.model_.n_[0])
    run = run_backtest(
        cs, md, gates=gates, write=False, record=False, n_boot=200, code_version=code_version
    )
    from_trades = int(gate.model_.n_[0]) - start_n
    horizon = cs.qscorer.horizon_minutes
    rejected = len(gate.rejected_)
    from_ghosts = 0
    if cs.entry.threshold.learn_from_ghosts and rejected:
        missed = GhostTradeEvaluator(cs, horizons=[horizon]).missed_records(md.frame, run.decisions)
        from_ghosts = gate.observe_ghosts(missed, horizon)
    provenance = {**_provenance(md, code_version), "controller": cs.entry.controller}
    path = gate.save_state(Path(out), provenance)
    logger.info(
        "threshold learner: %d trades and %d ghosts learned -> %s", from_trades, from_ghosts, path
    )
    return {
        "state_path": str(path),
        "controller": cs.entry.controller,
        "signals_accepted": gate.counts_["accepted"],
        "signals_rejected": gate.counts_["rejected"],
        "acceptance": gate.acceptance,
        "trades": int(run.summary["trades"]),
        "updates_from_trades": from_trades,
        "updates_from_ghosts": from_ghosts,
        "ghost_horizon_minutes": horizon,
        "per_trade_pnl": run.summary["per_trade_pnl"],
        **provenance,
    }
