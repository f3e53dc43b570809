"""Tradier's quirks on recorded reply shapes: one-or-many, "null", float quantities, times."""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from zerodte.broker.tradier import parse

FIXTURES = Path(__file__).parent / "fixtures"
NY = "America/New_York"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("null", []),
        ({}, []),
        ([], []),
        ({"a": 1}, [{"a": 1}]),
        ([1, 2], [1, 2]),
        ("2024-11-22", ["2024-11-22"]),
    ],
)
def test_as_list(value: Any, expected: list[Any]) -> None:
    assert parse.as_list(value) == expected


@pytest.mark.parametrize("body", [{"orders": "null"}, {"orders": None}, {"orders": {}}, {}, None])
def test_empty_collections(body: Any) -> None:
    assert parse.parse_orders(body) == []


@pytest.mark.parametrize("value", [None, "null", "NaN", "", "abc", float("inf")])
def test_missing_numbers_are_nan_never_zero(value: Any) -> None:
    assert math.isnan(parse.num(value))


def test_quotes_two_and_unmatched() -> None:
    quotes, unmatched = parse.parse_quotes(_load("quotes_two.json"))
    spy, call = quotes
    assert unmatched == ["SPY241122C09990000"]
    assert (spy.symbol, spy.bid, spy.ask, spy.last) == ("SPY", 593.09, 593.11, 593.1)
    # the book's age is its newest side, not the last trade
    assert spy.quote_time == pd.Timestamp(1732303512000, unit="ms", tz="UTC").tz_convert(NY)
    assert call.trade_time is None  # trade_date 0: never traded
    assert math.isnan(call.last) and math.isnan(call.prevclose)  # null and "null"
    assert (call.strike, call.option_type, call.expiration) == (593.0, "call", date(2024, 11, 22))
    assert call.greeks is None


def test_one_quote_is_a_bare_object() -> None:
    quotes, unmatched = parse.parse_quotes(_load("quote_one.json"))
    (vix,) = quotes
    assert (vix.symbol, vix.kind, vix.last, unmatched) == ("VIX", "index", 15.24, [])
    assert vix.quote_time == vix.trade_time  # no book dates on an index


def test_orders_one_and_two() -> None:
    (one,) = parse.parse_orders(_load("orders_one.json"))
    assert (one.id, one.quantity, one.exec_quantity, one.remaining_quantity) == ("8812345", 2, 0, 2)
    assert math.isnan(one.avg_fill_price)  # 0.0 while unfilled
    assert one.tag == "zdte-r17-c0412-e"
    assert one.create_date == pd.Timestamp("2024-11-22 10:02:10.905", tz=NY)
    filled, rejected = parse.parse_orders(_load("orders_two.json"))
    assert (filled.status, filled.avg_fill_price, filled.exec_quantity) == ("filled", 3.04, 2)
    assert (rejected.status, rejected.reason) == ("rejected", "There is no price.")
    assert math.isnan(rejected.avg_fill_price)  # null


def test_positions_balances_clock_calendar_timesales() -> None:
    (pos,) = parse.parse_positions(_load("positions_one.json"))
    assert (pos.symbol, pos.quantity, pos.cost_basis) == ("SPY241122C00590000", 2, 610.0)
    bal = parse.parse_balances(_load("balances_margin.json"))
    assert (bal.account_type, bal.total_cash, bal.option_buying_power) == (
        "margin",
        24700.42,
        24090.42,
    )
    clock = parse.parse_clock(_load("clock.json"))
    assert (clock.state, clock.day) == ("open", date(2024, 11, 22))
    assert clock.time == pd.Timestamp(1732303512, unit="s", tz="UTC").tz_convert(NY)
    open_day, holiday = parse.parse_calendar(_load("calendar.json"))
    assert open_day.close == pd.Timestamp("2024-11-22 16:00", tz=NY)
    assert (holiday.status, holiday.open) == ("closed", None)
    first, second = parse.parse_timesales(_load("timesales_two.json"))
    assert first.time == pd.Timestamp("2024-11-22 09:30", tz=NY)  # New York wall clock
    assert (second.close, second.volume) == (591.27, 602118.0)
    assert parse.parse_expirations(_load("expirations_one.json")) == [date(2024, 11, 22)]


@pytest.mark.parametrize(
    "text",
    ["2024-11-22T15:02:10.905Z", "2024-11-22T15:02:10.905", "2024-11-22 15:02:10.905"],
)
def test_utc_times_in_every_format(text: str) -> None:
    assert parse.utc_time(text) == pd.Timestamp("2024-11-22 10:02:10.905", tz=NY)


def test_errors_of() -> None:
    body = {"errors": {"error": ["Backoffice rejected override of the order.", "Other"]}}
    assert parse.errors_of(body) == ["Backoffice rejected override of the order.", "Other"]
    assert parse.errors_of({"errors": {"error": "DayTradingBuyingPowerExceeded"}}) == [
        "DayTradingBuyingPowerExceeded"
    ]
    assert parse.errors_of({"order": {"id": 1}}) == []
