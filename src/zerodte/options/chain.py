"""Strike grid and contract selection, scalar and vectorised (one rule, one code path).

Rules (``options.selection``):

* ``"atm"``: the grid strike nearest the spot (half-way rounds up).
* ``"otm"``: the ATM strike moved ``otm_offset`` grid steps out of the money (up for calls,
  down for puts); ``otm_offset = 0`` is the ATM strike.
* ``"delta"``: the grid strike whose model delta (surface IV, Black–Scholes) is nearest
  ``target_delta`` in absolute value (ties go to the lower strike). The strike is found by
  inverting ``delta = e^{-qT} N(w d1)`` for ``K`` with the ATM vol, then refined with the
  surface vol, and the four grid strikes around that estimate are compared exactly.

:func:`select_contract` calls :func:`select_strikes` on a one-element array, so the broker
(one contract per decision) and the counterfactual ghost computation (arrays of spots)
select the very same strike.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from numpy.typing import ArrayLike

from zerodte.config.settings import OptionsSettings
from zerodte.options.black_scholes import FloatArray, bs_greeks
from zerodte.options.expiry import year_fraction
from zerodte.options.surface import VolSurface
from zerodte.types import OptionContract, QuoteBook, Right

MINUTES_PER_DAY = 1440.0


def atm_strike(spot: ArrayLike, step: float) -> FloatArray:
    """Nearest grid strike to ``spot`` (``floor(spot/step + 1/2) * step``)."""
    s = np.asarray(spot, dtype=np.float64)
    return np.asarray(np.floor(s / step + 0.5) * step, dtype=np.float64)


def strike_grid(spot: float, step: float, width: int) -> FloatArray:
    """``2 * width + 1`` grid strikes centred on the ATM strike; a strike at or below 0
    does not exist, so a grid wider than the spot has fewer below the money."""
    centre = float(atm_strike(spot, step))
    grid = centre + step * np.arange(-width, width + 1, dtype=np.float64)
    return grid[grid > 0]


def select_strikes(
    spot: ArrayLike,
    right: Right,
    settings: OptionsSettings,
    *,
    rule: str | None = None,
    target_delta: float | None = None,
    otm_offset: int | None = None,
    vix: ArrayLike | None = None,
    minutes_to_expiry: ArrayLike | None = None,
) -> FloatArray:
    """Selected strike for every spot (vectorised; NaN spot gives NaN).

    Parameters
    ----------
    spot
        Underlying prices.
    right
        Call or put.
    settings
        ``options`` section: ``strike_step`` and the defaults of ``rule`` (``selection``),
        ``target_delta`` and ``otm_offset``, plus the surface for the delta rule.
    vix, minutes_to_expiry
        Needed by the ``"delta"`` rule only.

    Raises
    ------
    ValueError
        Unknown rule, or the delta rule without ``vix`` and ``minutes_to_expiry``.
    """
    rule = rule or settings.selection
    step = settings.strike_step
    s = np.asarray(spot, dtype=np.float64)
    atm = atm_strike(s, step)
    sign = 1.0 if right is Right.CALL else -1.0
    if rule == "atm":
        return atm
    if rule == "otm":
        offset = settings.otm_offset if otm_offset is None else otm_offset
        return np.asarray(atm + sign * offset * step, dtype=np.float64)
    if rule != "delta":
        raise ValueError(f"unknown selection rule {rule!r}; use 'atm', 'delta' or 'otm'")
    if vix is None or minutes_to_expiry is None:
        raise ValueError(
            "the 'delta' selection rule needs vix and minutes_to_expiry (the model delta "
            "depends on them); pass both, or use selection='atm' or 'otm'"
        )
    target = settings.target_delta if target_delta is None else target_delta
    return _delta_strikes(s, right, settings, target, vix, minutes_to_expiry)


def _delta_strikes(  # noqa: PLR0917 -- mirrors bs_greeks argument order
    s: FloatArray,
    right: Right,
    settings: OptionsSettings,
    target: float,
    vix: ArrayLike,
    minutes_to_expiry: ArrayLike,
) -> FloatArray:
    from scipy.special import ndtri  # imported on use, as in black_scholes._prepare

    surface = VolSurface.from_settings(settings)
    step = settings.strike_step
    is_call = right is Right.CALL
    w = 1.0 if is_call else -1.0
    m = np.broadcast_to(np.asarray(minutes_to_expiry, dtype=np.float64), s.shape)
    v = np.broadcast_to(np.asarray(vix, dtype=np.float64), s.shape)
    r, q = settings.risk_free_rate, settings.dividend_yield
    t = np.maximum(year_fraction(m), 1.0 / (MINUTES_PER_DAY * 365.0))
    fwd = s * np.exp((r - q) * t)
    # |delta| = e^{-qT} N(w d1)  =>  d1 = w N^{-1}(|delta| e^{qT})
    d1 = w * ndtri(np.clip(target * np.exp(q * t), 1e-12, 1 - 1e-12))
    sig = surface.atm_iv(m, v)
    for _ in range(2):  # refine with the smile vol at the current estimate
        k_est = fwd * np.exp(-d1 * sig * np.sqrt(t) + 0.5 * sig * sig * t)
        sig = surface.iv(s, k_est, m, v)
    base = np.floor(k_est / step) * step
    cands = base[:, None] + step * np.arange(-1, 3, dtype=np.float64)[None, :]
    deltas = bs_greeks(
        s[:, None],
        cands,
        year_fraction(m)[:, None],
        surface.iv(s[:, None], cands, m[:, None], v[:, None]),
        r,
        q,
        is_call,
    ).delta
    err = np.abs(np.abs(deltas) - target)
    best = np.argmin(np.where(np.isnan(err), np.inf, err), axis=1)  # first = lower strike
    out = cands[np.arange(s.size), best]
    return np.asarray(np.where(np.isnan(s) | np.isnan(err).all(axis=1), np.nan, out), np.float64)


def select_contract(
    spot: float,
    right: Right,
    expiry: date,
    *,
    settings: OptionsSettings,
    rule: str | None = None,
    target_delta: float | None = None,
    otm_offset: int | None = None,
    vix: float | None = None,
    minutes_to_close: float | None = None,
    minutes_to_expiry: float | None = None,
    quotes: QuoteBook | None = None,
    underlying: str = "SPY",
) -> OptionContract | None:
    """The contract the selection rule picks, or ``None`` when ``spot`` (or, for the delta
    rule, the model delta) is NaN.

    ``minutes_to_expiry`` defaults to ``minutes_to_close + 1440 * settings.expiry_days``
    (calendar approximation for multi-day expiries; exact for 0DTE). ``quotes`` is accepted
    for interface stability; selection uses the model so that it matches
    :func:`select_strikes` exactly.
    """
    del quotes  # selection must not depend on which quote book is wired in (see docstring)
    mte: float | None = minutes_to_expiry
    if mte is None and minutes_to_close is not None:
        mte = minutes_to_close + MINUTES_PER_DAY * settings.expiry_days
    strike = select_strikes(
        np.array([spot], dtype=np.float64),
        right,
        settings,
        rule=rule,
        target_delta=target_delta,
        otm_offset=otm_offset,
        vix=None if vix is None else np.array([vix]),
        minutes_to_expiry=None if mte is None else np.array([mte]),
    )[0]
    if np.isnan(strike):
        return None
    return OptionContract(underlying=underlying, expiry=expiry, right=right, strike=float(strike))
