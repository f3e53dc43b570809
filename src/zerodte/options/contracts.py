"""Contract rules per underlying: strike grid, tick, exercise style and settlement.

SPY stays the default underlying. The real option quotes at hand are SPX/SPXW (Cboe index
options), whose rules differ from SPY's:

============  ============  ===============================  ==========  ==========
root          strike step   tick (premium per unit)          style       settlement
============  ============  ===============================  ==========  ==========
SPY           $1            $0.01                            American    physical
SPX           5 points      $0.05 below $3, $0.10 from $3     European    AM (SOQ)
SPXW          5 points      $0.05 below $3, $0.10 from $3     European    PM (close)
============  ============  ===============================  ==========  ==========

(Cboe SPX product specification; SPY has some $0.50 strikes near the money, which the
import accepts.) ``tick_at(price)`` gives the minimum price increment at a premium, which is
what the far-OTM floor of a modelled quote (one tick where the real market quotes one)
and the import's strike check use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from zerodte.errors import ConfigError
from zerodte.options.black_scholes import FloatArray


@dataclass(frozen=True, slots=True)
class ContractRules:
    """Listing rules of one option root (module docstring)."""

    root: str
    underlying: str
    strike_step: float
    strike_grid: float
    """Smallest strike increment accepted on import (SPY lists some $0.50 strikes)."""
    tick_low: float
    tick_high: float
    tick_break: float
    """Premiums below ``tick_break`` trade in ``tick_low``, from it on in ``tick_high``."""
    european: bool
    pm_settled: bool

    def tick_at(self, price: ArrayLike) -> FloatArray:
        """Minimum price increment at each premium (NaN stays NaN)."""
        p = np.asarray(price, dtype=np.float64)
        tick = np.where(p < self.tick_break, self.tick_low, self.tick_high)
        return np.asarray(np.where(np.isnan(p), np.nan, tick), dtype=np.float64)

    def tick_at_scalar(self, price: float) -> float:
        """:meth:`tick_at` for one premium."""
        if math.isnan(price):
            return math.nan
        return self.tick_low if price < self.tick_break else self.tick_high

    def on_grid(self, strike: ArrayLike) -> np.ndarray:
        """Whether each strike is a positive multiple of ``strike_grid`` (1e-6 tolerance)."""
        k = np.asarray(strike, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            steps = k / self.strike_grid
            ok = np.isfinite(k) & (k > 0) & (np.abs(steps - np.round(steps)) < 1e-6)
        return np.asarray(ok, dtype=bool)


RULES: dict[str, ContractRules] = {
    "SPY": ContractRules("SPY", "SPY", 1.0, 0.5, 0.01, 0.01, math.inf, False, False),
    "SPX": ContractRules("SPX", "SPX", 5.0, 5.0, 0.05, 0.10, 3.0, True, False),
    "SPXW": ContractRules("SPXW", "SPX", 5.0, 5.0, 0.05, 0.10, 3.0, True, True),
}
"""The roots zerodte knows (add a row to support another)."""


def rules_for(root: str) -> ContractRules:
    """The rules of ``root``; :class:`ConfigError` naming the known roots otherwise."""
    try:
        return RULES[root.upper()]
    except KeyError:
        raise ConfigError(
            f"option root {root!r} has no contract rules; known roots: {', '.join(RULES)} "
            "(zerodte.options.contracts.RULES)"
        ) from None
