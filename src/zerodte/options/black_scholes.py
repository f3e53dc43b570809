"""Black–Scholes–Merton prices and greeks with a continuous dividend yield, vectorised.

Model (Hull, *Options, Futures, and Other Derivatives*, 10th ed., ch. 15 and 17.4)::

    d1 = (ln(S/K) + (r - q + sigma^2/2) T) / (sigma sqrt(T)),   d2 = d1 - sigma sqrt(T)
    C  = S e^{-qT} N(d1) - K e^{-rT} N(d2)
    P  = K e^{-rT} N(-d2) - S e^{-qT} N(-d1)

Greeks (Hull ch. 19, table 19.6 with dividend yield q)::

    delta_C = e^{-qT} N(d1)                  delta_P = -e^{-qT} N(-d1)
    gamma   = e^{-qT} n(d1) / (S sigma sqrt(T))
    vega    = S e^{-qT} n(d1) sqrt(T)
    theta_C = -S e^{-qT} n(d1) sigma / (2 sqrt(T)) - r K e^{-rT} N(d2) + q S e^{-qT} N(d1)
    theta_P = -S e^{-qT} n(d1) sigma / (2 sqrt(T)) + r K e^{-rT} N(-d2) - q S e^{-qT} N(-d1)
    rho_C   = K T e^{-rT} N(d2)              rho_P   = -K T e^{-rT} N(-d2)

Units returned: ``theta`` per calendar day (per-year theta / 365), ``vega`` per one vol
point (0.01), ``rho`` per one percentage point of rate (0.01).

Degenerate limit ``sigma sqrt(T) = 0`` (expiry reached, or zero volatility): the option is
worth its discounted forward intrinsic value ``max(±(S e^{-qT} - K e^{-rT}), 0)`` (at
``T = 0`` the plain intrinsic value), ``N(d1)`` and ``N(d2)`` become the step
``1[F > K]`` (``1/2`` exactly at the money, the limit of ``N(d1)`` as ``sigma -> 0`` there),
and gamma and vega are 0. These are the limits of the smooth formulas, so prices are
continuous in ``T`` and ``sigma`` and no NaN or warning appears for valid inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_INV_SQRT_2PI = 0.3989422804014327
DAYS_PER_YEAR = 365.0
"""Theta is reported per calendar day: per-year theta / 365."""


class Greeks(NamedTuple):
    """Price and greeks, arrays broadcast from the inputs (units in the module docstring)."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray


def _prepare(  # noqa: PLR0917 -- the conventional (S, K, T, sigma, r, q) order
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike,
    is_call: ArrayLike,
) -> tuple[FloatArray, ...]:
    # imported here: scipy.special costs about 0.1 s at start-up, and a process that imports
    # this module (every backtest does) may never price through the vectorised path
    from scipy.special import ndtr

    s, k, t, v, r, q, call = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (spot, strike, t_years, vol, rate, div)),
        np.asarray(is_call, dtype=bool),
    )
    t = np.maximum(t, 0.0)  # an expired option is priced at intrinsic, never negative time
    v = np.maximum(v, 0.0)
    sqrt_t = np.sqrt(t)
    sig_sqrt_t = v * sqrt_t
    disc_q = np.exp(-q * t)
    disc_r = np.exp(-r * t)
    degenerate = sig_sqrt_t <= 0.0
    safe = np.where(degenerate, 1.0, sig_sqrt_t)
    with np.errstate(divide="ignore", invalid="ignore"):
        # log(0) for a zero strike or spot gives -inf/+inf: N() of that is the correct 0/1
        d1 = (np.log(s / k) + (r - q) * t) / safe + 0.5 * sig_sqrt_t
    d2 = d1 - sig_sqrt_t
    # w = +1 for calls, -1 for puts: N(w d) keeps full precision in the far tails, where
    # 1 - N(d) would cancel to zero and an implied-vol search would see a flat price.
    w = np.where(call, 1.0, -1.0)
    nd1 = ndtr(w * d1)
    nd2 = ndtr(w * d2)
    if degenerate.any():
        gap = w * (s * disc_q - k * disc_r)
        step = np.where(gap > 0.0, 1.0, np.where(gap < 0.0, 0.0, 0.5))
        nd1 = np.where(degenerate, step, nd1)
        nd2 = np.where(degenerate, step, nd2)
        d1 = np.where(degenerate, np.inf, d1)  # so that n(d1) = 0 below
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    return s, k, t, v, r, q, w, sqrt_t, safe, degenerate, disc_q, disc_r, nd1, nd2, pdf


def bs_price(  # noqa: PLR0917 -- the conventional (S, K, T, sigma, r, q) order
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black–Scholes–Merton price of European options (broadcast over all inputs).

    Parameters
    ----------
    spot, strike
        Underlying price and strike (same currency units).
    t_years
        Time to expiry in years (see :mod:`zerodte.options.expiry`); negative is taken as 0.
    vol
        Annualised volatility as a fraction (0.15 == 15 %); negative is taken as 0.
    rate, div
        Continuously compounded risk-free rate and dividend yield (fractions per year).
    is_call
        Boolean, ``True`` for calls, ``False`` for puts.

    Returns
    -------
    ndarray
        Premium per unit of underlying (x100 per contract). See the module docstring for
        the formulas and the ``sigma sqrt(T) = 0`` limit.
    """
    s, k, _, _, _, _, w, _, _, _, dq, dr, nd1, nd2, _ = _prepare(
        spot, strike, t_years, vol, rate, div, is_call
    )
    # Cancellation can leave -1e-16 deep out of the money: a price is never negative.
    return np.asarray(np.maximum(w * (s * dq * nd1 - k * dr * nd2), 0.0), dtype=np.float64)


def bs_greeks(  # noqa: PLR0917 -- the conventional (S, K, T, sigma, r, q) order
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """Price, delta, gamma, theta (per day), vega (per vol point) and rho (per 1 % rate).

    Same parameters as :func:`bs_price`; formulas in the module docstring (Hull ch. 19).
    """
    s, k, t, v, r, q, w, sqrt_t, safe, degen, dq, dr, nd1, nd2, pdf = _prepare(
        spot, strike, t_years, vol, rate, div, is_call
    )
    sdq = s * dq
    kdr = k * dr
    price = np.maximum(w * (sdq * nd1 - kdr * nd2), 0.0)
    delta = w * dq * nd1
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(degen, 0.0, dq * pdf / (s * safe))
        sqrt_t_safe = np.where(sqrt_t > 0.0, sqrt_t, 1.0)
        decay = np.where(degen, 0.0, -sdq * pdf * v / (2.0 * sqrt_t_safe))
    vega = sdq * pdf * sqrt_t
    theta = (decay + w * (q * sdq * nd1 - r * kdr * nd2)) / DAYS_PER_YEAR
    rho = w * k * t * dr * nd2
    f = np.float64
    return Greeks(
        np.asarray(price, f),
        np.asarray(delta, f),
        np.asarray(gamma, f),
        np.asarray(theta, f),
        np.asarray(vega / 100.0, f),
        np.asarray(rho / 100.0, f),
    )
