"""Flow features (z30, relative volume against the time-of-day norm): definition, parity, no
look-ahead."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.features import FeatureStream, compute_features, get_feature_set
from zerodte.features.flow import COLUMNS, MIN_NORM_SESSIONS, NORM_SESSIONS, SPANS
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market

from .conftest import random_walk_market

RTOL, ATOL = 1e-9, 1e-10


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Eight synthetic sessions: three after the relative-volume warm-up."""
    return market_frame(generate_market(date(2024, 3, 4), 8, seed=11, edge=1.0))


@pytest.fixture(scope="module")
def batch(frame: pd.DataFrame) -> pd.DataFrame:
    return compute_features(frame, "flow")[list(COLUMNS)]


def _stream(frame: pd.DataFrame) -> pd.DataFrame:
    fs = get_feature_set("flow")
    stream = FeatureStream("flow")
    rows = frame[[*fs.inputs, "minute"]].to_dict("records")
    out = [stream.update(ts, r) for ts, r in zip(frame.index, rows, strict=True)]
    return pd.DataFrame(out, index=frame.index)[list(COLUMNS)]


def _reference(frame: pd.DataFrame) -> pd.DataFrame:
    """The documented definitions, written independently with pandas and plain loops."""
    sess = frame["session"].astype(str).to_numpy()
    close, opens = frame["spy_close"].to_numpy(), frame["spy_open"].to_numpy()
    minute = frame["minute"].to_numpy()
    lc = np.log(close)
    z = np.full(len(frame), np.nan)
    acc, y, seen = 0.0, np.nan, 0
    for i in range(len(frame)):
        first = i == 0 or sess[i] != sess[i - 1]
        r1 = np.log(close[i] / opens[i]) if first else lc[i] - lc[i - 1]
        seen += 1
        if seen < 10:
            acc += r1 * r1
            continue
        y = (acc + r1 * r1) / 10 if seen == 10 else y + 2 / 121 * (r1 * r1 - y)
        start = i - int(minute[i])
        anchor = lc[i - 30] if minute[i] >= 30 else np.log(opens[start])
        z[i] = (lc[i] - anchor) / np.sqrt(30 * y)
    out = pd.DataFrame({"z30": z}, index=frame.index)
    lv = np.log1p(frame["spy_volume"].to_numpy())
    grid = pd.DataFrame({"s": sess, "m": minute, "lv": lv}).pivot_table(
        index="s", columns="m", values="lv", sort=False
    )
    norm = grid.rolling(NORM_SESSIONS, min_periods=MIN_NORM_SESSIONS).mean().shift(1)
    rel = lv - np.array([norm.at[s, m] for s, m in zip(sess, minute, strict=True)])
    for span in SPANS:
        ew = (
            pd.Series(rel)
            .groupby(sess)
            .transform(lambda s, a=2 / (span + 1): s.ewm(alpha=a, adjust=False).mean())
        )
        out[f"relvol_{span}m"] = ew.to_numpy()
        out[f"z30_x_relvol_{span}m"] = out["z30"] * out[f"relvol_{span}m"]
    return out


def test_flow_features_match_their_definition(frame, batch) -> None:
    want = _reference(frame)
    for col in COLUMNS:
        ok = np.isfinite(batch[col].to_numpy())
        assert ok.sum() > 1000, col
        np.testing.assert_allclose(
            batch[col][ok], want[col][ok], rtol=1e-9, atol=1e-12, err_msg=col
        )
    # warm-up: five whole sessions before relative volume exists, ten bars before z30
    assert batch["relvol_5m"].iloc[: MIN_NORM_SESSIONS * 390].isna().all()
    assert batch["relvol_5m"].iloc[MIN_NORM_SESSIONS * 390 :].notna().all()
    assert batch["z30"].iloc[:9].isna().all() and batch["z30"].iloc[9:].notna().all()


def test_double_volume_reads_as_log_two(frame) -> None:
    """A session trading exactly twice its usual profile has relative volume log(2)."""
    flat = frame.copy()
    profile = flat.groupby("minute")["spy_volume"].transform("median").round()
    flat["spy_volume"] = profile
    last = flat["session"] == flat["session"].iloc[-1]
    flat.loc[last, "spy_volume"] *= 2.0
    rel = compute_features(flat, "flow")
    expect = np.log1p(2 * profile[last]) - np.log1p(profile[last])
    for span in SPANS:
        np.testing.assert_allclose(rel.loc[last, f"relvol_{span}m"], expect, atol=2e-5)
    before = rel.loc[~last, "relvol_40m"].dropna()
    np.testing.assert_allclose(before, 0.0, atol=1e-12)


def test_flow_stream_equals_batch(frame, batch) -> None:
    stream = _stream(frame)
    np.testing.assert_array_equal(np.isnan(stream.to_numpy()), np.isnan(batch.to_numpy()))
    np.testing.assert_allclose(stream.to_numpy(), batch.to_numpy(), rtol=RTOL, atol=ATOL)


def test_flow_parity_across_half_day() -> None:
    walk = random_walk_market(date(2024, 11, 19), 9, seed=5)  # includes the 11-29 half day
    batch = compute_features(walk, "flow")
    stream = _stream(walk)
    assert batch["relvol_15m"].notna().sum() > 500
    np.testing.assert_allclose(
        stream.to_numpy(), batch[list(COLUMNS)].to_numpy(), rtol=RTOL, atol=ATOL
    )


def test_prime_then_update_continues(frame, batch) -> None:
    fs = get_feature_set("flow")
    stream = FeatureStream("flow")
    cut = 6 * 390 + 17
    primed = stream.prime(frame.iloc[:cut])[list(COLUMNS)]
    np.testing.assert_allclose(primed.to_numpy(), batch.iloc[:cut].to_numpy(), rtol=RTOL)
    rows = frame[[*fs.inputs, "minute"]].iloc[cut:].to_dict("records")
    rest = [stream.update(ts, r) for ts, r in zip(frame.index[cut:], rows, strict=True)]
    got = pd.DataFrame(rest, index=frame.index[cut:])[list(COLUMNS)]
    np.testing.assert_allclose(got.to_numpy(), batch.iloc[cut:].to_numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("cut", (8, 9, 389, 390, 1949, 1950, 1951, 2339, 2340, 2500, 3119))
def test_flow_features_do_not_look_ahead(frame, batch, cut: int) -> None:
    part = compute_features(frame.iloc[: cut + 1], "flow")[list(COLUMNS)]
    np.testing.assert_allclose(part.iloc[cut], batch.iloc[cut], rtol=1e-9, equal_nan=True)


def test_future_volume_does_not_leak(frame, batch) -> None:
    cut = 2100
    noisy = frame.copy()
    noisy.iloc[cut + 1 :, noisy.columns.get_loc("spy_volume")] *= 5.0
    changed = compute_features(noisy, "flow")[list(COLUMNS)]
    np.testing.assert_array_equal(
        changed.iloc[: cut + 1].to_numpy(), batch.iloc[: cut + 1].to_numpy()
    )
    assert not np.allclose(
        changed.iloc[cut + 5 :, 1:].to_numpy(), batch.iloc[cut + 5 :, 1:].to_numpy()
    )


def test_minute_outside_the_session_is_refused(frame) -> None:
    bad = frame.iloc[:50].copy()
    bad.iloc[10, bad.columns.get_loc("minute")] = 400
    with pytest.raises(DataError, match="minute of session 400"):
        compute_features(bad, "flow")
