"""Feeds: where the engine's cycles come from.

A feed yields cycle indices through :meth:`Feed.cycles` and keeps per-cycle values in
plain lists (:class:`FeedColumns`), so a cycle in which nothing happens costs a few list
reads. :meth:`Feed.snapshot` builds the full :class:`~zerodte.types.Snapshot` of a cycle
only when the broker or the exit rules need it. A live feed appends to the same lists as
bars arrive and yields the new index; the engine cannot tell the two apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from zerodte.engine.clock import SimulatedClock
from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.types import Bar, OptionContract, OptionQuote, QuoteBook, Snapshot

FEED_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "VIX")
ONE_MINUTE = pd.Timedelta(minutes=1)

QuoteBookFactory = Callable[[int], QuoteBook]
"""``cycle index -> QuoteBook`` of that bar (open and close quotes)."""


@dataclass
class FeedColumns:
    """Per-cycle values as Python lists (index = cycle).

    ``minutes_since_open`` and ``minutes_to_close`` are measured at the decision time, the
    bar's close: 1 and ``session_length - 1`` at the first bar, ``session_length`` and 0 at
    the last. ``last_of_session`` marks the session's final bar.
    """

    times: pd.DatetimeIndex
    sessions: list[date] = field(default_factory=list)
    minutes_since_open: list[float] = field(default_factory=list)
    minutes_to_close: list[float] = field(default_factory=list)
    spy: list[float] = field(default_factory=list)
    qqq: list[float] = field(default_factory=list)
    vix: list[float] = field(default_factory=list)
    first_of_session: list[bool] = field(default_factory=list)
    last_of_session: list[bool] = field(default_factory=list)
    _boxed: dict[int, pd.Timestamp] = field(default_factory=dict, repr=False)

    def time(self, i: int) -> pd.Timestamp:
        """Bar start of cycle ``i`` (cached: boxing a Timestamp from the index is slow)."""
        t = self._boxed.get(i)
        if t is None:
            t = self._boxed[i] = self.times[i]
        return t


@runtime_checkable
class Feed(Protocol):
    """The source of cycles (historical replay or live polling)."""

    columns: FeedColumns

    def cycles(self) -> Iterator[int]:
        """Yield each cycle's index once its bar has closed (advancing the clock)."""
        ...

    def snapshot(self, i: int) -> Snapshot:
        """The full snapshot of cycle ``i``."""
        ...

    def row(self, i: int) -> dict[str, float]:
        """The market-frame row of cycle ``i`` (for streaming features)."""
        ...


class HistoricalFeed:
    """Replays a market frame minute by minute.

    Parameters
    ----------
    frame
        The wide market frame (:func:`zerodte.market.schema.market_frame`): index
        ``timestamp`` (bar starts), ``spy_*``, ``qqq_*``, ``vix_*``, ``session``, ``minute``.
    quote_books
        ``i -> QuoteBook`` of bar ``i`` (e.g. modelled quotes from SPY and VIX).
    clock
        The simulated clock this feed advances to each bar's close.
    calendar
        Session closes (13:00 on half days) for ``minutes_to_close``.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        quote_books: QuoteBookFactory,
        clock: SimulatedClock | None = None,
        calendar: TradingCalendar | None = None,
    ) -> None:
        if frame.empty:
            raise DataError("the market frame has no rows; load some market data first")
        idx = pd.DatetimeIndex(frame.index)
        if not idx.is_monotonic_increasing or idx.has_duplicates:
            raise DataError("market frame timestamps must increase strictly; sort and dedupe")
        missing = [c for c in ("spy_close", "session", "minute") if c not in frame.columns]
        if missing:
            raise DataError(f"market frame lacks columns {missing}; build it with market_frame")
        if np.isnan(frame["spy_close"].to_numpy(dtype=float)).any():
            raise DataError("spy_close has NaN; SPY defines the cycle grid and must be complete")
        self.frame = frame
        self.quote_books = quote_books
        self.clock = clock if clock is not None else SimulatedClock()
        self.columns = _columns(frame, calendar or TradingCalendar())
        self._ohlcv = {
            sym: np.column_stack(
                [
                    frame[f"{sym.lower()}_{c}"].to_numpy(dtype=float)
                    if f"{sym.lower()}_{c}" in frame.columns
                    else np.full(len(frame), np.nan)
                    for c in ("open", "high", "low", "close", "volume")
                ]
            )
            for sym in FEED_SYMBOLS
        }
        self._row_cols = [
            c for c in frame.columns if c != "session" and pd.api.types.is_numeric_dtype(frame[c])
        ]
        self._row_values = frame[self._row_cols].to_numpy(dtype=float)

    def __len__(self) -> int:
        return len(self.frame)

    def cycles(self) -> Iterator[int]:
        """Yield ``0 .. n-1``, moving the clock to each bar's close first."""
        clock = self.clock
        for i in range(len(self.frame)):
            clock.set_cursor(self.columns.times, i)
            yield i

    def snapshot(self, i: int) -> Snapshot:
        """Bars of SPY/QQQ/VIX at cycle ``i`` and its quote book."""
        c = self.columns
        t = c.time(i)
        bars = {sym: Bar(t, *(float(v) for v in self._ohlcv[sym][i])) for sym in FEED_SYMBOLS}
        return Snapshot(
            index=i,
            time=t,
            session=c.sessions[i],
            minutes_since_open=c.minutes_since_open[i],
            minutes_to_close=c.minutes_to_close[i],
            bars=bars,
            quotes=self.quote_books(i),
        )

    def row(self, i: int) -> dict[str, float]:
        """The market-frame row ``i`` as a dict (``session`` excluded)."""
        return dict(zip(self._row_cols, self._row_values[i].tolist(), strict=True))


def _columns(frame: pd.DataFrame, calendar: TradingCalendar) -> FeedColumns:
    times = pd.DatetimeIndex(frame.index)
    sessions = list(frame["session"])
    session_arr = np.asarray(sessions, dtype="datetime64[D]")
    closes = {d: calendar.session_close(d) for d in dict.fromkeys(sessions)}
    close_ns = np.array([closes[d].value for d in sessions], dtype=np.int64)
    decision_ns = times.as_unit("ns").asi8 + ONE_MINUTE.value
    to_close = (close_ns - decision_ns) / 60e9
    since_open = frame["minute"].to_numpy(dtype=float) + 1.0
    first = np.ones(len(frame), dtype=bool)
    first[1:] = session_arr[1:] != session_arr[:-1]
    last = np.ones(len(frame), dtype=bool)
    last[:-1] = first[1:]
    # The session's final bar ends at the close even when later bars are missing.
    last |= to_close <= 0

    def col(name: str) -> list[float]:
        if name not in frame.columns:
            return [float("nan")] * len(frame)
        return frame[name].to_numpy(dtype=float).tolist()

    return FeedColumns(
        times=times,
        sessions=sessions,
        minutes_since_open=since_open.tolist(),
        minutes_to_close=to_close.tolist(),
        spy=col("spy_close"),
        qqq=col("qqq_close"),
        vix=col("vix_close"),
        first_of_session=first.tolist(),
        last_of_session=last.tolist(),
    )


class CloseAsOpenBook:
    """A quote book that answers ``at="open"`` with another book's *close* quotes.

    Used once, at the end of the data mid-session: positions still open are sold at the
    last bar's close quote (the last price the market offered), because no later bar
    exists to fill at. Slippage and fees still apply through the broker.
    """

    def __init__(self, book: QuoteBook) -> None:
        self.book = book

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """The wrapped book's close quote, whatever ``at`` asks."""
        return self.book.quote(contract, at="close")
