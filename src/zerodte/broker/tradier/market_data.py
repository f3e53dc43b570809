"""Tradier market data: quotes, option chains, expirations, timesales, clock, calendar.

Separate from trading so that a market-data adapter (``MarketDataSource``) can wrap it
without the account. Every method is a retried GET returning the typed records of
:mod:`zerodte.broker.tradier.parse`. Greeks are fetched only when asked: Tradier's ORATS
greeks are refreshed about hourly and are null or zero on 0DTE contracts, so zerodte
computes its own (:mod:`zerodte.options`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import pandas as pd

from zerodte.broker.tradier.parse import (
    CalendarDay,
    MarketClock,
    Quote,
    TimesaleBar,
    parse_calendar,
    parse_chain,
    parse_clock,
    parse_expirations,
    parse_quotes,
    parse_timesales,
)
from zerodte.broker.tradier.session import TradierSession
from zerodte.errors import BrokerError

logger = logging.getLogger(__name__)


class TradierMarketData:
    """The ``/markets`` endpoints over a :class:`TradierSession`."""

    def __init__(self, session: TradierSession) -> None:
        self.session = session

    def quotes(self, symbols: Sequence[str], greeks: bool = False) -> list[Quote]:
        """Quotes of ``symbols`` (equities, indexes, OCC options); unknown ones are logged."""
        params = {"symbols": ",".join(symbols), "greeks": "true" if greeks else "false"}
        quotes, unmatched = parse_quotes(self.session.get("/markets/quotes", params))
        if unmatched:
            logger.warning("Tradier knows no quote for %s", ", ".join(unmatched))
        return quotes

    def chain(self, symbol: str, expiration: date, greeks: bool = False) -> list[Quote]:
        """Calls and puts of one expiration (index rows by strike and type, not order)."""
        params = {
            "symbol": symbol,
            "expiration": expiration.isoformat(),
            "greeks": "true" if greeks else "false",
        }
        return parse_chain(self.session.get("/markets/options/chains", params))

    def expirations(self, symbol: str) -> list[date]:
        """Expiration dates listed for ``symbol`` (sorted)."""
        params = {"symbol": symbol, "includeAllRoots": "true"}
        return parse_expirations(self.session.get("/markets/options/expirations", params))

    def timesales(
        self,
        symbol: str,
        start: pd.Timestamp,
        end: pd.Timestamp,
        interval: str = "1min",
        session_filter: str = "open",
    ) -> list[TimesaleBar]:
        """Bars of ``symbol`` starting in ``[start, end]`` (New York times, minute precision)."""
        params = {
            "symbol": symbol,
            "interval": interval,
            "start": start.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M"),
            "end": end.tz_convert("America/New_York").strftime("%Y-%m-%d %H:%M"),
            "session_filter": session_filter,
        }
        return parse_timesales(self.session.get("/markets/timesales", params))

    def clock(self) -> MarketClock:
        """The venue's clock: session state and time."""
        body = self.session.get("/markets/clock")
        try:
            return parse_clock(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise BrokerError(f"Tradier /markets/clock sent no clock record: {body!r}") from exc

    def calendar(self, month: int, year: int) -> list[CalendarDay]:
        """The venue's calendar of one month."""
        return parse_calendar(
            self.session.get("/markets/calendar", {"month": f"{month:02d}", "year": str(year)})
        )
