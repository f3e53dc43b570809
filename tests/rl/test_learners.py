"""``zerodte train bandit``: learned from the run's trades and ghosts, saved, restored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.config import Settings, with_overrides
from zerodte.config.decision_settings import BanditSettings
from zerodte.market.loading import load_market
from zerodte.policy.controllers.bandit import BanditController
from zerodte.rl.learners import train_bandit


def test_train_bandit_learns_trades_and_ghosts_and_restores(tmp_path: Path) -> None:
    s = with_overrides(
        Settings(),
        {
            "models.hmm_train_days": 5,
            "entry.bandit.profile": "full",
            "entry.bandit.epsilon": 0.2,
            "engine.runs_dir": tmp_path / "runs",
        },
    )
    md = load_market(s, days=10, seed=2, edge=1.0)
    out = tmp_path / "bandit.json"
    learned = train_bandit(s, md, out, code_version="test")
    assert learned["trades"] > 0 and learned["updates_from_trades"] > 0
    assert learned["updates_from_ghosts"] > learned["updates_from_trades"]
    saved = json.loads(out.read_text())
    assert saved["provenance"]["data_hash"] == md.data_hash
    assert saved["config"]["profile"] == "full"
    again = BanditController.from_settings(
        BanditSettings(profile="full", epsilon=0.2, state_path=out)
    )
    total = learned["updates_from_trades"] + learned["updates_from_ghosts"]
    assert int(again.arms_.n_.sum()) == total
    assert np.isfinite(again.arms_.theta_).all()


def test_train_bandit_command(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    env = {"ZERODTE_MODELS__HMM_TRAIN_DAYS": "5", "ZERODTE_ENGINE__RUNS_DIR": str(tmp_path)}
    args = ["train", "bandit", "--days", "6", "--seed", "4", "--out", str(out), "--json"]
    res = CliRunner().invoke(app, args, env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["state_path"] == str(out) and out.exists()
