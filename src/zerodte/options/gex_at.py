"""GEX, flip and max pain of the 0DTE chain at one bar of a market frame.

Spot and VIX are the bar's ``spy_close`` and ``vix_close``; the minutes left are counted
to the session's close (:func:`zerodte.options.expiry.expiry_close`), so gamma is that of
an option with that many minutes to live. The chain is the prior day's open interest: the
synthetic model's (:mod:`zerodte.options.open_interest`) unless one is given.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from zerodte.config.settings import OptionsSettings
from zerodte.options.expiry import expiry_close
from zerodte.options.gex import Convention, GammaInputs, gex_summary
from zerodte.options.open_interest import SyntheticOpenInterest, prior_closes
from zerodte.options.surface import VolSurface


def bar_at(frame: pd.DataFrame, at: pd.Timestamp | None) -> pd.Timestamp:
    """The last bar at or before ``at`` (the frame's last bar when ``at`` is None)."""
    idx = pd.DatetimeIndex(frame.index)
    if len(idx) == 0:
        raise ValueError("the market frame is empty")
    if at is None:
        return pd.Timestamp(idx[-1])
    when = pd.Timestamp(at)
    if when.tzinfo is None:
        when = when.tz_localize("America/New_York")
    pos = int(idx.searchsorted(when, side="right")) - 1
    if pos < 0:
        raise ValueError(f"--at {when} is before the first bar ({idx[0]})")
    return pd.Timestamp(idx[pos])


def gex_at(
    frame: pd.DataFrame,
    at: pd.Timestamp | None,
    options: OptionsSettings,
    chain: pd.DataFrame | None = None,
    convention: Convention = "dealer",
) -> dict[str, Any]:
    """The GEX summary (:func:`~zerodte.options.gex.gex_summary`) at the bar ``at``."""
    bar = bar_at(frame, at)
    session = bar.date()
    pos = int(pd.DatetimeIndex(frame.index).searchsorted(bar, side="left"))
    spot = float(frame["spy_close"].to_numpy(float)[pos])
    vix = float(frame["vix_close"].to_numpy(float)[pos]) if "vix_close" in frame else math.nan
    oi_source = "given chain"
    if chain is None:
        prior = prior_closes(frame).get(session, math.nan)
        if not math.isfinite(prior):
            raise ValueError(
                f"{session} is the frame's first session: no prior day's close to model open "
                "interest from; pick a later --at or load more days"
            )
        chain = SyntheticOpenInterest(strike_step=options.strike_step).chain(prior, session)
        oi_source = f"synthetic model from the {session} prior close {prior:.2f}"
    minutes = (expiry_close(session) - bar).total_seconds() / 60.0
    if minutes <= 0:
        raise ValueError(f"{bar} is at or after the {session} close: the 0DTE chain expired")
    inputs = GammaInputs(
        minutes, vix, VolSurface.from_settings(options), options.risk_free_rate,
        options.dividend_yield,
    )  # fmt: skip
    out = gex_summary(chain, spot, inputs, convention)
    out.update(
        {
            "time": bar.isoformat(),
            "session": str(session),
            "minutes_to_close": minutes,
            "vix": vix,
            "open_interest": oi_source,
        }
    )
    return out
