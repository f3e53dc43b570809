"""The NYSE trading calendar (holidays, 13:00 half days) from ``exchange_calendars``.

The sessions of a span and each session's open and close come from the table shipped in
:mod:`zerodte.market.session_table` (the same values; building the calendar costs more
than a year of replay set-up); everything else, and any day outside the table, asks
``exchange_calendars``, which is imported and built on first use.
"""

from __future__ import annotations

import warnings
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.schema import TIMEZONE
from zerodte.market.session_table import shipped_table

if TYPE_CHECKING:
    import exchange_calendars as xcals

_CAL_START = "2000-01-03"
_CAL_END = "2035-12-31"
CALENDAR_FIRST = date.fromisoformat(_CAL_START)
"""First day the calendar knows; bars before it are refused."""
CALENDAR_LAST = date.fromisoformat(_CAL_END)
"""Last day the calendar knows."""


@lru_cache(maxsize=1)
def _xnys() -> xcals.ExchangeCalendar:
    # exchange_calendars 4.x calls Series.values on tz-aware data while building the
    # calendar, which pandas 3.1 deprecates; the values it uses are correct, so the
    # third-party deprecation notice is silenced here only.
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Series.values returning")
        return xcals.get_calendar("XNYS", start=_CAL_START, end=_CAL_END)


@lru_cache(maxsize=16384)
def _session_bounds(day: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    # exchange_calendars parses and validates the session on every call (~0.2 ms); a
    # backtest asks for the same few hundred sessions in its feed, broker and features.
    known = shipped_table().session_bounds(day)
    if known is not None:
        return known
    cal, session = _xnys(), pd.Timestamp(day)  # not a session: its error, or past the table
    return (
        cal.session_open(session).tz_convert(TIMEZONE),
        cal.session_close(session).tz_convert(TIMEZONE),
    )


class TradingCalendar:
    """Regular-hours sessions of the NYSE, in America/New_York time.

    Session minutes are bar starts: a regular day has 390 (09:30 .. 15:59), a half day
    210 (09:30 .. 12:59).
    """

    @property
    def _cal(self) -> xcals.ExchangeCalendar:
        return _xnys()

    def is_session(self, day: date) -> bool:
        """Whether ``day`` is a trading day."""
        table = shipped_table()
        if type(day) is date and table.first <= day <= table.last:
            return table.position(day) is not None
        return bool(self._cal.is_session(pd.Timestamp(day)))

    def sessions(self, start: date, end: date) -> list[date]:
        """Trading days in ``[start, end]``."""
        known = shipped_table().sessions(start, end) if start <= end else None
        if known is not None:
            return known
        idx = self._cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
        return [ts.date() for ts in idx]

    def sessions_from(self, start: date, count: int) -> list[date]:
        """``count`` trading days starting at the first session on or after ``start``."""
        if count < 1:
            raise DataError(f"need at least one trading day, got {count}")
        first = self._cal.date_to_session(pd.Timestamp(start), direction="next")
        idx = self._cal.sessions_window(first, count)
        return [ts.date() for ts in idx]

    def sessions_until(self, end: date, count: int) -> list[date]:
        """The last ``count`` trading days ending at the last session on or before ``end``."""
        last = self._cal.date_to_session(pd.Timestamp(end), direction="previous")
        idx = self._cal.sessions_window(last, -count)
        return [ts.date() for ts in idx]

    def session_open(self, day: date) -> pd.Timestamp:
        """Regular-session open of ``day`` (tz-aware, New York)."""
        return _session_bounds(day)[0]

    def session_close(self, day: date) -> pd.Timestamp:
        """Regular-session close of ``day`` (16:00, or 13:00 on half days)."""
        return _session_bounds(day)[1]

    def is_half_day(self, day: date) -> bool:
        """Whether ``day`` closes early (13:00)."""
        return self.session_close(day).hour < 16

    def session_minutes(self, day: date) -> pd.DatetimeIndex:
        """Bar-start timestamps of the regular session of ``day``."""
        open_ = self.session_open(day)
        close = self.session_close(day)
        return pd.date_range(open_, close, freq="1min", inclusive="left", name="timestamp")

    def minutes(self, days: list[date]) -> pd.DatetimeIndex:
        """Bar-start timestamps of every regular-session minute of ``days``."""
        if not days:
            return pd.DatetimeIndex([], tz=TIMEZONE, name="timestamp")
        # vectorised over the schedule: one open and one length per day
        sched = self._cal.schedule.loc[pd.DatetimeIndex([pd.Timestamp(d) for d in days])]
        opens = sched["open"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        closes = sched["close"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        counts = (closes - opens) // 60_000_000_000
        starts = np.repeat(opens, counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        utc = pd.DatetimeIndex(starts + offsets * 60_000_000_000, tz="UTC", name="timestamp")
        return utc.tz_convert(TIMEZONE)


def local_days(ts: pd.Series) -> np.ndarray:
    """The New York trading date of each tz-aware stamp as ``datetime64[D]`` (NaT stays NaT).

    Vectorised: ``Series.dt.date`` builds one Python ``date`` per row, which dominated an
    import of a year of minutes.
    """
    local = pd.DatetimeIndex(ts).tz_convert(TIMEZONE).tz_localize(None)
    return local.to_numpy(dtype="datetime64[D]")


def distinct_days(ts: pd.Series) -> list[date]:
    """The sorted distinct New York dates of ``ts`` (NaT left out) as ``datetime.date``."""
    days = local_days(ts)
    days = np.unique(days[~np.isnat(days)])
    return [d.item() for d in days]


def sorted_member(values: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """``np.isin(values, universe)`` for a sorted ``universe`` (binary search, no hashing)."""
    if len(universe) == 0:
        return np.zeros(len(values), dtype=bool)
    pos = np.searchsorted(universe, values)
    return universe[np.minimum(pos, len(universe) - 1)] == values
