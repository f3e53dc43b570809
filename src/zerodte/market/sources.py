"""Market data sources behind one seam, plus retry and cache wrappers.

A vendor adapter (Polygon, Tradier, Yahoo, FMP, the data manager) only implements
:class:`MarketDataSource`:
``fetch(symbol, start, end)`` returning canonical bars for the trading days in
``[start, end]``. Retrying on transient failures and caching to local Parquet are wrappers
around any source, so no adapter repeats them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import pandas as pd
from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)
from tenacity.wait import wait_base

from zerodte.errors import DataError
from zerodte.io import atomic_write
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import TIMEZONE, empty_bars, to_canonical
from zerodte.market.synthetic import SyntheticConfig, simulate_market

logger = logging.getLogger(__name__)


class TransientDataError(DataError):
    """A fetch failed in a way that is safe to retry (timeout, rate limit, 5xx).

    ``retry_after`` is the wait in seconds the vendor asked for (``Retry-After``), if any.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _WaitRetryAfter(wait_base):
    """Exponential backoff, but never shorter than the vendor's ``Retry-After``."""

    def __init__(self, inner: wait_base) -> None:
        self.inner = inner

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = float(self.inner(retry_state))
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        asked = getattr(exc, "retry_after", None)
        return max(wait, float(asked)) if asked is not None else wait


@runtime_checkable
class MarketDataSource(Protocol):
    """Anything that returns canonical minute bars for a symbol and a date range."""

    name: str

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Canonical bars of ``symbol`` for trading days in ``[start, end]`` (inclusive)."""
        ...


def _slice(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    ts = frame["timestamp"]
    lo = pd.Timestamp(start, tz=TIMEZONE)
    hi = pd.Timestamp(end, tz=TIMEZONE) + pd.Timedelta(days=1)
    return frame.loc[(ts >= lo) & (ts < hi)].reset_index(drop=True)


class SyntheticSource:
    """The synthetic market as a source: one market generated from ``config`` and sliced.

    Slicing one generated market (rather than generating each request) keeps a day's bars
    the same whatever range is asked for.
    """

    name = "synthetic"

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        self.config = config or SyntheticConfig()
        self._bars: dict[str, pd.DataFrame] | None = None

    def bars(self) -> dict[str, pd.DataFrame]:
        """The whole generated market (generated on first use)."""
        if self._bars is None:
            self._bars = simulate_market(self.config).bars
        return self._bars

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Bars of ``symbol`` between ``start`` and ``end`` of the generated market."""
        bars = self.bars()
        if symbol.upper() not in bars:
            raise DataError(f"synthetic market has no {symbol}; it has {sorted(bars)}")
        return _slice(bars[symbol.upper()], start, end)


class FileSource:
    """Bars imported from one CSV/Parquet file (see :func:`zerodte.market.files.import_file`)."""

    def __init__(self, path: Path | str, **import_options: object) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path.name}"
        self._options = import_options
        self._bars: dict[str, pd.DataFrame] | None = None

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Bars of ``symbol`` in the file between ``start`` and ``end``."""
        if self._bars is None:
            from zerodte.market.files import import_file

            self._bars = import_file(self.path, **self._options).bars  # type: ignore[arg-type]
        if symbol.upper() not in self._bars:
            raise DataError(f"{self.path}: no {symbol} bars (has {sorted(self._bars)})")
        return _slice(self._bars[symbol.upper()], start, end)


class RetryingSource:
    """Retry ``inner.fetch`` on :class:`TransientDataError` with exponential backoff.

    Waits ``wait_base * 2**k`` seconds (capped at ``wait_max``) between at most ``attempts``
    tries; other errors propagate at once. ``sleep`` is injectable so tests do not wait.
    """

    def __init__(
        self,
        inner: MarketDataSource,
        attempts: int = 4,
        wait_base: float = 0.5,
        wait_max: float = 30.0,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.feed = str(getattr(inner, "feed", "unknown"))
        self.attempts = max(1, attempts)
        self.wait_base = wait_base
        self.wait_max = wait_max
        self._sleep = sleep

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """``inner.fetch`` with retries."""
        kwargs: dict[str, object] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        retrying = Retrying(
            retry=retry_if_exception_type(TransientDataError),
            stop=stop_after_attempt(self.attempts),
            wait=_WaitRetryAfter(wait_exponential(multiplier=self.wait_base, max=self.wait_max)),
            before_sleep=before_sleep_log(logger, logging.WARNING),
            reraise=True,
            **kwargs,  # type: ignore[arg-type]
        )
        return retrying(self.inner.fetch, symbol, start, end)


class CachedSource:
    """Cache ``inner`` per source, symbol and day as Parquet under ``cache_dir``.

    Layout ``cache_dir/<source>/<symbol>/<YYYY-MM-DD>.parquet``. Only days missing from the
    cache are fetched (one call spanning them); a day the source returned no rows for is
    cached as an empty file so it is not asked again. ``mode="refresh"`` ignores the cache.

    Bars by default (trading days, rows by ``timestamp``, :func:`to_canonical`); a series
    of another shape (the sentiment series) passes its ``normalize(frame)``, its ``empty()``
    frame, the time column its day is taken from (``key``, New York date) and
    ``every_day=True`` when it has rows on days without a session (news at weekends).
    """

    def __init__(
        self,
        inner: MarketDataSource,
        cache_dir: Path | str,
        calendar: TradingCalendar | None = None,
        mode: Literal["use", "refresh"] = "use",
        *,
        key: str = "timestamp",
        normalize: Callable[[pd.DataFrame], pd.DataFrame] = to_canonical,
        empty: Callable[[], pd.DataFrame] = empty_bars,
        every_day: bool = False,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.feed = str(getattr(inner, "feed", "unknown"))
        self.cache_dir = Path(cache_dir)
        self._cal = calendar or TradingCalendar()
        self.mode = mode
        self._key = key
        self._normalize = normalize
        self._empty = empty
        self._every_day = every_day

    def _path(self, symbol: str, day: date) -> Path:
        safe = self.inner.name.replace("/", "_").replace(":", "_")
        return self.cache_dir / safe / symbol.upper() / f"{day.isoformat()}.parquet"

    def _days(self, start: date, end: date) -> list[date]:
        if not self._every_day:
            return self._cal.sessions(start, end)
        return [d.date() for d in pd.date_range(start, end, freq="D")]

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Rows from the cache, fetching and caching the missing days."""
        days = self._days(start, end)
        missing = [d for d in days if self.mode == "refresh" or not self._path(symbol, d).exists()]
        if missing:
            fetched = self._normalize(self.inner.fetch(symbol, missing[0], missing[-1]))
            stamps = pd.to_datetime(fetched[self._key]).dt.tz_convert(TIMEZONE)
            groups = {d: g for d, g in fetched.groupby(stamps.dt.date)}
            for day in missing:
                part = groups.get(day, self._empty()).reset_index(drop=True)
                atomic_write(self._path(symbol, day), _parquet_writer(part))
            logger.info("cached %d day(s) of %s from %s", len(missing), symbol, self.name)
        parts = [pd.read_parquet(self._path(symbol, d)) for d in days]
        parts = [p for p in parts if len(p)]
        if not parts:
            return self._empty()
        return self._normalize(pd.concat(parts, ignore_index=True))


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_parquet(path, index=False)

    return write
