"""Yahoo Finance's chart API (what ``yfinance`` calls), without the ``yfinance`` package.

``GET /v8/finance/chart/{T}?interval=1m&period1=<unix s>&period2=<unix s>`` answers
``chart.result[0]`` with ``timestamp`` (bar starts, Unix seconds UTC) and
``indicators.quote[0].{open,high,low,close,volume}`` lists in which a minute without a
trade is ``null`` (dropped, never filled); ``chart.error`` carries refusals. Yahoo serves
1-minute bars for the last 30 days only, at most 8 days a request, so the range is asked
in 7-day pieces. VIX is ``^VIX``. Volume is consolidated: feed ``sip``. Yahoo's terms
allow personal use only.
"""

from __future__ import annotations

from datetime import date

import httpx
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import empty_bars
from zerodte.market.vendors.http import bars_frame, get_json, in_chunks

BASE_URL = "https://query1.finance.yahoo.com"
TICKERS = {"VIX": "^VIX", "SPX": "^GSPC"}
CHUNK_DAYS = 7


class YahooSource:
    """Minute bars from Yahoo's chart API (module docstring)."""

    name = "yahoo"
    feed = "sip"

    def __init__(self, http: httpx.Client, calendar: TradingCalendar | None = None) -> None:
        self._http = http
        self._cal = calendar or TradingCalendar()

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Regular-session minute bars of ``symbol`` for ``[start, end]``."""
        ticker = TICKERS.get(symbol.upper(), symbol.upper())
        return in_chunks(start, end, CHUNK_DAYS, lambda a, b: self._chunk(ticker, symbol, a, b))

    def _chunk(self, ticker: str, symbol: str, start: date, end: date) -> pd.DataFrame:
        lo = pd.Timestamp(start, tz="America/New_York")
        hi = pd.Timestamp(end, tz="America/New_York") + pd.Timedelta(days=1)
        params = {"interval": "1m", "period1": int(lo.timestamp()), "period2": int(hi.timestamp())}
        body = get_json(self._http, f"{BASE_URL}/v8/finance/chart/{ticker}", params, vendor="yahoo")
        chart = body.get("chart") if isinstance(body, dict) else None
        if not isinstance(chart, dict):
            raise DataError(f"yahoo {ticker}: unexpected answer {str(body)[:200]!r}")
        if chart.get("error"):
            raise DataError(f"yahoo {ticker}: {chart['error']}")
        result = (chart.get("result") or [None])[0]
        if not isinstance(result, dict) or not result.get("timestamp"):
            return empty_bars()
        stamps = result["timestamp"]
        quote = ((result.get("indicators") or {}).get("quote") or [{}])[0]
        n = len(stamps)
        cols = {
            c: list(quote.get(c) or [None] * n)[:n]
            for c in ("open", "high", "low", "close", "volume")
        }
        ts = pd.Series(pd.to_datetime(stamps, unit="s", utc=True))
        return bars_frame(ts, cols, vendor="yahoo", symbol=symbol, calendar=self._cal)
