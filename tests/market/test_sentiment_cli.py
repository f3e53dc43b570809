"""``zerodte data fetch --source fear-greed|polygon-news`` into the sentiment store, on
recorded responses (``httpx.Client`` given a ``MockTransport``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.market.sentiment.store import MARKET, SentimentStore

FIXTURES = Path(__file__).parent / "vendor_fixtures"
runner = CliRunner()


def _fetch(source: str, start: str, end: str) -> list[str]:
    return ["data", "fetch", "--source", source, "--start", start, "--end", end]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[httpx.URL]:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.host == "production.dataviz.cnn.io":
            name = "cnn_fear_greed_graphdata_2024-03-01.json"
        else:
            name = "polygon_news_SPY_page2.json"
        return httpx.Response(200, json=json.loads((FIXTURES / name).read_text()))

    real = httpx.Client

    def client(*args: Any, **kwargs: Any) -> httpx.Client:
        return real(*args, **{**kwargs, "transport": httpx.MockTransport(handler)})

    monkeypatch.setattr(httpx, "Client", client)
    return seen


def test_fetch_fear_greed_and_news_into_the_store(
    tmp_path: Path, recorded: list[httpx.URL], monkeypatch: pytest.MonkeyPatch
) -> None:
    common = ["--data-dir", str(tmp_path)]
    monkeypatch.setenv("ZERODTE_DATA__CACHE_DIR", str(tmp_path / "cache"))
    res = runner.invoke(app, [*_fetch("fear-greed", "2024-03-04", "2024-03-06"), *common])
    assert res.exit_code == 0, res.output
    assert "3 fear-greed row(s) for MARKET" in res.output
    got = SentimentStore(tmp_path).load("fear-greed", MARKET)
    assert got is not None and len(got.rows) == 3 and got.sources == ("cnn:graphdata",)

    no_key = runner.invoke(
        app, ["data", "fetch", "--source", "polygon-news", "--start", "2024-03-04", *common]
    )
    assert no_key.exit_code == 2 and "ZERODTE_DATA__POLYGON_API_KEY" in no_key.output
    monkeypatch.setenv("ZERODTE_DATA__POLYGON_API_KEY", "KEY")
    args = [*_fetch("polygon-news", "2024-03-04", "2024-03-05"), "--symbol", "SPY", *common]
    assert runner.invoke(app, args).exit_code == 0
    asked = len(recorded)
    again = runner.invoke(app, args)  # the cache answers; nothing new is stored
    assert again.exit_code == 0 and "(0 new)" in again.output and len(recorded) == asked
    fresh = runner.invoke(app, [*args, "--refresh"])  # asks the source again
    assert fresh.exit_code == 0 and len(recorded) > asked
    news = SentimentStore(tmp_path).load("polygon-news", "SPY")
    assert news is not None and list(news.rows["id"]) == ["art4", "art5"]
