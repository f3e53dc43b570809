"""Bar intervals: 1-minute, 5-minute and daily series, and when each bar becomes known.

SPY defines the engine's one-minute cycle grid and is always stored at ``1min``. A slower
series (VIX from a vendor that sells only 5-minute or daily bars) is stored at its own
interval and joined to the minute grid **as of** what was known at each decision:

* a ``1min`` or ``5min`` bar stamped ``s`` (its start) covers ``[s, s + interval)`` and is
  known at its end, ``s + interval``;
* a ``1day`` bar is stamped at its session's open; its ``open`` is known once the first
  minute of the session has closed (the opening value is published within that minute),
  its ``high``, ``low`` and ``close`` only after the session's close.

A decision at minute bar ``t`` is taken at the bar's close, ``t + 1 min``. So the value a
decision at ``t`` sees is the close of the latest intraday bar that ended by ``t + 1 min``,
or for a daily series the open of ``t``'s own session (:func:`asof_values`). Intraday values
carry over from the previous trading session into the first minutes of a session (the last
value known then), never from further back.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar, local_days

Interval = Literal["1min", "5min", "1day"]
INTERVALS: tuple[Interval, ...] = ("1min", "5min", "1day")
INTERVAL_MINUTES: dict[str, int] = {"1min": 1, "5min": 5}
"""Length of an intraday interval in minutes (a daily bar is a whole session)."""
_NS_PER_MIN = 60_000_000_000


def check_interval(value: object, where: str = "--interval") -> Interval:
    """``value`` as an :data:`Interval`, or a :class:`DataError` naming ``where``."""
    text = str(value).strip().lower()
    aliases = {"1m": "1min", "1": "1min", "5m": "5min", "5": "5min", "1d": "1day", "daily": "1day"}
    text = aliases.get(text, text)
    if text not in INTERVALS:
        raise DataError(f"{where}: {value!r} is not an interval; use one of {', '.join(INTERVALS)}")
    return text


def infer_interval(timestamps: pd.Series) -> Interval:
    """The interval a bar series is stamped at: daily when every stamp is at a session open
    on distinct days, else the most common spacing between bars of one day (1 or 5 min)."""
    ts = timestamps.dropna()
    if ts.empty:
        return "1min"
    ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    days = local_days(ts)
    same_day = days[1:] == days[:-1]
    if not same_day.any():
        return "1day"
    steps = np.diff(ns)[same_day] // _NS_PER_MIN
    steps = steps[steps > 0]
    if len(steps) and int(np.median(steps)) == 5:
        return "5min"
    return "1min"


def expected_stamps(
    calendar: TradingCalendar, days: list[date], interval: Interval
) -> pd.DatetimeIndex:
    """Every bar start of ``interval`` in the regular sessions of ``days``."""
    minutes = calendar.minutes(days)
    if interval == "1min":
        return minutes
    if interval == "1day":
        return pd.DatetimeIndex([calendar.session_open(d) for d in days], name="timestamp")
    step = INTERVAL_MINUTES[interval]
    local = minutes.tz_localize(None)
    opens = pd.Series(local).groupby(local.normalize()).transform("min").to_numpy()
    offset = (local.to_numpy() - opens).astype("timedelta64[m]").astype(np.int64)
    return minutes[offset % step == 0]


def bar_length_minutes(interval: Interval) -> int:
    """Minutes between a bar's start and the time its close is known (intraday only)."""
    if interval == "1day":
        raise DataError("a daily bar has no fixed length; use asof_values for daily series")
    return INTERVAL_MINUTES[interval]


def asof_values(
    bars: pd.DataFrame,
    grid: pd.DatetimeIndex,
    interval: Interval,
    calendar: TradingCalendar,
    columns: tuple[str, ...] = ("open", "high", "low", "close", "volume"),
) -> pd.DataFrame:
    """The bar values known at each decision of the minute ``grid`` (module docstring).

    Returns a frame indexed by ``grid`` with ``columns``. For an intraday series every
    column comes from the latest bar that ended by the decision (``grid + 1 min``), from
    the same session or the one before; for a daily series every price column holds the
    open of the decision's own session (the only value known during it) and ``volume`` is
    NaN. Decisions with nothing known are NaN.
    """
    if bars.empty or len(grid) == 0:
        return pd.DataFrame(index=grid, columns=list(columns), dtype=np.float64)
    # datetime64[D] days: a year of Python dates costs more than the whole as-of join
    grid_days = local_days(grid)  # type: ignore[arg-type]
    if interval == "1day":
        by_day = pd.Series(
            bars["open"].to_numpy(dtype=np.float64),
            index=bars["timestamp"].dt.tz_convert("America/New_York").dt.date.to_numpy(),
        )
        opens = pd.Series(grid_days.astype(object)).map(by_day).to_numpy(dtype=np.float64)
        out = pd.DataFrame(index=grid, columns=list(columns), dtype=np.float64)
        for col in columns:
            out[col] = np.nan if col == "volume" else opens
        return out
    step = bar_length_minutes(interval) * _NS_PER_MIN
    stamps = bars["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    decision = np.asarray(pd.DatetimeIndex(grid).as_unit("ns").asi8) + _NS_PER_MIN
    if step == _NS_PER_MIN and np.array_equal(stamps + step, decision):
        # minute bars on the grid's own minutes: each decision knows its own bar, which
        # is what the join below finds (the bar that ended at the decision, same session)
        own = {col: bars[col].to_numpy(dtype=np.float64, copy=True) for col in columns}
        return pd.DataFrame(own, index=grid, copy=False)
    known = stamps + step
    pos = np.searchsorted(known, decision, side="right") - 1
    ok = pos >= 0
    bar_days = local_days(bars["timestamp"])
    # carry over from the previous trading session at most
    g_rank, b_rank = _session_ranks(grid_days, bar_days, calendar)
    safe = np.where(ok, pos, 0)
    ok &= g_rank - b_rank[safe] <= 1
    # built from its columns (writing them into a frame of NaN would keep that frame's
    # block alive beside the new columns: a transient copy of the prices)
    known_values = {
        col: np.where(ok, bars[col].to_numpy(dtype=np.float64)[safe], np.nan) for col in columns
    }
    return pd.DataFrame(known_values, index=grid, copy=False)


def _session_ranks(
    grid_days: np.ndarray, bar_days: np.ndarray, calendar: TradingCalendar
) -> tuple[np.ndarray, np.ndarray]:
    """Trading-session numbers of each grid and bar day (consecutive sessions differ by 1)."""
    uniques = [np.unique(values, return_inverse=True) for values in (grid_days, bar_days)]
    days = sorted(set(uniques[0][0].tolist()) | set(uniques[1][0].tolist()))
    rank = {d: i for i, d in enumerate(calendar.sessions(days[0], days[-1]))}
    out = []
    for uniq, inverse in uniques:
        ranks = np.array([rank.get(d, -(10**6)) for d in uniq.tolist()], dtype=np.int64)
        out.append(ranks[inverse])
    return out[0], out[1]
