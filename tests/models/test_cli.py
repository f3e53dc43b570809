"""``zerodte eval calibration --json`` and ``zerodte train ...`` contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.models import load_bundle


@pytest.mark.slow
def test_eval_calibration_json(tmp_path: Path) -> None:
    out = tmp_path / "m"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "calibration",
            "--days",
            "24",
            "--seed",
            "3",
            "--edge",
            "1",
            "--folds",
            "2",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert Path(data["reliability_plot"]).read_bytes()[:4] == b"\x89PNG"
    for name in ("direction_up", "direction_neutral", "confidence"):
        r = data["outputs"][name]
        for key in (
            "n",
            "accuracy",
            "accuracy_ci95",
            "brier",
            "brier_climatology",
            "ece_raw",
            "ece_calibrated",
        ):
            assert key in r, (name, key)
        assert r["n"] > 0 and r["accuracy_ci95"][0] <= r["accuracy"] <= r["accuracy_ci95"][1]
    for name in ("confidence_by_regime", "direction_up_by_regime"):  # per-regime calibrators
        r = data["outputs"][name]
        assert r["n"] == data["outputs"][name.removesuffix("_by_regime")]["n"]
        assert 0 <= r["ece_calibrated"] <= 1
    bundle = load_bundle(out)
    assert bundle.kind == "trees" and bundle.data_hash and bundle.code_version
    assert bundle.metrics["confidence"]["n"] == data["outputs"]["confidence"]["n"]


@pytest.mark.slow
def test_eval_calibration_on_too_few_sessions_says_how_many(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["eval", "calibration", "--days", "3", "--seed", "3", "--out", str(tmp_path / "m")],
    )
    assert res.exit_code == 2
    assert "needs at least 4 sessions" in res.output and "has 3" in res.output
    assert not (tmp_path / "m").exists()  # nothing fitted, nothing saved


def test_train_trees_records_feature_group_ablation(tmp_path: Path) -> None:
    out = tmp_path / "trees"
    args = ["train", "trees", "--days", "16", "--seed", "3", "--edge", "1", "--folds", "1"]
    res = CliRunner().invoke(app, [*args, "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    deltas = json.loads(res.output)["ablation"]["deltas"]  # one per feature group of the set
    assert {"returns", "volatility", "time", "vix"} <= set(deltas)
    assert load_bundle(out).metrics["ablation"]["deltas"] == deltas
    assert all(set(d) == {"log_loss", "brier"} for d in deltas.values())


def test_train_commands_exist() -> None:
    res = CliRunner().invoke(app, ["train", "--help"])
    assert res.exit_code == 0
    for cmd in ("predictor", "trees", "retrieval", "patchtst", "hmm"):
        assert cmd in res.output
    bad = CliRunner().invoke(
        app, ["eval", "calibration", "--model", "nope", "--days", "20", "--seed", "1"]
    )
    assert bad.exit_code == 2 and "unknown model kind" in bad.output


def test_bad_folds_and_feature_set_are_refused_before_any_training(tmp_path: Path) -> None:
    """--folds below 1 and an unknown --feature-set are flag errors (exit 2, no traceback),
    never an empty evaluation or a KeyError."""
    base = ["eval", "calibration", "--days", "6", "--seed", "1", "--out", str(tmp_path / "m")]
    for extra, message in (
        (["--folds", "0"], "--folds"),
        (["--feature-set", "nope"], "unknown feature set 'nope'; use one of default"),
    ):
        res = CliRunner().invoke(app, [*base, *extra])
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)
        assert message in res.output
        assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_eval_calibration_over_seeds_reports_shares(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["eval", "calibration", "--days", "24", "--seeds", "3-4", "--folds", "2", "--json",
         "--out", str(tmp_path / "p")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["edges"] == [1.0, 0.0] and len(data["rows"]) == 4
    for edge in ("edge_1", "edge_0"):
        up = data["shares"][edge]["direction_up"]
        assert up["seeds"] == 2
        assert 0.0 <= up["accuracy_gain_share"] <= 1.0 and 0.0 <= up["brier_skill_share"] <= 1.0
    first = data["rows"][0]["outputs"]["direction_up"]
    assert len(first["accuracy_gain_ci95"]) == 2 and len(first["brier_skill_ci95"]) == 2
