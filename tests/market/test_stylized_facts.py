"""Stylized facts of the synthetic market against real minute data (../shared/data/real).

Tolerances (also in docs/market.md), synthetic = 60 sessions, seed 7, edge 0 and edge 1:

* fat tails: excess kurtosis of 1-minute log returns > 3 and within [0.5, 3] x the real
  SPY value (Polygon file);
* volatility clustering: autocorrelation of |r| positive at every lag 1..30, each lag
  within [1/3, 3] x real and the mean over lags within [0.5, 2] x real;
* no linear predictability at edge 0: |autocorrelation of r| < 4 heteroskedasticity-robust
  standard errors (``sqrt(sum r_t^2 r_{t-k}^2) / sum r_t^2``) at lags 1..10 (the real file
  passes the same bound);
* intraday U-shape: std of returns and median volume in the first and last 30 minutes
  exceed the 11:30-14:00 level by >= 20 % (volatility) and >= 50 % (volume), as in the real
  file, and the open/midday volatility ratio is within [0.6, 1.6] x real;
* SPY/QQQ minute correlation within 0.07 of the real (Alpaca) value, beta within [1.0, 1.5];
* VIX: 5 %, 50 %, 95 % quantiles of daily closes inside the real 1 %..99 % range since 2010,
  median within [0.7, 1.4] x real; minute VIX/SPY return correlation in [-0.7, -0.15]
  (real 2019 week: about -0.34).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.market.synthetic import SyntheticConfig, simulate_market

pytestmark = pytest.mark.realdata


def _returns(bars: pd.DataFrame) -> pd.Series:
    days = bars["timestamp"].dt.date.to_numpy()
    return np.log(bars["close"]).groupby(days).diff()


def _robust_se(r: np.ndarray, lag: int) -> float:
    x = r - r.mean()
    return float(np.sqrt(np.sum(x[lag:] ** 2 * x[:-lag] ** 2)) / np.sum(x**2))


def stats(spy: pd.DataFrame) -> dict[str, object]:
    """Stylized-fact statistics of one SPY minute-bar frame."""
    r = _returns(spy)
    clean = r.dropna()
    a = (clean - clean.mean()).abs()
    minute = (spy["timestamp"].dt.hour * 60 + spy["timestamp"].dt.minute - 570).to_numpy()
    last = spy.groupby(spy["timestamp"].dt.date)["timestamp"].transform("max")
    to_close = ((last - spy["timestamp"]).dt.total_seconds() // 60).to_numpy()
    mid = (minute >= 120) & (minute < 270)
    opening, closing = (minute < 30) & (minute > 0), to_close < 30
    return {
        "kurtosis": float(clean.kurt()),
        "acf_abs": np.array([a.autocorr(k) for k in range(1, 31)]),
        "acf_raw": np.array([clean.autocorr(k) for k in range(1, 11)]),
        "acf_raw_se": np.array([_robust_se(clean.to_numpy(), k) for k in range(1, 11)]),
        "vol_open": float(r[opening].std() / r[mid].std()),
        "vol_close": float(r[closing].std() / r[mid].std()),
        "volume_open": float(spy["volume"][opening].median() / spy["volume"][mid].median()),
        "volume_close": float(spy["volume"][closing].median() / spy["volume"][mid].median()),
    }


@pytest.fixture(scope="module")
def real(real_data_dir: Path) -> dict[str, object]:
    spy = pd.read_parquet(real_data_dir / "spy_1min_polygon_rth.parquet")
    out = stats(spy)
    alp = pd.read_parquet(real_data_dir / "spy_qqq_1min_alpaca_iex.parquet")
    wide = alp.pivot(index="timestamp", columns="symbol", values="close")
    lr = np.log(wide).groupby(wide.index.date).diff().dropna()
    out["corr"] = float(lr["SPY"].corr(lr["QQQ"]))
    vix = pd.read_csv(real_data_dir / "vix_daily_cboe.csv", parse_dates=["date"])
    closes = vix.loc[vix["date"] >= "2010-01-01", "close"]
    out["vix_q"] = closes.quantile([0.01, 0.5, 0.99]).to_numpy()
    return out


@pytest.fixture(scope="module", params=[0.0, 1.0], ids=["edge0", "edge1"])
def synthetic(request: pytest.FixtureRequest) -> dict[str, object]:
    m = simulate_market(
        SyntheticConfig(seed=7, days=60, start=date(2024, 1, 2), edge=request.param)
    )
    out = stats(m.bars["SPY"])
    rs, rq = _returns(m.bars["SPY"]), _returns(m.bars["QQQ"])
    ok = rs.notna()
    out["corr"] = float(np.corrcoef(rs[ok], rq[ok])[0, 1])
    out["beta"] = float(np.cov(rq[ok], rs[ok])[0, 1] / rs[ok].var())
    vix = m.bars["VIX"]
    daily = vix.groupby(vix["timestamp"].dt.date)["close"].last()
    out["vix_q"] = daily.quantile([0.05, 0.5, 0.95]).to_numpy()
    rv = _returns(vix)
    out["vix_spy_corr"] = float(np.corrcoef(rs[ok], rv[ok])[0, 1])
    out["edge"] = request.param
    return out


def test_fat_tails(real: dict, synthetic: dict) -> None:
    k_real, k_syn = real["kurtosis"], synthetic["kurtosis"]
    assert k_syn > 3.0 and 0.5 * k_real <= k_syn <= 3.0 * k_real, (k_real, k_syn)


def test_volatility_clustering(real: dict, synthetic: dict) -> None:
    acf_r, acf_s = real["acf_abs"], synthetic["acf_abs"]
    assert (acf_s > 0).all()
    ratio = acf_s / acf_r
    assert ((ratio >= 1 / 3) & (ratio <= 3)).all(), ratio
    assert 0.5 <= acf_s.mean() / acf_r.mean() <= 2.0


def test_no_linear_predictability_at_edge0(real: dict, synthetic: dict) -> None:
    assert (np.abs(real["acf_raw"]) < 4 * real["acf_raw_se"]).all()
    if synthetic["edge"] != 0.0:
        pytest.skip("raw-return autocorrelation bound is for the martingale market")
    assert (np.abs(synthetic["acf_raw"]) < 4 * synthetic["acf_raw_se"]).all(), (
        synthetic["acf_raw"] / synthetic["acf_raw_se"]
    )


def test_intraday_u_shapes(real: dict, synthetic: dict) -> None:
    for key, floor in (
        ("vol_open", 1.2),
        ("vol_close", 1.2),
        ("volume_open", 1.5),
        ("volume_close", 1.5),
    ):
        assert real[key] >= floor, (key, real[key])  # the fact holds in the real data
        assert synthetic[key] >= floor, (key, synthetic[key])
    assert 0.6 <= synthetic["vol_open"] / real["vol_open"] <= 1.6


def test_spy_qqq_and_vix(real: dict, synthetic: dict) -> None:
    assert abs(synthetic["corr"] - real["corr"]) <= 0.07, (synthetic["corr"], real["corr"])
    assert 1.0 <= synthetic["beta"] <= 1.5
    lo, med, hi = real["vix_q"]
    q5, q50, q95 = synthetic["vix_q"]
    assert lo <= q5 and q95 <= hi, (synthetic["vix_q"], real["vix_q"])
    assert 0.7 * med <= q50 <= 1.4 * med
    assert -0.7 <= synthetic["vix_spy_corr"] <= -0.15
