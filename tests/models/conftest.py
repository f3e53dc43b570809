"""Fixtures of the model tests: small synthetic markets with features and targets."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from zerodte.features import FeatureSet, compute_features, get_feature_set
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import SyntheticConfig, simulate_market
from zerodte.models.targets import make_targets


@dataclass
class MarketCase:
    frame: pd.DataFrame
    features: pd.DataFrame
    targets: pd.DataFrame
    feature_set: FeatureSet


def make_case(days: int, edge: float, seed: int = 7, feature_set: str = "default") -> MarketCase:
    frame = market_frame(simulate_market(SyntheticConfig(seed=seed, edge=edge, days=days)).bars)
    fs = get_feature_set(feature_set)
    return MarketCase(
        frame, compute_features(frame, fs), make_targets(frame, 15, 0.05, (0.1,), (15,)), fs
    )


TREE_COLUMNS = ("ret_15m", "ret_30m", "volume_spike", "rv_15m", "vix_level", "minute_of_session")
"""A few default features the small tree bundles of the backtest tests are trained on."""


@dataclass
class MarketData:
    """The part of :class:`zerodte.market.loading.MarketData` a backtest reads."""

    frame: pd.DataFrame
    data_hash: str
    source: str = "test"


@pytest.fixture(scope="session")
def small_case() -> MarketCase:
    """Ten sessions at edge 1."""
    return make_case(10, 1.0)
