"""The P&L split of zerodte.research.pnl_parts, on hand-computed trades."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from zerodte.research.pnl_parts import PARTS, pnl_parts, with_pnl_of


def _trades() -> pd.DataFrame:
    # A call bought at 2.06 (quote 1.95/2.05: ask 2.05 + slippage 10 % of the 0.10 spread)
    # and sold at 2.59 (quote 2.60/2.70: bid 2.60 - 0.01), SPY up 1.00, delta 0.5, 2
    # contracts, fees 0.65 a contract a side. And a put bought at 1.06 (0.95/1.05) and sold
    # at 0.44 (0.45/0.55), SPY up 1.00, delta -0.4, 1 contract.
    return pd.DataFrame(
        {
            "pnl": [(2.59 - 2.06) * 200 - 2.60, (0.44 - 1.06) * 100 - 1.30],
            "fees": [2.60, 1.30],
            # half-spreads of both fills, times 100 x qty
            "spread_cost": [(0.05 + 0.05) * 200, (0.05 + 0.05) * 100],
            "delta": [0.5, -0.4],
            "spy_price": [500.0, 500.0],
            "exit_spy_price": [501.0, 501.0],
            "qty": [2, 1],
        }
    )


def test_parts_by_hand() -> None:
    parts = pnl_parts(_trades(), slippage_pct_of_spread=10.0)
    assert parts is not None and tuple(parts.columns) == PARTS
    call = parts.iloc[0]
    assert call["friction"] == pytest.approx(2.60 + 20.0)
    assert call["slippage"] == pytest.approx(0.02 * 200)  # 0.01 a share on each fill
    # mid 2.00 -> mid 2.65: +0.65 a share, 130 dollars on 2 contracts
    assert call["mid_to_mid"] == pytest.approx(0.65 * 200)
    assert call["delta_part"] == pytest.approx(0.5 * 1.0 * 100 * 2)
    assert call["premium_part"] == pytest.approx(0.65 * 200 - 100.0)
    put = parts.iloc[1]
    assert put["mid_to_mid"] == pytest.approx((0.50 - 1.00) * 100)
    assert put["delta_part"] == pytest.approx(-40.0)
    assert put["premium_part"] == pytest.approx(-50.0 + 40.0)


def test_the_parts_add_up() -> None:
    parts = pnl_parts(_trades(), slippage_pct_of_spread=10.0)
    assert parts is not None
    mid = parts["pnl"] + parts["friction"] + parts["slippage"]
    assert mid.tolist() == pytest.approx(parts["mid_to_mid"].tolist())
    total = parts["delta_part"] + parts["premium_part"]
    assert total.tolist() == pytest.approx(parts["mid_to_mid"].tolist())


def test_nothing_is_guessed() -> None:
    trades = _trades()
    # a slippage floor in ticks cannot be told from the rows
    assert pnl_parts(trades, 10.0, slippage_min_ticks=1) is None
    # nor a split where a spread cost is unknown, or a column is missing
    assert pnl_parts(trades.assign(spread_cost=[20.0, math.nan]), 10.0) is None
    assert pnl_parts(trades.drop(columns=["delta"]), 10.0) is None


def test_with_pnl_of_replaces_only_the_pnl() -> None:
    trades = _trades()
    parts = pnl_parts(trades, 10.0)
    assert parts is not None
    got = with_pnl_of(trades, parts, "delta_part")
    assert got["pnl"].tolist() == parts["delta_part"].tolist()
    assert got.drop(columns=["pnl"]).equals(trades.drop(columns=["pnl"]))
    with pytest.raises(ValueError, match="not one of"):
        with_pnl_of(trades, parts, "alpha")
