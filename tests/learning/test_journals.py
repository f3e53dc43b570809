"""Journals of a run: Parquet, the JSONL/JSON exports, the SQL store and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings
from zerodte.config.settings import StoreSettings
from zerodte.engine.backtest import run_backtest
from zerodte.learning.loop import apply_run_dir, assess_run_dir
from zerodte.learning.regret import REGRET_KINDS
from zerodte.market.loading import load_market
from zerodte.policy.qthink_state import load_state
from zerodte.store import make_engine
from zerodte.store.qthink import SqlQThinkJournal

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("learn") / "run"
    settings = Settings()
    md = load_market(settings, days=3, seed=4, edge=1.0)
    res = run_backtest(settings, md, run_dir=out, record=False, n_boot=50)
    assert len(res.trades) >= 5
    return out


def test_journals_in_the_run_dir_and_the_store(run_dir: Path, tmp_path: Path) -> None:
    journal = SqlQThinkJournal(make_engine(StoreSettings(path=tmp_path / "s.db")))
    a, res = assess_run_dir(run_dir, journal)
    trades = pd.read_parquet(run_dir / "trades.parquet")
    n = len(trades)
    assert res["summary"]["trades"] == n and res["stored_rows"] == n
    assert len(pd.read_parquet(run_dir / "qthink_outcomes.parquet")) == n
    assert len(pd.read_parquet(run_dir / "qthink_agents.parquet")) == len(a.agents)
    sync = [json.loads(x) for x in (run_dir / "sync_log.jsonl").read_text().splitlines()]
    assert [r["trade_id"] for r in sync] == sorted(trades["trade_id"].tolist())
    assert all(set(REGRET_KINDS) <= set(r) for r in sync)
    mesh = [json.loads(x) for x in (run_dir / "mesh_logger.jsonl").read_text().splitlines()]
    assert len(mesh) == n and all(len(m["agents"]) == 7 for m in mesh)
    confused = (run_dir / "mesh_confusion_log.jsonl").read_text().splitlines()
    assert len(confused) == int(a.outcomes["mesh_confusion"].sum())
    clusters = json.loads((run_dir / "journal" / "trade_clusters.json").read_text())
    assert sum(c["trades"] for c in clusters.values()) == n
    summary = json.loads((run_dir / "qthink_journal_summary.json").read_text())
    assert sum(summary["labels"].values()) == n
    triggers = json.loads((run_dir / "memory_triggers.json").read_text())
    assert set(triggers) == {"archetypes", "time_of_day", "agents"}
    stored = journal.outcomes(res["run_id"])
    assert sorted(stored["trade_id"]) == sorted(trades["trade_id"])
    assert stored["label"].tolist() == a.outcomes.sort_values("trade_id")["label"].tolist()
    assert len(journal.agents(res["run_id"])) == len(a.agents)
    # a re-assessment replaces the run's rows instead of adding to them
    assess_run_dir(run_dir, journal)
    assert len(journal.outcomes(res["run_id"])) == n


def test_apply_writes_a_state_whose_versions_follow_known_times(run_dir: Path) -> None:
    assess_run_dir(run_dir)
    res = apply_run_dir(run_dir)
    state = load_state(Path(res["state"]))
    outcomes = pd.read_parquet(run_dir / "qthink_outcomes.parquet")
    assert len(state.versions) == len(outcomes) + 1
    assert state.versions[0].published_at is None
    stamps = [v.published_at for v in state.versions[1:]]
    assert stamps == sorted(pd.to_datetime(outcomes["known_at"]))
    with pytest.raises(ValueError, match="before the state's last"):
        apply_run_dir(run_dir, run_dir / "again.json", start=Path(res["state"]))


def test_learn_commands(run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZERODTE_STORE__PATH", str(tmp_path / "cli.db"))
    res = runner.invoke(app, ["learn", "regret", "--run", str(run_dir), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["summary"]["trades"] >= 5
    out = tmp_path / "state.json"
    res = runner.invoke(app, ["learn", "apply", "--run", str(run_dir), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and "weights:" in res.output
    res = runner.invoke(app, ["learn", "report", "--run", str(run_dir), "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["runs"] == 1 and str(run_dir) in rep["memory_triggers"]
    missing = runner.invoke(app, ["learn", "regret", "--run", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "manifest.json" in missing.output


def test_learn_on_a_run_without_an_assessment_is_a_clear_error(tmp_path: Path) -> None:
    """`learn apply` and `learn report` before `learn regret` name the missing file and the
    command that writes it, with exit 2 and no traceback."""
    runner = CliRunner()
    for args in (
        ["learn", "apply", "--run", str(tmp_path)],
        ["learn", "report", "--run", str(tmp_path)],
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert "qthink_outcomes.parquet is missing" in res.output
        assert f"zerodte learn regret --run {tmp_path}" in res.output


def _tree_digest(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("trades.parquet", b"garbage", "trades.parquet: is not a readable Parquet file"),
        ("decisions.parquet", b"xx", "decisions.parquet: is not a readable Parquet file"),
        ("manifest.json", b"[]", "manifest.json: holds a JSON list, not an object"),
        ("manifest.json", b'{"config": 5}', "has no config object (config = 5)"),
        (
            "manifest.json",
            b'{"config": {"exits": {"stop_loss_pct": "x"}}}',
            "- exits.stop_loss_pct = 'x' (from the run's manifest.json)",
        ),
        ("summary.json", b'{"a":', "summary.json: is not readable JSON"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 20 else None,
)
def test_a_damaged_run_directory_is_a_data_error_that_changes_nothing(
    run_dir: Path, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    """A truncated record, a manifest that is not an object or holds invalid settings, and a
    summary that is not JSON stop `learn regret` (or `experiments analyze`, which reads the
    summary) with the file named, exit 2, no traceback, and every file as it was."""
    import shutil

    damaged = tmp_path / "run"
    shutil.copytree(run_dir, damaged)
    (damaged / name).write_bytes(content)
    before = _tree_digest(damaged)
    command = ["experiments", "analyze"] if name == "summary.json" else ["learn", "regret", "--run"]
    res = CliRunner().invoke(
        app, [*command, str(damaged)], env={"ZERODTE_STORE__PATH": str(tmp_path / "s.db")}
    )
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.stderr.startswith("data error: ") and message in res.stderr, res.stderr
    assert _tree_digest(damaged) == before
