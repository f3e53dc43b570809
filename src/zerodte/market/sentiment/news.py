"""Polygon's ticker news with per-ticker sentiment: the ``polygon-news`` series.

``GET /v2/reference/news?ticker=SPY&published_utc.gte=..&published_utc.lte=..
&order=asc&sort=published_utc&limit=1000`` answers ``results`` of articles::

    {"id": "JeJE..", "publisher": {"name": "MarketWatch", ...}, "title": "..",
     "published_utc": "2022-04-28T17:08:00Z", "tickers": ["SPY", ..],
     "insights": [{"ticker": "SPY", "sentiment": "positive", "sentiment_reasoning": ".."}]}

paged by ``next_url`` like the aggregates. An article's score for the ticker is +1
(``positive``), 0 (``neutral``) or -1 (``negative``) from its ``insights`` entry for that
ticker; an article without one is not scored and is left out (counted in the log), never
taken as neutral. Each article is known at ``published_utc``. The key is the Polygon key
(``ZERODTE_DATA__POLYGON_API_KEY``).

Aggregates (:func:`aggregate_news`) are the mean score and article count per minute or
per day, each known at the end of its bucket; the market frame uses the trailing window of
articles known at each decision instead (:mod:`zerodte.market.sentiment.join`).
"""

from __future__ import annotations

import logging
from datetime import date

import httpx
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.sentiment.series import empty, normalize
from zerodte.market.vendors.polygon import BASE_URL, KEY_ENV, pages

logger = logging.getLogger(__name__)

SCORES = {"positive": 1.0, "neutral": 0.0, "negative": -1.0}
SOURCE = "polygon:news"


class PolygonNewsSource:
    """Scored Polygon articles about one ticker (module docstring)."""

    name = "polygon-news"
    series = "polygon-news"
    feed = "polygon"

    def __init__(self, http: httpx.Client, api_key: str) -> None:
        if not api_key:
            raise DataError(f"polygon news needs an API key: set {KEY_ENV}")
        self._http = http
        self._key = api_key

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Scored articles about ``symbol`` published on the New York days ``[start, end]``."""
        ticker = symbol.upper()
        lo = pd.Timestamp(start, tz="America/New_York").tz_convert("UTC")
        hi = (pd.Timestamp(end, tz="America/New_York") + pd.Timedelta(days=1)).tz_convert("UTC")
        params = {
            "ticker": ticker,
            "published_utc.gte": lo.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "published_utc.lt": hi.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "order": "asc",
            "sort": "published_utc",
            "limit": "1000",
        }
        url = f"{BASE_URL}/v2/reference/news"
        articles = [
            a
            for body in pages(self._http, url, params, self._key, what=f"polygon news {ticker}")
            for a in body.get("results") or []
            if isinstance(a, dict)
        ]
        return self._frame(articles, ticker, lo, hi)

    def _frame(
        self, articles: list[dict[str, object]], ticker: str, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> pd.DataFrame:
        rows, unscored = [], 0
        for art in articles:
            score = _score(art, ticker)
            if score is None:
                unscored += 1
                continue
            published = pd.to_datetime(str(art.get("published_utc")), utc=True, errors="coerce")
            if pd.isna(published) or not lo <= published < hi:
                unscored += 1
                continue
            publisher = art.get("publisher")
            rows.append(
                {
                    "known_at": published,
                    "published": published,
                    "score": score,
                    "id": str(art.get("id") or ""),
                    "publisher": str(publisher.get("name", ""))
                    if isinstance(publisher, dict)
                    else "",
                    "source": SOURCE,
                }
            )
        if unscored:
            logger.info("polygon news %s: %d article(s) without a usable score", ticker, unscored)
        if not rows:
            return empty("polygon-news")
        frame = pd.DataFrame(rows)
        if (frame["id"] == "").any():
            raise DataError(f"polygon news {ticker}: an article without its id")
        return normalize("polygon-news", frame, f"polygon news {ticker}")


def _score(article: dict[str, object], ticker: str) -> float | None:
    insights = article.get("insights")
    if not isinstance(insights, list):
        return None
    for item in insights:
        if isinstance(item, dict) and str(item.get("ticker", "")).upper() == ticker:
            return SCORES.get(str(item.get("sentiment", "")).strip().lower())
    return None


def aggregate_news(articles: pd.DataFrame, freq: str = "1min") -> pd.DataFrame:
    """Mean score and article count per bucket (``1min`` or ``1D`` in New York time).

    Columns ``bucket`` (start), ``known_at`` (the bucket's end: the aggregate is complete
    only then), ``score`` and ``articles``. Buckets without an article are absent.
    """
    if freq not in ("1min", "1D"):
        raise DataError(f"news aggregate: freq must be 1min or 1D, not {freq!r}")
    if articles.empty:
        return pd.DataFrame(columns=["bucket", "known_at", "score", "articles"])
    ny = articles["published"].dt.tz_convert("America/New_York")
    bucket = ny.dt.floor("min") if freq == "1min" else ny.dt.normalize()
    grouped = articles.groupby(bucket.rename("bucket"))["score"].agg(["mean", "count"])
    out = grouped.reset_index().rename(columns={"mean": "score", "count": "articles"})
    # a calendar day, not 24 hours: the bucket ends at the next midnight across DST changes
    step = pd.Timedelta(minutes=1) if freq == "1min" else pd.DateOffset(days=1)
    out.insert(1, "known_at", out["bucket"] + step)
    return out
