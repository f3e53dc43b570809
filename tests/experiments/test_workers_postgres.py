"""Three worker processes on one PostgreSQL queue, one killed mid-trial: every idea is
decided, the killed worker's trial is re-run once by another worker and counted once, and
no two workers run the same trial."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from zerodte.config import Settings
from zerodte.config.settings import StoreSettings
from zerodte.engine.clock import WallClock
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.ideas import open_family, submit_idea
from zerodte.experiments.worker import Worker, WorkerConfig
from zerodte.store import make_engine
from zerodte.store.experiments import ExperimentStore
from zerodte.store.schema import metadata

pytestmark = pytest.mark.postgres

TIMING = WorkerConfig(heartbeat_s=0.3, stale_s=3.0, idle_s=0.2)
FINAL = {"rejected", "validated", "failed_validation"}
VICTIM = "victim"


class StalledWorker(Worker):
    """Stalls inside its first trial (claimed, heartbeating) until the test kills it."""

    def execute(self, claim: Any) -> Any:
        time.sleep(600)
        return super().execute(claim)


def _worker_main(url: str, worker_id: str, runs_dir: str) -> None:
    store = ExperimentStore(
        make_engine(StoreSettings(url=url)), clock=WallClock().utc, migrate_schema=False
    )
    kind = StalledWorker if worker_id == VICTIM else Worker
    kind(store, Settings(), worker_id=worker_id, runs_dir=Path(runs_dir), config=TIMING).run(
        loop=True
    )


def _drop(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_three_workers_one_killed_mid_trial(
    postgres_url: str, forkserver: Any, tmp_path: Path
) -> None:
    engine = make_engine(StoreSettings(url=postgres_url))
    _drop(engine)
    store = ExperimentStore(engine, clock=WallClock().utc)
    settings = Settings()
    cfg = open_family(
        store,
        FamilyConfig(name="pg", seed=5, edge=0.0, quick_days=4, validation_days=4, min_trades=2),
    )
    ids = [
        submit_idea(store, settings, cfg, f"stop {s}", {"exits.stop_loss_pct": s})["id"]
        for s in (5, 7, 9, 11, 13, 15)
    ]
    # the victim starts first so that it holds a claim before the others drain the queue
    victim = forkserver.Process(target=_worker_main, args=(postgres_url, VICTIM, str(tmp_path)))
    victim.start()
    claimed = _wait(
        lambda: [i["id"] for i in store.ideas(status="running") if i["claimed_by"] == VICTIM],
        120,
        "the victim's claim",
    )
    others = [
        forkserver.Process(target=_worker_main, args=(postgres_url, f"w{k}", str(tmp_path)))
        for k in (1, 2)
    ]
    for p in others:
        p.start()
    try:
        time.sleep(1.0)  # mid-trial: the victim is heartbeating its claim
        assert store.idea(claimed[0])["status"] == "running"  # type: ignore[index]
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(10)
        _wait(
            lambda: all(i["status"] in FINAL | {"error"} for i in store.ideas()),
            300,
            "every idea decided",
        )
    finally:
        for p in others:
            p.terminate()
            p.join(10)
    ideas = {i["id"]: i for i in store.ideas()}
    assert {i["status"] for i in ideas.values()} <= FINAL, [i["result"] for i in ideas.values()]
    quick = store.trials("pg", "quick")
    assert sorted(t.idea_id for t in quick) == sorted(ids)  # counted once each, none lost
    assert VICTIM not in {t.worker for t in store.trials("pg")}
    (killed,) = claimed
    assert ideas[killed]["result"]["quick"]["attempt"] == 2  # re-run once
    assert ideas[killed]["result"]["quick"]["worker"] != VICTIM
    assert all(ideas[i]["result"]["quick"]["attempt"] == 1 for i in ids if i != killed)
    for stage in ("quick", "validation"):
        keys = [t.trial_key for t in store.trials("pg", stage)]
        assert len(keys) == len(set(keys))
    _drop(engine)
    engine.dispose()
