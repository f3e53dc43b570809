"""Features computed a piece of sessions at a time equal the whole frame's bit for bit."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.features import compute_features, get_feature_set
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


@pytest.mark.parametrize("feature_set", ["default", "flow"])
def test_each_column_alone_has_the_whole_sets_values(
    long_frame: pd.DataFrame, feature_set: str
) -> None:
    """A backtest computes only the features its parts read (``FeatureSet.only``): each
    column computed alone, whole or in pieces, has the bits of the whole set's column."""
    whole_set = get_feature_set(feature_set).resolve(long_frame.columns)
    whole = compute_features(long_frame, whole_set)
    for column in whole_set.columns:
        alone = whole_set.only({column, "not_a_feature"})
        assert alone.columns == (column,)
        expected = whole[column].to_numpy().view(np.int64)
        got = compute_features(long_frame, alone)[column].to_numpy()
        assert np.array_equal(got.view(np.int64), expected), column
        chunks = FeatureChunks(long_frame, alone)
        pieces = [chunks.compute(stop)[column] for stop in chunks.session_bounds(2)[1:]]
        assert np.array_equal(pd.concat(pieces).to_numpy().view(np.int64), expected), column


def test_a_cut_set_keeps_the_whole_sets_order(long_frame: pd.DataFrame) -> None:
    whole = get_feature_set("default").resolve(long_frame.columns)
    wanted = {"volume_spike", "momentum_15m", "rsi_14", "momentum_5m"}
    cut = whole.only(wanted)
    assert set(cut.columns) == wanted
    assert list(cut.columns) == [c for c in whole.columns if c in wanted]
    assert set(cut.groups) < set(whole.groups)  # fewer groups to compute
    assert whole.only(()).columns == ()
