"""Sources in priority order with fallbacks: :class:`SourceRouter`.

The default order (predecessor's): the data manager (the team's collection service), then
Tradier, Polygon, FMP and Yahoo. For each request the router asks each source in turn; a
source that fails (after its own retries) or returns no bar for the range is logged and
the next one is asked. The first non-empty answer wins, and :attr:`SourceRouter.served`
records which source it came from (it goes into the stored file's source label). When
every source fails, one :class:`DataError` lists what each one said.

Different vendors mean different feeds (Alpaca IEX or BATS-only volume is a fraction of
consolidated volume); the store refuses to mix volume scales in one symbol
(:meth:`zerodte.market.store.StoreTransaction.write`), so a fallback to another feed shows
up as an error on write, not as a silent mixture.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import pandas as pd

from zerodte.errors import DataError
from zerodte.market.sources import MarketDataSource

logger = logging.getLogger(__name__)

DEFAULT_ORDER: tuple[str, ...] = ("manager", "tradier", "polygon", "fmp", "yahoo")


class SourceRouter:
    """Ask ``sources`` in order; the first non-empty answer wins (module docstring)."""

    name = "router"

    def __init__(self, sources: Sequence[MarketDataSource]) -> None:
        if not sources:
            raise DataError(
                "no market data source is configured: set a vendor key "
                "(ZERODTE_DATA__POLYGON_API_KEY, ZERODTE_DATA__FMP_API_KEY, ZERODTE_BROKER__"
                "TRADIER_TOKEN), a data manager URL (ZERODTE_DATA__MANAGER_URL), or use yahoo"
            )
        self.sources = list(sources)
        self.served: dict[str, str] = {}

    @property
    def feed(self) -> str:
        """The feed of the source that served last (``unknown`` before any fetch)."""
        for source in self.sources:
            if source.name in self.served.values():
                return str(getattr(source, "feed", "unknown"))
        return "unknown"

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Bars of ``symbol`` from the first source that has them."""
        failures: list[str] = []
        for source in self.sources:
            try:
                bars = source.fetch(symbol, start, end)
            except DataError as exc:
                logger.warning("%s failed for %s %s..%s: %s", source.name, symbol, start, end, exc)
                failures.append(f"{source.name}: {exc}")
                continue
            if bars.empty:
                failures.append(f"{source.name}: no bars")
                continue
            self.served[symbol.upper()] = source.name
            if failures:
                logger.info(
                    "%s %s..%s served by %s after %s", symbol, start, end, source.name, failures
                )
            return bars
        raise DataError(
            f"no source had {symbol} bars for {start} .. {end}:\n"
            + "\n".join(f"  - {f}" for f in failures)
        )
