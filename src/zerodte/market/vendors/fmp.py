"""Financial Modeling Prep's intraday chart.

``GET /api/v3/historical-chart/1min/{T}?from=YYYY-MM-DD&to=YYYY-MM-DD&apikey=KEY`` answers
a list of ``{"date": "2024-03-04 15:59:00", "open", "low", "high", "close", "volume"}``,
**newest first**, with ``date`` a naive New York wall time of the bar start. An error is a
``{"Error Message": ...}`` object. VIX is ``^VIX``. FMP's volume is consolidated: feed
``sip``. Long ranges are asked a few days at a time (FMP truncates large answers).
"""

from __future__ import annotations

from datetime import date

import httpx
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import empty_bars
from zerodte.market.vendors.http import bars_frame, get_json, in_chunks

BASE_URL = "https://financialmodelingprep.com"
KEY_ENV = "ZERODTE_DATA__FMP_API_KEY"
TICKERS = {"VIX": "^VIX", "SPX": "^GSPC"}
CHUNK_DAYS = 5


class FmpSource:
    """Minute bars from FMP's historical chart (module docstring)."""

    name = "fmp"
    feed = "sip"

    def __init__(
        self, http: httpx.Client, api_key: str, calendar: TradingCalendar | None = None
    ) -> None:
        if not api_key:
            raise DataError(f"fmp needs an API key: set {KEY_ENV}")
        self._http = http
        self._key = api_key
        self._cal = calendar or TradingCalendar()

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Regular-session minute bars of ``symbol`` for ``[start, end]``."""
        ticker = TICKERS.get(symbol.upper(), symbol.upper())

        def chunk(first: date, last: date) -> pd.DataFrame:
            params = {"from": first.isoformat(), "to": last.isoformat(), "apikey": self._key}
            url = f"{BASE_URL}/api/v3/historical-chart/1min/{ticker}"
            body = get_json(self._http, url, params, vendor="fmp", key_env=KEY_ENV)
            if isinstance(body, dict):
                raise DataError(f"fmp {ticker}: {str(body)[:200]}")
            if not isinstance(body, list):
                raise DataError(f"fmp {ticker}: unexpected answer {str(body)[:200]!r}")
            return self._frame(body, symbol)

        return in_chunks(start, end, CHUNK_DAYS, chunk)

    def _frame(self, body: list[object], symbol: str) -> pd.DataFrame:
        rows = [r for r in body if isinstance(r, dict) and r.get("date")]
        if not rows:
            return empty_bars()
        naive = pd.to_datetime([str(r["date"]) for r in rows], format="%Y-%m-%d %H:%M:%S")
        ts = pd.Series(naive.tz_localize("America/New_York", ambiguous="raise"))
        cols = {c: [r.get(c) for r in rows] for c in ("open", "high", "low", "close", "volume")}
        return bars_frame(ts, cols, vendor="fmp", symbol=symbol, calendar=self._cal)
