"""Batch/stream parity: FeatureStream gives compute_features' values for every feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zerodte.features import FeatureStream, compute_features, get_feature_set
from zerodte.features.sets import DEFAULT_COLUMNS, MINIMAL_COLUMNS

RTOL, ATOL = 1e-9, 1e-10


def _stream(frame: pd.DataFrame, name: str, with_minute: bool = True) -> pd.DataFrame:
    fs = get_feature_set(name).resolve(frame.columns)
    cols = [*fs.inputs, *(["minute"] if with_minute else [])]
    stream = FeatureStream(name)
    rows = frame[cols].to_dict("records")
    out = [stream.update(ts, row) for ts, row in zip(frame.index, rows, strict=True)]
    return pd.DataFrame(out, index=frame.index)


@pytest.fixture(scope="module")
def default_pair(synth_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return compute_features(synth_frame, "default"), _stream(synth_frame, "default")


@pytest.mark.parametrize("column", DEFAULT_COLUMNS)
def test_default_feature_stream_equals_batch(default_pair, column: str) -> None:
    batch, stream = default_pair
    assert list(stream.columns) == list(batch.columns)
    b, s = batch[column].to_numpy(), stream[column].to_numpy()
    assert np.array_equal(np.isnan(b), np.isnan(s)), f"{column}: NaN pattern differs"
    assert np.isfinite(b).sum() > 500, f"{column}: too few finite values to test parity"
    np.testing.assert_allclose(s, b, rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=column)


def test_minimal_stream_equals_batch_without_minute_column(walk_frame: pd.DataFrame) -> None:
    batch = compute_features(walk_frame, "minimal")
    stream = _stream(walk_frame, "minimal", with_minute=False)
    assert list(batch.columns) == list(MINIMAL_COLUMNS)
    np.testing.assert_allclose(stream.to_numpy(), batch.to_numpy(), rtol=RTOL, atol=ATOL)


def test_default_parity_across_half_day(walk_frame: pd.DataFrame) -> None:
    batch = compute_features(walk_frame, "default")
    stream = _stream(walk_frame, "default")
    np.testing.assert_allclose(stream.to_numpy(), batch.to_numpy(), rtol=RTOL, atol=ATOL)


def test_prime_then_update_continues_the_batch(synth_frame: pd.DataFrame) -> None:
    batch = compute_features(synth_frame, "default")
    fs = get_feature_set("default")
    stream = FeatureStream("default")
    cut = 700
    primed = stream.prime(synth_frame.iloc[:cut])
    np.testing.assert_allclose(primed.to_numpy(), batch.iloc[:cut].to_numpy(), rtol=RTOL)
    rows = synth_frame[[*fs.inputs, "minute"]].iloc[cut:].to_dict("records")
    rest = [stream.update(ts, r) for ts, r in zip(synth_frame.index[cut:], rows, strict=True)]
    got = pd.DataFrame(rest, index=synth_frame.index[cut:])
    np.testing.assert_allclose(got.to_numpy(), batch.iloc[cut:].to_numpy(), rtol=RTOL, atol=ATOL)


def test_topology_stream_equals_batch(synth_frame: pd.DataFrame) -> None:
    frame = synth_frame.iloc[:90]
    batch = compute_features(frame, "topology")
    stream = _stream(frame, "topology")
    tda = [c for c in batch.columns if c.startswith("tda_")]
    assert len(tda) == 5
    assert batch[tda].iloc[40:].notna().all().all()
    np.testing.assert_allclose(
        stream[tda].to_numpy(), batch[tda].to_numpy(), rtol=RTOL, atol=ATOL, equal_nan=True
    )
