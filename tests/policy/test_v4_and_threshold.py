"""Scenario tables: V4 gates, the regime quality filter, the threshold learner, strategy
blocking and the Quantor sizer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from zerodte.config.decision_settings import (
    QuantorSettings,
    RegimeQualitySettings,
    ThresholdSettings,
    V4GateSettings,
)
from zerodte.errors import ConfigError
from zerodte.policy.quantor import analyze, fuzzy_factors, ramp, tri
from zerodte.policy.strategies import BlockedStrategyGate, strategy_label
from zerodte.policy.threshold import ThresholdLearnerGate
from zerodte.policy.v4_gates import ExpectedValueGate, RegimeAttributionGate, RegimeQualityGate
from zerodte.types import AccountState, Action, Decision, Observation

TZ = "America/New_York"
T0 = pd.Timestamp("2024-01-10 10:00", tz=TZ)
# rule-based regime inputs: a calm up-trend (see zerodte.regime.rules)
FEATS = {
    "vix_level": 14.0,
    "ret_15m": 0.001,
    "ret_30m": 0.002,
    "rv_30m": 10.0,
    "adx_14": 30.0,
    "di_diff_14": 10.0,
    "vix_change_15m": 0.2,
}
CALL = Decision(Action.BUY_CALLS)


def _obs(
    k: int = 0, ctx: dict[str, float] | None = None, vix: float = 15.0, **feats: float
) -> Observation:
    t = T0 + pd.Timedelta(minutes=k)
    return Observation(
        k, t, t.date(), 30.0, 200.0, 500.0, 400.0, vix, {**FEATS, **feats}, ctx or {}
    )


def _trade(k: int, pnl: float) -> dict[str, object]:
    return {"entry_time": T0 + pd.Timedelta(minutes=k + 1), "pnl": pnl, "qty": 1}


def test_ev_gate_vetoes_a_regime_with_negative_posterior_ev() -> None:
    gate = ExpectedValueGate(config=V4GateSettings(ev_enabled=True))
    assert gate.check(_obs(0), CALL) is None  # the prior: EV 0 passes
    for k in range(12):
        if gate.check(_obs(k), CALL) is None:  # a vetoed entry makes no trade
            gate.observe_trade(_trade(k, -50.0 if k % 4 else 30.0))
    veto = gate.check(_obs(20), CALL)
    assert veto is not None and "EV" in veto.reason
    ev, p, ratio = gate.expected_value(next(iter(gate.books_)))
    assert ev < 0 and p == 0.5 and ratio < 1  # one win, one loss: the payoff decides
    assert gate.check(_obs(21), Decision(Action.HOLD)) is None


def test_regime_attribution_disables_and_reenables() -> None:
    cfg = V4GateSettings(attribution_enabled=True, min_trades=5, reenable_after_trades=3)
    gate = RegimeAttributionGate(config=cfg)
    for k in range(5):
        assert gate.check(_obs(k), CALL) is None
        gate.observe_trade(_trade(k, -20.0))
    regime = next(iter(gate.books_))
    assert gate.posterior_mean(regime) == pytest.approx(-100 / 15)
    assert gate.check(_obs(10), CALL) is not None
    # trades in another regime (a high-VIX one) re-enable it after three, history halved
    for k in range(3):
        obs = _obs(20 + k, vix_level=40.0, rv_30m=45.0, adx_14=10.0)
        gate.check(obs, CALL)
        gate.observe_trade(_trade(20 + k, 5.0))
    assert gate.check(_obs(30), CALL) is None
    assert gate.books_[regime].n == 2


HMM = {"hmm_trend": 0.85, "hmm_volatility": 0.5, "hmm_liquidity": 0.8, "hmm_confidence": 0.9}


@pytest.mark.parametrize(
    ("ctx", "vix", "change", "veto"),
    [
        (HMM, 18.0, 0.2, None),
        (
            {**HMM, "hmm_trend": 0.5, "hmm_confidence": 0.2, "hmm_liquidity": 0.2},
            18.0,
            0.2,
            "quality",
        ),
        (
            {**HMM, "hmm_trend_p0": 0.4, "hmm_trend_p1": 0.35, "hmm_trend_p2": 0.25},
            18.0,
            0.2,
            "rapid transition",
        ),
        ({**HMM, "hmm_volatility": 0.2}, 30.0, 0.2, "high but"),
        ({**HMM, "hmm_volatility": 0.8}, 11.0, 0.2, "low but"),
        ({}, 18.0, 0.2, None),  # no HMM: no evidence, no veto
    ],
)
def test_regime_quality_filter(
    ctx: dict[str, float], vix: float, change: float, veto: str | None
) -> None:
    gate = RegimeQualityGate(RegimeQualitySettings(enabled=True))
    out = gate.check(_obs(0, ctx, vix=vix, vix_change_15m=change), CALL)
    assert (out is None) if veto is None else (out is not None and veto in out.reason)


def test_threshold_learner_rejects_after_learning_losses_and_learns_from_ghosts() -> None:
    gate = ThresholdLearnerGate(ThresholdSettings(enabled=True, warmup_signals=10, epsilon=0.0))
    for k in range(10):
        assert gate.check(_obs(k, HMM), CALL) is None  # warm-up: accept all
        gate.observe_trade(_trade(k, -30.0))
    veto = gate.check(_obs(50, HMM), CALL)
    assert veto is not None and "predicted" in veto.reason
    assert gate.acceptance == pytest.approx(10 / 11)
    missed = pd.DataFrame({"timestamp": [T0 + pd.Timedelta(minutes=50)], "ghost_call_15m": [80.0]})
    before = float(gate.model_.theta_[0, 0])
    assert gate.observe_ghosts(missed, 15) == 1
    assert float(gate.model_.theta_[0, 0]) > before


def test_strategy_labels_and_blocking() -> None:
    assert strategy_label(Decision(Action.BUY_PUTS), "prediction") == "NEURAL_BEARISH"
    assert strategy_label(Decision(Action.BUY_CALLS), "momentum") == "MOMENTUM"
    assert (
        strategy_label(Decision(Action.BUY_CALLS, context={"strategy": "HMM_TREND"}), "x")
        == "HMM_TREND"
    )
    gate = BlockedStrategyGate.of(["momentum"], "momentum")
    assert gate.check(_obs(), CALL) is not None
    assert BlockedStrategyGate.of(["HMM_TREND"], "momentum").check(_obs(), CALL) is None
    with pytest.raises(ConfigError, match="unknown labels"):
        BlockedStrategyGate.of(["MOMENTUMM"], "momentum")


def test_quantor_memberships_and_sizing() -> None:
    assert (
        tri(15, -10, 15, 35) == 1.0 and tri(-10, -10, 15, 35) == 0.0 and tri(25, -10, 15, 35) == 0.5
    )
    assert ramp(25, 15, 35) == 0.5 and math.isnan(fuzzy_factors({}, 1.0)["rsi"])
    good = {
        "rsi_14": 65.0,
        "adx_14": 35.0,
        "bb_pos_20": 0.7,
        "atr_14_pct": 0.05,
        "volume_spike": 2.0,
        "macd_hist": 0.01,
        "stoch_k_14": 65.0,
        "obv_trend_30m": 0.4,
        "momentum_15m": 0.15,
        "rv_30m": 12.0,
    }
    acct = AccountState(cash=50_000.0, equity=50_000.0, buying_power=50_000.0)
    cfg = QuantorSettings()
    r = analyze(good, direction=1.0, ask=2.0, account=acct, vix=15.0, config=cfg)
    assert r.score == pytest.approx(1.0) and r.should_trade and r.position_size == 4  # 1000/201.3
    bad = analyze(good, direction=-1.0, ask=2.0, account=acct, vix=15.0, config=cfg)
    assert not bad.should_trade and bad.position_size == 0 and "score below" in bad.reasons[-1]
    rich = analyze(good, direction=1.0, ask=2.0, account=acct, vix=40.0, config=cfg)
    assert not rich.should_trade and "vrp" in rich.reasons[-1]
    few = analyze({"rsi_14": 65.0}, direction=1.0, ask=2.0, account=acct, vix=15.0, config=cfg)
    assert few.score == 0.0 and not few.should_trade
    assert np.isfinite(r.volatility.vrp)  # type: ignore[union-attr]
