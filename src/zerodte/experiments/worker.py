"""Layer 1: a worker claims ideas, runs their trials, promotes and validates them.

Any number of workers on any number of machines share one store
(``zerodte experiments worker --store postgresql://...``). One idea at a time::

    requeue_stale()        ideas whose worker stopped heartbeating go back to the queue
    claim()                next pending (quick test) or passed_quick (validation) idea
    run_trial()            the engine on the stage's window, a heartbeat thread alongside
    finish(trial, decide)  trial row + new status in one transaction, decided over every
                           trial of the family (zerodte.experiments.promotion)
    write_decision()       ANALYSIS.md and SUMMARY.txt in the trial's run directory

A worker killed mid-trial writes nothing; its idea is requeued once its heartbeat is
``stale_s`` old, re-run by the next worker and counted once (the trial row is written only
with the claim, see :mod:`zerodte.store.experiments`). A worker whose claim was lost
(requeued while it was paused) discards its result.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerodte.config import Settings
from zerodte.errors import ConfigError, DataError, ModelError
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.promotion import decision
from zerodte.experiments.trial import MarketCache, TrialOutcome, run_claim, write_decision
from zerodte.store.experiments import Claim, ExperimentStore, TrialRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """Timing of a worker: heartbeat interval, stale limit, retries, idle poll."""

    heartbeat_s: float = 5.0
    stale_s: float = 60.0
    max_attempts: int = 3
    idle_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_s < self.stale_s:
            raise ConfigError(
                f"worker heartbeat ({self.heartbeat_s} s) must be positive and shorter than the "
                f"stale limit ({self.stale_s} s), or live workers would be requeued"
            )


def default_worker_id() -> str:
    """``host:pid``: unique per process across machines."""
    return f"{socket.gethostname()}:{os.getpid()}"


def experiment_dir(runs_dir: Path, family: str, idea_id: int, stage: str) -> Path:
    """Run directory of an idea's trial in one stage."""
    return Path(runs_dir) / "experiments" / family / f"idea-{idea_id}-{stage}"


class Worker:
    """Claims and runs ideas from ``store`` (see the module docstring)."""

    def __init__(
        self,
        store: ExperimentStore,
        settings: Settings,
        *,
        worker_id: str | None = None,
        config: WorkerConfig | None = None,
        runs_dir: Path | None = None,
        family: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.settings = settings
        self.worker_id = worker_id or default_worker_id()
        self.config = config or WorkerConfig()
        self.runs_dir = Path(runs_dir) if runs_dir is not None else settings.engine.runs_dir
        self.family = family
        self.sleep = sleep
        self.market = MarketCache(settings)

    def _heartbeat(self, claim: Claim, done: threading.Event, lost: threading.Event) -> None:
        while not done.wait(self.config.heartbeat_s):
            try:
                if not self.store.heartbeat(claim):
                    lost.set()
                    return
            except Exception:  # a transient store error: the next beat retries
                logger.exception("heartbeat of idea %d failed; retrying", claim.idea_id)

    def execute(self, claim: Claim) -> TrialOutcome:
        """Run the claimed stage's trial (no store writes)."""
        doc = self.store.family(claim.family)
        if doc is None:
            raise ConfigError(f"idea {claim.idea_id}: family {claim.family!r} is not in the store")
        idea = self.store.idea(claim.idea_id) or {}
        run_dir = experiment_dir(self.runs_dir, claim.family, claim.idea_id, claim.stage)
        return run_claim(self.settings, doc, claim, self.market, run_dir, idea.get("hypothesis"))

    def decider(
        self, claim: Claim, key: str
    ) -> Callable[[list[TrialRow]], tuple[str, dict[str, Any]]]:
        """The decision rule of the claim's stage, bound to its family config."""
        doc = self.store.family(claim.family)
        assert doc is not None
        cfg = FamilyConfig.from_dict(doc)
        cash = self.settings.broker.initial_cash
        return lambda rows: decision(key, rows, cfg, cash, claim.stage)

    def run_one(self) -> dict[str, Any] | None:
        """Requeue stale ideas, claim one and run it; None when nothing was claimable."""
        self.store.requeue_stale(self.config.stale_s, max_attempts=self.config.max_attempts)
        claim = self.store.claim(self.worker_id, family=self.family)
        if claim is None:
            return None
        done, lost = threading.Event(), threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(claim, done, lost), daemon=True)
        beat.start()
        try:
            outcome = self.execute(claim)
        except (ConfigError, DataError, ModelError) as exc:
            logger.error("idea %d (%s) failed: %s", claim.idea_id, claim.stage, exc)
            self.store.fail(claim, str(exc))
            return {"idea_id": claim.idea_id, "stage": claim.stage, "status": "error"}
        finally:
            done.set()
            beat.join()
        if lost.is_set():
            logger.warning("idea %d: claim lost during the trial; result discarded", claim.idea_id)
            return {"idea_id": claim.idea_id, "stage": claim.stage, "status": "lost"}
        return self.record(claim, outcome)

    def record(self, claim: Claim, outcome: TrialOutcome) -> dict[str, Any]:
        """Finish ``claim`` with ``outcome``: trial row and decision, then its analysis.

        The decision carries the trial's friction, session-block interval and data source
        besides its trial count, DSR and PBO, and which attempt and worker produced it.
        """
        rule = self.decider(claim, outcome.row.trial_key)
        s = outcome.summary
        context = {
            "attempt": claim.attempts,
            "worker": claim.worker,
            "fees_paid": s.get("fees_paid"),
            "spread_cost": s.get("spread_cost"),
            "per_trade_pnl_ci95": s.get("per_trade_pnl_ci95"),
            "per_trade_pnl_ci_method": s.get("per_trade_pnl_ci_method"),
            "data_source": s.get("data_source"),
            "first_session": str(outcome.row.first_session),
            "last_session": str(outcome.row.last_session),
        }

        def decide(rows: list[TrialRow]) -> tuple[str, dict[str, Any]]:
            status, result = rule(rows)
            return status, {**result, **context}

        decided = self.store.finish(claim, outcome.row, decide)
        if decided is None:
            return {"idea_id": claim.idea_id, "stage": claim.stage, "status": "lost"}
        status, result = decided
        if outcome.run_dir is not None and outcome.run_dir.exists():
            write_decision(outcome.run_dir, result)
        self._track(claim, outcome, result)
        return {"idea_id": claim.idea_id, "stage": claim.stage, "status": status, **result}

    def _track(self, claim: Claim, outcome: TrialOutcome, result: dict[str, Any]) -> None:
        uri = self.settings.models.mlflow_tracking_uri
        if not uri:
            return
        from zerodte.models.tracking import track_run

        metrics = {
            k: v
            for k, v in result.items()
            if k in ("n_trials", "trades", "pnl", "per_trade_pnl", "dsr", "pbo", "sharpe_daily")
            and v is not None
        }
        track_run(
            uri,
            f"zerodte-experiments-{claim.family}",
            f"idea-{claim.idea_id}-{claim.stage}",
            {**claim.overrides, "stage": claim.stage, "decision": result.get("decision")},
            metrics,
            [outcome.run_dir / "ANALYSIS.md"] if outcome.run_dir is not None else [],
        )

    def run(self, *, max_ideas: int | None = None, loop: bool = False) -> list[dict[str, Any]]:
        """Run ideas until the queue is empty (or forever with ``loop``, polling when idle)."""
        results: list[dict[str, Any]] = []
        while max_ideas is None or len(results) < max_ideas:
            out = self.run_one()
            if out is None:
                if not loop:
                    break
                self.sleep(self.config.idle_s)
                continue
            results.append(out)
        return results
