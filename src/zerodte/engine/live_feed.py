"""``LiveFeed``: Tradier market data as the engine's :class:`~zerodte.engine.feed.Feed`.

One cycle per closed minute bar of the session, as in a backtest:

1. ``open_session()`` asks the venue's clock and calendar which session is on (Tradier's
   clock decides "open now?"; our NYSE calendar is cross-checked and a disagreement
   logged);
2. ``warm_up()`` reads the session's closed bars so far from timesales (SPY, QQQ, VIX), so
   features resume where they were; those bars are history, except the one that has just
   closed, which is traded when a restarted bot resumes at it;
3. ``cycles()`` then waits for each bar's close (``live.bar_settle_s`` more for the
   venue to publish it), fetches concurrently the three bars, the quotes of SPY, QQQ and
   VIX, and the option chain of the traded expiry, and yields the bar's index. A bar not
   published within ``live.bar_timeout_s`` is reported missing and gets no cycle; nothing
   is ever invented for it. A QQQ or VIX minute missing from timesales takes the previous
   minute of the session (as backtest frames do) and counts in the cycle's data lag.

Option quotes are the chain's bid and ask at their own time (``max(bid_date, ask_date)``);
IV and greeks come from zerodte's model (``options.iv``, ``options.black_scholes``): the
venue's ORATS greeks update hourly and are null on 0DTE contracts. Each cycle's
``data_lag_s`` (decision time minus its oldest input) feeds the alignment tracker.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import numpy as np
import pandas as pd

from zerodte.broker.tradier.parse import CalendarDay, MarketClock, Quote, TimesaleBar
from zerodte.config.settings import LiveSettings, OptionsSettings
from zerodte.engine.build import expiry_for
from zerodte.engine.clock import Clock
from zerodte.engine.feed import FEED_SYMBOLS, ONE_MINUTE, FeedColumns
from zerodte.errors import DataError, TransientBrokerError
from zerodte.market.calendar import TradingCalendar
from zerodte.options.black_scholes import bs_greeks
from zerodte.options.expiry import expiry_close, year_fraction
from zerodte.options.iv import implied_vol
from zerodte.options.occ import parse_occ
from zerodte.types import Bar, OptionContract, OptionQuote, Snapshot

logger = logging.getLogger(__name__)

NY = "America/New_York"
_FIELDS = ("open", "high", "low", "close", "volume")
BarsBySymbol = dict[str, dict[pd.Timestamp, TimesaleBar]]


class LiveMarket(Protocol):
    """The market data a live feed reads (``TradierMarketData`` implements it)."""

    def quotes(self, symbols: Sequence[str], greeks: bool = False) -> list[Quote]: ...

    def chain(self, symbol: str, expiration: date, greeks: bool = False) -> list[Quote]: ...

    def timesales(
        self,
        symbol: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        interval: str = "1min",
        session_filter: str = "open",
    ) -> list[TimesaleBar]: ...

    def clock(self) -> MarketClock: ...

    def calendar(self, month: int, year: int) -> list[CalendarDay]: ...


@dataclass
class FeedHealth:
    """What the feed saw of the data: freshness, missing bars, failed fetches."""

    last_quote_age_s: float = math.nan
    missing_bars: list[str] = field(default_factory=list)
    fetch_errors: int = 0
    fetches: int = 0
    missed_cycles: int = 0

    def summary(self) -> dict[str, Any]:
        """JSON-ready counters."""
        return {
            "missing_bars": len(self.missing_bars),
            "missing_bar_times": self.missing_bars[:20],
            "fetch_errors": self.fetch_errors,
            "fetches": self.fetches,
            "missed_cycles": self.missed_cycles,
        }


class LiveQuoteBook:
    """Option quotes of one live cycle: its close (the chain at the bar's close) and its
    open (the previous bar's close chain, the same instant)."""

    __slots__ = ("_close", "_open")

    def __init__(
        self,
        close: dict[OptionContract, OptionQuote],
        open: dict[OptionContract, OptionQuote] | None,
    ) -> None:
        self._close = close
        self._open = open or {}

    def __len__(self) -> int:
        return len(self._close)

    def quote(self, contract: OptionContract, at: str = "close") -> OptionQuote | None:
        """The quote of ``contract`` at the bar's ``open`` or ``close``, or ``None``."""
        if at == "close":
            return self._close.get(contract)
        if at == "open":
            return self._open.get(contract)
        raise ValueError(f'at must be "open" or "close", got {at!r}')


@dataclass(frozen=True)
class Session:
    """The session the feed trades."""

    day: date
    open: pd.Timestamp
    close: pd.Timestamp
    state: str


class LiveFeed:
    """Minute bars and option quotes from a :class:`LiveMarket` (module docstring).

    Parameters
    ----------
    market
        The venue's market data.
    clock, sleep
        What time it is and how to wait (``WallClock`` and ``time.sleep`` live; the fake
        venue's clock and its advance in a replay).
    options, live
        The ``options`` and ``live`` settings.
    calendar
        The NYSE calendar (cross-check of the venue's).
    """

    def __init__(
        self,
        market: LiveMarket,
        *,
        clock: Clock,
        sleep: Callable[[float], None],
        options: OptionsSettings,
        live: LiveSettings,
        calendar: TradingCalendar | None = None,
        underlying: str = "SPY",
    ) -> None:
        self.market = market
        self.clock = clock
        self.sleep = sleep
        self.options = options
        self.live = live
        self.calendar = calendar or TradingCalendar()
        self.underlying = underlying
        self.columns = FeedColumns(times=pd.DatetimeIndex([], tz=NY, name="timestamp"))
        self.health = FeedHealth()
        self.session: Session | None = None
        self.data_ready: dict[int, float] = {}
        self.resume = 0
        self._bars: dict[str, list[tuple[float, ...]]] = {s: [] for s in FEED_SYMBOLS}
        self._minutes: list[float] = []
        self._books: dict[int, LiveQuoteBook] = {}
        self._last_close: dict[OptionContract, OptionQuote] | None = None
        self._last_close_i = -2
        self._missed: set[int] = set()
        self._source_end: dict[str, pd.Timestamp] = {}
        self._inputs_end: list[pd.Timestamp] = []
        self._pool = ThreadPoolExecutor(max_workers=5, thread_name_prefix="live-feed")

    # -- the session ---------------------------------------------------------------------
    def open_session(self) -> Session | None:
        """The session to trade today, from the venue's clock and calendar (``None``: the
        market is closed today)."""
        clock = self.market.clock()
        day = clock.day
        venue_day = next(
            (d for d in self.market.calendar(day.month, day.year) if d.day == day), None
        )
        ours = self.calendar.is_session(day)
        venue_open = venue_day is not None and venue_day.status == "open"
        if venue_open != ours:
            logger.warning(
                "the venue's calendar says %s is %s, the NYSE calendar says %s; following the "
                "venue",
                day,
                "open" if venue_open else "closed",
                "open" if ours else "closed",
            )
        if not venue_open or venue_day is None or venue_day.open is None or venue_day.close is None:
            return None
        if ours and venue_day.close != self.calendar.session_close(day):
            logger.warning(
                "the venue closes %s at %s, the NYSE calendar at %s; following the venue",
                day,
                venue_day.close,
                self.calendar.session_close(day),
            )
        self.session = Session(day, venue_day.open, venue_day.close, clock.state)
        return self.session

    def warm_up(self) -> int:
        """Read the session's closed bars so far; returns how many there are."""
        session = self._need_session()
        now = self.clock.now()
        last = min(now, session.close) - ONE_MINUTE
        if last < session.open:
            return 0
        futures = self._submit_bars(session.open, last.floor("min"))
        # All or nothing: a warm-up with a symbol missing would shift every cycle after it,
        # so a failed fetch fails the attempt (and the run recovers and tries again).
        got: BarsBySymbol = {}
        for sym, future in futures.items():
            got[sym] = {b.time: b for b in future.result() if math.isfinite(b.close)}
        for start in sorted(got["SPY"]):
            self._append(start, got, lag=0.0)
        logger.info("warmed up on %d closed bars of %s", len(self.columns.times), session.day)
        return len(self.columns.times)

    def close(self) -> None:
        """Stop the fetch threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- Feed protocol -------------------------------------------------------------------
    def cycles(self) -> Iterator[int]:
        """Yield each cycle's index from ``resume``: missed history bars first (their
        cycles are skipped), then each new bar as it closes, until the session ends."""
        session = self._need_session()
        n = len(self.columns.times)
        recent = pd.Timedelta(seconds=max(self.live.bar_timeout_s, 1.0))
        for i in range(self.resume, n):
            start = self.columns.times[i]
            if i == n - 1 and self.clock.now() - (start + ONE_MINUTE) <= recent:
                self._attach_quotes(i, start)
            else:
                self._missed.add(i)
                self.health.missed_cycles += 1
            yield i
        start = self.columns.times[-1] + ONE_MINUTE if n else session.open
        while start + ONE_MINUTE <= session.close:
            new = self._next_bar(start)
            if new is not None:
                yield new
            start += ONE_MINUTE
        if self.columns.last_of_session:
            self.columns.last_of_session[-1] = True  # the session ended here

    def has_quotes(self, i: int) -> bool:
        """Whether cycle ``i`` has option quotes (a live bar with a usable chain).

        The session's last bar counts as quoted: a 0DTE chain ends at the close, and that
        bar sends nothing (no later bar could fill an exit; entries are vetoed there).
        """
        if i < len(self.columns.last_of_session) and self.columns.last_of_session[i]:
            return True
        book = self._books.get(i)
        return book is not None and len(book) > 0

    def is_missed(self, i: int) -> bool:
        """Whether cycle ``i`` is a bar that closed while the bot was not running."""
        return i in self._missed

    def snapshot(self, i: int) -> Snapshot:
        """Bars of cycle ``i`` and its option quotes (none for missed bars)."""
        c = self.columns
        t = c.time(i)
        bars = {sym: Bar(t, *self._bars[sym][i]) for sym in FEED_SYMBOLS}
        quotes = self._books.get(i) or LiveQuoteBook({}, None)
        return Snapshot(
            index=i,
            time=t,
            session=c.sessions[i],
            minutes_since_open=c.minutes_since_open[i],
            minutes_to_close=c.minutes_to_close[i],
            bars=bars,
            quotes=quotes,
        )

    def row(self, i: int) -> dict[str, float]:
        """The market-frame row of cycle ``i`` (as ``HistoricalFeed.row``)."""
        out: dict[str, float] = {}
        for sym in FEED_SYMBOLS:
            values = self._bars[sym][i]
            for name, value in zip(_FIELDS, values, strict=True):
                out[f"{sym.lower()}_{name}"] = value
        out["minute"] = self._minutes[i]
        return out

    # -- internals -----------------------------------------------------------------------
    def _need_session(self) -> Session:
        if self.session is None:
            raise DataError("LiveFeed.open_session() first: no session is known")
        return self.session

    def _wait_until(self, when: pd.Timestamp) -> None:
        delay = (when - self.clock.now()).total_seconds()
        if delay > 0:
            self.sleep(delay)

    def _next_bar(self, start: pd.Timestamp) -> int | None:
        """Wait for bar ``start`` and append it with its quotes; ``None`` when missing."""
        end = start + ONE_MINUTE
        self._wait_until(end + pd.Timedelta(seconds=self.live.bar_settle_s))
        deadline = end + pd.Timedelta(seconds=self.live.bar_timeout_s)
        while True:
            t0 = time.perf_counter()
            futures = self._submit_bars(start, start)
            quotes = self._submit(self.market.quotes, list(FEED_SYMBOLS))
            chain = self._submit(
                self.market.chain,
                self.underlying,
                expiry_for(start.date(), self.options.expiry_days),
            )
            got = self._collect_bars(futures)
            if start in got["SPY"]:
                i = self._append(start, got, lag=math.nan)
                self._finish_cycle(i, start, quotes, chain, t0)
                return i
            if self.clock.now() >= deadline:
                logger.warning(
                    "%s bar %s not published within %.0f s of its close; no cycle for it "
                    "(nothing is invented)",
                    self.underlying,
                    start,
                    self.live.bar_timeout_s,
                )
                self.health.missing_bars.append(str(start))
                for f in (quotes, chain):
                    f.cancel()
                return None
            self.sleep(self.live.poll_s)

    def _attach_quotes(self, i: int, start: pd.Timestamp) -> None:
        """Quotes for a warmed-up bar that has just closed (a restart resumes at it)."""
        t0 = time.perf_counter()
        quotes, chain = self._submit_quotes(start)
        self._finish_cycle(i, start, quotes, chain, t0)

    def _submit_quotes(self, start: pd.Timestamp) -> tuple[Future[Any], Future[Any]]:
        """Fetch, concurrently, the SPY/QQQ/VIX quotes and the traded expiry's chain."""
        expiry = expiry_for(start.date(), self.options.expiry_days)
        return (
            self._submit(self.market.quotes, list(FEED_SYMBOLS)),
            self._submit(self.market.chain, self.underlying, expiry),
        )

    def _finish_cycle(
        self,
        i: int,
        start: pd.Timestamp,
        quotes: Future[list[Quote]],
        chain: Future[list[Quote]],
        t0: float,
    ) -> None:
        now = self.clock.now()
        spot = self.columns.spy[i]
        rows = self._result(chain, [])
        book = self._option_quotes(rows, spot, start + ONE_MINUTE)
        underlying = {q.symbol: q for q in self._result(quotes, [])}
        spy_quote = underlying.get(self.underlying)
        if spy_quote is not None and spy_quote.quote_time is not None:
            self.health.last_quote_age_s = (now - spy_quote.quote_time).total_seconds()
        # The cycle's data is as old as its oldest input: the bars (a forward-filled QQQ
        # or VIX minute is older) and the chain; no chain, no option data at all.
        chain_time = max((q.time for q in book.values()), default=None)
        lag = math.nan
        if chain_time is not None:
            oldest = min(self._inputs_end[i], chain_time)
            lag = max((now - oldest).total_seconds(), 0.0)
        self.columns.data_lag_s[i] = lag
        opened = self._last_close if self._last_close_i == i - 1 else None
        self._books[i] = LiveQuoteBook(book, opened)
        self._last_close, self._last_close_i = book, i
        for old in [k for k in self._books if k < i - 2]:
            del self._books[old]
        self.data_ready[i] = time.perf_counter()
        logger.debug("cycle %d data in %.1f ms", i, 1e3 * (self.data_ready[i] - t0))

    def _option_quotes(
        self, rows: list[Quote], spot: float, at: pd.Timestamp
    ) -> dict[OptionContract, OptionQuote]:
        """Chain rows as quotes with zerodte's IV and greeks (never the venue's)."""
        usable = [
            q
            for q in rows
            if q.option_type in ("call", "put")
            and math.isfinite(q.ask)
            and q.ask > 0
            and math.isfinite(q.bid)
            and 0 <= q.bid <= q.ask
            and q.quote_time is not None
        ]
        if not usable or not math.isfinite(spot):
            return {}
        contracts = [parse_occ(q.symbol) for q in usable]
        strikes = np.array([c.strike for c in contracts])
        is_call = np.array([q.option_type == "call" for q in usable])
        mid = np.array([0.5 * (q.bid + q.ask) for q in usable])
        minutes = np.array(
            [(expiry_close(c.expiry) - at).total_seconds() / 60.0 for c in contracts]
        )
        t = year_fraction(minutes)
        r, d = self.options.risk_free_rate, self.options.dividend_yield
        iv = implied_vol(mid, spot, strikes, t, r, d, is_call)
        g = bs_greeks(spot, strikes, t, iv, r, d, is_call)
        out = {}
        for k, (c, q) in enumerate(zip(contracts, usable, strict=True)):
            assert q.quote_time is not None
            out[c] = OptionQuote(
                contract=c,
                time=q.quote_time,
                bid=q.bid,
                ask=q.ask,
                underlying_price=spot,
                iv=float(iv[k]),
                delta=float(g.delta[k]),
                gamma=float(g.gamma[k]),
                theta=float(g.theta[k]),
                vega=float(g.vega[k]),
                source="venue",  # the broker's quote: real in production, the fake's in replay
            )
        return out

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        self.health.fetches += 1
        return self._pool.submit(fn, *args)

    def _result(self, future: Future[Any], default: Any) -> Any:
        try:
            return future.result()
        except (TransientBrokerError, DataError) as exc:
            self.health.fetch_errors += 1
            logger.warning("live fetch failed: %s", exc)
            return default

    def _submit_bars(self, first: pd.Timestamp, last: pd.Timestamp) -> dict[str, Future[Any]]:
        return {s: self._submit(self.market.timesales, s, first, last) for s in FEED_SYMBOLS}

    def _collect_bars(
        self, futures: dict[str, Future[Any]]
    ) -> dict[str, dict[pd.Timestamp, TimesaleBar]]:
        out: dict[str, dict[pd.Timestamp, TimesaleBar]] = {}
        for sym, future in futures.items():
            bars: list[TimesaleBar] = self._result(future, [])
            out[sym] = {b.time: b for b in bars if math.isfinite(b.close)}
        return out

    def _fetch_bars(
        self, first: pd.Timestamp, last: pd.Timestamp
    ) -> dict[str, dict[pd.Timestamp, TimesaleBar]]:
        return self._collect_bars(self._submit_bars(first, last))

    def _append(self, start: pd.Timestamp, got: BarsBySymbol, lag: float) -> int:
        """Append bar ``start`` (SPY present; QQQ/VIX from the previous minute if absent)."""
        session = self._need_session()
        c = self.columns
        i = len(c.times)
        same_day = i > 0 and c.sessions[-1] == session.day
        end = start + ONE_MINUTE
        for sym in FEED_SYMBOLS:
            bar = got[sym].get(start)
            if bar is not None:
                values = (bar.open, bar.high, bar.low, bar.close, bar.volume)
                self._source_end[sym] = end
            elif same_day:
                prev = self._bars[sym][-1]
                values = (prev[3], prev[3], prev[3], prev[3], 0.0)
            else:
                values = (math.nan,) * 5
            self._bars[sym].append(values)
        self._inputs_end.append(min(self._source_end.get(sym, end) for sym in FEED_SYMBOLS))
        c.times = pd.DatetimeIndex(c.times.append(pd.DatetimeIndex([start])), name="timestamp")
        c.sessions.append(session.day)
        c.minutes_since_open.append((end - session.open) / ONE_MINUTE)
        c.minutes_to_close.append((session.close - end) / ONE_MINUTE)
        c.spy.append(self._bars["SPY"][i][3])
        c.qqq.append(self._bars["QQQ"][i][3])
        c.vix.append(self._bars["VIX"][i][3])
        c.first_of_session.append(not same_day)
        c.last_of_session.append(end >= session.close)
        c.data_lag_s.append(lag)
        self._minutes.append(float((start - session.open) / ONE_MINUTE))
        return i
