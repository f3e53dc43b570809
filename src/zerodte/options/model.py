"""The option model the engine, the paper broker and the ghost computation share.

``OptionModel`` composes the VIX volatility surface (:mod:`~zerodte.options.surface`),
Black–Scholes–Merton (:mod:`~zerodte.options.black_scholes`) and the bid/ask model
(:mod:`~zerodte.options.quotes`). It has a vectorised path (:meth:`OptionModel.price`,
millions of rows) and a scalar path (:meth:`OptionModel.quote_values`, one contract per
call in the live loop) that compute the same numbers with ``math`` instead of NumPy.
"""

from __future__ import annotations

import math
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from zerodte.config.settings import OptionsSettings
from zerodte.options.black_scholes import DAYS_PER_YEAR, FloatArray, bs_greeks
from zerodte.options.expiry import MINUTES_PER_YEAR, expiry_close, year_fraction
from zerodte.options.quotes import BidAskModel
from zerodte.options.surface import VolSurface
from zerodte.types import OptionContract, OptionQuote, Right

_INV_SQRT_2PI = 0.3989422804014327
_INV_SQRT_2 = 0.7071067811865476
BAR = pd.Timedelta(minutes=1)
_NS_PER_MIN = 60e9
_SAME_SESSION_MAX_MIN = 17 * 60.0


@lru_cache(maxsize=4096)
def _close_ns(day: date) -> int:
    return int(expiry_close(day).value)


class ScalarQuote(NamedTuple):
    """One modelled quote (premium per share; greeks in the units of ``bs_greeks``)."""

    bid: float
    ask: float
    mid: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float


class OptionModel:
    """Modelled option quotes from spot, strike, time and VIX.

    Parameters
    ----------
    settings
        The ``options`` settings section (rates, surface and bid/ask parameters).
    """

    def __init__(self, settings: OptionsSettings) -> None:
        self.settings = settings
        self.surface = VolSurface.from_settings(settings)
        self.bidask = BidAskModel.from_settings(settings)
        self.rate = settings.risk_free_rate
        self.div = settings.dividend_yield

    def price(  # noqa: PLR0917 -- the vectorised pricer protocol
        self,
        spot: ArrayLike,
        strike: ArrayLike,
        is_call: ArrayLike,
        minutes_to_expiry: ArrayLike,
        vix: ArrayLike,
        minutes_to_close: ArrayLike | None = None,
    ) -> dict[str, FloatArray]:
        """Vectorised quotes and greeks.

        Parameters
        ----------
        spot, strike, is_call, vix
            Broadcastable arrays (``is_call`` boolean).
        minutes_to_expiry
            Minutes to the expiry's session close; ``<= 0`` prices at intrinsic value.
        minutes_to_close
            Minutes to today's session close, for the spread's end-of-day widening; defaults
            to ``minutes_to_expiry`` (right for 0DTE).

        Returns
        -------
        dict
            ``bid, ask, mid, iv, delta, gamma, theta, vega, rho`` arrays (premium per share;
            theta per day, vega per vol point, rho per 1 % rate). A NaN input gives NaN in
            every output of that row.
        """
        mte = np.asarray(minutes_to_expiry, dtype=np.float64)
        mtc = mte if minutes_to_close is None else np.asarray(minutes_to_close, np.float64)
        iv, z = self.surface.iv_z(spot, strike, mte, vix)
        g = bs_greeks(spot, strike, year_fraction(mte), iv, self.rate, self.div, is_call)
        mid = np.where(np.isnan(iv), np.nan, g.price)
        intrinsic = None
        if self.bidask.itm_spread_share != 1.0:
            w = np.where(np.asarray(is_call, dtype=bool), 1.0, -1.0)
            intrinsic = np.maximum(w * (np.asarray(spot, np.float64) - np.asarray(strike)), 0.0)
        bid, ask = self.bidask.quote(mid, z, mtc, vix, intrinsic)
        return {
            "bid": bid,
            "ask": ask,
            "mid": mid,
            "iv": iv,
            "delta": g.delta,
            "gamma": g.gamma,
            "theta": g.theta,
            "vega": g.vega,
            "rho": g.rho,
        }

    def quote_values(  # noqa: PLR0917 -- twin of price()
        self,
        spot: float,
        strike: float,
        is_call: bool,
        minutes_to_expiry: float,
        vix: float,
        minutes_to_close: float | None = None,
    ) -> ScalarQuote:
        """:meth:`price` for one option with the ``math`` module (equal to ~1e-12)."""
        mte = max(minutes_to_expiry, 0.0)
        mtc = mte if minutes_to_close is None else minutes_to_close
        iv, z = self.surface.iv_z_scalar(spot, strike, mte, vix)
        if math.isnan(iv):
            nan = math.nan
            return ScalarQuote(nan, nan, nan, nan, nan, nan, nan, nan)
        px, delta, gamma, theta, vega = _bs_scalar(
            spot, strike, mte / MINUTES_PER_YEAR, iv, self.rate, self.div, is_call
        )
        intrinsic = max((spot - strike) if is_call else (strike - spot), 0.0)
        bid, ask = self.bidask.quote_scalar(px, z, mtc, vix, intrinsic)
        return ScalarQuote(bid, ask, px, iv, delta, gamma, theta, vega)

    def quote(
        self,
        contract: OptionContract,
        time: pd.Timestamp,
        spot: float,
        vix: float,
        minutes_to_close: float | None = None,
    ) -> OptionQuote | None:
        """Modelled :class:`~zerodte.types.OptionQuote` of ``contract`` at ``time``.

        ``None`` when the contract has expired at ``time`` (its expiry session has closed)
        or ``spot``/``vix`` is NaN. ``minutes_to_close`` defaults to the minutes to the
        close of ``time``'s own session (the expiry close for 0DTE).
        """
        if math.isnan(spot) or math.isnan(vix):
            return None
        now_ns = time.value  # integer nanoseconds: ~10x cheaper than Timestamp arithmetic
        mte = (_close_ns(contract.expiry) - now_ns) / _NS_PER_MIN
        if mte <= 0.0:
            return None
        if minutes_to_close is None:
            # A later expiry is at least one overnight (>= 17 h) away, so a shorter time
            # to expiry means the expiry session is today's session.
            minutes_to_close = (
                mte
                if mte <= _SAME_SESSION_MAX_MIN
                else max((_close_ns(time.date()) - now_ns) / _NS_PER_MIN, 0.0)
            )
        q = self.quote_values(
            spot, contract.strike, contract.right is Right.CALL, mte, vix, minutes_to_close
        )
        if math.isnan(q.mid):
            return None
        return OptionQuote(
            contract=contract,
            time=time,
            bid=q.bid,
            ask=q.ask,
            underlying_price=spot,
            iv=q.iv,
            delta=q.delta,
            gamma=q.gamma,
            theta=q.theta,
            vega=q.vega,
        )


def _bs_scalar(  # noqa: PLR0917 -- the conventional (S, K, T, sigma, r, q) order
    s: float, k: float, t: float, v: float, r: float, q: float, is_call: bool
) -> tuple[float, float, float, float, float]:
    """Scalar twin of :func:`~zerodte.options.black_scholes.bs_greeks` (price..vega)."""
    w = 1.0 if is_call else -1.0
    sqrt_t = math.sqrt(t)
    sst = v * sqrt_t
    dq = math.exp(-q * t)
    dr = math.exp(-r * t)
    sdq = s * dq
    kdr = k * dr
    if sst <= 0.0:
        gap = w * (sdq - kdr)
        step = 1.0 if gap > 0.0 else (0.0 if gap < 0.0 else 0.5)
        nd1 = nd2 = step
        pdf = 0.0
        gamma = 0.0
        decay = 0.0
    else:
        d1 = (math.log(s / k) + (r - q) * t) / sst + 0.5 * sst
        d2 = d1 - sst
        nd1 = 0.5 * math.erfc(-w * d1 * _INV_SQRT_2)
        nd2 = 0.5 * math.erfc(-w * d2 * _INV_SQRT_2)
        pdf = _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
        gamma = dq * pdf / (s * sst)
        decay = -sdq * pdf * v / (2.0 * sqrt_t)
    price = max(w * (sdq * nd1 - kdr * nd2), 0.0)
    delta = w * dq * nd1
    theta = (decay + w * (q * sdq * nd1 - r * kdr * nd2)) / DAYS_PER_YEAR
    vega = sdq * pdf * sqrt_t / 100.0
    return price, delta, gamma, theta, vega


class ModelledQuoteBook:
    """:class:`~zerodte.types.QuoteBook` of one snapshot, priced by an :class:`OptionModel`.

    ``quote(contract, at="open")`` prices at the bar start ``time`` with the bar's open
    spot and VIX; ``at="close"`` at the bar end (``time_close``, default ``time + 1 min``)
    with the close prices, which is what a decision at this bar sees.
    """

    def __init__(
        self,
        model: OptionModel,
        *,
        time: pd.Timestamp,
        spot_open: float,
        spot_close: float,
        vix_open: float,
        vix_close: float,
        time_close: pd.Timestamp | None = None,
    ) -> None:
        self.model = model
        self.time_open = time
        self.time_close = time + BAR if time_close is None else time_close
        self.spot_open = float(spot_open)
        self.spot_close = float(spot_close)
        self.vix_open = float(vix_open)
        self.vix_close = float(vix_close)

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """Modelled quote at the bar start (``"open"``) or end (``"close"``), or ``None``."""
        if at == "close":
            return self.model.quote(contract, self.time_close, self.spot_close, self.vix_close)
        if at == "open":
            return self.model.quote(contract, self.time_open, self.spot_open, self.vix_open)
        raise ValueError(f"quote(at=...) must be 'open' or 'close', got {at!r}")
