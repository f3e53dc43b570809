"""Regime gates: scenario tables for the rule-based filter and the HMM conflict veto."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from zerodte.policy.base import Gate
from zerodte.policy.regime_gates import RegimeConflictGate, RegimeFilterGate
from zerodte.types import Action, Decision, Observation

CALM = {"ret_15m": 0.0005, "ret_30m": 0.001, "adx_14": 15.0, "di_diff_14": 5.0,
        "vix_level": 14.0, "vix_change_15m": 0.1, "rv_30m": 10.0}  # fmt: skip
BULL = {**CALM, "adx_14": 32.0, "di_diff_14": 9.0, "ret_30m": 0.003}
BEAR = {**CALM, "adx_14": 32.0, "di_diff_14": -9.0, "ret_30m": -0.003}
CRASH = {**CALM, "ret_30m": -0.015}


def _obs(features: dict[str, float], context: dict[str, float] | None = None) -> Observation:
    return Observation(
        index=0, time=pd.Timestamp("2024-03-05 10:30", tz="America/New_York"),
        session=date(2024, 3, 5), minutes_since_open=60.0, minutes_to_close=329.0,
        spy=500.0, qqq=430.0, vix=features.get("vix_level", 15.0), features=features,
        context=context or {},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("features", "action", "vetoed"),
    [
        (CALM, Action.BUY_CALLS, False),
        (CALM, Action.BUY_PUTS, False),
        (BULL, Action.BUY_CALLS, False),
        (BULL, Action.BUY_PUTS, True),
        (BEAR, Action.BUY_PUTS, False),
        (BEAR, Action.BUY_CALLS, True),
        (CRASH, Action.BUY_PUTS, True),
        (CRASH, Action.BUY_CALLS, True),
        (CRASH, Action.HOLD, False),
        ({**CALM, "adx_14": math.nan}, Action.BUY_CALLS, True),
    ],
)
def test_regime_filter_gate(features: dict[str, float], action: Action, vetoed: bool) -> None:
    gate = RegimeFilterGate()
    assert isinstance(gate, Gate)
    veto = gate.check(_obs(features), Decision(action))
    assert (veto is not None) == vetoed
    if veto is not None:
        assert veto.gate == "regime_filter"
        assert action.name in veto.reason and "adx_14=" in veto.reason


@pytest.mark.parametrize(
    ("context", "action", "vetoed"),
    [
        ({"hmm_trend": 0.2, "hmm_confidence": 0.8}, Action.BUY_CALLS, True),
        ({"hmm_trend": 0.2, "hmm_confidence": 0.8}, Action.BUY_PUTS, False),
        ({"hmm_trend": 0.8, "hmm_confidence": 0.8}, Action.BUY_PUTS, True),
        ({"hmm_trend": 0.8, "hmm_confidence": 0.8}, Action.BUY_CALLS, False),
        ({"hmm_trend": 0.2, "hmm_confidence": 0.5}, Action.BUY_CALLS, False),
        ({"hmm_trend": 0.3, "hmm_confidence": 0.9}, Action.BUY_CALLS, False),
        ({"hmm_trend": 0.5, "hmm_confidence": 0.99}, Action.BUY_PUTS, False),
        ({"hmm_trend": 0.1, "hmm_confidence": 0.9}, Action.HOLD, False),
        ({}, Action.BUY_CALLS, False),
        ({"hmm_trend": math.nan, "hmm_confidence": 0.9}, Action.BUY_CALLS, False),
    ],
)
def test_regime_conflict_gate(context: dict[str, float], action: Action, vetoed: bool) -> None:
    gate = RegimeConflictGate()
    assert isinstance(gate, Gate)
    veto = gate.check(_obs(CALM, context), Decision(action))
    assert (veto is not None) == vetoed
    if veto is not None:
        assert veto.gate == "regime_conflict"
        assert f"hmm_trend={context['hmm_trend']:.3f}" in veto.reason
        assert f"hmm_confidence={context['hmm_confidence']:.3f}" in veto.reason
