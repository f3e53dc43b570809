"""``prediction`` controller end to end: a saved bundle drives a backtest through settings."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings
from zerodte.config.settings import EngineSettings, StoreSettings
from zerodte.engine.backtest import predictor_context, run_backtest
from zerodte.errors import ConfigError
from zerodte.features import get_feature_set
from zerodte.models import fit_walk_forward, load_bundle, walk_forward_splits
from zerodte.models.trees import TreeConfig
from zerodte.models.walkforward_fit import CONTEXT_COLUMNS
from zerodte.regime import OUTPUT_COLUMNS as REGIME_COLUMNS

from .conftest import TREE_COLUMNS, make_case
from .conftest import MarketData as Data

DAYS = 12
COLS = TREE_COLUMNS


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Data, Path]:
    c = make_case(DAYS, 1.0, seed=3)
    splits = walk_forward_splits(
        c.frame.index, n_splits=2, train_days=6, calib_days=2, embargo_minutes=15, final=True
    )
    cfg = TreeConfig(
        heads=("direction", "strength", "abs_move"),
        columns=COLS,
        n_estimators=20,
        min_child_weight=20,
    )
    bundle = fit_walk_forward(
        "trees",
        cfg,
        c.features,
        c.targets,
        splits,
        feature_set=c.feature_set,
        horizon_minutes=15,
        embargo_minutes=15,
        calibration_method="platt",
    )
    path = bundle.save(tmp_path_factory.mktemp("bundle") / "trees")
    return Data(c.frame, "synthetic-12-3"), path


def _settings(tmp: Path, bundle: Path | None) -> Settings:
    base = Settings()
    return base.model_copy(
        update={
            "entry": base.entry.model_copy(
                update={
                    "controller": "prediction",
                    "prediction_min_risk_adjusted": 0.0,
                    "prediction_min_confidence": 0.5,
                }
            ),
            "models": base.models.model_copy(
                update={"predictor_bundle": bundle, "hmm_train_days": 5, "hmm_refit_days": 2}
            ),
            "engine": EngineSettings(runs_dir=tmp / "runs"),
            "store": StoreSettings(path=tmp / "runs" / "zerodte.db"),
        }
    )


def test_predictions_and_regime_reach_the_trades(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, bundle = trained
    settings = _settings(tmp_path, bundle)
    ctx = predictor_context(settings, data.frame)
    assert ctx is not None
    assert set(CONTEXT_COLUMNS) | set(REGIME_COLUMNS) <= set(ctx.values.columns)
    runs = {
        p: run_backtest(settings, data, path=p, write=False, record=False, n_boot=100)
        for p in ("vectorised", "streaming")
    }
    trades = runs["vectorised"].trades
    assert len(trades) > 0, runs["vectorised"].summary
    pd.testing.assert_frame_equal(trades, runs["streaming"].trades)
    for col in (
        "predicted_return",
        "direction_prob_up",
        "ml_confidence",
        "calibrated_confidence",
        "hmm_trend",
        "hmm_confidence",
    ):
        assert trades[col].notna().all(), col
    # each trade carries the prediction of the bar it was decided on (filled one bar later)
    decided = ctx.values.index.get_indexer(pd.DatetimeIndex(trades["entry_time"])) - 1
    at = ctx.values.iloc[decided]
    pd.testing.assert_series_equal(
        trades["direction_prob_up"].astype(float).reset_index(drop=True),
        at["direction_prob_up"].reset_index(drop=True),
        check_names=False,
    )
    assert runs["vectorised"].manifest["predictor"]["kind"] == "trees"
    # every DecisionRecord carries the observation's prediction and regime of its cycle
    decisions = runs["vectorised"].decisions
    pd.testing.assert_frame_equal(decisions, runs["streaming"].decisions)
    for col in ("direction_prob_up", "predicted_return", "hmm_trend"):
        pd.testing.assert_series_equal(
            decisions[col].reset_index(drop=True),
            ctx.values[col].iloc[decisions["cycle"].to_numpy()].reset_index(drop=True),
            check_names=False,
        )


def test_without_bundle_no_prediction_no_trade(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, _ = trained
    result = run_backtest(_settings(tmp_path, None), data, write=False, record=False, n_boot=100)
    assert len(result.trades) == 0 and result.manifest["predictor"] is None


def test_bundle_of_another_schema_is_refused(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, path = trained
    old = load_bundle(path)
    old.feature_set_version = 0  # as if trained before the feature set's last change
    old.schema_hash = replace(get_feature_set("default"), version=0).schema_hash
    stale = old.save(tmp_path / "stale")
    with pytest.raises(ConfigError, match=r"predictor_bundle.*schema mismatch.*retrain"):
        predictor_context(_settings(tmp_path, stale), data.frame)
    with pytest.raises(ConfigError, match=r"predictor_bundle.*not a model bundle"):
        predictor_context(_settings(tmp_path, tmp_path / "missing"), data.frame)


def test_calibration_gate_learns_from_the_backtests_trades(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, bundle = trained
    base = _settings(tmp_path, bundle)
    gates = base.gates.model_copy(
        update={
            "calibration_enabled": True,
            "calibration_min_trades": 5,
            "calibration_min_prob": 0.99,  # blocks every entry once it has learnt
        }
    )
    free = run_backtest(base, data, write=False, record=False, n_boot=100)
    gated = run_backtest(
        base.model_copy(update={"gates": gates}), data, write=False, record=False, n_boot=100
    )
    assert len(free.trades) > 5
    assert len(gated.trades) == 5  # the sixth entry is judged on five closed trades
    assert gated.summary["vetoes"].get("calibration", 0) > 0
    assert gated.trades["ml_confidence"].notna().all()


def test_cli_backtest_with_predictor(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _, bundle = trained
    # the settings of _settings, given as the user would (the environment)
    for key, value in {
        "ENTRY__PREDICTION_MIN_RISK_ADJUSTED": "0.0",
        "ENTRY__PREDICTION_MIN_CONFIDENCE": "0.5",
        "MODELS__HMM_TRAIN_DAYS": "5",
        "MODELS__HMM_REFIT_DAYS": "2",
        "ENGINE__RUNS_DIR": str(tmp_path / "runs"),
        "STORE__PATH": str(tmp_path / "runs" / "zerodte.db"),
        "DATA__DATA_DIR": str(tmp_path / "data"),
    }.items():
        monkeypatch.setenv(f"ZERODTE_{key}", value)
    args = ["backtest", "--controller", "prediction", "--days", str(DAYS), "--seed", "3"]
    args += ["--edge", "1", "--run-dir", str(tmp_path / "r"), "--json"]
    out = CliRunner().invoke(app, [*args, "--predictor", str(bundle)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["trades"] > 0
    bad = CliRunner().invoke(app, [*args, "--predictor", str(tmp_path / "none")])
    assert bad.exit_code == 2 and "not a model bundle" in bad.output
