"""The rule-based five-regime filter: scenario table and scalar/vector agreement."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.regime import Regime, RegimeThresholds, classify_regime, classify_regimes
from zerodte.regime.rules import RULE_INPUTS
from zerodte.types import Action

CALM = {"ret_15m": 0.0005, "ret_30m": 0.001, "adx_14": 15.0, "di_diff_14": 5.0,
        "vix_level": 14.0, "vix_change_15m": 0.1, "rv_30m": 10.0}  # fmt: skip

TABLE = [
    ({}, Regime.LOW_VOL_RANGE),
    ({"ret_30m": -0.012}, Regime.CRASH),
    ({"vix_level": 34.0, "vix_change_15m": 2.5, "ret_15m": -0.001}, Regime.CRASH),
    ({"vix_level": 34.0, "vix_change_15m": 2.5, "ret_15m": 0.001}, Regime.HIGH_VOL_RANGE),
    ({"adx_14": 30.0, "di_diff_14": 8.0, "ret_30m": 0.002}, Regime.BULL_TREND),
    ({"adx_14": 30.0, "di_diff_14": -8.0, "ret_30m": -0.002}, Regime.BEAR_TREND),
    ({"adx_14": 30.0, "di_diff_14": 8.0, "ret_30m": -0.002}, Regime.LOW_VOL_RANGE),
    ({"adx_14": 30.0, "di_diff_14": -8.0, "ret_30m": -0.011}, Regime.CRASH),
    ({"vix_level": 23.0}, Regime.HIGH_VOL_RANGE),
    ({"rv_30m": 26.0}, Regime.HIGH_VOL_RANGE),
    ({"adx_14": 24.9, "di_diff_14": 8.0, "ret_30m": 0.002}, Regime.LOW_VOL_RANGE),
    ({"adx_14": math.nan}, Regime.UNKNOWN),
]


@pytest.mark.parametrize(("change", "expected"), TABLE)
def test_regime_table(change: dict[str, float], expected: Regime) -> None:
    row = {**CALM, **change}
    assert classify_regime(row) is expected
    assert classify_regimes(pd.DataFrame([row])).iloc[0] == expected.value


def test_allowed_directions() -> None:
    th = RegimeThresholds()
    both = {Action.BUY_CALLS, Action.BUY_PUTS}
    assert th.allowed(Regime.CRASH) == frozenset()
    assert th.allowed(Regime.BULL_TREND) == {Action.BUY_CALLS}
    assert th.allowed(Regime.BEAR_TREND) == {Action.BUY_PUTS}
    assert th.allowed(Regime.HIGH_VOL_RANGE) == both == th.allowed(Regime.LOW_VOL_RANGE)
    assert th.allowed(Regime.UNKNOWN) == frozenset()
    assert RegimeThresholds(crash_allows_puts=True).allowed(Regime.CRASH) == {Action.BUY_PUTS}


_value = st.one_of(st.floats(-50, 50, allow_nan=False), st.just(math.nan))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.fixed_dictionaries({c: _value for c in RULE_INPUTS}), min_size=1,
                     max_size=20))  # fmt: skip
def test_vectorised_agrees_with_scalar(rows: list[dict[str, float]]) -> None:
    frame = pd.DataFrame(rows)
    vec = classify_regimes(frame)
    assert [classify_regime(r).value for r in rows] == vec.tolist()


def test_vectorised_on_real_features(regime_features: pd.DataFrame) -> None:
    vec = classify_regimes(regime_features)
    scalar = [classify_regime(r).value for r in regime_features.iloc[::7].to_dict("records")]
    assert vec.iloc[::7].tolist() == scalar
    assert (vec.iloc[:100] == Regime.UNKNOWN.value).all()  # adx_14 warm-up is 100 rows
    assert vec.iloc[100:].isin([r.value for r in Regime if r is not Regime.UNKNOWN]).all()
    assert np.unique(vec.iloc[100:]).size >= 3
