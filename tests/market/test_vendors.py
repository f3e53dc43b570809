"""Vendor adapters on recorded responses through ``httpx.MockTransport``: pagination, 429
with Retry-After, 5xx, refused keys, empty and partial days, ``"null"`` strings, bar-start
stamps in UTC milliseconds, seconds or naive New York time; the router's fallbacks."""

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
from zerodte.broker.tradier.session import RetryPolicy, TradierSession
from zerodte.broker.tradier.source import TradierSource
from zerodte.errors import DataError
from zerodte.market.router import SourceRouter
from zerodte.market.sources import RetryingSource, TransientDataError
from zerodte.market.vendors.fmp import FmpSource
from zerodte.market.vendors.polygon import PolygonSource, read_flat_file
from zerodte.market.vendors.yahoo import YahooSource

FIXTURES = Path(__file__).parent / "vendor_fixtures"
DAY = date(2024, 3, 4)
FIRST = pd.Timestamp("2024-03-04 09:30", tz="America/New_York")


def _body(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _client(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_polygon_follows_next_url_and_drops_extended_hours() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        page = "page2" if "cursor" in str(request.url) else "page1"
        return httpx.Response(200, json=_body(f"polygon_aggs_SPY_2024-03-04_{page}.json"))

    bars = PolygonSource(_client(handler), "KEY").fetch("SPY", DAY, DAY)
    assert len(seen) == 2 and all(u.params["apiKey"] == "KEY" for u in seen)
    assert seen[0].path == "/v2/aggs/ticker/SPY/range/1/minute/2024-03-04/2024-03-04"
    assert len(bars) == 6  # the 09:00 pre-market bar is dropped
    assert bars["timestamp"].iloc[0] == FIRST  # t is the bar start in UTC ms
    assert bars["open"].iloc[0] == 512.03 and bars["volume"].iloc[0] == 699410.0


def test_polygon_empty_day_and_refused_key() -> None:
    empty = _client(lambda r: httpx.Response(200, json=_body("polygon_aggs_empty.json")))
    assert PolygonSource(empty, "K").fetch("SPY", DAY, DAY).empty
    refused = _client(
        lambda r: httpx.Response(401, json={"status": "ERROR", "error": "Unknown API Key"})
    )
    with pytest.raises(DataError, match=r"key was refused.*ZERODTE_DATA__POLYGON_API_KEY") as exc:
        PolygonSource(refused, "SECRET").fetch("SPY", DAY, DAY)
    assert "SECRET" not in str(exc.value)
    with pytest.raises(DataError, match="needs an API key"):
        PolygonSource(empty, "")


def test_polygon_uses_the_index_ticker_for_vix() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, json=_body("polygon_aggs_empty.json"))

    PolygonSource(_client(handler), "K").fetch("VIX", DAY, DAY)
    assert paths == ["/v2/aggs/ticker/I:VIX/range/1/minute/2024-03-04/2024-03-04"]


def test_retry_after_is_honoured_then_5xx_then_success() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "7"}, json={"status": "ERROR"}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json=_body("polygon_aggs_SPY_2024-03-04_page2.json")),
    ]
    waits: list[float] = []
    source = RetryingSource(
        PolygonSource(_client(lambda r: answers.pop(0)), "K"), attempts=4, sleep=waits.append
    )
    bars = source.fetch("SPY", DAY, DAY)
    assert len(bars) == 3 and waits[0] >= 7.0 and len(waits) == 2
    with pytest.raises(TransientDataError, match="HTTP 503"):
        RetryingSource(
            PolygonSource(_client(lambda r: httpx.Response(503)), "K"),
            attempts=2,
            sleep=waits.append,
        ).fetch("SPY", DAY, DAY)


def test_polygon_flat_file(tmp_path: Path) -> None:
    rows = _body("polygon_aggs_SPY_2024-03-04_page1.json")["results"]
    frame = pd.DataFrame(
        {
            "ticker": ["SPY"] * len(rows) + ["QQQ"],
            "volume": [r["v"] for r in rows] + [1.0],
            "open": [r["o"] for r in rows] + [1.0],
            "close": [r["c"] for r in rows] + [1.0],
            "high": [r["h"] for r in rows] + [1.0],
            "low": [r["l"] for r in rows] + [1.0],
            "window_start": [r["t"] * 1_000_000 for r in rows] + [rows[1]["t"] * 1_000_000],
            "transactions": [r["n"] for r in rows] + [1],
        }
    )
    path = tmp_path / "2024-03-04.csv.gz"
    frame.to_csv(path, index=False)
    bars = read_flat_file(path, "SPY")
    assert len(bars) == 3 and bars["timestamp"].iloc[0] == FIRST
    frame.drop(columns=["window_start"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"missing column\(s\) \['window_start'\]"):
        read_flat_file(path, "SPY")


def test_yahoo_null_minutes_are_dropped_not_filled() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json=_body("yahoo_chart_SPY_2024-03-04.json"))

    bars = YahooSource(_client(handler)).fetch("SPY", DAY, DAY)
    assert seen[0].path == "/v8/finance/chart/SPY" and seen[0].params["interval"] == "1m"
    assert len(bars) == 5  # 09:32 was null in every column
    assert pd.Timestamp("2024-03-04 09:32", tz="America/New_York") not in set(bars["timestamp"])
    assert bars["timestamp"].iloc[0] == FIRST  # Unix seconds, UTC
    err = _client(lambda r: httpx.Response(200, json=_body("yahoo_chart_error.json")))
    with pytest.raises(DataError, match="No data found"):
        YahooSource(err).fetch("SPY", DAY, DAY)


def test_fmp_newest_first_naive_new_york_and_null_strings() -> None:
    ok = _client(lambda r: httpx.Response(200, json=_body("fmp_chart_SPY_2024-03-04.json")))
    bars = FmpSource(ok, "K").fetch("SPY", DAY, DAY)
    assert bars["timestamp"].is_monotonic_increasing and bars["timestamp"].iloc[0] == FIRST
    assert len(bars) == 5  # the bar whose close was the string "null"
    assert np.isfinite(bars[["open", "high", "low", "close", "volume"]].to_numpy()).all()
    bad = _client(lambda r: httpx.Response(200, json=_body("fmp_error.json")))
    with pytest.raises(DataError, match="Invalid API KEY"):
        FmpSource(bad, "K").fetch("SPY", DAY, DAY)


def _tradier(handler: Any) -> TradierSource:
    http = http_client(
        "https://sandbox.tradier.com/v1", "TOKEN", transport=httpx.MockTransport(handler)
    )
    session = TradierSession(http, retry=RetryPolicy(attempts=2, sleep=lambda s: None))
    return TradierSource(TradierMarketData(session))


def test_tradier_timesales_per_session() -> None:
    asked: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        if request.url.params["start"].startswith("2024-03-04"):
            return httpx.Response(200, json=_body("tradier_timesales_SPY_2024-03-04.json"))
        return httpx.Response(200, json={"series": None})  # a day Tradier no longer keeps

    bars = _tradier(handler).fetch("SPY", date(2024, 3, 1), DAY)
    assert [u.params["start"] for u in asked] == ["2024-03-01 09:30", "2024-03-04 09:30"]
    assert asked[0].params["interval"] == "1min" and asked[0].params["session_filter"] == "open"
    assert len(bars) == 6 and bars["timestamp"].iloc[0] == FIRST


def test_router_falls_back_in_order_and_reports_every_failure() -> None:
    down = PolygonSource(_client(lambda r: httpx.Response(500)), "K")
    empty = FmpSource(_client(lambda r: httpx.Response(200, json=[])), "K")
    yahoo = YahooSource(
        _client(lambda r: httpx.Response(200, json=_body("yahoo_chart_SPY_2024-03-04.json")))
    )
    router = SourceRouter([down, empty, yahoo])
    bars = router.fetch("SPY", DAY, DAY)
    assert len(bars) == 5 and router.served == {"SPY": "yahoo"} and router.feed == "sip"
    with pytest.raises(
        DataError, match=r"(?s)no source had SPY.*polygon: .*HTTP 500.*fmp: no bars"
    ):
        SourceRouter([down, empty]).fetch("SPY", DAY, DAY)
    with pytest.raises(DataError, match="no market data source is configured"):
        SourceRouter([])
