"""Momentum and random controllers: rule tables, batch == decide, reproducibility, registry."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from zerodte.config.root import Settings
from zerodte.config.settings import EntrySettings
from zerodte.errors import ConfigError
from zerodte.policy.base import BatchEntryController
from zerodte.policy.controllers import available_controllers, build_controller
from zerodte.policy.controllers.momentum import MomentumController
from zerodte.policy.controllers.random import RandomController
from zerodte.types import Action, Observation

from .controller_contract import check_batch_equals_decide

TZ = "America/New_York"


def _obs(t: pd.Timestamp, features: dict[str, float]) -> Observation:
    return Observation(0, t, t.date(), 10.0, 300.0, 500.0, 400.0, 15.0, features)


@pytest.mark.parametrize(
    ("ret", "action", "probs"),
    [
        (0.25, Action.BUY_CALLS, (0.0, 1.0, 0.0)),
        (-0.25, Action.BUY_PUTS, (0.0, 0.0, 1.0)),
        (0.10, Action.HOLD, (1.0, 0.0, 0.0)),  # at the threshold: not above it
        (-0.05, Action.HOLD, (1.0, 0.0, 0.0)),
        (float("nan"), Action.HOLD, (1.0, 0.0, 0.0)),
    ],
)
def test_momentum_rule(ret: float, action: Action, probs: tuple[float, float, float]) -> None:
    c = MomentumController(5, 0.10)
    d = c.decide(_obs(pd.Timestamp("2024-01-10 10:00", tz=TZ), {"momentum_5m": ret}))
    assert d.action is action and d.probs == probs and d.reasons


def test_momentum_missing_feature_is_a_config_error() -> None:
    c = MomentumController(7, 0.1)
    with pytest.raises(ConfigError, match="momentum_7m"):
        c.decide(_obs(pd.Timestamp("2024-01-10 10:00", tz=TZ), {"momentum_5m": 0.0}))


def _frame(n: int = 600, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-10 09:30", periods=n, freq="1min", tz=TZ)
    ret = rng.normal(0, 0.15, n)
    ret[:5] = np.nan
    return pd.DataFrame({"momentum_5m": ret, "spy_close": 500.0}, index=idx)


@pytest.mark.parametrize(
    "controller", [MomentumController(5, 0.1), RandomController(0.2, 0.3, seed=11)]
)
def test_batch_equals_decide(controller: BatchEntryController) -> None:
    frame = _frame()
    times = frame.index

    def observe(i: int) -> Observation:
        return _obs(times[i], {"momentum_5m": float(frame["momentum_5m"].iloc[i])})

    check_batch_equals_decide(controller, frame, observe)


def test_random_probabilities_reproducibility_and_truncation() -> None:
    frame = _frame(20_000)
    c = RandomController(0.1, 0.05, seed=5)
    a = c.decide_batch(frame)
    assert a.equals(RandomController(0.1, 0.05, seed=5).decide_batch(frame))
    freq = np.bincount(a["action"].to_numpy(), minlength=3) / len(a)
    assert freq == pytest.approx([0.85, 0.10, 0.05], abs=0.01)
    assert (a[["prob_hold", "prob_call", "prob_put"]].to_numpy() == [0.85, 0.1, 0.05]).all()
    # truncating later bars never changes earlier draws
    assert a.iloc[:777].equals(c.decide_batch(frame.iloc[:777]))
    other = RandomController(0.1, 0.05, seed=6).decide_batch(frame)
    assert not other["action"].equals(a["action"])


def test_registry() -> None:
    assert {"momentum", "random"} <= set(available_controllers())
    s = Settings(entry=EntrySettings(controller="random", random_seed=4))
    c = build_controller(s)
    assert c.name == "random" and isinstance(c, RandomController) and c.seed == 4
    # the settings refuse an unknown name on load; the registry still refuses settings
    # built without validation (model_construct), with the same suggestion
    with pytest.raises(ValidationError, match="momentum"):
        EntrySettings(controller="momentun")
    unchecked = EntrySettings.model_construct(controller="momentun")
    with pytest.raises(ConfigError, match=r"valid names: .*momentum.*Did you mean 'momentum'"):
        build_controller(Settings.model_construct(entry=unchecked))


def test_observation_day_is_not_used_by_random() -> None:
    c = RandomController(0.5, 0.5, seed=0)
    t = pd.Timestamp("2024-01-10 10:00", tz=TZ)
    d1 = c.decide(_obs(t, {}))
    d2 = c.decide(Observation(5, t, date(2024, 1, 10), 1.0, 1.0, 1.0, 1.0, 1.0, {"x": 1.0}))
    assert d1 == d2
