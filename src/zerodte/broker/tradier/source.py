"""Tradier market data as a :class:`~zerodte.market.sources.MarketDataSource`.

Reuses the broker's :class:`~zerodte.broker.tradier.market_data.TradierMarketData` (one
session, its rate limiter and read retries). Minute bars come from ``/markets/timesales``
(``interval=1min``, ``session_filter=open``), asked one session at a time because Tradier
keeps minute timesales for about 20 days and truncates long answers; ``time`` is the bar
start in New York time. Volume is consolidated: feed ``sip``. A Tradier refusal
(:class:`~zerodte.errors.BrokerError`) becomes a :class:`~zerodte.errors.DataError`, a
transient failure a :class:`~zerodte.market.sources.TransientDataError`, so the router
falls back to the next source.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from zerodte.broker.tradier.market_data import TradierMarketData
from zerodte.errors import BrokerError, DataError, TransientBrokerError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import empty_bars, to_canonical
from zerodte.market.sources import TransientDataError
from zerodte.market.vendors.http import bars_frame


class TradierSource:
    """Minute bars from Tradier timesales (module docstring)."""

    name = "tradier"
    feed = "sip"

    def __init__(self, market: TradierMarketData, calendar: TradingCalendar | None = None) -> None:
        self._market = market
        self._cal = calendar or TradingCalendar()

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Regular-session minute bars of ``symbol`` for the sessions in ``[start, end]``."""
        parts = []
        for day in self._cal.sessions(start, end):
            lo, hi = self._cal.session_open(day), self._cal.session_close(day)
            try:
                rows = self._market.timesales(symbol, lo, hi - pd.Timedelta(minutes=1))
            except TransientBrokerError as exc:
                raise TransientDataError(f"tradier {symbol} {day}: {exc}") from exc
            except BrokerError as exc:
                raise DataError(f"tradier {symbol} {day}: {exc}") from exc
            if not rows:
                continue
            ts = pd.Series([r.time for r in rows])
            cols = {
                "open": [r.open for r in rows],
                "high": [r.high for r in rows],
                "low": [r.low for r in rows],
                "close": [r.close for r in rows],
                "volume": [r.volume for r in rows],
            }
            parts.append(bars_frame(ts, cols, vendor="tradier", symbol=symbol, calendar=self._cal))
        parts = [p for p in parts if len(p)]
        if not parts:
            return empty_bars()
        return to_canonical(pd.concat(parts, ignore_index=True))
