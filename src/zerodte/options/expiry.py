"""Time to expiry: minutes and the year fraction every pricing call uses.

Convention: calendar time
-------------------------
``year_fraction(minutes) = minutes / 525,600`` (365 days x 24 h x 60 min), where
``minutes`` runs from *now* to the regular-session close of the expiry date (16:00 ET, or
13:00 on a half day, from :class:`zerodte.market.calendar.TradingCalendar`).

Why calendar time and not trading time:

* The VIX itself is computed in calendar minutes over 525,600 (Cboe VIX white paper,
  "T = minutes to settlement / minutes in a year"), and it is the input of the volatility
  surface. Using the same clock for the option means ``VIX/100`` and our implied vols are
  in the same units; nothing is rescaled silently.
* Implied vols backed out of real quotes (docs/options.md) use this same function, so the
  surface is calibrated in the units it is used in. The fact that almost all of a 0DTE
  option's variance arrives during the few remaining trading minutes (so that calendar-time
  0DTE vols sit well above VIX) is carried explicitly by the surface's
  ``zero_dte_term_mult`` (see :mod:`zerodte.options.surface`), not hidden in the clock.
* It needs no calendar, so ``year_fraction`` is a pure function of minutes and is cheap on
  million-row arrays.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from zerodte.market.calendar import TradingCalendar
from zerodte.options.black_scholes import FloatArray

MINUTES_PER_YEAR = 365.0 * 24.0 * 60.0
"""Calendar minutes in a year (525,600), as in the VIX methodology."""


def minutes_to_expiry(now: pd.Timestamp, expiry_close: pd.Timestamp) -> float:
    """Minutes from ``now`` to ``expiry_close``, floored at 0 (an expired option has 0).

    Both must be tz-aware; a naive timestamp raises ``ValueError`` because its instant is
    ambiguous.
    """
    if now.tzinfo is None or expiry_close.tzinfo is None:
        raise ValueError(
            f"minutes_to_expiry needs tz-aware timestamps, got now={now!r}, "
            f"expiry_close={expiry_close!r}; localize them to America/New_York"
        )
    return max((expiry_close - now).total_seconds() / 60.0, 0.0)


def year_fraction(minutes: ArrayLike) -> FloatArray:
    """Calendar-time year fraction ``minutes / 525,600`` (negative minutes give 0)."""
    return np.maximum(np.asarray(minutes, dtype=np.float64), 0.0) / MINUTES_PER_YEAR


@lru_cache(maxsize=4096)
def expiry_close(day: date) -> pd.Timestamp:
    """The instant a contract expiring on ``day`` expires: that day's session close.

    Cached, because the engine asks for it every minute a position is open.
    """
    return TradingCalendar().session_close(day)
