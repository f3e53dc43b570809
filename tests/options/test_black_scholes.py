"""Black–Scholes–Merton prices and greeks: textbook values, py_vollib, properties."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.options.black_scholes import bs_greeks, bs_price

spots = st.floats(50.0, 1000.0)
moneyness = st.floats(0.7, 1.3)
times = st.floats(1.0 / 525600.0, 2.0)  # one minute to two years
vols = st.floats(0.02, 2.0)
rates = st.floats(-0.01, 0.10)
divs = st.floats(0.0, 0.06)


def test_hull_textbook_example() -> None:
    # Hull, Options Futures and Other Derivatives, example 15.6: S=42, K=40, r=10 %, 20 %, 6 m
    call, put = bs_price(42.0, 40.0, 0.5, 0.2, 0.1, 0.0, [True, False])
    assert call == pytest.approx(4.76, abs=0.005)
    assert put == pytest.approx(0.81, abs=0.005)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_against_py_vollib() -> None:
    from py_vollib.black_scholes_merton import black_scholes_merton
    from py_vollib.black_scholes_merton.greeks import analytical

    rng = np.random.default_rng(3)
    for _ in range(200):
        s = rng.uniform(50, 800)
        k = s * rng.uniform(0.8, 1.2)
        t = rng.uniform(5 / 525600, 1.0)
        v = rng.uniform(0.05, 1.0)
        r = rng.uniform(0, 0.08)
        q = rng.uniform(0, 0.04)
        for flag, call in (("c", True), ("p", False)):
            g = bs_greeks(s, k, t, v, r, q, call)
            assert g.price == pytest.approx(black_scholes_merton(flag, s, k, t, r, v, q), abs=1e-9)
            assert g.delta == pytest.approx(analytical.delta(flag, s, k, t, r, v, q), abs=1e-9)
            assert g.gamma == pytest.approx(analytical.gamma(flag, s, k, t, r, v, q), rel=1e-7)
            # py_vollib: theta per day (/365), vega and rho per 1 % -- the same units as ours
            assert g.theta == pytest.approx(analytical.theta(flag, s, k, t, r, v, q), rel=1e-7)
            assert g.vega == pytest.approx(analytical.vega(flag, s, k, t, r, v, q), rel=1e-7)
            assert g.rho == pytest.approx(analytical.rho(flag, s, k, t, r, v, q), rel=1e-7)


def test_expiry_and_zero_vol_limits_without_warnings() -> None:
    s = np.array([100.0, 100.0, 100.0, 90.0, 110.0])
    k = np.array([90.0, 110.0, 100.0, 100.0, 100.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g_call = bs_greeks(s, k, 0.0, 0.2, 0.05, 0.01, True)
        g_put = bs_greeks(s, k, 0.0, 0.2, 0.05, 0.01, False)
        g_zero_vol = bs_greeks(s, k, 0.5, 0.0, 0.05, 0.01, True)
    np.testing.assert_allclose(g_call.price, np.maximum(s - k, 0))
    np.testing.assert_allclose(g_put.price, np.maximum(k - s, 0))
    np.testing.assert_allclose(g_call.delta, [1.0, 0.0, 0.5, 0.0, 1.0])
    np.testing.assert_allclose(g_put.delta, [0.0, -1.0, -0.5, -1.0, 0.0])
    for g in (g_call, g_put, g_zero_vol):
        assert np.all(g.gamma == 0) and np.all(g.vega == 0)
        assert all(np.isfinite(a).all() for a in g)
    fwd_intrinsic = np.maximum(s * np.exp(-0.01 * 0.5) - k * np.exp(-0.05 * 0.5), 0)
    np.testing.assert_allclose(g_zero_vol.price, fwd_intrinsic)
    # continuity: a minute before expiry the price is close to intrinsic
    near = bs_price(s, k, 1e-9, 0.2, 0.05, 0.01, True)
    np.testing.assert_allclose(near, np.maximum(s - k, 0), atol=1e-3)


def test_broadcasting() -> None:
    out = bs_price(
        100.0, np.array([90.0, 100.0, 110.0])[:, None], 0.1, 0.2, 0.0, 0.0, np.array([True, False])
    )
    assert out.shape == (3, 2)


@settings(max_examples=150, deadline=None)
@given(spots, moneyness, times, vols, rates, divs)
def test_put_call_parity_and_bounds(  # noqa: PLR0917 -- hypothesis @given
    s: float, m: float, t: float, v: float, r: float, q: float
) -> None:
    k = s * m
    c, p = bs_price(s, k, t, v, r, q, [True, False])
    fs, fk = s * np.exp(-q * t), k * np.exp(-r * t)
    assert c - p == pytest.approx(fs - fk, abs=1e-9 * s)
    assert max(0.0, fs - fk) - 1e-9 * s <= c <= fs + 1e-12
    assert max(0.0, fk - fs) - 1e-9 * s <= p <= fk + 1e-12


@settings(max_examples=150, deadline=None)
@given(spots, moneyness, times, vols, rates, divs, st.booleans())
def test_monotonicity(  # noqa: PLR0917 -- hypothesis @given
    s: float, m: float, t: float, v: float, r: float, q: float, call: bool
) -> None:
    k = s * m
    base = float(bs_price(s, k, t, v, r, q, call))
    tol = 1e-10 * s
    up_s = float(bs_price(s * 1.01, k, t, v, r, q, call))
    up_k = float(bs_price(s, k * 1.01, t, v, r, q, call))
    up_v = float(bs_price(s, k, t, v * 1.1, r, q, call))
    assert (up_s >= base - tol) if call else (up_s <= base + tol)
    assert (up_k <= base + tol) if call else (up_k >= base - tol)
    assert up_v >= base - tol
    if q == 0.0 and r >= 0.0 and call:  # American-style time monotonicity holds for calls
        assert float(bs_price(s, k, t * 1.5, v, r, q, call)) >= base - tol


@settings(max_examples=100, deadline=None)
@given(
    spots,
    st.floats(0.9, 1.1),
    st.floats(1e-3, 1.0),
    st.floats(0.05, 1.0),
    rates,
    divs,
    st.booleans(),
)
def test_greeks_equal_finite_differences(  # noqa: PLR0917 -- hypothesis @given
    s: float, m: float, t: float, v: float, r: float, q: float, call: bool
) -> None:
    k = s * m
    g = bs_greeks(s, k, t, v, r, q, call)

    def px(**kw: float) -> float:
        a = {"s": s, "t": t, "v": v, "r": r} | kw
        return float(bs_price(a["s"], k, a["t"], a["v"], a["r"], q, call))

    hs = 1e-3 * s * v * np.sqrt(t)  # step well inside the curvature scale sigma sqrt(T)
    delta = (px(s=s + hs) - px(s=s - hs)) / (2 * hs)
    gamma = (px(s=s + hs) - 2 * px() + px(s=s - hs)) / hs**2
    vega = (px(v=v + 1e-5) - px(v=v - 1e-5)) / 2e-5 / 100
    rho = (px(r=r + 1e-6) - px(r=r - 1e-6)) / 2e-6 / 100
    ht = min(1e-6, t / 10)
    theta = -(px(t=t + ht) - px(t=t - ht)) / (2 * ht) / 365
    scale = s * 1e-6
    assert g.delta == pytest.approx(delta, abs=1e-5)
    rounding = 1e-13 * s / hs**2  # float noise of a second difference
    assert g.gamma == pytest.approx(gamma, abs=max(1e-4 * abs(g.gamma), 1e-5 / s, rounding))
    assert g.vega == pytest.approx(vega, abs=scale)
    assert g.rho == pytest.approx(rho, abs=scale)
    assert g.theta == pytest.approx(theta, abs=max(1e-4 * abs(g.theta), scale))
