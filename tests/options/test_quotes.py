"""Bid/ask model: tick grid, ordering, floors and widening."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.config.settings import OptionsSettings
from zerodte.options.quotes import BidAskModel

MODEL = BidAskModel.from_settings(OptionsSettings())


def _on_grid(x: np.ndarray, tick: float) -> bool:
    return bool(np.all(np.abs(x / tick - np.round(x / tick)) < 1e-6))


@settings(max_examples=200, deadline=None)
@given(st.floats(0.0, 50.0), st.floats(-6, 6), st.floats(0, 390), st.floats(9, 80))
def test_bid_ask_properties(mid: float, z: float, mtc: float, vix: float) -> None:
    bid, ask = MODEL.quote(np.array([mid]), z, mtc, vix)
    b, a = float(bid[0]), float(ask[0])
    assert _on_grid(bid, MODEL.tick) and _on_grid(ask, MODEL.tick)
    assert b >= 0.0
    assert a - b >= max(MODEL.min_spread, MODEL.tick) - 1e-9
    assert b <= mid + 1e-9 <= a + 2e-9  # bid rounded down, ask up: mid inside
    assert (b, a) == MODEL.quote_scalar(mid, z, mtc, vix)
    if mid > 1.0:  # cap: never wider than max_spread_pct of mid plus the two roundings
        assert a - b <= mid * MODEL.max_spread_pct / 100 + 2 * MODEL.tick + 1e-9


def test_spread_widens_with_moneyness_close_and_vix() -> None:
    pct = MODEL.spread_pct
    assert pct(2.0, 300, 15) > pct(0.0, 300, 15)
    assert pct(0.0, 10, 15) > pct(0.0, 300, 15)
    assert pct(0.0, 300, 30) > pct(0.0, 300, 15)
    mid = np.full(3, 20.0)
    bid, ask = MODEL.quote(mid, np.array([0.0, 1.5, 3.0]), 300.0, 15.0)
    assert np.all(np.diff(ask - bid) > 0)


def test_nan_mid_gives_nan() -> None:
    bid, ask = MODEL.quote(np.array([np.nan]), 0.0, 100.0, 15.0)
    assert np.isnan(bid).all() and np.isnan(ask).all()
    assert all(np.isnan(x) for x in MODEL.quote_scalar(float("nan"), 0.0, 100.0, 15.0))
