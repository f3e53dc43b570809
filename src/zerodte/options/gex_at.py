"""GEX, flip and max pain of the 0DTE chain at one bar of a market frame.

Spot and VIX are the bar's ``spy_close`` and ``vix_close``; the minutes left are counted
to the session's close (:func:`zerodte.options.expiry.expiry_close`), so gamma is that of
an option with that many minutes to live. The chain is the prior day's open interest: the
synthetic model's (:mod:`zerodte.options.open_interest`) unless one is given.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from zerodte.config.settings import OptionsSettings
from zerodte.errors import ConfigError, DataError
from zerodte.options.expiry import expiry_close
from zerodte.options.gex import Convention, GammaInputs, gex_summary
from zerodte.options.open_interest import SyntheticOpenInterest, prior_closes
from zerodte.options.surface import VolSurface

NEW_YORK = "America/New_York"
_DATE_AND_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}")


def parse_at(text: str) -> pd.Timestamp:
    """``--at`` as a timestamp: ``YYYY-MM-DD HH:MM`` in New York (an explicit offset wins).

    Raises
    ------
    ConfigError
        ``text`` is not a date and a time (``"now"``, a bare date and the like are refused:
        the bar must be named, not guessed).
    """
    clean = text.strip()
    try:
        when = pd.Timestamp(clean) if _DATE_AND_TIME.match(clean) else None
    except ValueError:  # the shape of a time but not one, e.g. 2024-13-45 10:00
        when = None
    if when is None:
        raise ConfigError(
            f"--at {text!r} is not a time; use YYYY-MM-DD HH:MM (New York), e.g. "
            "--at '2024-01-04 15:00'"
        )
    return when.tz_localize(NEW_YORK) if when.tzinfo is None else when


def bar_at(frame: pd.DataFrame, at: pd.Timestamp | None) -> pd.Timestamp:
    """The last bar at or before ``at`` in ``at``'s own session (the frame's last bar when
    ``at`` is None); naive times are New York.

    Raises
    ------
    DataError
        The frame has no bars.
    ConfigError
        ``at`` is before the first bar, on a day after the last bar's, or before the first
        bar of its own day (a bar of another session would be used silently otherwise).
    """
    idx = pd.DatetimeIndex(frame.index)
    if len(idx) == 0:
        raise DataError("the market frame is empty: no bar to compute GEX at")
    if at is None:
        return pd.Timestamp(idx[-1])
    when = pd.Timestamp(at)
    if when.tzinfo is None:
        when = when.tz_localize(NEW_YORK)
    first, last = pd.Timestamp(idx[0]), pd.Timestamp(idx[-1])
    span = f"pick a time from {first} to {last}"
    pos = int(idx.searchsorted(when, side="right")) - 1
    if pos < 0:
        raise ConfigError(
            f"--at {when} is before the first bar ({first}); {span}, or load earlier days "
            "(--start, --days)"
        )
    bar = pd.Timestamp(idx[pos])
    day = when.tz_convert(bar.tz).date() if bar.tz is not None else when.date()
    if day > last.date():
        raise ConfigError(
            f"--at {when} is after the last bar ({last}); {span}, or load later days (--end)"
        )
    if bar.date() != day:
        raise ConfigError(
            f"--at {when}: the data has no bar of {day} at or before that time (the bar "
            f"before it, {bar}, is of another session); {span} within a session's hours"
        )
    return bar


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
            raise ConfigError(
                f"{session} is the frame's first session: no prior day's close to model open "
                "interest from; pick an --at in a later session, load more days (--days, "
                "--start) or give the chain with --oi"
            )
        chain = SyntheticOpenInterest(strike_step=options.strike_step).chain(prior, session)
        oi_source = f"synthetic model from the {session} prior close {prior:.2f}"
    minutes = (expiry_close(session) - bar).total_seconds() / 60.0
    if minutes <= 0:
        raise ConfigError(
            f"--at {bar} is at or after the {session} close: the 0DTE chain has expired; "
            "pick a time before 16:00 New York (13:00 on an early-close day)"
        )
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
