"""Position sizers."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.config import Settings
from zerodte.policy.sizing import (
    EquityFraction,
    FixedContracts,
    FixedDollarRisk,
    Sizer,
    build_sizer,
)
from zerodte.types import AccountState


def acct(cash: float = 10_000.0, equity: float | None = None) -> AccountState:
    return AccountState(cash=cash, equity=cash if equity is None else equity, buying_power=cash)


def test_fixed_contracts() -> None:
    assert FixedContracts(3).size(1.0, acct()).contracts == 3
    capped = FixedContracts(3).size(1.0, acct(cash=250.0))  # 100.65 each
    assert capped.contracts == 2 and capped.reason == ""


def test_cannot_afford_one_contract_is_a_reason() -> None:
    d = FixedContracts(1).size(2.0, acct(cash=150.0))
    assert d.contracts == 0 and d.reason.startswith("sizing: ")
    assert "buying power" in d.reason


@pytest.mark.parametrize("ask", [math.nan, 0.0, -1.0, math.inf])
def test_unusable_ask(ask: float) -> None:
    d = EquityFraction(0.05).size(ask, acct())
    assert d.contracts == 0 and d.reason.startswith("sizing: no usable ask")


def test_fixed_dollar_risk_stop_basis() -> None:
    # risk per contract = 1.00 * 100 * 8 % + 2 * 0.65 = 9.30 -> floor(500 / 9.30) = 53
    assert FixedDollarRisk(500.0, 8.0, 0.65).size(1.0, acct()).contracts == 53


def test_fixed_dollar_risk_premium_basis() -> None:
    # 2.00 * 100 + 1.30 = 201.30 -> floor(500 / 201.30) = 2
    assert FixedDollarRisk(500.0, 8.0, 0.65, basis="premium").size(2.0, acct()).contracts == 2
    d = FixedDollarRisk(100.0, 8.0, 0.65, basis="premium").size(2.0, acct())
    assert d.contracts == 0 and "risk budget" in d.reason


def test_equity_fraction() -> None:
    # 5 % of 10,000 = 500 -> floor(500 / 120) = 4
    assert EquityFraction(0.05).size(1.20, acct()).contracts == 4
    d = EquityFraction(0.05).size(6.0, acct())
    assert d.contracts == 0 and d.reason.startswith("sizing: ") and "equity" in d.reason


def test_build_sizer_from_settings() -> None:
    s = Settings()
    assert isinstance(build_sizer(s), FixedContracts)
    risk = build_sizer(
        s.model_copy(update={"entry": s.entry.model_copy(update={"sizing": "fixed_risk"})})
    )
    assert isinstance(risk, FixedDollarRisk) and risk.stop_loss_pct == s.exits.stop_loss_pct
    frac = build_sizer(
        s.model_copy(update={"entry": s.entry.model_copy(update={"sizing": "equity_fraction"})})
    )
    assert isinstance(frac, EquityFraction) and frac.fraction == s.entry.equity_fraction
    for sizer in (risk, frac, build_sizer(s)):
        assert isinstance(sizer, Sizer)


@settings(max_examples=200, deadline=None)
@given(
    ask=st.floats(0.01, 20.0),
    cash=st.floats(0.0, 100_000.0),
    which=st.sampled_from(["fixed", "risk", "fraction"]),
)
def test_sized_order_is_always_affordable(ask: float, cash: float, which: str) -> None:
    sizer: Sizer = {
        "fixed": FixedContracts(5),
        "risk": FixedDollarRisk(500.0, 8.0),
        "fraction": EquityFraction(0.5),
    }[which]
    d = sizer.size(ask, acct(cash=cash))
    assert d.contracts >= 0
    assert d.contracts * (ask * 100 + 0.65) <= cash + 1e-9
    assert (d.contracts == 0) == bool(d.reason)
