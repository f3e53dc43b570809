"""Modelled bid/ask quotes around a theoretical mid, on the option tick grid.

Model
-----
The quoted spread in dollars is a percentage of mid that widens with moneyness, into the
close and with the VIX, floored at ``min_spread`` and capped at ``max_spread_pct`` of mid::

    pct    = base_spread_pct
             * (1 + spread_moneyness_mult * |zc| / smile_z_cap)              moneyness
             * (1 + spread_close_mult * max(0, 1 - mtc / spread_close_minutes))  last hour
             * (1 + spread_vix_mult * max(0, VIX - spread_vix_ref))            stress
    spread = max(min_spread, min(mid * pct / 100, mid * max_spread_pct / 100))
    bid    = floor_to_tick(mid - spread / 2),  at least 0
    ask    = ceil_to_tick(mid + spread / 2),   and at least bid + max(min_spread, tick)

Two opt-in terms for real index quotes (defaults leave the formula above unchanged):

* **ITM spreads** (``itm_spread_share = s < 1``): the percentage applies to
  ``mid - (1 - s) * intrinsic`` instead of ``mid``. Market makers quote an ITM option
  around its OTM twin plus a hedge in the underlying, so its spread grows with its time
  value, not with its intrinsic value (real 100-point ITM SPXW call: $1.10 against 5.20
  with the spread on the whole mid).
* **Far-OTM tick floor** (``bid_floor_ticks = n``): the bid is at least ``n`` ticks,
  the ask at least the bid plus a tick: real far-OTM 0DTE index options are quoted at a
  tick or two, never at zero.

With a two-tier tick (``tick_break`` finite: SPX/SPXW $0.05 below $3, $0.10 from $3),
each price is rounded on the tick at its own level.

``zc`` is the capped standardised moneyness of :mod:`zerodte.options.surface` (ATM
standard deviations to the strike), ``mtc`` minutes to the session close. Rounding the bid
down and the ask up is the pessimistic side for a buyer who pays the ask and sells at the
bid. Defaults are justified against real quotes in docs/options.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from zerodte.config.settings import OptionsSettings
from zerodte.options.black_scholes import FloatArray

_EPS = 1e-9  # absorbs float error so that 1.23 / 0.01 does not round to 122.99999 ticks


@dataclass(frozen=True, slots=True)
class BidAskModel:
    """Bid and ask from mid (module docstring); all prices per unit of underlying."""

    tick: float = 0.01
    min_spread: float = 0.01
    base_spread_pct: float = 2.0
    spread_moneyness_mult: float = 0.0
    spread_close_mult: float = 0.0
    spread_close_minutes: float = 60.0
    spread_vix_mult: float = 0.0
    spread_vix_ref: float = 15.0
    max_spread_pct: float = 50.0
    smile_z_cap: float = 4.0
    bid_floor_ticks: int = 0
    itm_spread_share: float = 1.0
    tick_high: float = 0.0
    tick_break: float = math.inf

    @classmethod
    def from_settings(cls, settings: OptionsSettings) -> BidAskModel:
        """Model with the parameters of the ``options`` settings section."""
        return cls(
            tick=settings.tick,
            min_spread=settings.min_spread,
            base_spread_pct=settings.base_spread_pct,
            spread_moneyness_mult=settings.spread_moneyness_mult,
            spread_close_mult=settings.spread_close_mult,
            spread_close_minutes=settings.spread_close_minutes,
            spread_vix_mult=settings.spread_vix_mult,
            spread_vix_ref=settings.spread_vix_ref,
            max_spread_pct=settings.max_spread_pct,
            smile_z_cap=settings.smile_z_cap,
            bid_floor_ticks=settings.bid_floor_ticks,
            itm_spread_share=settings.itm_spread_share,
            **_two_tier(settings.underlying),
        )

    @property
    def plain(self) -> bool:
        """Whether the opt-in terms are all off (the original formula, bit for bit)."""
        return (
            self.bid_floor_ticks == 0
            and self.itm_spread_share == 1.0
            and math.isinf(self.tick_break)
        )

    def spread_pct(self, z: ArrayLike, minutes_to_close: ArrayLike, vix: ArrayLike) -> FloatArray:
        """Spread in percent of mid before the floor and the cap."""
        zc = np.minimum(np.abs(np.asarray(z, dtype=np.float64)), self.smile_z_cap)
        mtc = np.asarray(minutes_to_close, dtype=np.float64)
        v = np.asarray(vix, dtype=np.float64)
        money = 1.0 + self.spread_moneyness_mult * zc / self.smile_z_cap
        close = 1.0 + self.spread_close_mult * np.maximum(
            0.0, 1.0 - mtc / self.spread_close_minutes
        )
        stress = 1.0 + self.spread_vix_mult * np.maximum(0.0, v - self.spread_vix_ref)
        return np.asarray(self.base_spread_pct * money * close * stress, dtype=np.float64)

    def quote(
        self,
        mid: ArrayLike,
        z: ArrayLike,
        minutes_to_close: ArrayLike,
        vix: ArrayLike,
        intrinsic: ArrayLike | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """``(bid, ask)`` arrays on the tick grid; NaN mid gives NaN bid and ask.

        ``intrinsic`` (per unit) is used only with ``itm_spread_share < 1``.
        """
        m = np.asarray(mid, dtype=np.float64)
        pct = self.spread_pct(z, minutes_to_close, vix)
        if not self.plain:
            return self._quote_terms(m, pct, intrinsic)
        spread = np.maximum(self.min_spread, np.minimum(m * pct, m * self.max_spread_pct) / 100.0)
        tick = self.tick
        bid = np.maximum(np.floor((m - 0.5 * spread) / tick + _EPS) * tick, 0.0)
        ask = np.ceil((m + 0.5 * spread) / tick - _EPS) * tick
        gap = math.ceil(max(self.min_spread, tick) / tick - _EPS) * tick
        ask = np.maximum(ask, bid + gap)
        # drop 0.1 + 0.2 style float noise (1e-17) so that prices compare equal to ticks
        return (
            np.asarray(np.round(bid, 10), dtype=np.float64),
            np.asarray(np.round(ask, 10), dtype=np.float64),
        )

    def _quote_terms(
        self, m: FloatArray, pct: FloatArray, intrinsic: ArrayLike | None
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`quote` with the opt-in terms (module docstring)."""
        basis = m
        if self.itm_spread_share != 1.0:
            if intrinsic is None:
                raise ValueError("itm_spread_share < 1 needs the intrinsic values")
            basis = m - (1.0 - self.itm_spread_share) * np.asarray(intrinsic, np.float64)
        spread = np.maximum(
            self.min_spread, np.minimum(basis * pct, m * self.max_spread_pct) / 100.0
        )
        lo, hi = m - 0.5 * spread, m + 0.5 * spread
        t_lo, t_hi = self._ticks(lo), self._ticks(hi)
        bid = np.maximum(np.floor(lo / t_lo + _EPS) * t_lo, self.bid_floor_ticks * self.tick)
        ask = np.ceil(hi / t_hi - _EPS) * t_hi
        ask = np.maximum(ask, bid + np.maximum(self.min_spread, self._ticks(bid)))
        nan = np.isnan(m)
        return (
            np.asarray(np.where(nan, np.nan, np.round(bid, 10)), dtype=np.float64),
            np.asarray(np.where(nan, np.nan, np.round(ask, 10)), dtype=np.float64),
        )

    def _ticks(self, price: FloatArray) -> FloatArray:
        return np.asarray(np.where(price < self.tick_break, self.tick, self.tick_high), np.float64)

    def quote_scalar(
        self,
        mid: float,
        z: float,
        minutes_to_close: float,
        vix: float,
        intrinsic: float = 0.0,
    ) -> tuple[float, float]:
        """:meth:`quote` for one option with the ``math`` module (identical arithmetic)."""
        if math.isnan(mid + z + minutes_to_close + vix):
            return math.nan, math.nan  # Python's max() would hide a NaN behind the floor
        if not self.plain:
            bid_a, ask_a = self.quote(
                np.array([mid]),
                np.array([z]),
                np.array([minutes_to_close]),
                np.array([vix]),
                np.array([intrinsic]),
            )
            return float(bid_a[0]), float(ask_a[0])
        zc = min(abs(z), self.smile_z_cap)
        money = 1.0 + self.spread_moneyness_mult * zc / self.smile_z_cap
        close = 1.0 + self.spread_close_mult * max(
            0.0, 1.0 - minutes_to_close / self.spread_close_minutes
        )
        stress = 1.0 + self.spread_vix_mult * max(0.0, vix - self.spread_vix_ref)
        pct = self.base_spread_pct * money * close * stress
        spread = max(self.min_spread, min(mid * pct, mid * self.max_spread_pct) / 100.0)
        tick = self.tick
        bid = max(math.floor((mid - 0.5 * spread) / tick + _EPS) * tick, 0.0)
        ask = math.ceil((mid + 0.5 * spread) / tick - _EPS) * tick
        gap = math.ceil(max(self.min_spread, tick) / tick - _EPS) * tick
        ask = max(ask, bid + gap)
        return round(bid, 10), round(ask, 10)


def _two_tier(root: str) -> dict[str, float]:
    """``tick_high`` and ``tick_break`` of ``root`` (none for SPY's flat penny tick)."""
    from zerodte.options.contracts import rules_for

    rules = rules_for(root)
    if math.isinf(rules.tick_break):
        return {}
    return {"tick_high": rules.tick_high, "tick_break": rules.tick_break}
