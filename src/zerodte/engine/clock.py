"""Clocks: the one seam through which the engine learns what time it is.

Backtests use :class:`SimulatedClock`, which the feed advances bar by bar; live trading uses
:class:`WallClock`, the only object in zerodte that reads the real time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import pandas as pd

from zerodte.errors import DataError

NEW_YORK = ZoneInfo("America/New_York")
_BAR = pd.Timedelta(minutes=1)


@runtime_checkable
class Clock(Protocol):
    """Tells the current time (tz-aware America/New_York)."""

    def now(self) -> pd.Timestamp:
        """The current time."""
        ...


class SimulatedClock:
    """A clock that only moves when the feed moves it.

    ``now()`` is the decision time of the current cycle: the *close* of the bar being
    processed (bar start + one minute), because a decision at bar ``t`` sees data through
    the close of ``t``. Before the first cycle it raises, so nothing can read a time that
    does not exist yet.
    """

    def __init__(self) -> None:
        self._now: pd.Timestamp | None = None
        self._times: pd.DatetimeIndex | None = None
        self._cursor = -1

    def advance_to(self, time: pd.Timestamp) -> None:
        """Move to ``time``; time never runs backwards."""
        current = self._current()
        if current is not None and time < current:
            raise DataError(
                f"simulated clock asked to go back from {current} to {time}; "
                "the feed must yield bars in increasing time order"
            )
        self._times, self._cursor = None, -1
        self._now = time

    def set_cursor(self, bar_starts: pd.DatetimeIndex, i: int) -> None:
        """Move to the close of bar ``i`` of ``bar_starts`` (sorted; checked by the feed).

        Storing the cursor instead of a timestamp keeps the per-cycle cost at two
        attribute stores; the timestamp is built only when someone reads it.
        """
        self._times, self._cursor = bar_starts, i

    def _current(self) -> pd.Timestamp | None:
        if self._times is not None:
            return self._times[self._cursor] + _BAR
        return self._now

    def now(self) -> pd.Timestamp:
        """The current simulated time."""
        current = self._current()
        if current is None:
            raise DataError("simulated clock read before the feed produced its first bar")
        return current


class WallClock:
    """The real time in New York. The only place in zerodte that reads the system clock."""

    def now(self) -> pd.Timestamp:
        """The current wall-clock time (tz-aware America/New_York)."""
        return pd.Timestamp(datetime.now(tz=NEW_YORK))

    def utc(self) -> datetime:
        """The same time in UTC as a ``datetime`` (the SQL stores' timestamps)."""
        return self.now().tz_convert("UTC").to_pydatetime()
