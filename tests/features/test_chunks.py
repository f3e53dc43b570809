"""Features computed a piece of sessions at a time equal the whole frame's bit for bit."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.features import compute_features
from zerodte.features.compute import FeatureChunks
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market

from .conftest import random_walk_market


@pytest.fixture(scope="module")
def long_frame() -> pd.DataFrame:
    """Eight synthetic sessions: long enough that pieces start after the history."""
    return market_frame(generate_market(date(2024, 3, 4), 8, seed=3, edge=1.0))


def _pieces(frame: pd.DataFrame, sessions: int, feature_set: str = "default") -> np.ndarray:
    chunks = FeatureChunks(frame, feature_set)
    bounds = chunks.session_bounds(sessions)
    got = [chunks.compute(stop) for stop in bounds[1:]]
    out = pd.concat(got)
    assert list(out.columns) == chunks.columns
    assert out.index.equals(frame.index)
    return out.to_numpy()


@pytest.mark.parametrize("sessions", [1, 2, 3, 20])
def test_pieces_equal_the_whole_bit_for_bit(long_frame: pd.DataFrame, sessions: int) -> None:
    whole = compute_features(long_frame).to_numpy()
    got = _pieces(long_frame, sessions)
    # the bits (NaN included): VWAP's running sums continue across pieces exactly
    assert np.array_equal(got.view(np.int64), whole.view(np.int64))


def test_pieces_equal_the_whole_with_flow_features(long_frame: pd.DataFrame) -> None:
    whole = compute_features(long_frame, "flow").to_numpy()
    got = _pieces(long_frame, 2, "flow")
    assert np.array_equal(got.view(np.int64), whole.view(np.int64))


def test_pieces_over_a_half_day() -> None:
    frame = random_walk_market(date(2024, 11, 25), 6, seed=9)  # 11-29 is a half day
    whole = compute_features(frame).to_numpy()
    assert np.array_equal(_pieces(frame, 1).view(np.int64), whole.view(np.int64))


def test_pieces_go_forward(long_frame: pd.DataFrame) -> None:
    chunks = FeatureChunks(long_frame)
    stop = chunks.session_bounds(1)[1]
    chunks.compute(stop)
    with pytest.raises(DataError, match="go forward"):
        chunks.compute(stop)


def test_frame_without_minute_is_one_piece(long_frame: pd.DataFrame) -> None:
    frame = long_frame.drop(columns=["minute"])
    assert FeatureChunks(frame).session_bounds(1) == [0, len(frame)]
