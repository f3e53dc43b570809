"""The PPO environment steps the engine itself; the trained policy loads and decides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings, with_overrides
from zerodte.engine.backtest import run_backtest
from zerodte.features import compute_features
from zerodte.market.loading import MarketData, load_market
from zerodte.policy.controllers.momentum import MomentumController
from zerodte.policy.controllers.ppo import PPOController
from zerodte.policy.controllers.ppo_state import action_mask
from zerodte.rl.env import TradingEnv


def make_market(days: int, seed: int) -> MarketData:
    return load_market(Settings(), days=days, seed=seed, edge=1.0)


KEYS = ["entry_time", "exit_time", "symbol", "qty", "entry_price", "exit_price", "fees", "pnl"]


def _settings(tmp_path: Path, **more: object) -> Settings:
    return with_overrides(
        Settings(),
        {
            "entry.momentum_threshold_pct": 0.05,
            "engine.runs_dir": tmp_path / "runs",
            "store.path": tmp_path / "runs" / "z.db",
            **more,
        },
    )


def test_scripted_policy_reproduces_the_engines_trades(tmp_path: Path) -> None:
    market = make_market(3, seed=4)
    s = _settings(tmp_path)
    ctrl = MomentumController(5, 0.05)
    expected = run_backtest(s, market, controller=ctrl, write=False, record=False, n_boot=50)
    assert len(expected.trades) >= 5
    frame = market.frame
    feats = compute_features(frame, "default")
    joined = pd.concat([frame, feats[[c for c in feats.columns if c not in frame.columns]]], axis=1)
    actions = ctrl.decide_batch(joined)["action"].to_numpy()
    env = TradingEnv(s, market)
    env.reset(seed=0)
    total, done, i = 0.0, False, 0
    while not done:
        _obs, reward, done, _trunc, _info = env.step(int(actions[i]))
        total += reward
        i += 1
    got = env.trades()
    pd.testing.assert_frame_equal(
        got[KEYS].reset_index(drop=True), expected.trades[KEYS].reset_index(drop=True)
    )
    assert total == pytest.approx(float(expected.trades["pnl"].sum()), abs=1e-6)


def test_masks_and_exit_action(tmp_path: Path) -> None:
    assert action_mask(False, False).tolist() == [True, True, True, False]
    assert action_mask(True, True).tolist() == [True, False, False, True]
    market = make_market(2, seed=2)
    env = TradingEnv(_settings(tmp_path, **{"entry.ppo.allow_exit": True}), market)
    env.reset(seed=0)
    for _ in range(30):  # past the open-window gate
        env.step(0)
    env.step(1)  # buy calls
    env.step(0)  # filled
    assert env.action_masks().tolist() == [True, False, False, True]
    env.step(3)  # EXIT
    env.step(0)
    trades = env.trades()
    assert len(trades) == 1 and trades["exit_reason"].iloc[0] == "policy_exit"


def test_ppo_trains_saves_loads_and_decides_like_sb3(tmp_path: Path) -> None:
    from sb3_contrib import MaskablePPO

    from zerodte.rl.train import train_ppo

    market = make_market(2, seed=3)
    s = _settings(
        tmp_path,
        **{
            "entry.ppo.timesteps": 256,
            "entry.ppo.n_steps": 128,
            "entry.ppo.batch_size": 64,
            "entry.ppo.episode_sessions": 1,
            "entry.ppo.hidden": (16, 16),
        },
    )
    out = tmp_path / "ppo"
    meta = train_ppo(s, market, out)
    assert meta["timesteps"] >= 256 and meta["steps_per_second"] > 0
    ctrl = PPOController.load(out, s.entry.ppo)
    model = MaskablePPO.load(out / "ppo.zip", device="cpu")
    rng = np.random.default_rng(0)
    import torch

    for _ in range(20):
        state = rng.normal(0, 1, len(ctrl.state_names)).astype(np.float32)
        mask = action_mask(bool(rng.integers(0, 2)), True)
        ours = ctrl.policy.probs(state, mask)
        obs_t, _ = model.policy.obs_to_tensor(state)
        theirs = model.policy.get_distribution(obs_t, action_masks=mask).distribution.probs
        assert np.allclose(ours, theirs.detach().numpy()[0], atol=1e-5)
        assert ours[~mask].sum() == 0 and ours.sum() == pytest.approx(1.0)
    del torch
    # it runs in a backtest (streaming path), propensities exact and summing to one
    stoch = with_overrides(
        s, {"entry.controller": "ppo", "entry.ppo.model_dir": out, "entry.ppo.deterministic": False}
    )
    r = run_backtest(stoch, market, write=False, record=False, n_boot=50)
    probs = r.decisions[["prob_hold", "prob_call", "prob_put"]].to_numpy()
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs[np.arange(len(probs)), r.decisions["action"].to_numpy()] > 0).all()
    (out / "actor.npz").write_bytes(b"corrupt")
    from zerodte.errors import ConfigError

    with pytest.raises(ConfigError, match="zerodte train ppo"):
        PPOController.load(out, s.entry.ppo)
