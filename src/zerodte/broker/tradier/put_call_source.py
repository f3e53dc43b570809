"""The put/call ratio from Tradier option chains, as the ``put-call`` sentiment series.

One snapshot per call: the chains of every listed expiration in ``[start, end]`` (default
the session's own, i.e. the 0DTE chain) are fetched through the broker's
:class:`~zerodte.broker.tradier.market_data.TradierMarketData` (its rate limiter and read
retries); ``volume`` is each contract's session volume so far and ``open_interest`` the
previous day's, so the snapshot is known at the moment it was taken, read from the
injected clock (:func:`zerodte.market.sentiment.put_call.snapshot_row`). Tradier keeps no
history of chains, so past days cannot be fetched: a snapshot is always of now, and it is
not cached (a cached snapshot would be an old one). A Tradier refusal becomes a
:class:`~zerodte.errors.DataError`, a transient failure a
:class:`~zerodte.market.sources.TransientDataError` (retried at the seam).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from zerodte.broker.tradier.market_data import TradierMarketData
from zerodte.errors import BrokerError, DataError, TransientBrokerError
from zerodte.market.sentiment.put_call import snapshot_row
from zerodte.market.sources import TransientDataError

SOURCE = "tradier:chains"


class TradierPutCallSource:
    """Put/call snapshots from Tradier chains (module docstring)."""

    name = "tradier-put-call"
    series = "put-call"
    feed = "sip"

    def __init__(self, market: TradierMarketData, now: Callable[[], pd.Timestamp]) -> None:
        self._market = market
        self._now = now

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """One snapshot over the chains of the expirations in ``[start, end]``."""
        taken = pd.Timestamp(self._now())
        try:
            expiries = [e for e in self._market.expirations(symbol) if start <= e <= end]
            if not expiries:
                raise DataError(
                    f"tradier {symbol}: no listed expiration in {start} .. {end}; widen "
                    "--start/--end (the chains are of now: past expirations are gone)"
                )
            quotes = [q for e in expiries for q in self._market.chain(symbol, e)]
        except TransientBrokerError as exc:
            raise TransientDataError(f"tradier {symbol} chains: {exc}") from exc
        except BrokerError as exc:
            raise DataError(f"tradier {symbol} chains: {exc}") from exc
        chain = pd.DataFrame(
            {
                "right": [q.option_type for q in quotes],
                "volume": [q.volume for q in quotes],
                "open_interest": [q.open_interest for q in quotes],
            }
        )
        return snapshot_row(chain, taken, SOURCE)
