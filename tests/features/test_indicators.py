"""Known values, warm-up, schema and optional-column behaviour of the feature sets."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.errors import ConfigError, DataError
from zerodte.features import (
    FEATURE_SETS,
    FeatureStream,
    compute_features,
    custom_feature_set,
    get_feature_set,
    valid_mask,
)
from zerodte.features import kernels as k
from zerodte.features.context import Context
from zerodte.features.groups import GROUPS, _rsi
from zerodte.market.calendar import TradingCalendar

# Wilder's RSI textbook series (StockCharts "RSI" article); exact values as computed by
# TA-Lib. StockCharts' own table rounds intermediate averages, so it differs by < 0.1.
CLOSES = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03,
          45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64, 46.21, 46.25, 45.71, 46.45,
          45.78, 45.35, 44.03, 44.18, 44.22, 44.57, 43.42, 42.66, 43.13]  # fmt: skip
RSI_EXACT = [70.46, 66.25, 66.48, 69.35, 66.29, 57.92, 62.88, 63.21, 56.01, 62.34, 54.67,
             50.39, 40.02, 41.49, 41.90, 45.50, 37.32, 33.09, 37.79]  # fmt: skip
RSI_STOCKCHARTS = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38,
                   54.71, 50.42, 39.99, 41.46, 41.87, 45.46, 37.30, 33.09, 37.79]  # fmt: skip


def test_rsi_matches_wilder_textbook() -> None:
    close = np.array(CLOSES)
    rsi = _rsi(Context({"spy_close": close}, len(close), {}, frozenset()))
    assert np.isnan(rsi[:14]).all()
    np.testing.assert_allclose(rsi[14:], RSI_EXACT, atol=0.006)
    np.testing.assert_allclose(rsi[14:], RSI_STOCKCHARTS, atol=0.1)


def _session_frame(prices: list[tuple[float, float, float, float, float]]) -> pd.DataFrame:
    idx = TradingCalendar().session_minutes(pd.Timestamp("2024-03-05").date())[: len(prices)]
    frame = pd.DataFrame(prices, columns=["spy_open", "spy_high", "spy_low", "spy_close",
                                          "spy_volume"], index=idx)  # fmt: skip
    frame["minute"] = np.arange(len(frame))
    return frame


def test_vwap_distance_known_value() -> None:
    frame = _session_frame([(10, 11, 9, 10, 100), (10, 13, 11, 12, 300), (12, 12, 6, 9, 100)])
    out = compute_features(frame, custom_feature_set("t", 1, ["vwap_dist"]))["vwap_dist"]
    # typical prices 10, 12, 9 -> VWAP 10, (1000 + 3600)/400 = 11.5, (4600 + 900)/500 = 11
    np.testing.assert_allclose(out, [0.0, 100 * (12 / 11.5 - 1), 100 * (9 / 11 - 1)])


def test_opening_range_position_and_breakout() -> None:
    bars = [(10, 11, 9, 10, 1)] * 15 + [(10, 12, 10, 11.5, 1), (11, 11, 8, 8.5, 1)]
    frame = _session_frame(bars)
    fs = custom_feature_set("t", 1, ["or15_pos", "or15_breakout", "or30_breakout"])
    out = compute_features(frame, fs)
    assert out["or15_pos"].iloc[0] == 0.5  # close 10 inside 9..11
    assert out["or15_breakout"].iloc[:15].eq(0).all()
    assert out["or15_breakout"].iloc[15] == 1.0 and out["or15_pos"].iloc[15] == 1.25
    assert out["or15_breakout"].iloc[16] == -1.0 and out["or15_pos"].iloc[16] == -0.25
    assert out["or30_breakout"].eq(0).all()  # the 30-minute range is still forming


def _atr_reference(h: np.ndarray, lo: np.ndarray, c: np.ndarray, n: int = 14) -> np.ndarray:
    out = np.full(len(c), np.nan)
    tr = [max(h[i] - lo[i], abs(h[i] - c[i - 1]), abs(lo[i] - c[i - 1])) for i in range(1, len(c))]
    atr = sum(tr[:n]) / n
    out[n] = atr
    for i in range(n + 1, len(c)):
        atr = (atr * (n - 1) + tr[i - 1]) / n
        out[i] = atr
    return out


def test_atr_matches_wilder_reference(walk_frame: pd.DataFrame) -> None:
    f = walk_frame.iloc[:300]
    out = compute_features(f, custom_feature_set("t", 1, ["atr_14_pct"]))["atr_14_pct"]
    ref = _atr_reference(*(f[f"spy_{x}"].to_numpy() for x in ("high", "low", "close")))
    ref_pct = 100 * ref / f["spy_close"].to_numpy()
    assert out.iloc[:70].isna().all()  # explicit warm-up
    np.testing.assert_allclose(out.iloc[70:], ref_pct[70:], rtol=1e-12)


def test_minutes_to_close_and_day_of_week_on_half_day(walk_frame: pd.DataFrame) -> None:
    out = compute_features(walk_frame, "minimal")
    half = out.loc["2024-11-29"]
    full = out.loc["2024-11-27"]
    assert len(half) == 210 and half["minutes_to_close"].iloc[0] == 209
    assert half["minutes_to_close"].iloc[-1] == 0 and full["minutes_to_close"].iloc[-1] == 0
    assert full["minutes_to_close"].iloc[0] == 389
    assert set(full["day_of_week"]) == {2.0} and set(half["day_of_week"]) == {4.0}
    assert half["minute_of_session"].iloc[-1] == 209


def test_required_columns_are_in_default_and_minimal() -> None:
    required = ["momentum_5m", "momentum_15m", "volume_spike", "ret_1m", "ret_5m", "ret_15m",
                "ret_30m", "ret_60m", "rv_30m", "vix_level", "vix_change_15m",
                "minutes_to_close", "minute_of_session", "day_of_week"]  # fmt: skip
    for name in ("default", "minimal"):
        assert set(required) <= set(get_feature_set(name).columns), name


@pytest.mark.parametrize("name", ["default", "minimal"])
def test_warmup_is_explicit_per_column(synth_frame: pd.DataFrame, name: str) -> None:
    fs = get_feature_set(name)
    out = compute_features(synth_frame, name)
    assert out.dtypes.eq(np.float64).all() and list(out.columns) == list(fs.columns)
    for col in fs.columns:
        warm = next(g.warmup[col] for g in GROUPS.values() if col in g.warmup)
        finite = np.isfinite(out[col].to_numpy())
        assert not finite[:warm].any(), f"{col} has values during its warm-up"
        assert finite[warm:].all(), f"{col} has NaN after its warm-up of {warm} rows"
    mask = valid_mask(out)
    assert not mask.iloc[: fs.warmup_minutes].any() and mask.iloc[fs.warmup_minutes :].all()


def test_optional_columns_absent_unless_provided(synth_frame: pd.DataFrame) -> None:
    plain = compute_features(synth_frame.iloc[:100])
    assert not [c for c in plain.columns if "put_call" in c or "sentiment" in c]
    frame = synth_frame.iloc[:100].copy()
    frame["put_call_ratio"] = np.linspace(0.8, 1.2, 100)
    with_pcr = compute_features(frame)
    assert "put_call_ratio" in with_pcr and "sentiment" not in with_pcr
    np.testing.assert_allclose(with_pcr["put_call_ratio"], frame["put_call_ratio"])
    assert with_pcr["put_call_ratio_change_15m"].iloc[:15].isna().all()
    frame["sentiment"] = np.nan  # provided but missing: NaN, never zero
    both = compute_features(frame)
    assert both["sentiment"].isna().all() and both["sentiment_change_15m"].isna().all()
    assert list(both.columns[-4:]) == ["put_call_ratio", "put_call_ratio_change_15m",
                                       "sentiment", "sentiment_change_15m"]  # fmt: skip
    stream = FeatureStream("default")
    fs = get_feature_set("default").resolve(frame.columns)
    row = stream.update(frame.index[0], frame[list(fs.inputs)].iloc[0].to_dict())
    assert "put_call_ratio" in row and "sentiment" in row


def test_schema_hash_is_stable_and_tracks_columns() -> None:
    fs = get_feature_set("default")
    payload = {"name": "default", "version": 1, "columns": list(fs.columns),
               "dtypes": ["float64"] * len(fs.columns)}  # fmt: skip
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert fs.schema_hash == hashlib.sha256(text.encode()).hexdigest()
    assert fs.schema_hash == get_feature_set("default").schema_hash
    same = custom_feature_set("default", 1, fs.columns)
    assert same.schema_hash == fs.schema_hash
    assert custom_feature_set("default", 1, fs.columns[:-1]).schema_hash != fs.schema_hash
    swapped = (fs.columns[1], fs.columns[0], *fs.columns[2:])
    assert custom_feature_set("default", 1, swapped).schema_hash != fs.schema_hash
    assert custom_feature_set("default", 2, fs.columns).schema_hash != fs.schema_hash
    resolved = fs.resolve(["put_call_ratio"])
    assert resolved.schema_hash != fs.schema_hash
    assert len({s.schema_hash for s in FEATURE_SETS.values()}) == len(FEATURE_SETS)


def test_bad_inputs_raise_data_error(synth_frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="vix_close"):
        compute_features(synth_frame.drop(columns=["vix_close"]))
    broken = synth_frame.iloc[:50].copy()
    broken.iloc[10, broken.columns.get_loc("spy_close")] = np.nan
    with pytest.raises(DataError, match="NaN"):
        compute_features(broken)
    stream = FeatureStream("minimal")
    row = synth_frame[list(get_feature_set("minimal").inputs)].iloc[0].to_dict()
    stream.update(synth_frame.index[1], row)
    with pytest.raises(DataError, match="time order"):
        stream.update(synth_frame.index[0], row)
    with pytest.raises(ConfigError, match="unknown feature set 'nope'; use one of default, "):
        get_feature_set("nope")


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=60),
    window=st.integers(1, 12),
    n=st.integers(1, 70),
)
def test_rolling_kernels_match_pandas(values: list[float], window: int, n: int) -> None:
    x = np.array(values)
    s = pd.Series(x).rolling(window)
    for got, want in (
        (k.rolling_sum(x, window, n), s.sum()),
        (k.rolling_max(x, window, n), s.max()),
        (k.rolling_std(x, window, n), s.std(ddof=0)),
    ):
        np.testing.assert_allclose(got, k.tail(want.to_numpy(), n), rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("alpha", [2.0 / 13.0, 1.0 / 14.0, 0.5])
def test_smooth_is_bit_identical_to_lfilter(alpha: float) -> None:
    """The smoother's plain loop gives exactly lfilter's values (the formula it replaced)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, 5000).cumsum()
    x[2500] = np.nan  # NaN propagates from there on, as in lfilter
    state: dict[str, object] = {}
    out = k.smooth(x, alpha, state, seed=1)
    decay = 1.0 - alpha
    want, _ = lfilter([alpha], [1.0, -decay], x[1:], zi=[decay * x[0]])
    assert out[0] == x[0]
    np.testing.assert_array_equal(out[1:2500], want[:2499])
    assert out[1:2500].tobytes() == want[:2499].tobytes()
    assert np.isnan(out[2500:]).all() and np.isnan(want[2499:]).all()
