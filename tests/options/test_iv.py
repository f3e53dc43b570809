"""Implied volatility: round trips (incl. minutes to expiry), NaN rule, py_vollib, speed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.options.black_scholes import bs_greeks, bs_price
from zerodte.options.iv import implied_vol

MIN = 1.0 / 525600.0


@settings(max_examples=200, deadline=None)
@given(
    st.floats(100.0, 700.0),
    st.floats(0.95, 1.05),
    st.floats(1.0, 390.0),  # 0DTE: one minute .. one session
    st.floats(0.05, 2.0),
    st.booleans(),
)
def test_round_trip_zero_dte(s: float, m: float, minutes: float, v: float, call: bool) -> None:
    k = s * m
    t = minutes * MIN
    g = bs_greeks(s, k, t, v, 0.045, 0.013, call)
    if g.vega < 1e-4 or g.price - max(0.0, (s - k) if call else (k - s)) < 1e-6:
        return  # no information in the price at double precision (documented NaN region)
    iv = float(implied_vol(g.price, s, k, t, 0.045, 0.013, call))
    assert iv == pytest.approx(v, rel=1e-6)


@settings(max_examples=150, deadline=None)
@given(
    st.floats(50, 800),
    st.floats(0.6, 1.5),
    st.floats(0.01, 3.0),
    st.floats(0.03, 1.5),
    st.floats(0.0, 0.08),
    st.floats(0.0, 0.04),
    st.booleans(),
)
def test_round_trip_longer_dated(  # noqa: PLR0917 -- hypothesis @given
    s: float, m: float, t: float, v: float, r: float, q: float, call: bool
) -> None:
    k = s * m
    g = bs_greeks(s, k, t, v, r, q, call)
    if g.vega < 1e-4:
        return
    iv = float(implied_vol(g.price, s, k, t, r, q, call))
    assert float(bs_price(s, k, t, iv, r, q, call)) == pytest.approx(g.price, abs=1e-8 * s)
    assert iv == pytest.approx(v, rel=1e-5)


def test_nan_rule() -> None:
    s, k, t, r, q = 590.0, 580.0, 30 * MIN, 0.045, 0.013
    fwd_intrinsic = s * np.exp(-q * t) - k * np.exp(-r * t)
    prices = [fwd_intrinsic - 0.01, fwd_intrinsic, s * 1.01, np.nan, 1.0, 1.0]
    times = [t, t, t, t, 0.0, -1.0]
    out = implied_vol(prices, s, k, times, r, q, True)
    assert np.isnan(out).all()
    # put above its upper bound K e^{-rT}
    assert np.isnan(implied_vol(600.0, s, 590.0, t, r, q, False))
    # a price just above intrinsic gives a small, finite vol, not garbage
    small = implied_vol(fwd_intrinsic + 0.005, s, k, t, r, q, True)
    assert np.isfinite(small) and 0 < small < 1.0


def test_against_py_vollib() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from py_vollib.black_scholes_merton.implied_volatility import implied_volatility

    rng = np.random.default_rng(5)
    for _ in range(100):
        s = rng.uniform(100, 600)
        k = s * rng.uniform(0.97, 1.03)
        t = rng.uniform(10, 390) * MIN
        v = rng.uniform(0.08, 0.8)
        call = bool(rng.random() < 0.5)
        g = bs_greeks(s, k, t, v, 0.04, 0.01, call)
        p = float(g.price)
        if p < 0.01 or g.vega < 1e-4:  # no vol information in the price: NaN by our rule
            continue
        ref = implied_volatility(p, s, k, t, 0.04, 0.01, "c" if call else "p")
        assert float(implied_vol(p, s, k, t, 0.04, 0.01, call)) == pytest.approx(ref, rel=1e-6)


def test_vectorised_speed_and_accuracy() -> None:

    rng = np.random.default_rng(1)
    n = 100_000
    s = rng.uniform(500, 600, n)
    k = np.round(s * np.exp(rng.normal(0, 0.01, n)))
    t = rng.uniform(1, 390, n) * MIN
    v = rng.uniform(0.05, 1.5, n)
    c = rng.random(n) < 0.5
    p = bs_price(s, k, t, v, 0.045, 0.013, c)
    iv = implied_vol(p, s, k, t, 0.045, 0.013, c)
    informative = bs_greeks(s, k, t, v, 0.045, 0.013, c).vega > 1e-4
    assert np.isfinite(iv[informative]).all()
    assert np.max(np.abs(iv - v)[informative]) < 1e-6
