"""Bandit and consensus controllers: the contract, exact propensities, learning, state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings, with_overrides
from zerodte.config.decision_settings import BanditSettings, ConsensusSettings
from zerodte.errors import ConfigError
from zerodte.policy.controllers import available_controllers, build_controller
from zerodte.policy.controllers.bandit import BanditController
from zerodte.policy.controllers.consensus import ConsensusController

from .controller_contract import check_batch_equals_decide
from .decision_inputs import decision_frame_inputs, observation_of


def _trained_bandit(profile: str, eps: float) -> BanditController:
    b = BanditController(BanditSettings(profile=profile, epsilon=eps, seed=3))  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    for _ in range(60):
        row = {
            "hmm_trend": rng.uniform(),
            "hmm_volatility": rng.uniform(),
            "hmm_liquidity": rng.uniform(),
            "hmm_confidence": rng.uniform(),
            "right": rng.choice(["C", "P"]),
            "qty": 1,
            "pnl": rng.normal(0, 20),
        }
        b.observe_trade(row)
    return b


CONTROLLERS = {
    "bandit_strict": lambda: _trained_bandit("hmm_strict", 0.1),
    "bandit_full": lambda: _trained_bandit("full", 0.3),
    "bandit_greedy": lambda: BanditController(BanditSettings(epsilon=0.0)),
    "consensus": lambda: ConsensusController(ConsensusSettings()),
    "contrarian": lambda: ConsensusController(ConsensusSettings(), name="contrarian"),
    "straddle": lambda: ConsensusController(ConsensusSettings(straddle=True, contrarian=True)),
}


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_batch_equals_decide_and_propensities_are_exact(name: str) -> None:
    frame = decision_frame_inputs()
    ctrl = CONTROLLERS[name]()
    table = check_batch_equals_decide(ctrl, frame, lambda i: observation_of(frame, i))  # type: ignore[arg-type]
    probs = np.array([table.decision(i).probs for i in range(len(table))])
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs >= 0).all()
    actions = np.array(table.actions)
    # the logged action always has positive propensity
    assert (probs[np.arange(len(actions)), actions] > 0).all()


def test_bandit_exploration_frequencies_match_propensities() -> None:
    frame = decision_frame_inputs(20_000, seed=9)
    b = _trained_bandit("full", 0.3)
    out = b.decide_batch(frame)
    probs = out[["prob_hold", "prob_call", "prob_put"]].to_numpy()
    counts = np.bincount(out["action"].to_numpy(), minlength=3) / len(out)
    assert counts == pytest.approx(probs.mean(axis=0), abs=0.01)


def test_bandit_strict_profile_only_enters_on_aligned_confident_hmm() -> None:
    frame = decision_frame_inputs(4000)
    out = BanditController(BanditSettings(epsilon=0.0)).decide_batch(frame)
    calls = out["action"].to_numpy() == 1
    puts = out["action"].to_numpy() == 2
    assert calls.any() and puts.any()
    assert (frame["hmm_trend"].to_numpy()[calls] > 0.7).all()
    assert (frame["hmm_trend"].to_numpy()[puts] < 0.3).all()
    assert (frame["hmm_confidence"].to_numpy()[calls | puts] >= 0.6).all()


def test_bandit_learns_to_avoid_losing_arm_and_state_round_trips(tmp_path: Path) -> None:
    b = BanditController(BanditSettings(profile="full", epsilon=0.0))
    rng = np.random.default_rng(1)
    for _ in range(200):
        ctx = {k: rng.uniform() for k in ("hmm_trend", "hmm_volatility", "hmm_liquidity")}
        ctx["hmm_confidence"] = rng.uniform()
        b.observe_trade({**ctx, "right": "C", "qty": 2, "pnl": -40.0})
        b.observe_trade({**ctx, "right": "P", "qty": 1, "pnl": 25.0})
    frame = decision_frame_inputs(500)
    out = b.decide_batch(frame)
    known = frame["hmm_trend"].notna() & frame["hmm_confidence"].notna()
    assert (out["action"][known] == 2).mean() > 0.9
    path = b.save_state(tmp_path / "bandit.json")
    again = BanditController.from_settings(
        BanditSettings(profile="full", epsilon=0.0, state_path=path)
    )
    pd.testing.assert_frame_equal(again.decide_batch(frame), out)
    with pytest.raises(ConfigError, match="profile"):
        BanditController.from_settings(BanditSettings(profile="hmm_strict", state_path=path))


def test_bandit_ghost_updates_and_prioritized_replay() -> None:
    b = BanditController(BanditSettings(profile="hmm_strict", replay=True, replay_batch=4))
    rows = pd.DataFrame(
        {
            "hmm_trend": [0.9] * 50,
            "hmm_volatility": [0.5] * 50,
            "hmm_liquidity": [0.5] * 50,
            "hmm_confidence": [0.8] * 50,
            "ghost_call_15m": [-30.0] * 50,
            "ghost_put_15m": [np.nan] * 50,
        }
    )
    assert b.observe_ghosts(rows, 15) == 50
    assert b.arms_.n_.tolist() == [50, 0] and len(b.arms_.buffer_) == 50
    assert b.arms_.value(np.array([[1, 0.4, 0, 0, 0.8]]))[0, 0] < -20


def test_registry_and_with_overrides() -> None:
    assert {"bandit", "consensus", "contrarian", "ppo"} <= set(available_controllers())
    s = with_overrides(
        Settings(), {"entry.controller": "contrarian", "entry.consensus.straddle": True}
    )
    c = build_controller(s)
    assert isinstance(c, ConsensusController) and c.contrarian and c.n_actions == 4
    with pytest.raises(ConfigError, match=r"entry\.bandit\.epsilon"):
        with_overrides(Settings(), {"entry.bandit.epsilon": 2.0})
    with pytest.raises(ConfigError, match=r"did you mean entry\.bandit\.epsilon"):
        with_overrides(Settings(), {"entry.bandit.epsilom": 0.1})
