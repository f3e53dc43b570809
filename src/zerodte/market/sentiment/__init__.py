"""Sentiment series: CNN Fear & Greed, Polygon news sentiment and the put/call ratio.

Each series is fetched through an adapter behind the same seam as the bar vendors
(``fetch(symbol, start, end)``, wrapped by :class:`~zerodte.market.sources.RetryingSource`
and :class:`~zerodte.market.sources.CachedSource`), stored with its provenance under
``<data_dir>/sentiment/`` (:mod:`.store`) and joined to the minute grid **as of** what was
known at each decision (:mod:`.join`). A series that is not stored, or does not cover the
frame's sessions, gives no column at all: absent, never zero. See ``docs/sentiment.md``.
"""
