"""Layer 1 through the real engine: an edge-0 family promotes nothing, every decision counts
the family's trials so far, validation runs on later days only, run directories analysed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings
from zerodte.config.settings import StoreSettings
from zerodte.engine.clock import WallClock
from zerodte.errors import ConfigError
from zerodte.experiments.analysis import backfill
from zerodte.experiments.family import FamilyConfig
from zerodte.experiments.ideas import open_family, queue_status, submit_idea
from zerodte.experiments.worker import Worker, WorkerConfig
from zerodte.store import make_engine
from zerodte.store.experiments import ExperimentStore

FAST = WorkerConfig(heartbeat_s=0.5, stale_s=30.0, idle_s=0.1)


@pytest.fixture
def store(tmp_path: Path) -> ExperimentStore:
    return ExperimentStore(
        make_engine(StoreSettings(path=tmp_path / "exp.db")), clock=WallClock().utc
    )


def _family(store: ExperimentStore, **kw: Any) -> FamilyConfig:
    cfg = FamilyConfig(
        name=kw.pop("name", "edge0"),
        seed=3,
        edge=0.0,
        quick_days=6,
        gap_days=1,
        validation_days=6,
        min_trades=3,
        **kw,
    )
    return open_family(store, cfg)


IDEAS = [
    ("tight stop", {"exits.stop_loss_pct": 5}),
    ("wide stop", {"exits.stop_loss_pct": 15}),
    ("fast momentum", {"entry.momentum_lookback_minutes": 15}),
    ("strict momentum", {"entry.momentum_threshold_pct": 0.2}),
]


def test_an_edge_zero_family_through_the_engine_promotes_nothing(
    store: ExperimentStore, tmp_path: Path
) -> None:
    settings = Settings()
    cfg = _family(store)
    for title, overrides in IDEAS:
        submit_idea(store, settings, cfg, title, overrides)
    results = Worker(store, settings, runs_dir=tmp_path / "runs", config=FAST).run()
    assert [r["status"] for r in results] == ["rejected"] * len(IDEAS)
    assert [r["n_trials"] for r in results] == [1, 2, 3, 4]
    for r in results:  # every figure carries its friction, interval, data and trial count
        assert r["fees_paid"] > 0 and len(r["per_trade_pnl_ci95"]) == 2
        assert r["data_source"].startswith("synthetic(seed=3, edge=0.0)")
        assert r["first_session"] < r["last_session"]
    status = queue_status(store, settings.broker.initial_cash)
    assert status["counts"]["passed_quick"] == status["counts"]["validated"] == 0
    (fam,) = status["families"]
    assert fam["n_trials"] == len(IDEAS) and fam["best"]["n_trials"] == len(IDEAS)
    for r in results:
        run_dir = tmp_path / "runs" / "experiments" / "edge0" / f"idea-{r['idea_id']}-quick"
        analysis = (run_dir / "ANALYSIS.md").read_text()
        assert "trial(s) of the family" in analysis and "## Recommendations" in analysis
        assert "## Confidence calibration" in analysis and "By exit reason" in analysis
        assert f"n_trials: {r['n_trials']}" in (run_dir / "SUMMARY.txt").read_text()


def test_idempotent_submission_and_schema_validation(store: ExperimentStore) -> None:
    settings = Settings()
    cfg = _family(store)
    a = submit_idea(store, settings, cfg, "wider", {"exits.stop_loss_pct": 12})
    b = submit_idea(store, settings, cfg, "wider again", {"exits.stop_loss_pct": 12.0})
    assert a["id"] == b["id"] and a["created"] and not b["created"]
    with pytest.raises(ConfigError, match=r"did you mean exits\.stop_loss_pct"):
        submit_idea(store, settings, cfg, "typo", {"exits.stop_los_pct": 12})
    with pytest.raises(ConfigError, match="stop_loss_pct"):
        submit_idea(store, settings, cfg, "bad", {"exits.stop_loss_pct": -1})
    for blank in ("", "   "):
        with pytest.raises(ConfigError, match="needs a title"):
            submit_idea(store, settings, cfg, blank, {"exits.stop_loss_pct": 13})
    with pytest.raises(ConfigError, match="--source 'robot': an idea's source is one of user"):
        submit_idea(store, settings, cfg, "t", {"exits.stop_loss_pct": 13}, source="robot")
    assert len(store.ideas()) == 1


def test_a_family_with_an_impossible_market_or_rule_is_refused() -> None:
    """A negative seed, an edge outside [0, 1] (NaN included) or min_trades below 1 is a
    ConfigError when the family is made, before any idea is queued under it."""
    for kwargs, message in (
        ({"seed": -2}, "seed must be 0 or more, got -2"),
        ({"edge": 2.0}, r"edge must be in \[0, 1\], got 2.0"),
        ({"edge": float("nan")}, r"edge must be in \[0, 1\], got nan"),
        ({"min_trades": 0}, "min_trades must be at least 1"),
    ):
        with pytest.raises(ConfigError, match=f"experiment family f: {message}"):
            FamilyConfig(name="f", **kwargs)
    assert FamilyConfig(name="f", seed=0, edge=0.0).edge == 0.0


class PromoteAll(Worker):
    """Promotes every quick trial so that the validation path runs (the rule is tested
    elsewhere); the validation decision is the real one."""

    def decider(self, claim: Any, key: str) -> Any:
        real = super().decider(claim, key)
        if claim.stage == "quick":
            return lambda rows: ("passed_quick", {"n_trials": len(rows), "forced": True})
        return real


def test_validation_runs_on_later_days_only(store: ExperimentStore, tmp_path: Path) -> None:
    settings = Settings()
    cfg = _family(store, name="val")
    for title, overrides in IDEAS[:2]:
        submit_idea(store, settings, cfg, title, overrides)
    results = PromoteAll(store, settings, runs_dir=tmp_path / "runs", config=FAST).run()
    # a promoted idea is validated before the next one is quick-tested (same priority)
    assert [r["stage"] for r in results] == ["quick", "validation", "quick", "validation"]
    validations = [r for r in results if r["stage"] == "validation"]
    assert {r["status"] for r in validations} <= {"validated", "failed_validation"}
    assert [r["n_trials"] for r in validations] == [1, 2]
    quick = store.trials("val", "quick")
    val = store.trials("val", "validation")
    assert max(t.last_session for t in quick) < min(t.first_session for t in val)
    assert len({t.first_session for t in val}) == 1
    # backfill rewrites every analysis (force) and leaves complete ones alone otherwise
    assert backfill(tmp_path / "runs").analysed == []
    assert len(backfill(tmp_path / "runs", force=True).analysed) == 4
    # a damaged run directory is reported and left as it was; the others are analysed
    damaged = sorted((tmp_path / "runs").rglob("summary.json"))[0]
    damaged.write_text('{"a":', encoding="utf-8")
    res = backfill(tmp_path / "runs", force=True)
    assert len(res.analysed) == 3 and list(res.damaged) == [damaged.parent]
    assert "summary.json: is not readable JSON" in res.damaged[damaged.parent]
    assert damaged.read_text(encoding="utf-8") == '{"a":'
    cli = CliRunner().invoke(
        app, ["experiments", "backfill", "--force", "--root", str(tmp_path / "runs")]
    )
    assert cli.exit_code == 1 and "analysed 3 run directories" in cli.stdout
    assert f"not analysed: {damaged}: is not readable JSON" in cli.stderr
