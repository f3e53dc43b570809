"""The agent API's ideas land in the experiments system's queue, and the experiments monitor
reads the experiments tables: trials with their family's trial count and deflated Sharpe
recomputed over every trial run since, running ideas, promotion state and PBO."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from zerodte.dashboard import create_app
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.trial import TrialOutcome
from zerodte.experiments.worker import Worker
from zerodte.store.experiments import ExperimentStore, TrialRow, trial_key

from .conftest import TOKEN, add_family, dashboard_settings

AUTH = {"Authorization": f"Bearer {TOKEN}"}
DAYS = [dt.date(2024, 1, 2) + dt.timedelta(days=i) for i in range(13)]


def _finish(worker: Worker, store: ExperimentStore, daily: np.ndarray, trades: int) -> None:
    """Claim the next idea and record its quick trial as a worker would."""
    claim = store.claim(worker.worker_id)
    assert claim is not None and claim.stage == "quick"
    row = TrialRow(
        trial_key=trial_key(claim.idea_id, "quick"),
        family=claim.family,
        stage="quick",
        param_hash=claim.param_hash,
        params=claim.overrides,
        first_session=DAYS[0],
        last_session=DAYS[-1],
        data_hash="data-1",
        daily_pnl=tuple(float(x) for x in daily),
        trades=trades,
        pnl=float(daily.sum()),
        idea_id=claim.idea_id,
        worker=worker.worker_id,
    )
    summary = {
        "fees_paid": 1.3 * trades,
        "spread_cost": 4.0 * trades,
        "per_trade_pnl_ci95": [-2.0, 3.0],
        "per_trade_pnl_ci_method": "session_block",
        "data_source": {"kind": "synthetic", "seed": 7},
    }
    worker.record(claim, TrialOutcome(row=row, summary=summary, run_dir=None))


def test_ideas_are_queued_for_the_workers_and_trials_are_the_scoreboard(tmp_path: Path) -> None:
    settings = dashboard_settings(tmp_path)
    client = TestClient(create_app(settings))
    add_family(client, "stops")
    add_family(client, "other")
    unnamed = client.post(
        "/api/agent/ideas", json={"params": {"exits.stop_loss_pct": 5}}, headers=AUTH
    )
    assert unnamed.status_code == 409 and "name its family" in unnamed.json()["detail"]
    unknown = {"params": {"exits.stop_loss_pct": 5}, "family": "nope"}
    missing = client.post("/api/agent/ideas", json=unknown, headers=AUTH)
    assert missing.status_code == 409 and "'other', 'stops'" in missing.json()["detail"]
    ids = []
    for stop in (4, 5, 6, 7):
        idea = {"params": {"exits.stop_loss_pct": stop}, "family": "stops", "source": "bot-1"}
        answer = client.post("/api/agent/ideas", json=idea, headers=AUTH)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["idea"]["id"])
    store: ExperimentStore = client.app.state.ctx.ideas.store  # type: ignore[attr-defined]
    queued = store.ideas(family="stops")
    assert [i["id"] for i in queued] == ids and {i["source"] for i in queued} == {"agent"}
    assert queued[0]["overrides"] == {"exits.stop_loss_pct": 4.0}
    assert queued[0]["provenance"]["client"] == "bot-1"

    worker = Worker(store, settings, worker_id="w1", runs_dir=tmp_path / "runs")
    rng = np.random.default_rng(3)
    for _ in range(3):
        _finish(worker, store, rng.normal(20.0, 100.0, len(DAYS)), trades=40)
    running = store.claim("w2")  # the fourth idea is being run
    assert running is not None

    listed = client.get("/api/agent/experiments", params={"family": "stops"}).json()
    assert listed["total"] == 3
    for r in listed["experiments"]:
        assert r["mode"] == "experiment:quick" and r["trades"] == 40
        assert r["family_trials"] == 3 and r["deflated_sharpe"]["n_trials"] == 3
        assert r["interval"] == {"low": -2.0, "high": 3.0, "level": 0.95, "method": "session_block"}
        assert r["friction"] == {"fees_paid": 52.0, "spread_cost": 160.0}
        assert r["start"] == "2024-01-02" and r["end"] == "2024-01-14"
    status = client.get("/api/agent/status").json()
    assert status["experiments_system"] == "experiments"
    assert [(t["idea_id"], t["worker"], t["stage"]) for t in status["running"]] == [
        (running.idea_id, "w2", "quick")
    ]
    assert sum(status["promotion"]["counts"].values()) == 4
    assert status["pbo"]["by_family"]["stops"]["n_trials"] == 3
    assert status["pbo"]["by_family"]["stops"]["pbo"] is not None
    assert status["queue"]["running"] == 1

    # a trial run later counts in every earlier result's DSR, not only in its own
    worker2 = Worker(store, settings, worker_id="w2", runs_dir=tmp_path / "runs")
    store.requeue_stale(-1.0)  # hand the running idea back, then finish it
    _finish(worker2, store, rng.normal(20.0, 100.0, len(DAYS)), trades=40)
    later = client.get("/api/agent/experiments", params={"family": "stops"}).json()
    assert later["total"] == 4
    assert {r["family_trials"] for r in later["experiments"]} == {4}
    assert {r["deflated_sharpe"]["n_trials"] for r in later["experiments"]} == {4}
    page = client.get("/training").text
    assert "experiments: 2 families, 4 quick trial(s)" in page and 'id="pbo"' in page
    training = client.get("/api/training").json()
    assert {i["family"] for i in training["queue"]} == {"stops"}
    assert all(i["decision"]["n_trials"] >= 1 for i in training["queue"])


def test_the_idea_hash_includes_the_family(tmp_path: Path) -> None:
    client = TestClient(create_app(dashboard_settings(tmp_path)))
    add_family(client, "a")
    add_family(client, "b")
    same = {"exits.take_profit_pct": 15}
    one = client.post("/api/agent/ideas", json={"params": same, "family": "a"}, headers=AUTH)
    two = client.post("/api/agent/ideas", json={"params": same, "family": "b"}, headers=AUTH)
    again = client.post("/api/agent/ideas", json={"params": same, "family": "a"}, headers=AUTH)
    assert one.status_code == two.status_code == 201 and again.status_code == 200
    assert one.json()["idea"]["param_hash"] != two.json()["idea"]["param_hash"]
    assert again.json()["idea"]["id"] == one.json()["idea"]["id"]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_real_family_run_by_a_worker_is_served(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Ideas submitted through the API, run by a real worker (backtests on the family's
    synthetic market), and read back with their real interval and friction."""
    settings = dashboard_settings(tmp_path, ZERODTE_ENGINE__RUNS_DIR=str(tmp_path / "runs"))
    engine = None
    if backend == "postgres":
        engine = request.getfixturevalue("pg_engine")
    client = TestClient(create_app(settings, engine=engine))
    store: ExperimentStore = client.app.state.ctx.ideas.store  # type: ignore[attr-defined]
    cfg = FamilyConfig(name="real", seed=3, quick_days=3, gap_days=1, validation_days=3)
    store.ensure_family("real", cfg.to_dict())
    for stop in (5, 9):
        idea = {"params": {"exits.stop_loss_pct": stop}, "title": f"stop {stop}"}
        assert client.post("/api/agent/ideas", json=idea, headers=AUTH).status_code == 201
    done = Worker(store, settings, worker_id="w-real").run()
    assert {d["stage"] for d in done} >= {"quick"}
    trials = {t.trial_key: t for t in store.trials("real")}
    quick = [t for t in trials.values() if t.stage == "quick"]
    assert len(quick) == 2
    served = client.get("/api/agent/experiments", params={"family": "real"}).json()
    by_key = {r["run_id"]: r for r in served["experiments"]}
    for t in quick:
        r = by_key[t.trial_key]
        assert r["trades"] == t.trades and r["pnl"] == pytest.approx(t.pnl)
        assert r["family_trials"] == 2
        if t.trades:
            assert r["interval"]["method"] == "session_block"
            assert r["friction"]["fees_paid"] > 0
    status = client.get("/api/agent/status").json()
    assert status["experiments_system"] == "experiments" and status["running"] == []
    assert sum(status["promotion"]["counts"].values()) == 2
