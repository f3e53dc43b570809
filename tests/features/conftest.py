"""Small markets for feature tests: the synthetic generator plus a plain random walk."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market


def random_walk_market(start: date, days: int, seed: int) -> pd.DataFrame:
    """Random-walk SPY/QQQ/VIX minute bars on real NYSE sessions (half days included)."""
    rng = np.random.default_rng(seed)
    sessions = TradingCalendar().sessions_from(start, days)
    index = TradingCalendar().minutes(sessions)
    n = len(index)
    bars = {}
    for sym, p0, vol in (("SPY", 450.0, 4e-4), ("QQQ", 380.0, 5e-4), ("VIX", 16.0, 2e-3)):
        close = p0 * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
        open_ = np.r_[p0, close[:-1]] * np.exp(rng.normal(0.0, vol / 4, n))
        wick = np.abs(rng.normal(0.0, vol, (2, n))) * close
        bars[sym] = pd.DataFrame(
            {
                "timestamp": index,
                "open": open_,
                "high": np.maximum(open_, close) + wick[0],
                "low": np.minimum(open_, close) - wick[1],
                "close": close,
                "volume": 0.0 if sym == "VIX" else rng.integers(1e4, 1e5, n).astype(float),
            }
        )
    return market_frame(bars)


@pytest.fixture(scope="session")
def synth_frame() -> pd.DataFrame:
    """Three sessions of the synthetic market."""
    return market_frame(generate_market(date(2024, 3, 4), 3, seed=11, edge=1.0))


@pytest.fixture(scope="session")
def walk_frame() -> pd.DataFrame:
    """Random walk over 2024-11-27 .. 2024-12-02, which includes the 11-29 half day."""
    return random_walk_market(date(2024, 11, 27), 3, seed=5)
