"""The NYSE sessions as a small shipped table, so a backtest need not build the calendar.

Building ``exchange_calendars``' XNYS calendar for 2000-2035 (and importing the package,
with every other exchange's holiday rules) costs more than a year of feed, broker and
feature set-up together. What a replay asks of the calendar, the sessions of a span and
each session's open and close, is a pure function of the exchange's schedule, so it is
read from ``xnys_sessions.txt`` beside this module: every weekday is a session that opens
at 09:30 and closes at 16:00 New York time, except the lines of that file (a weekday
holiday, or a session with other hours). :func:`schedule_lines` derives the same lines
from ``exchange_calendars``; ``tests/market/test_session_table.py`` checks that the file
equals them, so a new holiday in a later ``exchange_calendars`` release is noticed (the
test names the command that rewrites the file).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import exchange_calendars as xcals

TABLE = Path(__file__).with_name("xnys_sessions.txt")
_TZ = "America/New_York"
_OPEN, _CLOSE = "09:30", "16:00"
_HEADER = (
    "# NYSE (XNYS) sessions as exchange_calendars computes them; written by\n"
    "# zerodte.market.session_table.write_table. Every weekday in the span is a session\n"
    "# opening 09:30 and closing 16:00 New York time, except the days below: 'closed'\n"
    "# (a weekday holiday) or 'OPEN CLOSE' (other hours, e.g. a 13:00 early close).\n"
)


class SessionTable:
    """Sorted session days with their open and close (UTC epoch nanoseconds)."""

    def __init__(self, first: date, last: date, days: np.ndarray, bounds: np.ndarray) -> None:
        self.first = first
        self.last = last
        self.days = days  # datetime64[D], sorted
        self.bounds = bounds  # (n, 2) int64: open and close, ns since the epoch (UTC)

    def position(self, day: date) -> int | None:
        """Index of ``day`` among the sessions (None when it is not one)."""
        if type(day) is not date:  # a datetime or Timestamp: the calendar's own rules
            return None
        d = np.datetime64(day, "D")
        k = int(np.searchsorted(self.days, d))
        return k if k < len(self.days) and self.days[k] == d else None

    def session_bounds(self, day: date) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Open and close of ``day`` in New York time (None when it is not a session)."""
        k = self.position(day)
        if k is None:
            return None
        open_ns, close_ns = self.bounds[k].tolist()
        return (
            pd.Timestamp(open_ns, tz="UTC").tz_convert(_TZ),
            pd.Timestamp(close_ns, tz="UTC").tz_convert(_TZ),
        )

    def sessions(self, start: date, end: date) -> list[date] | None:
        """Sessions in ``[start, end]`` (None when the span leaves the table)."""
        if type(start) is not date or type(end) is not date:
            return None
        if start < self.first or end > self.last:
            return None
        lo = np.searchsorted(self.days, np.datetime64(start, "D"))
        hi = np.searchsorted(self.days, np.datetime64(end, "D"), side="right")
        return list(self.days[lo:hi].tolist())


def parse_table(text: str) -> SessionTable:
    """The :class:`SessionTable` of a table file's ``text`` (see the module docstring)."""
    first = last = None
    closed: list[str] = []
    hours: dict[str, tuple[str, str]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if line[0] == "span":
            first, last = date.fromisoformat(line[1]), date.fromisoformat(line[2])
        elif line[1] == "closed":
            closed.append(line[0])
        else:
            hours[line[0]] = (line[1], line[2])
    if first is None or last is None:
        raise ValueError(f"{TABLE.name} has no 'span FIRST LAST' line")
    span = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    days = span[np.is_busday(span, holidays=np.array(closed, dtype="datetime64[D]"))]
    text_days = np.datetime_as_string(days)
    opens = np.full(len(days), _OPEN, dtype=object)
    closes = np.full(len(days), _CLOSE, dtype=object)
    at = {d: k for k, d in enumerate(text_days.tolist())}
    for day, (o, c) in hours.items():
        opens[at[day]], closes[at[day]] = o, c
    bounds = np.column_stack([_local_ns(text_days, opens), _local_ns(text_days, closes)])
    return SessionTable(first, last, days, bounds)


def _local_ns(days: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``day HH:MM`` New York time as UTC epoch nanoseconds."""
    stamps = pd.to_datetime(pd.Series(days.astype(object) + " " + times), format="%Y-%m-%d %H:%M")
    return np.asarray(pd.DatetimeIndex(stamps).tz_localize(_TZ).as_unit("ns").asi8)


@lru_cache(maxsize=1)
def shipped_table() -> SessionTable:
    """The table shipped beside this module (read once per process)."""
    return parse_table(TABLE.read_text())


def schedule_lines(cal: xcals.ExchangeCalendar) -> str:
    """The table file's text for ``cal`` (the span, weekday holidays, other hours)."""
    sched = cal.schedule
    opens = sched["open"].dt.tz_convert(_TZ).dt.strftime("%H:%M")
    closes = sched["close"].dt.tz_convert(_TZ).dt.strftime("%H:%M")
    first, last = cal.first_session.date(), cal.last_session.date()
    span = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    weekdays = span[np.is_busday(span)]
    sessions = set(sched.index.date.tolist())
    if not sessions <= set(weekdays.tolist()):
        raise ValueError("a weekend session cannot be written as a weekday exception")
    lines = [_HEADER, f"span {first} {last}\n"]
    special = {
        d: (o, c)
        for d, o, c in zip(sched.index.date.tolist(), opens, closes, strict=True)
        if (o, c) != (_OPEN, _CLOSE)
    }
    for day in sorted(set(weekdays.tolist()) - sessions | set(special)):
        if day in special:
            lines.append(f"{day} {special[day][0]} {special[day][1]}\n")
        else:
            lines.append(f"{day} closed\n")
    return "".join(lines)


def write_table() -> Path:
    """Rewrite ``xnys_sessions.txt`` from the installed ``exchange_calendars``."""
    from zerodte.market.calendar import _xnys

    TABLE.write_text(schedule_lines(_xnys()))
    return TABLE
