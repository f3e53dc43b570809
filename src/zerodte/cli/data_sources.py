"""Composition of the market data sources from the settings (the CLI is the root).

Each named source gets its own ``httpx.Client``; keys come from the settings' secrets,
i.e. only from the environment. Every source is wrapped as ``CachedSource(RetryingSource
(adapter))`` so retries and the cache sit at the seam, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from zerodte.errors import ConfigError

if TYPE_CHECKING:
    from zerodte.config import Settings
    from zerodte.market.sources import MarketDataSource

SOURCES = ("manager", "tradier", "polygon", "fmp", "yahoo", "router")
SENTIMENT_SOURCES = ("fear-greed", "polygon-news", "tradier-put-call")
"""Sources of the sentiment series (``zerodte.market.sentiment``), not of bars."""


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]


def adapter(settings: Settings, name: str) -> MarketDataSource:
    """The bare adapter ``name`` (ConfigError naming the missing variable)."""
    import httpx

    d = settings.data
    if name == "polygon":
        from zerodte.market.vendors.polygon import KEY_ENV, PolygonSource

        if d.polygon_api_key is None:
            raise ConfigError(f"the polygon source needs {KEY_ENV}")
        return PolygonSource(httpx.Client(timeout=30.0), _secret(d.polygon_api_key))
    if name == "fmp":
        from zerodte.market.vendors.fmp import KEY_ENV, FmpSource

        if d.fmp_api_key is None:
            raise ConfigError(f"the fmp source needs {KEY_ENV}")
        return FmpSource(httpx.Client(timeout=30.0), _secret(d.fmp_api_key))
    if name == "yahoo":
        from zerodte.market.vendors.yahoo import YahooSource

        return YahooSource(httpx.Client(timeout=30.0, headers={"User-Agent": "zerodte"}))
    if name == "tradier":
        from zerodte.broker.tradier.client import http_client
        from zerodte.broker.tradier.market_data import TradierMarketData
        from zerodte.broker.tradier.session import TradierSession
        from zerodte.broker.tradier.source import TradierSource

        b = settings.broker
        if b.tradier_token is None:
            raise ConfigError("the tradier source needs ZERODTE_BROKER__TRADIER_TOKEN")
        http = http_client(b.tradier_base_url, _secret(b.tradier_token), timeout=15.0)
        return TradierSource(TradierMarketData(TradierSession(http)))
    if name == "manager":
        from zerodte.market.manager import ManagerSource

        if not d.manager_url:
            raise ConfigError("the manager source needs ZERODTE_DATA__MANAGER_URL")
        return ManagerSource(httpx.Client(timeout=30.0), d.manager_url, _secret(d.manager_api_key))
    raise ConfigError(
        f"unknown data source {name!r}; choose from {', '.join((*SOURCES, *SENTIMENT_SOURCES))}"
    )


def sentiment_source(settings: Settings, name: str, *, refresh: bool = False) -> MarketDataSource:
    """The sentiment adapter ``name`` with retries, and the cache for the history sources
    (a put/call snapshot is of now and is never cached)."""
    import httpx

    from zerodte.market.sentiment.series import empty, normalize
    from zerodte.market.sources import CachedSource, RetryingSource

    d = settings.data
    inner: MarketDataSource
    if name == "fear-greed":
        from zerodte.market.sentiment.fear_greed import FearGreedSource

        inner = FearGreedSource(httpx.Client(timeout=30.0))
    elif name == "polygon-news":
        from zerodte.market.sentiment.news import PolygonNewsSource
        from zerodte.market.vendors.polygon import KEY_ENV

        if d.polygon_api_key is None:
            raise ConfigError(f"the polygon-news source needs {KEY_ENV}")
        inner = PolygonNewsSource(httpx.Client(timeout=30.0), _secret(d.polygon_api_key))
    elif name == "tradier-put-call":
        from zerodte.broker.tradier.client import http_client
        from zerodte.broker.tradier.market_data import TradierMarketData
        from zerodte.broker.tradier.put_call_source import TradierPutCallSource
        from zerodte.broker.tradier.session import TradierSession
        from zerodte.engine.clock import WallClock

        b = settings.broker
        if b.tradier_token is None:
            raise ConfigError("the tradier-put-call source needs ZERODTE_BROKER__TRADIER_TOKEN")
        http = http_client(b.tradier_base_url, _secret(b.tradier_token), timeout=15.0)
        market = TradierMarketData(TradierSession(http))
        return RetryingSource(
            TradierPutCallSource(market, WallClock().now), attempts=d.vendor_retries + 1
        )
    else:
        raise ConfigError(
            f"unknown sentiment source {name!r}; choose from {', '.join(SENTIMENT_SOURCES)}"
        )
    series = str(inner.series)
    return CachedSource(
        RetryingSource(inner, attempts=d.vendor_retries + 1),
        d.cache_dir,
        mode="refresh" if refresh else "use",
        key="known_at",
        normalize=lambda f: normalize(series, f, f"{name} cache"),
        empty=lambda: empty(series),
        every_day=True,
    )


def build_source(settings: Settings, name: str, *, refresh: bool = False) -> MarketDataSource:
    """``name`` wrapped with retries and the cache; ``router``: every configured source in
    the default priority order (those without a key are left out)."""
    from zerodte.market.router import DEFAULT_ORDER, SourceRouter
    from zerodte.market.sources import CachedSource, RetryingSource

    def wrapped(n: str) -> MarketDataSource:
        retrying = RetryingSource(adapter(settings, n), attempts=settings.data.vendor_retries + 1)
        return CachedSource(retrying, settings.data.cache_dir, mode="refresh" if refresh else "use")

    if name != "router":
        return wrapped(name)
    sources = []
    for n in DEFAULT_ORDER:
        try:
            sources.append(wrapped(n))
        except ConfigError:
            continue
    return SourceRouter(sources)
