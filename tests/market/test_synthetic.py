"""The synthetic market: schema, calendar, determinism, martingale at edge 0, IC at edge 1."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.errors import DataError
from zerodte.market.schema import BAR_COLUMNS, TIMEZONE, market_frame
from zerodte.market.store import ParquetStore
from zerodte.market.synthetic import (
    SyntheticConfig,
    SyntheticMarket,
    generate_market,
    observable_signal,
    planted_signal,
    simulate_market,
)

# Documented band (docs/market.md): oracle IC of the planted signal vs the forward
# 15-minute SPY return over one year at edge 1.
IC_BAND = (0.15, 0.30)
NULL_IC_MAX = 0.03  # about 3 standard errors of a one-year IC with overlapping windows


def _forward_15(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby("session")["spy_close"].shift(-15) / frame["spy_close"] - 1.0


def _ic(signal: pd.Series, fwd: pd.Series) -> float:
    ok = fwd.notna() & signal.notna()
    return float(np.corrcoef(signal[ok], fwd[ok])[0, 1])


def test_schema_and_ohlc(small_market: dict[str, pd.DataFrame]) -> None:
    assert set(small_market) == {"SPY", "QQQ", "VIX"}
    for sym, bars in small_market.items():
        assert list(bars.columns) == list(BAR_COLUMNS)
        assert str(bars["timestamp"].dt.tz) == TIMEZONE
        assert bars["timestamp"].is_monotonic_increasing and bars["timestamp"].is_unique
        assert all(bars[c].dtype == np.float64 for c in BAR_COLUMNS[1:])
        assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all(), sym
        assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all(), sym
        assert (bars["low"] > 0).all()
        if sym == "VIX":
            assert (bars["volume"] == 0).all()
        else:
            assert (bars["volume"] > 0).all()
            assert (bars["volume"] == np.round(bars["volume"])).all()


def test_calendar_half_day_and_holiday(small_market: dict[str, pd.DataFrame]) -> None:
    spy = small_market["SPY"]
    per_day = spy.groupby(spy["timestamp"].dt.date).size()
    assert date(2024, 7, 4) not in per_day.index  # Independence Day
    assert per_day[date(2024, 7, 3)] == 210  # 13:00 close
    assert per_day[date(2024, 7, 1)] == 390
    half = spy[spy["timestamp"].dt.date == date(2024, 7, 3)]["timestamp"]
    assert half.iloc[0].strftime("%H:%M") == "09:30" and half.iloc[-1].strftime("%H:%M") == "12:59"
    assert list(per_day.index) == [date(2024, 7, d) for d in (1, 2, 3, 5, 8)]
    # the frame aligns all three symbols on the same minutes
    frame = market_frame(small_market)
    assert not frame[["spy_close", "qqq_close", "vix_close"]].isna().any().any()


def test_same_args_give_identical_parquet(tmp_path: Path) -> None:
    digests = []
    for name in ("a", "b"):
        store = ParquetStore(tmp_path / name)
        for sym, frame in generate_market(date(2024, 3, 1), 3, seed=11).items():
            store.write(sym, frame, source="synthetic")
        digests.append([p.read_bytes() for p in store.files()])
    assert digests[0] == digests[1] and len(digests[0]) == 3
    other = generate_market(date(2024, 3, 1), 3, seed=12)["SPY"]
    same = generate_market(date(2024, 3, 1), 3, seed=11)["SPY"]
    assert not np.allclose(other["close"], same["close"])


# The market every result in docs/ was measured on: a digest of the bars and the hidden
# state of a small market at both edges. A change here changes every synthetic figure; it is
# made only to fix the market (docs/market.md), never to make a learner look better.
PINNED_MARKETS = {
    1.0: "51d6697833e1c83569d13c14e0986e51d47e2cd64b734bcf4c3d08b7c2d9e31e",
    0.0: "e79f87da1c5bf19cc309e2aeb0c4eec11473e1d40e1728c826b2d1cde8d5de86",
}


@pytest.mark.parametrize("edge", sorted(PINNED_MARKETS))
def test_the_market_is_pinned(edge: float) -> None:
    import hashlib

    market = simulate_market(SyntheticConfig(seed=3, days=5, edge=edge))
    digest = hashlib.sha256()
    for sym in ("SPY", "QQQ", "VIX"):
        bars = market.bars[sym]
        digest.update(bars["timestamp"].astype("int64").to_numpy().tobytes())
        prices = bars[["open", "high", "low", "close", "volume"]].to_numpy()
        digest.update(np.ascontiguousarray(prices).tobytes())
    digest.update(np.ascontiguousarray(market.state.to_numpy(dtype=float)).tobytes())
    assert digest.hexdigest() == PINNED_MARKETS[edge]


def test_edge_only_changes_the_drift() -> None:
    a = generate_market(date(2024, 3, 1), 2, seed=5, edge=0.0)
    b = generate_market(date(2024, 3, 1), 2, seed=5, edge=1.0)
    ra = a["SPY"]["close"].pct_change()
    rb = b["SPY"]["close"].pct_change()
    # same shocks: the two paths stay close, but not equal
    assert np.corrcoef(ra[1:], rb[1:])[0, 1] > 0.95
    assert not np.allclose(ra[1:], rb[1:])
    np.testing.assert_array_equal(a["VIX"]["close"], b["VIX"]["close"])


def test_config_validation() -> None:
    with pytest.raises(DataError, match="edge"):
        SyntheticConfig(edge=1.5)
    with pytest.raises(DataError, match="days"):
        SyntheticConfig(days=0)
    with pytest.raises(DataError, match="seed must be 0 or more, got -1"):
        SyntheticConfig(seed=-1)


def test_edge0_has_exactly_zero_drift(year_edge0: SyntheticMarket) -> None:
    assert (year_edge0.state["drift"] == 0.0).all()


def test_edge0_is_a_martingale_given_the_planted_signal(year_edge0: SyntheticMarket) -> None:
    frame = market_frame(year_edge0.bars)
    fwd = _forward_15(frame)
    ic = _ic(planted_signal(year_edge0.state), fwd)
    assert abs(ic) < NULL_IC_MAX, ic
    # mean forward return in each quintile of the oracle signal is ~0 (|t| < 3, using
    # non-overlapping windows so the errors are independent)
    sig = planted_signal(year_edge0.state)
    take = (frame["minute"] % 15 == 0) & fwd.notna()
    q = pd.qcut(sig[take], 5, labels=False, duplicates="drop")
    for _, grp in fwd[take].groupby(q):
        t = grp.mean() / (grp.std() / np.sqrt(len(grp)))
        assert abs(t) < 3.0, (grp.mean(), t)
    assert abs(_ic(observable_signal(frame), fwd)) < NULL_IC_MAX


def test_edge1_ic_in_documented_band(year_edge1: SyntheticMarket) -> None:
    frame = market_frame(year_edge1.bars)
    fwd = _forward_15(frame)
    ic = _ic(planted_signal(year_edge1.state), fwd)
    assert IC_BAND[0] <= ic <= IC_BAND[1], ic
    obs = _ic(observable_signal(frame), fwd)
    assert 0.0 < obs <= ic + 0.03, obs  # observable predictor: weaker, still positive
    # regime dependence: momentum in trend, reversal in range
    r30 = year_edge1.state["r30"]
    trend = (year_edge1.state["flow_regime"] == 0) & fwd.notna()
    rng = (year_edge1.state["flow_regime"] == 2) & fwd.notna()
    assert np.corrcoef(r30[trend], fwd[trend])[0, 1] > 0.05
    assert np.corrcoef(r30[rng], fwd[rng])[0, 1] < 0.0


def test_observable_signal_is_causal(small_market: dict[str, pd.DataFrame]) -> None:
    frame = market_frame(small_market)
    full = observable_signal(frame)
    cut = frame.iloc[:500]
    np.testing.assert_allclose(observable_signal(cut).to_numpy(), full.iloc[:500].to_numpy())


def test_realistic_ranges(year_edge1: SyntheticMarket) -> None:
    bars = year_edge1.bars
    spy, qqq, vix = bars["SPY"], bars["QQQ"], bars["VIX"]
    days = spy["timestamp"].dt.date.to_numpy()
    r_spy = np.log(spy["close"]).groupby(days).diff()
    r_qqq = np.log(qqq["close"]).groupby(days).diff()
    ok = r_spy.notna()
    corr = np.corrcoef(r_spy[ok], r_qqq[ok])[0, 1]
    beta = np.cov(r_qqq[ok], r_spy[ok])[0, 1] / r_spy[ok].var()
    assert 0.85 <= corr <= 0.93 and 1.1 <= beta <= 1.4, (corr, beta)
    assert vix["close"].quantile(0.05) >= 9.0 and vix["close"].quantile(0.95) <= 40.0
    r_vix = np.log(vix["close"]).groupby(days).diff()
    assert np.corrcoef(r_spy[ok], r_vix[ok])[0, 1] < -0.2
