"""Default features of a small synthetic market for regime tests."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from zerodte.features import compute_features
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market


@pytest.fixture(scope="session")
def regime_features() -> pd.DataFrame:
    """Default features over 11 synthetic sessions."""
    frame = market_frame(generate_market(date(2024, 4, 1), 11, seed=3, edge=1.0))
    return compute_features(frame, "default")
