"""A volatility surface built from the VIX, for (mainly) same-day SPY options.

Model
-----
All vols are annualised in calendar time (:mod:`zerodte.options.expiry`), like the VIX.

ATM level, with ``m`` minutes to expiry, ``M = zero_dte_term_mult`` and the time-of-day
level ``D(m)`` (piecewise linear through ``zero_dte_tod_minutes`` / ``zero_dte_tod_mult``,
flat outside; 1 from the last knot on)::

    sigma_atm(m) = iv_vix_ratio * VIX/100 * J(m)
    J(m)^2       = (M^2 D(m)^2 min(m, 390) + max(m - 390, 0)) / m   (J = M D(m) for m <= 390)

``D`` is the rise of same-day implied vol in the last hour before expiry (real SPXW 0DTE
ATM IV / VIX goes from ~1.5 at midday to ~2.4 in the last 15 minutes; docs/options.md);
it touches only the expiry session's last minutes.

The last 390 minutes before expiry are the expiry session, whose variance per calendar
minute is ``M^2`` times the 30-day average that VIX measures (overnight and weekend minutes
carry little variance, so the trading minutes carry more); earlier minutes carry the average
rate. So a 0DTE option trades at ``iv_vix_ratio * M * VIX`` and a 30-day option at about
``iv_vix_ratio * VIX``. This is the intraday term adjustment.

Smile, in standardised log-moneyness (number of ATM standard deviations to the strike)::

    z     = ln(K / F) / (sigma_atm sqrt(T)),   F = S e^{(r - q) T}
    zc    = clip(z, -smile_z_cap, smile_z_cap)
    sigma = max(iv_floor, sigma_atm (1 + skew_slope zc + smile_curvature zc^2))

Scaling log-moneyness by ``sigma_atm sqrt(T)`` makes the smile a function of "how many
expected moves away" a strike is, which keeps one parameter set usable from 6 hours to a
few minutes before expiry and across VIX regimes (a fixed log-moneyness slope would make
0DTE wings explode as ``T -> 0``). The cap keeps the quadratic from running away in the far
wings, where quotes are a tick or two anyway. Parameters are calibrated against real quotes
in docs/options.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from zerodte.config.settings import OptionsSettings
from zerodte.options.black_scholes import FloatArray
from zerodte.options.expiry import MINUTES_PER_YEAR
from zerodte.types import SESSION_MINUTES

MIN_SMILE_MINUTES = 1.0
"""``z`` uses at least one minute of time so it stays finite at the expiry instant."""


@dataclass(frozen=True, slots=True)
class VolSurface:
    """Implied vol as a function of spot, strike, minutes to expiry and VIX (module doc)."""

    iv_vix_ratio: float = 1.0
    zero_dte_term_mult: float = 1.0
    skew_slope: float = 0.0
    smile_curvature: float = 0.0
    smile_z_cap: float = 4.0
    iv_floor: float = 0.05
    rate: float = 0.0
    div: float = 0.0
    tod_minutes: tuple[float, ...] = ()
    tod_mult: tuple[float, ...] = ()

    @classmethod
    def from_settings(cls, settings: OptionsSettings) -> VolSurface:
        """Surface with the parameters of ``settings`` (``options`` section)."""
        return cls(
            iv_vix_ratio=settings.iv_vix_ratio,
            zero_dte_term_mult=settings.zero_dte_term_mult,
            skew_slope=settings.skew_slope,
            smile_curvature=settings.smile_curvature,
            smile_z_cap=settings.smile_z_cap,
            iv_floor=settings.iv_floor,
            rate=settings.risk_free_rate,
            div=settings.dividend_yield,
            tod_minutes=tuple(settings.zero_dte_tod_minutes),
            tod_mult=tuple(settings.zero_dte_tod_mult),
        )

    def session_mult(self, minutes_to_expiry: ArrayLike) -> FloatArray:
        """``M D(m)``: the expiry session's vol multiplier at ``m`` minutes to expiry."""
        m = np.asarray(minutes_to_expiry, dtype=np.float64)
        if not self.tod_minutes:
            return np.full_like(m, self.zero_dte_term_mult)
        d = np.interp(np.minimum(m, SESSION_MINUTES), self.tod_minutes, self.tod_mult)
        return np.asarray(self.zero_dte_term_mult * d, dtype=np.float64)

    def _session_mult_scalar(self, m: float) -> float:
        knots, mults = self.tod_minutes, self.tod_mult
        if not knots or m >= knots[-1]:
            return self.zero_dte_term_mult * (mults[-1] if knots else 1.0)
        if m <= knots[0]:
            return self.zero_dte_term_mult * mults[0]
        i = next(k for k in range(1, len(knots)) if m <= knots[k])
        w = (m - knots[i - 1]) / (knots[i] - knots[i - 1])
        return self.zero_dte_term_mult * (mults[i - 1] + w * (mults[i] - mults[i - 1]))

    def atm_iv(self, minutes_to_expiry: ArrayLike, vix: ArrayLike) -> FloatArray:
        """ATM implied vol ``iv_vix_ratio * VIX/100 * J(m)`` (the expiry session at ``M D(m)``)."""
        m = np.maximum(np.asarray(minutes_to_expiry, dtype=np.float64), 0.0)
        mult2 = self.session_mult(m) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            j2 = np.where(
                m > SESSION_MINUTES,
                (mult2 * SESSION_MINUTES + (m - SESSION_MINUTES)) / m,
                mult2,
            )
        return np.asarray(self.iv_vix_ratio * np.asarray(vix) / 100.0 * np.sqrt(j2), np.float64)

    def iv(
        self, spot: ArrayLike, strike: ArrayLike, minutes_to_expiry: ArrayLike, vix: ArrayLike
    ) -> FloatArray:
        """Implied vol at each (spot, strike, minutes to expiry, VIX); NaN in -> NaN out."""
        return self.iv_z(spot, strike, minutes_to_expiry, vix)[0]

    def iv_z(
        self, spot: ArrayLike, strike: ArrayLike, minutes_to_expiry: ArrayLike, vix: ArrayLike
    ) -> tuple[FloatArray, FloatArray]:
        """``(iv, z)``: implied vol and the standardised moneyness ``z`` (uncapped)."""
        s = np.asarray(spot, dtype=np.float64)
        k = np.asarray(strike, dtype=np.float64)
        m = np.asarray(minutes_to_expiry, dtype=np.float64)
        atm = self.atm_iv(m, vix)
        t = np.maximum(m, MIN_SMILE_MINUTES) / MINUTES_PER_YEAR
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(k / s) - (self.rate - self.div) * t) / (atm * np.sqrt(t))
        z = np.where(atm > 0.0, z, 0.0)  # zero VIX: flat at the floor, not NaN
        zc = np.clip(z, -self.smile_z_cap, self.smile_z_cap)
        smile = 1.0 + self.skew_slope * zc + self.smile_curvature * zc * zc
        # np.fmax would turn a NaN input into the floor; maximum keeps NaN visible.
        return np.asarray(np.maximum(atm * smile, self.iv_floor), dtype=np.float64), z

    def iv_z_scalar(
        self, spot: float, strike: float, minutes_to_expiry: float, vix: float
    ) -> tuple[float, float]:
        """:meth:`iv_z` for one option with the ``math`` module (same formula, ~1 µs)."""
        m = max(minutes_to_expiry, 0.0)
        mult2 = self._session_mult_scalar(m) ** 2
        j2 = (mult2 * SESSION_MINUTES + (m - SESSION_MINUTES)) / m if m > SESSION_MINUTES else mult2
        atm = self.iv_vix_ratio * vix / 100.0 * math.sqrt(j2)
        t = max(m, MIN_SMILE_MINUTES) / MINUTES_PER_YEAR
        if math.isnan(atm + spot + strike) or spot <= 0.0 or strike <= 0.0:
            return math.nan, math.nan
        if atm <= 0.0:
            return self.iv_floor, 0.0
        z = (math.log(strike / spot) - (self.rate - self.div) * t) / (atm * math.sqrt(t))
        zc = min(max(z, -self.smile_z_cap), self.smile_z_cap)
        sigma = atm * (1.0 + self.skew_slope * zc + self.smile_curvature * zc * zc)
        return (sigma if sigma > self.iv_floor else self.iv_floor), z
