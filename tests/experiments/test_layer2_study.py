"""Layer 2 (patterns and new ideas with provenance), the Optuna study (every trial stored and
counted, rungs in trading days), the executor fan-out and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zerodte.config import Settings
from zerodte.config.settings import StoreSettings
from zerodte.engine.clock import WallClock
from zerodte.errors import ConfigError
from zerodte.experiments.executor import run_batch
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.ideas import open_family, submit_idea
from zerodte.experiments.meta import run_meta
from zerodte.experiments.study import default_rungs, parse_param, run_study
from zerodte.experiments.worker import Worker, WorkerConfig, experiment_dir
from zerodte.store import make_engine
from zerodte.store.experiments import ExperimentStore

FAST = WorkerConfig(heartbeat_s=0.5, stale_s=30.0)


@pytest.fixture
def store(tmp_path: Path) -> ExperimentStore:
    return ExperimentStore(
        make_engine(StoreSettings(path=tmp_path / "exp.db")), clock=WallClock().utc
    )


def _cfg(name: str = "f", quick: int = 6) -> FamilyConfig:
    return FamilyConfig(
        name=name, seed=3, edge=0.0, quick_days=quick, validation_days=4, min_trades=3
    )


def test_meta_reports_patterns_and_queues_ideas_with_provenance(
    store: ExperimentStore, tmp_path: Path
) -> None:
    settings = Settings()
    cfg = open_family(store, _cfg())
    for stop in (6, 10):
        submit_idea(store, settings, cfg, f"stop {stop}", {"exits.stop_loss_pct": stop})
    Worker(store, settings, runs_dir=tmp_path, config=FAST).run()
    dry = run_meta(store, settings, tmp_path, dry_run=True)
    assert dry["runs"] == 2 and len(store.ideas()) == 2
    (row,) = dry["proposals"]
    assert row["queued"] is False
    values = dry["settings_values"]["exits.stop_loss_pct"]
    assert {v["value"] for v in values} == {6.0, 10.0}
    assert all(v["runs"] == 1 and v["ci95"] is None for v in values)  # too few runs for a CI
    report = run_meta(store, settings, tmp_path)
    (new,) = report["proposals"]
    assert new["queued"] is True
    idea = store.idea(new["id"])
    assert idea is not None and idea["source"] == "meta"
    assert idea["provenance"]["pattern"] == "settings_value_at_edge"
    assert sorted(idea["provenance"]["from_ideas"]) == [1, 2]
    best = max(values, key=lambda v: v["mean_per_trade_pnl"])["value"]
    assert idea["overrides"]["exits.stop_loss_pct"] == best + (best - ({6.0, 10.0} - {best}).pop())
    # the same pattern again queues nothing new
    again = run_meta(store, settings, tmp_path)
    assert [p["queued"] for p in again["proposals"]] == [False]
    assert "share_ci95" in report["inverted_confidence"]
    for s in report["strategies"]:
        assert s["runs"] >= 1 and s["share_ci95"] is not None
    assert report["damaged_runs"] == []
    # a run directory whose trades cannot be read is named and left out, not a crash
    (experiment_dir(tmp_path, "f", 1, "quick") / "trades.parquet").write_bytes(b"garbage")
    damaged = run_meta(store, settings, tmp_path, dry_run=True)
    assert damaged["runs"] == 1
    assert [(d["idea"], d["stage"]) for d in damaged["damaged_runs"]] == [(1, "quick")]
    assert "trades.parquet: is not a readable Parquet file" in damaged["damaged_runs"][0]["reason"]


def test_a_study_stores_and_counts_every_trial(store: ExperimentStore, tmp_path: Path) -> None:
    settings = Settings()
    cfg = open_family(store, _cfg("s", quick=8))
    space = [parse_param("exits.stop_loss_pct=4:20:2"), parse_param("exits.max_hold_minutes=20,45")]
    out = run_study(store, settings, cfg, space, n_trials=5, runs_dir=tmp_path, seed=1)
    assert out["rungs_days"] == [3, 4, 8] == list(default_rungs(8))
    assert out["optuna_trials"] == 5 == out["complete"] + out["pruned"]
    stored = store.trials("s")
    assert len(stored) == 5
    assert sum(t.stage == "quick_pruned" for t in stored) == out["pruned"]
    assert all(len(t.daily_pnl) == 8 for t in stored if t.stage == "quick")
    assert out["family"]["n_trials"] == 5 and out["best_verdict"]["n_trials"] == 5
    assert out["best_verdict"]["status"] == "rejected"  # edge 0
    # a second run of the same study continues it in the RDB storage and counts on
    more = run_study(store, settings, cfg, space, n_trials=2, runs_dir=tmp_path, seed=1)
    assert more["optuna_trials"] == 7 and more["family"]["n_trials"] == 7

    import optuna

    study = optuna.load_study(study_name="s-study", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert all("daily_pnl" in t.user_attrs for t in study.trials)


def test_a_misspelt_executor_claims_nothing(store: ExperimentStore, tmp_path: Path) -> None:
    """An unknown executor (or a dask:// address without a port) is refused before any
    idea is claimed: the queue stays pending, not stuck as running until it goes stale."""
    settings = Settings()
    cfg = open_family(store, _cfg("x"))
    submit_idea(store, settings, cfg, "stop 6", {"exits.stop_loss_pct": 6})
    worker = Worker(store, settings, runs_dir=tmp_path, config=FAST)
    for executor in ("bad", "dask://", "dask://host", "ray://h:1"):
        with pytest.raises(ConfigError, match=f"unknown executor '{executor}'"):
            run_batch(store, settings, executor, 1, tmp_path, worker)
    assert [i["status"] for i in store.ideas()] == ["pending"]
    from zerodte.cli.main import app

    env = {"ZERODTE_STORE__PATH": str(tmp_path / "exp.db")}
    res = CliRunner().invoke(app, ["experiments", "run", "--executor", "bad"], env=env)
    assert res.exit_code == 2 and "unknown executor 'bad'; use 'local', 'inline'" in res.stderr
    assert [i["status"] for i in store.ideas()] == ["pending"]


def test_run_batch_records_each_trial_once(store: ExperimentStore, tmp_path: Path) -> None:
    settings = Settings()
    cfg = open_family(store, _cfg("b"))
    for stop in (6, 8, 10):
        submit_idea(store, settings, cfg, f"stop {stop}", {"exits.stop_loss_pct": stop})
    worker = Worker(store, settings, runs_dir=tmp_path, config=FAST)
    first = run_batch(store, settings, "local", 1, tmp_path, worker)
    assert [r["n_trials"] for r in first] == [1]
    rest = run_batch(store, settings, "dask", 2, tmp_path, worker)
    assert sorted(r["n_trials"] for r in rest) == [2, 3]
    assert run_batch(store, settings, "local", 2, tmp_path, worker) == []
    assert len(store.trials("b")) == 3
    assert all((Path(t.run_dir or "") / "ANALYSIS.md").exists() for t in store.trials("b"))


def test_cli_add_status_run_analyze(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zerodte.cli.main import app

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    common = ["--family", "c", "--seed", "3", "--edge", "0", "--quick-days", "4"]
    res = runner.invoke(
        app, ["experiments", "add", "wider", "--set", "exits.stop_loss_pct=12", *common]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["experiments", "add", "wider", "--set", "exits.stop_loss_pct=12.0", "--family", "c"]
    )
    assert "already queued" in res.output
    res = runner.invoke(app, ["experiments", "add", "typo", "--set", "exits.stop_los_pct=1"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["experiments", "run", "--dry-run"])
    assert "would run idea 1 (quick)" in res.output
    res = runner.invoke(app, ["experiments", "run", "--single", "--json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output)
    assert row["status"] == "rejected" and row["n_trials"] == 1
    res = runner.invoke(app, ["experiments", "status", "--json"])
    doc = json.loads(res.output)
    assert doc["counts"]["rejected"] == 1 and doc["families"][0]["n_trials"] == 1
    run_dir = tmp_path / "runs" / "experiments" / "c" / "idea-1-quick"
    (run_dir / "ANALYSIS.md").unlink()
    res = runner.invoke(app, ["experiments", "analyze", str(run_dir)])
    assert res.exit_code == 0 and (run_dir / "ANALYSIS.md").exists()
    res = runner.invoke(app, ["experiments", "analyze", str(tmp_path)])
    assert res.exit_code == 2 and "not a run directory" in res.output


def test_the_default_study_storage_is_the_file_under_runs_dir(tmp_path: Path) -> None:
    """The default Optuna storage URL names ``<runs_dir>/optuna.db`` even when a directory
    name holds ``%`` or ``?`` (a plain ``sqlite:///`` string would name another file)."""
    from sqlalchemy.engine import make_url

    from zerodte.store.engine import sqlite_url

    for name in ("plain", "p%20q", "r?s=1"):
        path = tmp_path / name / "optuna.db"
        assert make_url(sqlite_url(path).render_as_string(hide_password=False)).database == str(
            path
        )


def test_a_bad_param_is_refused_before_any_trial_runs(
    store: ExperimentStore, tmp_path: Path
) -> None:
    """An unknown key or a range end outside the setting's domain is a ConfigError raised
    before the study exists, never an Optuna trial that fails with a traceback."""
    cfg = open_family(store, _cfg())
    for text, message in (
        ("nonsense.key=1:2", "unknown key nonsense.key"),
        ("exits.stop_loss_pct=-5:5", "exits.stop_loss_pct = -5"),
    ):
        with pytest.raises(ConfigError, match=message):
            run_study(store, Settings(), cfg, [parse_param(text)], n_trials=1, runs_dir=tmp_path)
    assert not (tmp_path / "optuna.db").exists()
    assert store.trials(cfg.name) == []
