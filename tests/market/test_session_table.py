"""The shipped session table gives exactly what ``exchange_calendars`` computes."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from zerodte.market import calendar
from zerodte.market.session_table import TABLE, parse_table, schedule_lines

REWRITE = (
    ".venv/bin/python -c 'from zerodte.market.session_table import write_table; write_table()'"
)


@pytest.fixture(scope="module")
def xnys():  # type: ignore[no-untyped-def]
    return calendar._xnys()


def test_the_file_is_what_exchange_calendars_computes(xnys) -> None:  # type: ignore[no-untyped-def]
    assert TABLE.read_text() == schedule_lines(xnys), (
        f"{TABLE.name} differs from the installed exchange_calendars; rewrite it: {REWRITE}"
    )


def test_every_session_has_the_calendars_open_and_close(xnys) -> None:  # type: ignore[no-untyped-def]
    table = parse_table(TABLE.read_text())
    sched = xnys.schedule
    assert table.first == calendar.CALENDAR_FIRST and table.last == calendar.CALENDAR_LAST
    assert table.days.tolist() == sched.index.date.tolist()
    assert table.bounds[:, 0].tolist() == sched["open"].dt.as_unit("ns").astype("int64").tolist()
    assert table.bounds[:, 1].tolist() == sched["close"].dt.as_unit("ns").astype("int64").tolist()


@pytest.mark.parametrize(
    "day",
    [date(2024, 1, 2), date(2024, 11, 29), date(2024, 7, 3), date(2000, 1, 3), date(2035, 12, 31)],
)
def test_bounds_are_the_same_timestamps(xnys, day: date) -> None:  # type: ignore[no-untyped-def]
    got = (
        calendar.TradingCalendar().session_open(day),
        calendar.TradingCalendar().session_close(day),
    )
    want = (
        xnys.session_open(pd.Timestamp(day)).tz_convert(calendar.TIMEZONE),
        xnys.session_close(pd.Timestamp(day)).tz_convert(calendar.TIMEZONE),
    )
    for g, w in zip(got, want, strict=True):
        assert g == w and g.unit == w.unit and str(g.tz) == str(w.tz)


def test_sessions_and_membership_match(xnys) -> None:  # type: ignore[no-untyped-def]
    cal = calendar.TradingCalendar()
    spans = [(date(2023, 12, 20), date(2024, 1, 10)), (date(2000, 1, 3), date(2001, 1, 1))]
    for start, end in spans:
        want = [ts.date() for ts in xnys.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]
        assert cal.sessions(start, end) == want
    day = date(2024, 1, 1)
    for _ in range(60):
        assert cal.is_session(day) == bool(xnys.is_session(pd.Timestamp(day))), day
        day += timedelta(days=1)


def test_a_day_that_is_no_session_still_raises() -> None:
    with pytest.raises(Exception):  # noqa: B017 (exchange_calendars' own error type)
        calendar.TradingCalendar().session_close(date(2024, 12, 25))
    assert not np.isnan(calendar.TradingCalendar().session_close(date(2024, 12, 24)).value)
