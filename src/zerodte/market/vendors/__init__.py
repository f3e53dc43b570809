"""Vendor adapters behind :class:`zerodte.market.sources.MarketDataSource`.

Each adapter takes an ``httpx.Client`` (tests inject ``httpx.MockTransport``) and a key
from the environment (``ZERODTE_DATA__POLYGON_API_KEY``, ``ZERODTE_DATA__FMP_API_KEY``;
Yahoo needs none), and returns canonical regular-session minute bars. Retries with backoff
(honouring ``Retry-After``) and the cache are the wrappers of :mod:`zerodte.market.sources`;
the priority order and fallbacks are :class:`zerodte.market.router.SourceRouter`. The
Tradier adapter reuses the broker's client and lives with it
(:mod:`zerodte.broker.tradier.source`).
"""
