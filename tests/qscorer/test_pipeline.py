"""End to end: logged dataset, missing-horizon regression, pipeline and optimisation verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zerodte.config import Settings, load_settings
from zerodte.config.settings import QScorerSettings
from zerodte.errors import ConfigError, DataError
from zerodte.market.loading import load_market
from zerodte.qscorer.artifacts import load_model, save_model
from zerodte.qscorer.compare import slice_market
from zerodte.qscorer.missed import read_missed
from zerodte.qscorer.optimize import optimize_thresholds
from zerodte.qscorer.pipeline import (
    default_cycles,
    generate_dataset,
    label_exit_mismatch,
    require_paper,
    run_pipeline,
    split_sessions,
)
from zerodte.qscorer.train import train_q_scorer
from zerodte.records import ghost_column


def _settings(tmp_path, preset: str | None = None) -> Settings:
    s = load_settings(preset=preset, env={}, dotenv=None) if preset else Settings()
    return s.model_copy(
        update={
            "engine": s.engine.model_copy(update={"runs_dir": tmp_path / "runs"}),
            "qscorer": s.qscorer.model_copy(update={"model_dir": tmp_path / "deployed"}),
        }
    )


def test_missing_horizon_regression_end_to_end(tmp_path) -> None:
    """Late cycles lack the 60-minute horizon: their records are written and H=15 uses them."""
    s = _settings(tmp_path)
    md = load_market(s, days=6, seed=11, edge=1.0)
    dsr = generate_dataset(s, md, tmp_path / "run")
    missed = read_missed(tmp_path / "run")
    dec = dsr.run.decisions
    assert len(missed) == int((dec["executed_action"] == 0).sum())
    c15, c60 = ghost_column("call", 15), ghost_column("call", 60)
    lacking_60 = missed[missed[c60].isna() & missed[c15].notna()]
    assert len(lacking_60) > 0  # minutes where 60 is past the guard but 15 is not
    ds = dsr.dataset
    report = ds.report
    labelled = ds.labelled
    # every such record is matched when training on H = 15
    matched_ts = set(labelled.loc[labelled["source"] == "ghost", "timestamp"])
    warm = set(ds.frame["timestamp"])
    expected = {t for t in lacking_60["timestamp"] if t in warm}
    assert expected and expected <= matched_ts
    assert report.matched == len(labelled) > 0
    assert any("horizon 15 unavailable" in g.reason for g in report.unmatched)
    assert report.matched + sum(g.rows for g in report.unmatched) == report.decisions
    res = train_q_scorer(ds, QScorerSettings(model="mlp", epochs=3, ensemble_size=2, hidden=(8,)))
    assert res.metrics["train_rows"] > 0


def test_live_mode_refused(tmp_path) -> None:
    s = _settings(tmp_path)
    live = s.model_copy(
        update={"broker": s.broker.model_copy(update={"mode": "live", "paper_trading": False})}
    )
    with pytest.raises(ConfigError, match="paper"):
        require_paper(live)


@pytest.mark.slow
def test_planted_edge_beats_baseline_out_of_sample(tmp_path) -> None:
    """The q_scorer preset (15-minute labels with its exits) on 100 + 100 sessions."""
    s = _settings(tmp_path, preset="q_scorer")
    s = s.model_copy(update={"store": s.store.model_copy(update={"path": tmp_path / "s.db"})})
    md = load_market(s, days=200, seed=7, edge=1.0)
    out = run_pipeline(
        s, md, cycles=100 * 390, out_dir=tmp_path / "p", deploy_model=True, n_boot=1000,
        record=True,
    )  # fmt: skip
    print(
        json.dumps(
            {k: out[k] for k in ("table", "diff_per_trade_pnl", "diff_per_trade_pnl_ci95", "ope")},
            default=str,
        )
    )
    assert load_model(tmp_path / "deployed").sha256 == load_model(tmp_path / "p" / "model").sha256
    assert out["diff_per_trade_pnl_ci95"] is not None
    assert out["diff_per_trade_pnl_ci95"][0] > 0
    assert out["significant"] is True
    # both out-of-sample runs are in the store; the Q-scorer's carries the off-policy values,
    # which its run page shows
    from fastapi.testclient import TestClient

    from zerodte.dashboard import create_app
    from zerodte.store import RunStore, make_engine

    runs = {r["controller"]: r for r in RunStore(make_engine(s.store)).list_runs()}
    q_run = runs["q_scorer"]
    assert runs["momentum"]["summary"]["trades"] == out["baseline"]["trades"]
    assert q_run["summary"]["trades"] == out["q_scorer"]["trades"]
    ope = q_run["summary"]["ope"]
    assert ope["dr"] == out["ope"]["dr"] and ope["window"].startswith("validation rows")
    page = TestClient(create_app(s)).get(f"/runs/{q_run['run_id']}").text
    assert "No off-policy estimates" not in page and "snips_ci95" in page


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "days", "dataset_days"),
    [(None, 30, 15), ("q_scorer", 200, 100)],  # the second: the planted-edge test's window
)
def test_null_market_reports_no_edge(
    tmp_path, preset: str | None, days: int, dataset_days: int
) -> None:
    s = _settings(tmp_path, preset)
    md = load_market(s, days=days, seed=7, edge=0.0)
    out = run_pipeline(s, md, cycles=dataset_days * 390, out_dir=tmp_path / "p", n_boot=500)
    assert out["significant"] is False
    # Nor does the Q-scorer make money on its own (beating momentum's friction is a lower bar).
    q_ci = out["q_scorer"]["per_trade_pnl_ci95"]
    assert q_ci is None or q_ci[0] <= 0
    for key in (
        "baseline",
        "q_scorer",
        "ope",
        "run_dirs",
        "model_dir",
        "diff_per_trade_pnl",
        "diff_per_trade_pnl_ci95",
    ):
        assert key in out
    for est in ("ips", "snips", "dr"):
        assert f"{est}_ci95" in out["ope"]
    loaded = load_model(tmp_path / "p" / "model")
    sessions = list(md.sessions)[dataset_days : dataset_days + 15]
    res = optimize_thresholds(
        s,
        loaded,
        slice_market(md, sessions[:7]),
        slice_market(md, sessions[7:]),
        grid={"q_threshold": (-5.0, 0.0, 5.0), "q_min_conf": (0.0, 0.7), "q_min_abs_ret": (0.0,)},
        top_k=2,
    )
    assert res["n_trials"] == 6  # distinct configurations; re-runs on window B are not trials
    assert res["n_runs"] == 12
    assert res["significant"] is False


def test_model_pair_is_replaced_atomically(tmp_path) -> None:
    from .conftest import toy_dataset

    res = train_q_scorer(
        toy_dataset(800), QScorerSettings(model="mlp", epochs=2, ensemble_size=2, hidden=(4,))
    )
    save_model(tmp_path, res.model, {"v": 1})
    first = load_model(tmp_path).sha256
    save_model(tmp_path, res.model, {"v": 2})
    assert load_model(tmp_path).sha256 == first  # same weights, same bytes
    assert not list(tmp_path.glob(".*.tmp"))
    assert np.isfinite(res.model.offset).all()


def test_label_exit_mismatch_is_reported(tmp_path) -> None:
    """Default exits sell at t + 46 with fixed-horizon labels; the preset's agree with H = 15."""
    default = _settings(tmp_path)
    why = label_exit_mismatch(default, 15)
    assert why is not None
    assert "apply_exit_rules" in why and "t + 46" in why
    preset = _settings(tmp_path, preset="q_scorer")
    assert label_exit_mismatch(preset, 15) is None
    assert label_exit_mismatch(preset, 30) is not None


def test_too_few_sessions_for_a_comparison_say_how_many(tmp_path) -> None:
    md = load_market(_settings(tmp_path), days=3, seed=11, edge=1.0)
    with pytest.raises(DataError, match=r"has 3 session\(s\).*at least 4\) or fewer --cycles"):
        split_sessions(md, 390)


def test_default_cycles_is_the_first_half_of_the_sessions(tmp_path) -> None:
    md = load_market(_settings(tmp_path), days=6, seed=11, edge=1.0)
    ds, oos = split_sessions(md, default_cycles(md))
    assert len(ds) == len(oos) == 3


def test_a_dataset_too_small_to_split_says_why_its_rows_are_few(tmp_path) -> None:
    """Five logged sessions are all feature warm-up: training is refused with the dataset's
    own counts (decisions, matched, each unmatched reason) and what to change."""
    from typer.testing import CliRunner

    from zerodte.cli.main import app

    res = CliRunner().invoke(
        app,
        ["q", "train", "--days", "10", "--seed", "3", "--out", str(tmp_path / "q")],
        env={"ZERODTE_ENGINE__RUNS_DIR": str(tmp_path / "runs")},
    )
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "0 labelled rows are too few to split" in res.stderr
    assert "0 matched" in res.stderr and "state features unavailable (warm-up" in res.stderr
    assert "Use more sessions (--days" in res.stderr
