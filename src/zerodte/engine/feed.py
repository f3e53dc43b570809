"""Feeds: where the engine's cycles come from.

A feed yields cycle indices through :meth:`Feed.cycles` and keeps per-cycle values in
plain sequences (:class:`FeedColumns`: lists, or for a replayed history ``array('d')``,
which reads as fast and holds a float in 8 bytes instead of 32), so a cycle in which
nothing happens costs a few reads. :meth:`Feed.snapshot` builds the full
:class:`~zerodte.types.Snapshot` of a cycle only when the broker or the exit rules need it.
A live feed appends to the same lists as bars arrive and yields the new index; the engine
cannot tell the two apart.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, MutableSequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from zerodte.engine.clock import SimulatedClock
from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.types import Bar, OptionContract, OptionQuote, QuoteBook, Snapshot

FEED_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "VIX")
ONE_MINUTE = pd.Timedelta(minutes=1)
_BAR_FIELDS = ("open", "high", "low", "close", "volume")

_BLOCK_ROWS = 4096
"""Bars per block of the rows snapshots read (half a MB; a year of them is 11 MB)."""

_BOXED_KEPT = 8192
"""Boxed times a :class:`BoxedTimes` holds before it drops those behind the replay (a year
of them kept would be 5 MB: a dict entry and a Timestamp per bar the loop asked for)."""

_UNPRICED: Any = object()
"""The memo's marker of a quote not yet asked for (``None`` is a quote book's answer)."""

QuoteBookFactory = Callable[[int], QuoteBook]
"""``cycle index -> QuoteBook`` of that bar (open and close quotes)."""


class BoxedTimes:
    """``times[i]`` as a :class:`pandas.Timestamp`, boxed once per bar on first use.

    Indexing a ``DatetimeIndex`` costs ~8 µs per Timestamp; building it from the integer
    epoch value costs about half, and the loop needs the times of only the bars in which
    it trades or holds (boxing every bar up front would cost more than it saves). The
    value is converted to the index's own unit so every Timestamp equals ``times[i]``
    exactly, with the same unit and time zone.
    """

    __slots__ = ("_boxed", "_limit", "_tz", "_unit", "_values", "times")

    def __init__(self, times: pd.DatetimeIndex) -> None:
        self.times = times
        # DatetimeIndex.tz and .unit are properties that cost as much as the boxing.
        self._tz = times.tz
        self._unit = times.unit
        # The index's own epoch integers (no copy): a memoryview reads each as a Python int.
        self._values = np.ascontiguousarray(times.asi8).data
        self._boxed: dict[int, pd.Timestamp] = {}
        self._limit = _BOXED_KEPT

    def __getitem__(self, i: int) -> pd.Timestamp:
        t = self._boxed.get(i)
        if t is None:
            if len(self._boxed) >= self._limit:
                self._forget_before(i)
            t = self._boxed[i] = self._box(self._values[i])
        return t

    def _forget_before(self, i: int) -> None:
        """Drop the boxed times of bars before ``i``: a replay moves forward, so the memo
        stays the size of what is ahead (asked again, a bar is boxed again, equal to the
        first). The limit then moves on, so the cost is a pass per ``_BOXED_KEPT`` boxes."""
        self._boxed = {k: t for k, t in self._boxed.items() if k >= i}
        self._limit = len(self._boxed) + _BOXED_KEPT

    def prime(self, cycles: np.ndarray) -> None:
        """Box the Timestamps of ``cycles`` now, in one pass (about 1 µs each instead of
        4-8 µs one at a time); each is the one the index yields, as ``times[i]``."""
        self._boxed.update(zip(cycles.tolist(), self.times[cycles], strict=True))

    def _box(self, value: int) -> pd.Timestamp:
        # The epoch integer is in the index's unit; Timestamp(int) reads it as ns.
        if self._unit == "ns":
            return pd.Timestamp(value, tz=self._tz)
        return pd.Timestamp(value, unit=self._unit, tz=self._tz).as_unit(self._unit)


class MemoBook:
    """A quote book that prices each ``(contract, at)`` once per snapshot.

    In a cycle that holds a position, the exit rules and the broker's mark both ask for
    the same close quote; a modelled quote costs far more than the dictionary lookup.
    Quote books are pure functions of the bar, so the memo changes no value.
    """

    __slots__ = ("_memo", "book")

    def __init__(self, book: QuoteBook) -> None:
        self.book = book
        self._memo: dict[tuple[OptionContract, str], OptionQuote | None] = {}

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """The wrapped book's quote, computed at most once per ``(contract, at)``."""
        key = (contract, at)
        quote = self._memo.get(key, _UNPRICED)
        if quote is _UNPRICED:  # a miss is the usual case: no exception raised for it
            quote = self._memo[key] = self.book.quote(contract, at=at)
        return quote


_SYMBOL_AT = {sym: k * len(_BAR_FIELDS) for k, sym in enumerate(FEED_SYMBOLS)}


class BarRow(Mapping[str, Bar]):
    """The :class:`~zerodte.types.Bar` of each of :data:`FEED_SYMBOLS` at one time, built
    on first read from the row's values (open, high, low, close, volume per symbol).

    Most snapshots are read for SPY alone (the broker's underlying price); building the
    QQQ and VIX bars of every snapshot cost more than the rest of the snapshot.
    """

    __slots__ = ("_bars", "_time", "_values")

    def __init__(self, time: pd.Timestamp, values: list[float]) -> None:
        self._time = time
        self._values = values
        self._bars: dict[str, Bar] = {}

    def __getitem__(self, symbol: str) -> Bar:
        bar = self._bars.get(symbol)
        if bar is None:
            k = _SYMBOL_AT[symbol]  # KeyError for a symbol the feed does not carry
            bar = self._bars[symbol] = Bar(self._time, *self._values[k : k + len(_BAR_FIELDS)])
        return bar

    def __contains__(self, symbol: object) -> bool:
        return symbol in _SYMBOL_AT

    def __iter__(self) -> Iterator[str]:
        return iter(FEED_SYMBOLS)

    def __len__(self) -> int:
        return len(FEED_SYMBOLS)


@dataclass
class FeedColumns:
    """Per-cycle values as Python sequences (index = cycle).

    ``minutes_since_open`` and ``minutes_to_close`` are measured at the decision time, the
    bar's close: 1 and ``session_length - 1`` at the first bar, ``session_length`` and 0 at
    the last. ``last_of_session`` marks the session's final bar. The two markers are
    ``bytearray`` flags (1 or 0, a byte a bar instead of a list's 8-byte reference).
    """

    times: pd.DatetimeIndex
    sessions: list[date] = field(default_factory=list)
    minutes_since_open: MutableSequence[float] = field(default_factory=list)
    minutes_to_close: MutableSequence[float] = field(default_factory=list)
    spy: MutableSequence[float] = field(default_factory=list)
    qqq: MutableSequence[float] = field(default_factory=list)
    vix: MutableSequence[float] = field(default_factory=list)
    first_of_session: MutableSequence[int] = field(default_factory=bytearray)
    last_of_session: MutableSequence[int] = field(default_factory=bytearray)
    data_lag_s: MutableSequence[float] = field(default_factory=list)
    """Age at decision time of the oldest input of each cycle (NaN: none); empty when every
    cycle sees its own bar's data (see engine/alignment.py)."""
    _boxed: BoxedTimes | None = field(default=None, repr=False)

    def time(self, i: int) -> pd.Timestamp:
        """Bar start of cycle ``i`` (see :class:`BoxedTimes`: boxing one at a time is slow).

        A live feed that appends bars replaces ``times`` with a longer index; the boxed
        times are then rebuilt from it.
        """
        return self._boxed_times()[i]

    def prime_times(self, cycles: np.ndarray) -> None:
        """Box the bar starts of ``cycles`` (those the loop will ask for) in one pass."""
        self._boxed_times().prime(cycles)

    def _boxed_times(self) -> BoxedTimes:
        boxed = self._boxed
        if boxed is None or boxed.times is not self.times:
            boxed = self._boxed = BoxedTimes(self.times)
        return boxed


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
    starts
        Boxed bar starts of ``frame``'s index to share with ``quote_books`` (built from
        the same :class:`BoxedTimes`), so each bar's Timestamp is boxed once, not once by
        the feed and again by the quote books.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        quote_books: QuoteBookFactory,
        clock: SimulatedClock | None = None,
        calendar: TradingCalendar | None = None,
        starts: BoxedTimes | None = None,
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
        if starts is not None and not starts.times.equals(idx):
            raise DataError(
                "the shared bar starts are not the market frame's index; box the frame's "
                "own index (BoxedTimes(pd.DatetimeIndex(frame.index)))"
            )
        self.columns = _columns(frame, calendar or TradingCalendar(), starts)
        # Open, high, low, close, volume of each of FEED_SYMBOLS in turn: the frame's own
        # arrays (no copy of a year of prices), read a block of rows at a time (_load_block).
        absent = np.broadcast_to(np.nan, len(frame))
        self._bar_columns = [
            frame[f"{sym.lower()}_{c}"].to_numpy(dtype=float)
            if f"{sym.lower()}_{c}" in frame.columns
            else absent
            for sym in FEED_SYMBOLS
            for c in _BAR_FIELDS
        ]
        self._block_lo = 0
        self._block = np.empty((0, len(self._bar_columns)))
        self._row_cols = [
            c for c in frame.columns if c != "session" and pd.api.types.is_numeric_dtype(frame[c])
        ]
        # Built on the first row(): only the streaming path reads rows (a year: ~12 MB).
        self._row_values: np.ndarray | None = None

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
        j = i - self._block_lo
        if not 0 <= j < len(self._block):
            j = self._load_block(i)
        bars = BarRow(t, self._block[j].tolist())
        return Snapshot(
            index=i,
            time=t,
            session=c.sessions[i],
            minutes_since_open=c.minutes_since_open[i],
            minutes_to_close=c.minutes_to_close[i],
            bars=bars,
            quotes=MemoBook(self.quote_books(i)),
        )

    def _load_block(self, i: int) -> int:
        """Make the block of bar rows that holds row ``i`` (one row per bar, as
        ``snapshot`` reads them); returns ``i``'s row in it."""
        lo = i - i % _BLOCK_ROWS
        self._block_lo = lo
        self._block = np.column_stack([c[lo : lo + _BLOCK_ROWS] for c in self._bar_columns])
        return i - lo

    def row(self, i: int) -> dict[str, float]:
        """The market-frame row ``i`` as a dict (``session`` excluded)."""
        if self._row_values is None:
            self._row_values = self.frame[self._row_cols].to_numpy(dtype=float)
        return dict(zip(self._row_cols, self._row_values[i].tolist(), strict=True))


def _columns(
    frame: pd.DataFrame, calendar: TradingCalendar, starts: BoxedTimes | None = None
) -> FeedColumns:
    times = pd.DatetimeIndex(frame.index) if starts is None else starts.times
    sessions = list(frame["session"])
    # Each session's close once, spread by the session's code: converting a year of dates
    # to datetime64 one by one cost more than the rest of the feed.
    codes, days = pd.factorize(frame["session"], sort=False)
    close_ns = np.array([calendar.session_close(d).value for d in days], dtype=np.int64)[codes]
    decision_ns = times.as_unit("ns").asi8 + ONE_MINUTE.value
    to_close = (close_ns - decision_ns) / 60e9
    since_open = frame["minute"].to_numpy(dtype=float) + 1.0
    first = np.ones(len(frame), dtype=bool)
    first[1:] = codes[1:] != codes[:-1]
    last = np.ones(len(frame), dtype=bool)
    last[:-1] = first[1:]
    # The session's final bar ends at the close even when later bars are missing.
    last |= to_close <= 0

    def col(name: str) -> MutableSequence[float]:
        if name not in frame.columns:
            return [float("nan")] * len(frame)
        return floats(frame[name].to_numpy(dtype=float))

    return FeedColumns(
        times=times,
        sessions=sessions,
        minutes_since_open=floats(since_open),
        minutes_to_close=floats(to_close),
        spy=col("spy_close"),
        qqq=col("qqq_close"),
        vix=col("vix_close"),
        first_of_session=bytearray(first.tobytes()),
        last_of_session=bytearray(last.tobytes()),
        data_lag_s=_lags(frame),
        _boxed=starts,
    )


def floats(values: np.ndarray) -> MutableSequence[float]:
    """``values`` as an ``array('d')``: each read gives the same Python float as a list's,
    at a quarter of a list's memory."""
    return array("d", np.ascontiguousarray(values, dtype=np.float64).tobytes())


def _lags(frame: pd.DataFrame) -> MutableSequence[float]:
    """Historical data is the decision bar's own (lag 0), except an explicit ``data_lag_s``
    column (an as-of join) or a missing VIX, without which no option can be priced."""
    if "data_lag_s" in frame.columns:
        return floats(frame["data_lag_s"].to_numpy(dtype=float))
    if "vix_close" not in frame.columns:
        return []
    vix = frame["vix_close"].to_numpy(dtype=float)
    if not np.isnan(vix).any():
        return []
    return np.where(np.isnan(vix), np.nan, 0.0).tolist()


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
