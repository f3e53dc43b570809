"""Fill, slippage, fee and latency models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.broker.fills import (
    AskBidFill,
    NextBarLatency,
    PerContractFee,
    SpreadFractionSlippage,
    build_execution_model,
)
from zerodte.broker.scripted import make_quote
from zerodte.config.settings import CostsSettings
from zerodte.types import Side

from .scripted_market import CALL, TZ

T = pd.Timestamp("2024-03-15 10:00", tz=TZ)


def test_ask_bid_fill() -> None:
    q = make_quote(CALL, T, 0.95, 1.00)
    assert AskBidFill().base_price(Side.BUY, q) == 1.00
    assert AskBidFill().base_price(Side.SELL, q) == 0.95


def test_spread_fraction_slippage_and_min_ticks() -> None:
    q = make_quote(CALL, T, 1.00, 1.20)
    assert SpreadFractionSlippage(10.0, 0).slippage(q) == pytest.approx(0.02)
    assert SpreadFractionSlippage(10.0, 5, tick=0.01).slippage(q) == pytest.approx(0.05)
    locked = make_quote(CALL, T, 1.00, 1.00)
    assert SpreadFractionSlippage(10.0, 0).slippage(locked) == 0.0
    assert SpreadFractionSlippage(10.0, 1).slippage(locked) == pytest.approx(0.01)


@pytest.mark.parametrize(("pct", "ticks"), [(10.0, 0), (25.0, 2), (0.0, 1)])
def test_array_forms_equal_the_scalar_models(pct: float, ticks: int) -> None:
    """The ghost rewards price arrays of quotes with these; each element is the scalar's."""
    bid = np.array([1.00, 1.00, 0.05, 2.10, 0.0, np.nan])
    ask = np.array([1.20, 1.00, 0.07, 2.00, 0.01, 1.00])  # locked, tight, crossed, NaN
    slip = SpreadFractionSlippage(pct, ticks, tick=0.01)
    fill = AskBidFill()
    got = slip.slippage_array(bid, ask)
    for k, (b, a) in enumerate(zip(bid.tolist(), ask.tolist(), strict=True)):
        q = make_quote(CALL, T, b, a)
        assert got[k] == slip.slippage(q), k  # exactly: the same formula
        for side in Side:
            assert fill.base_price_array(side, bid, ask)[k] == pytest.approx(
                fill.base_price(side, q), nan_ok=True
            )


def test_per_contract_fee() -> None:
    assert PerContractFee(0.65).fee(3) == pytest.approx(1.95)


@pytest.mark.parametrize(
    ("latency", "minutes"), [(0.0, 1), (1.0, 1), (59.9, 1), (60.0, 2), (119.0, 2), (120.0, 3)]
)
def test_next_bar_latency(latency: float, minutes: int) -> None:
    due = NextBarLatency(latency).due_time(T)
    assert due == T + pd.Timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "bar",
    ["2024-03-10 06:59", "2024-11-03 05:59", "2024-06-03 19:59"],
    ids=["spring", "fall", "day"],
)
def test_next_bar_latency_is_the_timedelta_sum(bar: str) -> None:
    """Across both DST changes (bars given in UTC: the minute before each change)."""
    for unit in ("ns", "s"):
        t = pd.Timestamp(bar, tz="UTC").tz_convert("America/New_York").as_unit(unit)
        due = NextBarLatency(1.0).due_time(t)
        assert due == t + pd.Timedelta(minutes=1) and str(due.tz) == "America/New_York"


def test_execution_model_from_costs() -> None:
    costs = CostsSettings(
        fee_per_contract=0.5, slippage_pct_of_spread=20.0, slippage_min_ticks=2, latency_seconds=0
    )
    model = build_execution_model(costs, tick=0.05)
    q = make_quote(CALL, T, 2.00, 2.20)
    buy, slip = model.price(Side.BUY, q)
    assert (buy, slip) == (pytest.approx(2.30), pytest.approx(0.10))  # 2 ticks of 0.05 > 0.04
    sell, _ = model.price(Side.SELL, q)
    assert sell == pytest.approx(1.90)
    assert model.fees.fee(2) == 1.0
    assert set(model.describe()) == {"fill", "slippage", "fees", "latency"}


def test_sell_price_is_never_negative() -> None:
    model = build_execution_model(CostsSettings(slippage_min_ticks=10))
    price, slip = model.price(Side.SELL, make_quote(CALL, T, 0.03, 0.05))
    assert price == 0.0
    assert slip == pytest.approx(0.03)


@settings(max_examples=200, deadline=None)
@given(
    bid=st.floats(0.0, 50.0),
    spread=st.floats(0.0, 5.0),
    pct=st.floats(0.0, 100.0),
    ticks=st.integers(0, 5),
)
def test_slippage_is_always_against_the_trader(
    bid: float, spread: float, pct: float, ticks: int
) -> None:
    costs = CostsSettings(slippage_pct_of_spread=pct, slippage_min_ticks=ticks)
    model = build_execution_model(costs)
    q = make_quote(CALL, T, bid, bid + spread)
    buy, buy_slip = model.price(Side.BUY, q)
    sell, sell_slip = model.price(Side.SELL, q)
    assert buy >= q.ask and buy_slip >= ticks * 0.01 - 1e-12
    assert 0.0 <= sell <= q.bid
    assert buy - q.ask == pytest.approx(buy_slip)
    assert q.bid - sell == pytest.approx(sell_slip)
