"""Sentiment adapters on recorded response shapes through ``httpx.MockTransport``: CNN's
Fear & Greed graphdata, Polygon's ticker news (paging, per-ticker insights), Tradier chains
with volume and open interest; retries with Retry-After, refusals, the cache at the seam."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from zerodte.broker.tradier.client import http_client
from zerodte.broker.tradier.market_data import TradierMarketData
from zerodte.broker.tradier.put_call_source import TradierPutCallSource
from zerodte.broker.tradier.session import RetryPolicy, TradierSession
from zerodte.errors import DataError
from zerodte.market.sentiment.fear_greed import FearGreedSource
from zerodte.market.sentiment.news import PolygonNewsSource, aggregate_news
from zerodte.market.sentiment.put_call import from_minute_volumes, snapshot_row
from zerodte.market.sentiment.series import empty, normalize
from zerodte.market.sources import CachedSource, RetryingSource

FIXTURES = Path(__file__).parent / "vendor_fixtures"


def _body(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_fear_greed_closing_readings_are_known_at_the_close() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_body("cnn_fear_greed_graphdata_2024-03-01.json"))

    rows = FearGreedSource(_client(handler)).fetch("SPY", date(2024, 3, 4), date(2024, 3, 6))
    assert seen[0].url.path == "/index/fearandgreed/graphdata/2024-03-04"
    assert "Mozilla" in seen[0].headers["User-Agent"]  # CNN answers 418 to bare clients
    assert list(rows["value"]) == [55.0, 41.0, pytest.approx(38.2857142857143)]
    # the 2024-03-04 closing reading: known at that session's 16:00 close, not at 00:00
    assert rows["known_at"].iloc[0] == pd.Timestamp("2024-03-04 16:00", tz="America/New_York")
    # the latest reading carries its own intraday stamp and is known then
    assert rows["known_at"].iloc[2] == pd.Timestamp("2024-03-06 15:02:11", tz="UTC")
    assert set(rows["source"]) == {"cnn:graphdata"} and rows["rating"].iloc[1] == "fear"


def test_fear_greed_teapot_and_bad_shape_are_errors() -> None:
    teapot = _client(lambda r: httpx.Response(418, text="I'm a teapot. You're a bot."))
    with pytest.raises(DataError, match="HTTP 418"):
        FearGreedSource(teapot).fetch("SPY", date(2024, 3, 4), date(2024, 3, 4))
    odd = _client(lambda r: httpx.Response(200, json={"fear_and_greed": {"score": 40}}))
    with pytest.raises(DataError, match="fear_and_greed_historical"):
        FearGreedSource(odd).fetch("SPY", date(2024, 3, 4), date(2024, 3, 4))
    broken = {"fear_and_greed_historical": {"data": [{"x": "null", "y": 40.0}]}}
    with pytest.raises(DataError, match="point 0 lacks x or y"):
        FearGreedSource(_client(lambda r: httpx.Response(200, json=broken))).fetch(
            "SPY", date(2024, 3, 4), date(2024, 3, 4)
        )


def test_fear_greed_429_waits_retry_after_then_succeeds() -> None:
    calls, waits = [], []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow"})
        return httpx.Response(200, json=_body("cnn_fear_greed_graphdata_2024-03-01.json"))

    src = RetryingSource(FearGreedSource(_client(handler)), sleep=waits.append)
    rows = src.fetch("SPY", date(2024, 3, 1), date(2024, 3, 5))
    assert len(calls) == 2 and waits and waits[0] >= 7.0 and len(rows) == 3


def test_polygon_news_pages_scores_per_ticker_and_skips_unscored() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        page = "page2" if "cursor" in str(request.url) else "page1"
        return httpx.Response(200, json=_body(f"polygon_news_SPY_{page}.json"))

    rows = PolygonNewsSource(_client(handler), "KEY").fetch(
        "SPY", date(2024, 3, 4), date(2024, 3, 5)
    )
    assert len(seen) == 2 and all(u.params["apiKey"] == "KEY" for u in seen)
    assert seen[0].params["ticker"] == "SPY" and seen[0].params["sort"] == "published_utc"
    assert seen[0].params["published_utc.gte"] == "2024-03-04T05:00:00Z"  # NY midnight
    # art3 has no insights: left out, never taken as neutral; QQQ's negative is ignored
    assert list(rows["id"]) == ["art1", "art2", "art4", "art5"]
    assert list(rows["score"]) == [1.0, -1.0, 0.0, 1.0]
    assert (rows["known_at"] == rows["published"]).all()
    assert rows["publisher"].iloc[0] == "MarketWatch"


def test_polygon_news_refused_key_and_5xx() -> None:
    refused = _client(lambda r: httpx.Response(403, json={"status": "NOT_AUTHORIZED"}))
    with pytest.raises(DataError, match="ZERODTE_DATA__POLYGON_API_KEY"):
        PolygonNewsSource(refused, "K").fetch("SPY", date(2024, 3, 4), date(2024, 3, 4))
    with pytest.raises(DataError, match="API key"):
        PolygonNewsSource(refused, "")
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return httpx.Response(502, text="bad gateway")
        return httpx.Response(200, json=_body("polygon_news_SPY_page2.json"))

    src = RetryingSource(PolygonNewsSource(_client(flaky), "K"), sleep=lambda s: None)
    assert len(src.fetch("SPY", date(2024, 3, 4), date(2024, 3, 5))) == 2 and len(calls) == 3


def test_news_aggregates_are_known_at_the_bucket_end() -> None:
    rows = PolygonNewsSource(
        _client(lambda r: httpx.Response(200, json=_body("polygon_news_SPY_page2.json"))), "K"
    ).fetch("SPY", date(2024, 3, 4), date(2024, 3, 5))
    daily = aggregate_news(rows, "1D")
    assert list(daily["articles"]) == [1, 1] and list(daily["score"]) == [0.0, 1.0]
    assert daily["known_at"].iloc[0] == pd.Timestamp("2024-03-05", tz="America/New_York")
    minute = aggregate_news(rows, "1min")
    assert minute["known_at"].iloc[0] == pd.Timestamp("2024-03-04 11:06", tz="America/New_York")


def test_cached_sentiment_source_asks_each_day_once(tmp_path: Path) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json=_body("polygon_news_SPY_page2.json"))

    cached = CachedSource(
        PolygonNewsSource(_client(handler), "K"),
        tmp_path,
        key="known_at",
        normalize=lambda f: normalize("polygon-news", f, "cache"),
        empty=lambda: empty("polygon-news"),
        every_day=True,
    )
    first = cached.fetch("SPY", date(2024, 3, 2), date(2024, 3, 5))  # a weekend included
    again = cached.fetch("SPY", date(2024, 3, 2), date(2024, 3, 5))
    assert len(calls) == 1 and len(first) == 2
    pd.testing.assert_frame_equal(first, again)


def _tradier(handler: Any) -> TradierMarketData:
    http = http_client("https://api.tradier.test/v1", "T", transport=httpx.MockTransport(handler))
    return TradierMarketData(
        TradierSession(http, retry=RetryPolicy(attempts=2, sleep=lambda s: None))
    )


def test_put_call_ratio_from_a_tradier_chain() -> None:
    asked: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        if request.url.path.endswith("/expirations"):
            return httpx.Response(200, json=_body("tradier_expirations_SPY.json"))
        return httpx.Response(200, json=_body("tradier_chain_SPY_2024-03-04.json"))

    now = pd.Timestamp("2024-03-04 11:15", tz="America/New_York")
    src = TradierPutCallSource(_tradier(handler), lambda: now)
    row = src.fetch("SPY", date(2024, 3, 4), date(2024, 3, 4))
    chains = [u for u in asked if u.path.endswith("/chains")]
    assert [u.params["expiration"] for u in chains] == ["2024-03-04"]  # the 0DTE chain only
    assert row["known_at"].iloc[0] == now
    # puts 1500 (+ a "null" volume left out) over calls 1200 + 800; OI 3000 over 4000
    assert row["put_volume"].iloc[0] == 1500.0 and row["call_volume"].iloc[0] == 2000.0
    assert row["ratio"].iloc[0] == pytest.approx(0.75)
    assert row["ratio_oi"].iloc[0] == pytest.approx(3000 / 4000)
    assert row["contracts"].iloc[0] == 3.0 and row["source"].iloc[0] == "tradier:chains"
    with pytest.raises(DataError, match="no listed expiration"):
        src.fetch("SPY", date(2024, 3, 5), date(2024, 3, 5))


def test_put_call_ratio_without_calls_is_unknown_and_bad_rights_are_named() -> None:
    t = pd.Timestamp("2024-03-04 10:00", tz="America/New_York")
    only_puts = pd.DataFrame({"right": ["P"], "volume": [10.0], "open_interest": [0.0]})
    row = snapshot_row(only_puts, t, "test")
    assert np.isnan(row["ratio"].iloc[0]) and np.isnan(row["ratio_oi"].iloc[0])
    bad = pd.DataFrame({"right": ["call", "straddle"], "volume": [1, 2], "open_interest": [1, 1]})
    with pytest.raises(DataError, match=r"row 2 \[right\] is 'straddle'"):
        snapshot_row(bad, t, "test")
    endless = pd.DataFrame({"right": ["C", "P"], "volume": [1.0, np.inf], "open_interest": [1, 1]})
    with pytest.raises(DataError, match="negative or infinite volume or open interest"):
        snapshot_row(endless, t, "test")


def test_put_call_from_stored_minute_volumes_is_cumulative_per_session() -> None:
    t0 = pd.Timestamp("2024-03-04 09:30", tz="America/New_York")
    bars = pd.DataFrame(
        {
            "timestamp": [t0, t0, t0 + pd.Timedelta(minutes=1), t0 + pd.Timedelta(days=1)],
            "right": ["put", "call", "put", "put"],
            "volume": [30.0, 10.0, 20.0, 5.0],
        }
    )
    rows = from_minute_volumes(bars, "store:options")
    assert list(rows["ratio"][:2]) == [3.0, 5.0]  # 30/10, then (30+20)/10
    assert np.isnan(rows["ratio"].iloc[2])  # the next session starts again: no call yet
    assert rows["known_at"].iloc[0] == t0 + pd.Timedelta(minutes=1)  # at the bar's end
