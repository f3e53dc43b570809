"""OptionModel, ModelledQuoteBook, the surface, expiry time and contract selection."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from zerodte.config.settings import OptionsSettings
from zerodte.options.chain import atm_strike, select_contract, select_strikes, strike_grid
from zerodte.options.expiry import expiry_close, minutes_to_expiry, year_fraction
from zerodte.options.model import ModelledQuoteBook, OptionModel
from zerodte.options.surface import VolSurface
from zerodte.types import OptionContract, Right

SETTINGS = OptionsSettings()
MODEL = OptionModel(SETTINGS)
NY = "America/New_York"
KEYS = ("bid", "ask", "mid", "iv", "delta", "gamma", "theta", "vega")


def test_scalar_equals_vectorised() -> None:
    rng = np.random.default_rng(0)
    n = 300
    s = rng.uniform(400, 600, n)
    k = np.round(s + rng.normal(0, 4, n))
    call = rng.random(n) < 0.5
    mte = rng.uniform(0, 2000, n)
    mte[:5] = 0.0  # expired: intrinsic
    vix = rng.uniform(10, 40, n)
    mtc = np.minimum(mte, rng.uniform(0, 390, n))
    vec = MODEL.price(s, k, call, mte, vix, mtc)
    for i in range(n):
        q = MODEL.quote_values(s[i], k[i], bool(call[i]), mte[i], vix[i], mtc[i])
        for key in KEYS:
            assert getattr(q, key) == pytest.approx(vec[key][i], rel=1e-10, abs=1e-12), key


def test_nan_inputs_propagate() -> None:
    out = MODEL.price(np.array([np.nan, 590.0]), 590.0, True, 60.0, np.array([15.0, np.nan]))
    for key in KEYS:
        assert np.isnan(out[key]).all() or key in ("delta", "gamma", "theta", "vega"), key
    assert np.isnan(out["mid"]).all() and np.isnan(out["bid"]).all()


def test_surface_levels() -> None:
    sf = VolSurface.from_settings(SETTINGS)
    zero_dte = float(sf.atm_iv(120.0, 20.0))
    assert zero_dte == pytest.approx(SETTINGS.iv_vix_ratio * SETTINGS.zero_dte_term_mult * 0.2)
    month = float(sf.atm_iv(30 * 1440.0, 20.0))
    assert SETTINGS.iv_vix_ratio * 0.2 < month < zero_dte
    assert np.isnan(sf.iv(590.0, 590.0, 60.0, np.nan))
    assert float(sf.iv(590.0, 400.0, 60.0, 15.0)) >= SETTINGS.iv_floor
    sc = sf.iv_z_scalar(590.0, 595.0, 60.0, 15.0)
    assert sc[0] == pytest.approx(float(sf.iv(590.0, 595.0, 60.0, 15.0)), rel=1e-12)


def test_expiry_convention() -> None:
    now = pd.Timestamp("2024-11-29 12:00", tz=NY)  # day after Thanksgiving: 13:00 close
    close = expiry_close(date(2024, 11, 29))
    assert close == pd.Timestamp("2024-11-29 13:00", tz=NY)
    assert minutes_to_expiry(now, close) == 60.0
    assert minutes_to_expiry(close + pd.Timedelta(minutes=5), close) == 0.0
    assert float(year_fraction(525600.0)) == 1.0
    with pytest.raises(ValueError, match="tz-aware"):
        minutes_to_expiry(pd.Timestamp("2024-11-29 12:00"), close)


def test_quote_book_open_close_and_expiry() -> None:
    c = OptionContract("SPY", date(2024, 11, 22), Right.CALL, 590.0)
    t = pd.Timestamp("2024-11-22 14:00", tz=NY)
    book = ModelledQuoteBook(
        MODEL, time=t, spot_open=590.0, spot_close=591.0, vix_open=15.0, vix_close=15.0
    )
    q_open, q_close = book.quote(c, at="open"), book.quote(c, at="close")
    assert q_open is not None and q_close is not None
    assert q_open.time == t and q_close.time == t + pd.Timedelta(minutes=1)
    assert q_open.underlying_price == 590.0 and q_close.mid > q_open.mid
    ref = MODEL.price(591.0, 590.0, True, 119.0, 15.0)
    assert q_close.bid == pytest.approx(float(ref["bid"])) and q_close.ask == pytest.approx(
        float(ref["ask"])
    )
    last = ModelledQuoteBook(
        MODEL,
        time=pd.Timestamp("2024-11-22 15:59", tz=NY),
        spot_open=590.0,
        spot_close=590.0,
        vix_open=15,
        vix_close=15,
    )
    assert last.quote(c, at="open") is not None
    assert last.quote(c, at="close") is None  # 16:00: expired
    nan_book = ModelledQuoteBook(
        MODEL, time=t, spot_open=np.nan, spot_close=590.0, vix_open=15.0, vix_close=np.nan
    )
    assert nan_book.quote(c, at="open") is None and nan_book.quote(c, at="close") is None
    with pytest.raises(ValueError, match="open"):
        book.quote(c, at="mid")


def test_strike_grid_and_rules() -> None:
    assert float(atm_strike(590.5, 1.0)) == 591.0
    assert list(strike_grid(590.2, 1.0, 2)) == [588.0, 589.0, 590.0, 591.0, 592.0]
    assert list(strike_grid(2.2, 1.0, 4)) == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # no strike <= 0
    spots = np.array([590.2, 590.7, np.nan])
    np.testing.assert_array_equal(
        select_strikes(spots, Right.CALL, SETTINGS, rule="atm"), [590.0, 591.0, np.nan]
    )
    np.testing.assert_array_equal(
        select_strikes(spots, Right.PUT, SETTINGS, rule="otm", otm_offset=2), [588, 589, np.nan]
    )
    np.testing.assert_array_equal(
        select_strikes(spots, Right.CALL, SETTINGS, rule="otm", otm_offset=2), [592, 593, np.nan]
    )
    with pytest.raises(ValueError, match="vix"):
        select_strikes(spots, Right.CALL, SETTINGS, rule="delta")
    with pytest.raises(ValueError, match="unknown"):
        select_strikes(spots, Right.CALL, SETTINGS, rule="itm")


@pytest.mark.parametrize("right", [Right.CALL, Right.PUT])
@pytest.mark.parametrize("target", [0.15, 0.3, 0.5, 0.7])
def test_delta_rule_picks_nearest_grid_delta(right: Right, target: float) -> None:
    rng = np.random.default_rng(2)
    spots = rng.uniform(580, 600, 50)
    mte = rng.uniform(5, 390, 50)
    vix = rng.uniform(11, 35, 50)
    got = select_strikes(
        spots, right, SETTINGS, rule="delta", target_delta=target, vix=vix, minutes_to_expiry=mte
    )
    for i in range(0, 50, 7):  # brute force over a wide grid
        grid = strike_grid(spots[i], 1.0, 40)
        d = MODEL.price(spots[i], grid, right is Right.CALL, mte[i], vix[i])["delta"]
        best = grid[np.argmin(np.abs(np.abs(d) - target))]
        assert got[i] == best
        one = select_contract(
            spots[i],
            right,
            date(2024, 1, 2),
            settings=SETTINGS,
            rule="delta",
            target_delta=target,
            vix=vix[i],
            minutes_to_expiry=mte[i],
        )
        assert one is not None and one.strike == got[i] and one.right is right
    assert select_contract(float("nan"), right, date(2024, 1, 2), settings=SETTINGS) is None


def test_time_of_day_level_touches_only_the_last_minutes() -> None:
    sf = VolSurface(
        iv_vix_ratio=0.87,
        zero_dte_term_mult=1.724,
        tod_minutes=(15.0, 30.0, 60.0, 90.0),
        tod_mult=(1.6, 1.35, 1.2, 1.0),
    )
    level = 0.87 * 1.724 * 0.2
    m = np.array([5.0, 15.0, 22.5, 60.0, 90.0, 200.0])
    expected = level * np.array([1.6, 1.6, 1.475, 1.2, 1.0, 1.0])
    np.testing.assert_allclose(sf.atm_iv(m, 20.0), expected, rtol=1e-12)
    for mi, want in zip(m, expected, strict=True):  # the scalar path agrees
        iv, _ = sf.iv_z_scalar(590.0, 590.0, float(mi), 20.0)
        assert iv == pytest.approx(float(sf.iv(590.0, 590.0, mi, 20.0)), rel=1e-12)
        assert float(sf.atm_iv(mi, 20.0)) == pytest.approx(want)
