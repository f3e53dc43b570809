"""Implied volatility, vectorised and robust down to minutes before expiry.

Method
------
1. Work on forward terms: ``F = S e^{(r-q)T}``, ``D = e^{-rT}``, undiscounted price ``p / D``.
2. Invert the *out-of-the-money* option only. By put–call parity the OTM option of the same
   strike is worth the ITM option's time value ``p - D max(w (F - K), 0)``, so deep ITM
   quotes (where the price is almost all intrinsic and vega carries no information at
   double precision) are solved as accurately as OTM ones.
3. Solve for total volatility ``s = sigma sqrt(T)`` with a safeguarded Newton iteration on
   ``log(price(s)) - log(target)``: the log makes the far-OTM price ``~ exp(-x^2 / 2 s^2)``
   almost linear in ``s`` so Newton converges in a handful of steps, and every step that
   would leave the current bracket ``[lo, hi]`` (kept from the sign of the residual) is
   replaced by bisection, so convergence is guaranteed (Press et al., *Numerical Recipes*,
   §9.4 "rtsafe").
4. Initial guess: Corrado & Miller (1996), "A note on a simple, accurate formula to compute
   implied standard deviations", *J. Banking & Finance* 20, on the call-equivalent price;
   where its square root is undefined (far OTM), the root of the small-``s`` asymptotic
   ``b ~ phi(x/s) s^3 / x^2`` (which lies left of the true root), capped at the
   Manaster & Koehler (1982) point ``s = sqrt(2 |ln(F/K)|)``.

NaN rule (never a garbage number)
---------------------------------
``NaN`` is returned where no volatility reproduces the price:

* ``T <= 0`` or any input NaN / non-finite, or ``spot, strike <= 0``;
* the price is at or below the no-arbitrage lower bound ``D max(w (F - K), 0)`` (zero time
  value: every volatility down to 0 fits, so none is implied); "at" allows float rounding,
  a time value below ``1e-12 max(F, K)``;
* the price is at or above the upper bound (``S e^{-qT}`` for a call, ``K e^{-rT}`` for a
  put);
* the iteration did not converge (not observed in tests; kept as a guard).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from zerodte.options.black_scholes import FloatArray

_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2PI = 2.5066282746310002
S_MAX = 25.0
"""Largest total volatility ``sigma sqrt(T)`` searched (beyond it prices are at the bound)."""
MAX_ITER = 100
TOL = 1e-12
TV_REL_TOL = 1e-12
"""Time value below ``1e-12 * max(F, K)`` counts as zero (float rounding of parity)."""


def implied_vol(  # noqa: PLR0917 -- the conventional (price, S, K, T, r, q) order
    price: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike,
    is_call: ArrayLike,
) -> FloatArray:
    """Black–Scholes–Merton implied volatility (annualised fraction), element-wise.

    Parameters
    ----------
    price
        Option premium per unit of underlying (e.g. a mid quote).
    spot, strike, t, rate, div, is_call
        As in :func:`zerodte.options.black_scholes.bs_price`; ``t`` in years.

    Returns
    -------
    ndarray
        Implied volatility, ``NaN`` by the rule in the module docstring. Solved to
        ``|d sigma sqrt(T)| < 1e-12``.
    """
    p, s, k, tt, r, q, call = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (price, spot, strike, t, rate, div)),
        np.asarray(is_call, dtype=bool),
    )
    shape = p.shape
    p, s, k, tt, r, q, call = (x.ravel() for x in (p, s, k, tt, r, q, call))
    out = np.full(p.shape, np.nan)
    with np.errstate(invalid="ignore"):
        ok = (
            np.isfinite(p)
            & np.isfinite(s)
            & np.isfinite(k)
            & np.isfinite(r)
            & np.isfinite(q)
            & (tt > 0.0)
            & np.isfinite(tt)
            & (s > 0.0)
            & (k > 0.0)
        )
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out.reshape(shape)
    p, s, k, tt, r, q, call = (x[idx] for x in (p, s, k, tt, r, q, call))
    disc = np.exp(-r * tt)
    fwd = s * np.exp((r - q) * tt)
    undisc = p / disc
    w = np.where(call, 1.0, -1.0)
    intrinsic = np.maximum(w * (fwd - k), 0.0)
    upper = np.where(call, fwd, k)
    # time value = the OTM option's price (parity); invert that option
    tv = undisc - intrinsic
    # A time value within float rounding of zero is "at intrinsic" (carries no vol).
    valid = (tv > TV_REL_TOL * np.maximum(fwd, k)) & (undisc < upper)
    w_otm = np.where(fwd > k, -1.0, 1.0)
    otm_upper = np.where(w_otm > 0, fwd, k)
    valid &= tv < otm_upper
    sub = np.flatnonzero(valid)
    if sub.size:
        sig = _solve_otm(tv[sub], fwd[sub], k[sub], w_otm[sub]) / np.sqrt(tt[sub])
        res = np.full(idx.shape, np.nan)
        res[sub] = sig
        out[idx] = res
    return out.reshape(shape)


def _otm_price_vega(
    s: FloatArray, x: FloatArray, fwd: FloatArray, k: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Undiscounted Black price of the OTM option and its derivative in total vol ``s``."""
    d1 = x / s + 0.5 * s
    d2 = d1 - s
    price = w * (fwd * ndtr(w * d1) - k * ndtr(w * d2))
    vega = fwd * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    return np.maximum(price, 0.0), vega


def _initial_guess(tv: FloatArray, fwd: FloatArray, k: FloatArray, w: FloatArray) -> FloatArray:
    """Corrado–Miller on the call-equivalent (undiscounted) price; Manaster–Koehler else."""
    call = np.where(w > 0, tv, tv + (fwd - k))  # OTM put -> ITM call by parity
    half = 0.5 * (fwd - k)
    a = call - half
    disc = a * a - (fwd - k) ** 2 / np.pi
    with np.errstate(invalid="ignore"):
        cm = _SQRT_2PI / (fwd + k) * (a + np.sqrt(np.maximum(disc, 0.0)))
    far = _far_otm_guess(tv, fwd, k)
    cm_ok = (disc >= 0.0) & (cm > 0.0)
    guess = np.where(cm_ok & (np.abs(np.log(fwd / k)) < cm), cm, far)
    return np.clip(guess, 1e-8, S_MAX * 0.5)


def _far_otm_guess(tv: FloatArray, fwd: FloatArray, k: FloatArray) -> FloatArray:
    """Small-``s`` asymptotic root for far OTM prices, where Corrado–Miller breaks down.

    The normalised OTM Black price ``b = tv / sqrt(F K)`` behaves for ``|x| >> s``
    (``x = ln(F/K)``) like ``b ~ phi(x/s) e^{-s^2/8} s^3 / x^2`` (the first term of Mills'
    ratio). That overstates ``b``, so its root lies at or left of the true one, where the
    log-Newton iteration converges monotonically. Three fixed-point steps solve it.
    """
    ax = np.maximum(np.abs(np.log(fwd / k)), 1e-12)
    lb = np.log(tv / np.sqrt(fwd * k))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = ax / np.sqrt(np.maximum(-2.0 * lb, 1e-12))
        for _ in range(3):
            rhs = 3.0 * np.log(s) - 2.0 * np.log(ax) - 0.9189385332046727 - s * s / 8.0 - lb
            s = ax / np.sqrt(np.maximum(2.0 * rhs, 1e-12))
    mk = np.sqrt(2.0 * ax)  # Manaster–Koehler point if the asymptotic step fails
    return np.where(np.isfinite(s) & (s > 0.0), np.minimum(s, mk), mk)


def _solve_otm(tv: FloatArray, fwd: FloatArray, k: FloatArray, w: FloatArray) -> FloatArray:
    """Total volatility ``s`` with undiscounted OTM Black price ``tv`` (see module doc)."""
    n = tv.size
    x = np.log(fwd / k)
    lo = np.zeros(n)
    hi = np.full(n, S_MAX)
    s = _initial_guess(tv, fwd, k, w)
    log_target = np.log(tv)
    done = np.zeros(n, dtype=bool)
    act = np.arange(n)
    for _ in range(MAX_ITER):
        sa = s[act]
        price, vega = _otm_price_vega(sa, x[act], fwd[act], k[act], w[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            resid = np.log(price) - log_target[act]  # -inf when price underflows: too low
            above = resid > 0.0
            lo_a = np.where(above, lo[act], sa)
            hi_a = np.where(above, sa, hi[act])
            # d log(price) / ds = vega / price
            step = resid * price / vega
            newton = sa - step
        use_newton = np.isfinite(newton) & (newton >= lo_a) & (newton <= hi_a)
        new = np.where(use_newton, newton, 0.5 * (lo_a + hi_a))
        lo[act] = lo_a
        hi[act] = hi_a
        s[act] = new
        conv = (
            (np.abs(new - sa) <= TOL * np.maximum(1.0, sa)) | (hi_a - lo_a <= TOL) | (resid == 0.0)
        )
        done[act[conv]] = True
        act = act[~conv]
        if act.size == 0:
            break
    s[~done] = np.nan
    return s
