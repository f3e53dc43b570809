"""``zerodte train threshold``: learned from a logging run's trades and ghosts, saved with
its config, restored in backtest and compare (``--threshold-model``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings, with_overrides
from zerodte.config.decision_settings import ThresholdSettings
from zerodte.errors import ConfigError
from zerodte.market.loading import load_market
from zerodte.policy.gates import build_gates
from zerodte.policy.threshold import ThresholdLearnerGate
from zerodte.rl.learners import train_threshold


def _settings(tmp: Path) -> Settings:
    return with_overrides(
        Settings(),
        {
            "entry.controller": "random",
            "models.hmm_train_days": 5,
            "entry.threshold.warmup_signals": 10,
            "engine.runs_dir": tmp / "runs",
            "store.path": tmp / "runs" / "z.db",
        },
    )


def test_train_threshold_learns_saves_and_restores(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    md = load_market(s, days=6, seed=2, edge=1.0)
    out = tmp_path / "threshold.json"
    learned = train_threshold(s, md, out, code_version="test")
    assert learned["updates_from_trades"] > 0 and learned["signals_rejected"] > 0
    assert learned["updates_from_ghosts"] > 0
    saved = json.loads(out.read_text())
    assert saved["provenance"]["data_hash"] == md.data_hash
    assert saved["provenance"]["controller"] == "random"
    assert saved["config"]["warmup_signals"] == 10
    restored = with_overrides(
        s, {"entry.threshold.enabled": True, "entry.threshold.state_path": out}
    )
    gate = next(g for g in build_gates(restored) if isinstance(g, ThresholdLearnerGate))
    total = learned["updates_from_trades"] + learned["updates_from_ghosts"]
    assert int(gate.model_.n_[0]) == total
    assert gate.counts_["rejected"] == learned["signals_rejected"]
    fresh = ThresholdLearnerGate(ThresholdSettings(warmup_signals=10))
    fresh.model_.restore(saved["state"])
    np.testing.assert_array_equal(gate.model_.theta_, fresh.model_.theta_)
    # saved again, the state is the same file content
    again = gate.save_state(tmp_path / "again.json", saved["provenance"])
    assert json.loads(again.read_text())["state"] == saved["state"]


def test_state_of_other_features_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"features": ["x"], "state": {}, "counts": {}}))
    with pytest.raises(ConfigError, match="train threshold"):
        ThresholdLearnerGate.from_settings(ThresholdSettings(state_path=bad))


def test_threshold_model_option_restores_it_in_backtest_and_compare(tmp_path: Path) -> None:
    env = {
        "ZERODTE_MODELS__HMM_TRAIN_DAYS": "5",
        "ZERODTE_ENGINE__RUNS_DIR": str(tmp_path),
        "ZERODTE_STORE__PATH": str(tmp_path / "z.db"),
        "ZERODTE_ENTRY__THRESHOLD__WARMUP_SIGNALS": "5",
    }
    out = tmp_path / "t.json"
    market = ["--days", "3", "--seed", "4", "--edge", "1"]
    res = CliRunner().invoke(
        app,
        ["train", "threshold", "--controller", "random", *market, "--out", str(out), "--json"],
        env=env,
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["state_path"] == str(out)
    run = ["backtest", "--controller", "random", *market, "--json", "--run-dir"]
    plain = CliRunner().invoke(app, [*run, str(tmp_path / "a")], env=env)
    gate = ["--threshold-model", str(out)]
    gated = CliRunner().invoke(app, [*run, str(tmp_path / "b"), *gate], env=env)
    assert plain.exit_code == 0 and gated.exit_code == 0, gated.output
    vetoes = json.loads(gated.stdout)["vetoes"]
    assert vetoes.get("threshold_learner", 0) > 0
    assert "threshold_learner" not in json.loads(plain.stdout)["vetoes"]
    cmp = CliRunner().invoke(
        app,
        ["compare", "--controllers", "random", *market, "--n-boot", "50", "--json", *gate],
        env=env,
    )
    assert cmp.exit_code == 0, cmp.output
    assert json.loads(cmp.stdout)["n_compared"] == 2
