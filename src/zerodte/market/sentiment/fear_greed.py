"""CNN's Fear & Greed index (daily, 0 = extreme fear .. 100 = extreme greed).

``GET https://production.dataviz.cnn.io/index/fearandgreed/graphdata/{YYYY-MM-DD}``
answers the readings from that day on::

    {"fear_and_greed": {"score": 44.4, "rating": "fear",
                        "timestamp": "2025-02-27T21:00:03+00:00", ...},
     "fear_and_greed_historical": {
         "timestamp": 1740690003000, "score": 44.4, "rating": "fear",
         "data": [{"x": 1740614400000, "y": 12.75, "rating": "extreme fear"}, ...]},
     ...the seven components...}

``x`` is Unix milliseconds UTC. A point stamped at 00:00 UTC is that day's **closing**
reading: it is known at the day's session close (16:00 New York, 13:00 on half days; 16:00
on a day without a session). A point stamped at another time (the latest reading, updated
during the day) is known at its stamp. CNN refuses clients without a browser User-Agent
(HTTP 418 "I'm a teapot"): the adapter sends one. No key is needed.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time

import httpx
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.sentiment.series import empty, normalize
from zerodte.market.vendors.http import get_json, number

URL = "https://production.dataviz.cnn.io/index/fearandgreed/graphdata"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) zerodte"
SOURCE = "cnn:graphdata"


class FearGreedSource:
    """Daily Fear & Greed readings as the ``fear-greed`` series (module docstring)."""

    name = "fear-greed"
    series = "fear-greed"
    feed = "cnn"

    def __init__(self, http: httpx.Client, calendar: TradingCalendar | None = None) -> None:
        self._http = http
        self._cal = calendar or TradingCalendar()

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Readings dated ``[start, end]`` (``symbol`` is ignored: the index is market-wide)."""
        body = get_json(
            self._http,
            f"{URL}/{start.isoformat()}",
            None,
            vendor="cnn",
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        hist = body.get("fear_and_greed_historical") if isinstance(body, dict) else None
        if not isinstance(hist, dict) or not isinstance(hist.get("data"), list):
            raise DataError(
                f"cnn fear & greed: no fear_and_greed_historical.data in {str(body)[:200]!r}"
            )
        rows = []
        for k, point in enumerate(hist["data"]):
            if not isinstance(point, dict):
                continue
            x, y = number(point.get("x")), number(point.get("y"))
            if math.isnan(x) or math.isnan(y):  # a point without a time or value is no reading
                raise DataError(f"cnn fear & greed: point {k} lacks x or y: {point!r}")
            stamp = pd.Timestamp(int(x), unit="ms", tz="UTC")
            day = stamp.date()
            if not start <= day <= end:
                continue
            rows.append(
                {
                    "known_at": self._known_at(stamp),
                    "time": stamp,
                    "value": y,
                    "rating": str(point.get("rating") or ""),
                    "source": SOURCE,
                }
            )
        if not rows:
            return empty(self.series)
        return normalize(self.series, pd.DataFrame(rows), "cnn fear & greed")

    def _known_at(self, stamp: pd.Timestamp) -> pd.Timestamp:
        if stamp != stamp.normalize():
            return stamp  # an intraday reading: known when it was taken
        day = stamp.date()
        if self._cal.is_session(day):
            return self._cal.session_close(day).tz_convert("UTC")
        close = datetime.combine(day, time(16, 0))
        return pd.Timestamp(close, tz="America/New_York").tz_convert("UTC")
