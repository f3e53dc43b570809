"""Polygon.io (Massive) minute aggregates: the REST API and the flat files.

REST: ``GET /v2/aggs/ticker/{T}/range/1/minute/{from}/{to}?adjusted=true&sort=asc
&limit=50000``; the body's ``results`` rows are ``t`` (bar start, Unix milliseconds UTC),
``o h l c v`` (``vw``, ``n`` ignored); a longer answer is paged by ``next_url`` (a full URL
with a cursor; the key is added again). VIX is the index ticker ``I:VIX``. Volume is the
consolidated (SIP) volume: feed ``sip``.

Flat files: the daily ``us_stocks_sip/minute_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz`` files with
columns ``ticker, volume, open, close, high, low, window_start, transactions``, where
``window_start`` is the bar start in Unix nanoseconds UTC (:func:`read_flat_file`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import empty_bars, to_canonical
from zerodte.market.vendors.http import bars_frame, get_json, number

logger = logging.getLogger(__name__)

BASE_URL = "https://api.polygon.io"
KEY_ENV = "ZERODTE_DATA__POLYGON_API_KEY"
TICKERS = {"VIX": "I:VIX", "SPX": "I:SPX"}
MAX_PAGES = 1000


class PolygonSource:
    """Minute bars from Polygon's aggregates endpoint (module docstring)."""

    name = "polygon"
    feed = "sip"

    def __init__(
        self, http: httpx.Client, api_key: str, calendar: TradingCalendar | None = None
    ) -> None:
        if not api_key:
            raise DataError(f"polygon needs an API key: set {KEY_ENV}")
        self._http = http
        self._key = api_key
        self._cal = calendar or TradingCalendar()

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Regular-session minute bars of ``symbol`` for ``[start, end]``."""
        ticker = TICKERS.get(symbol.upper(), symbol.upper())
        url = f"{BASE_URL}/v2/aggs/ticker/{ticker}/range/1/minute/{start}/{end}"
        params = {"adjusted": "true", "sort": "asc", "limit": "50000"}
        rows = [
            r
            for body in pages(self._http, url, params, self._key, what=f"polygon {ticker}")
            for r in body.get("results") or []
            if isinstance(r, dict)
        ]
        if not rows:
            return empty_bars()
        stamps = np.array([number(r.get("t")) for r in rows], dtype=np.float64)
        if not np.isfinite(stamps).all():
            raise DataError(
                f"polygon {ticker}: a bar without its time 't' in {str(rows[:2])[:200]}"
            )
        ts = pd.Series(pd.to_datetime(stamps.astype(np.int64), unit="ms", utc=True))
        cols = {c: [r.get(k) for r in rows] for c, k in _COLUMNS.items()}
        return bars_frame(ts, cols, vendor="polygon", symbol=symbol, calendar=self._cal)


def pages(
    http: httpx.Client, url: str, params: dict[str, str], api_key: str, *, what: str
) -> Iterator[dict[str, Any]]:
    """Each page of a Polygon answer, following ``next_url`` (at most ``MAX_PAGES``).

    The cursor URL carries its own query (httpx would replace it), so its parameters are
    taken over and the key is added again. A page whose ``status`` is not ``OK`` or
    ``DELAYED`` is an error naming ``what``.
    """
    next_url: str | None = url
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        body = get_json(
            http, next_url, {**params, "apiKey": api_key}, vendor="polygon", key_env=KEY_ENV
        )
        if not isinstance(body, dict) or body.get("status") not in ("OK", "DELAYED"):
            raise DataError(f"{what}: unexpected answer {str(body)[:200]!r}")
        yield body
        next_url = body.get("next_url")
        if next_url:
            parsed = httpx.URL(next_url)
            params = dict(parsed.params)
            next_url = str(parsed.copy_with(query=None))
    raise DataError(f"{what}: more than {MAX_PAGES} pages; ask for fewer days")


_COLUMNS = {"open": "o", "high": "h", "low": "l", "close": "c", "volume": "v"}


def read_flat_file(
    path: Path | str, symbol: str, calendar: TradingCalendar | None = None
) -> pd.DataFrame:
    """Regular-session bars of ``symbol`` from one Polygon minute-aggregates flat file."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable Polygon flat file ({exc})") from exc
    need = ["ticker", "window_start", "open", "high", "low", "close", "volume"]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing} of the minute_aggs_v1 flat-file format "
            f"(has {list(frame.columns)})"
        )
    ticker = TICKERS.get(symbol.upper(), symbol.upper())
    part = frame[frame["ticker"] == ticker]
    if part.empty:
        return empty_bars()
    ts = pd.Series(pd.to_datetime(part["window_start"].to_numpy(), unit="ns", utc=True))
    cols = {c: part[c].tolist() for c in ("open", "high", "low", "close", "volume")}
    out = bars_frame(
        ts, cols, vendor="polygon-flat", symbol=symbol, calendar=calendar or TradingCalendar()
    )
    return to_canonical(out)
