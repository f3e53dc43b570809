"""Fixtures of the market tests: small and one-year synthetic markets (``real_data_dir``
comes from tests/conftest.py)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from zerodte.market.synthetic import SyntheticConfig, SyntheticMarket, simulate_market


@pytest.fixture(scope="session")
def small_market() -> dict[str, pd.DataFrame]:
    """Five sessions around Independence Day 2024 (a 13:00 half day on 07-03)."""
    return simulate_market(SyntheticConfig(seed=3, days=5, start=date(2024, 7, 1))).bars


@pytest.fixture(scope="session")
def year_edge1() -> SyntheticMarket:
    """One trading year of the default market (edge 1)."""
    return simulate_market(SyntheticConfig(seed=7, days=252))


@pytest.fixture(scope="session")
def year_edge0() -> SyntheticMarket:
    """The same year with the planted edge switched off (same shocks)."""
    return simulate_market(SyntheticConfig(seed=7, days=252, edge=0.0))
