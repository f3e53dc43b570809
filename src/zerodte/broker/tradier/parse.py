"""Tradier's JSON, normalised: one-or-many envelopes, ``"null"`` strings, float quantities.

Every quirk of ``TRADIER_API.md`` §4 is handled here and nowhere else:

* collections are ``{"<plural>": {"<singular>": X}}`` with ``X`` a list for two or more, a
  bare object (or scalar) for one, and ``null``, ``"null"`` or ``{}`` for none
  (:func:`many`);
* numbers arrive as floats with long tails, quantities as ``2.00000000``, missing values as
  ``null``, ``"null"`` or ``"NaN"`` (:func:`num` gives NaN, never 0);
* ``avg_fill_price`` is ``0.0`` or ``null`` while unfilled (both become NaN);
* times: quote dates are epoch milliseconds (UTC), order dates ISO-8601 UTC with ``Z``,
  ``greeks.updated_at`` zone-less UTC, timesales ``time`` New York wall clock without
  offset, clock ``date``/``next_change`` and calendar hours New York.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

NY = "America/New_York"
NULLS = (None, "null", "", "NaN", "nan")


def as_list(value: Any) -> list[Any]:
    """``X`` of a one-or-many envelope as a list (``[]`` for null, ``"null"`` or ``{}``)."""
    if value is None or value in ("null", {}, []):
        return []
    if isinstance(value, list):
        return value
    return [value]


def many(body: Any, plural: str, singular: str) -> list[Any]:
    """``body[plural][singular]`` as a list, whatever shape Tradier sent."""
    if not isinstance(body, Mapping):
        return []
    outer = body.get(plural)
    if not isinstance(outer, Mapping):
        return []  # null, "null", or a list nobody documented
    return as_list(outer.get(singular))


def num(value: Any) -> float:
    """A float, NaN for ``null``/``"null"``/``"NaN"``/empty or anything unparseable."""
    if value in NULLS or isinstance(value, bool):
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def qty(value: Any) -> int:
    """A contract count (``2.00000000`` is 2); 0 for missing."""
    x = num(value)
    return 0 if math.isnan(x) else round(x)


def price(value: Any) -> float:
    """A price where 0.0 means "none yet" (``avg_fill_price`` of an unfilled order)."""
    x = num(value)
    return math.nan if x == 0.0 else x


def text(value: Any) -> str:
    """A string; ``""`` for ``null``/``"null"``."""
    return "" if value in NULLS else str(value)


def epoch_ms(value: Any) -> pd.Timestamp | None:
    """Epoch milliseconds (UTC) as New York time; ``None`` for 0 or missing."""
    x = num(value)
    if math.isnan(x) or x <= 0:
        return None
    return pd.Timestamp(int(x), unit="ms", tz="UTC").tz_convert(NY)


def epoch_s(value: Any) -> pd.Timestamp | None:
    """Epoch seconds (UTC) as New York time."""
    x = num(value)
    if math.isnan(x) or x <= 0:
        return None
    return pd.Timestamp(int(x), unit="s", tz="UTC").tz_convert(NY)


def utc_time(value: Any) -> pd.Timestamp | None:
    """``2024-11-22T15:02:10.905Z``, zone-less ``2024-11-22T15:02:10.011`` or
    ``2024-11-22 18:59:07`` (all UTC) as New York time."""
    raw = text(value)
    if not raw:
        return None
    try:
        ts = pd.Timestamp(raw)
    except ValueError:
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(NY)


def ny_time(value: Any) -> pd.Timestamp | None:
    """A New York wall-clock time without offset (timesales ``time``)."""
    raw = text(value)
    if not raw:
        return None
    try:
        return pd.Timestamp(raw).tz_localize(NY)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class Quote:
    """One quote (equity, index or option); prices NaN when missing, ``bid 0`` = no bid."""

    symbol: str
    kind: str
    last: float
    bid: float
    ask: float
    volume: float
    open: float
    high: float
    low: float
    prevclose: float
    trade_time: pd.Timestamp | None
    bid_time: pd.Timestamp | None
    ask_time: pd.Timestamp | None
    underlying: str = ""
    strike: float = math.nan
    option_type: str = ""
    expiration: date | None = None
    greeks: Mapping[str, Any] | None = None
    open_interest: float = math.nan

    @property
    def quote_time(self) -> pd.Timestamp | None:
        """Age of the book: ``max(bid_date, ask_date)`` (``trade_date`` is the last trade,
        which can be days old on an untraded strike while the book is live)."""
        times = [t for t in (self.bid_time, self.ask_time) if t is not None]
        return max(times) if times else self.trade_time


def parse_quote(row: Mapping[str, Any]) -> Quote:
    """One quote record."""
    expiry = text(row.get("expiration_date"))
    greeks = row.get("greeks")
    return Quote(
        symbol=text(row.get("symbol")),
        kind=text(row.get("type")),
        last=num(row.get("last")),
        bid=num(row.get("bid")),
        ask=num(row.get("ask")),
        volume=num(row.get("volume")),
        open=num(row.get("open")),
        high=num(row.get("high")),
        low=num(row.get("low")),
        prevclose=num(row.get("prevclose")),
        trade_time=epoch_ms(row.get("trade_date")),
        bid_time=epoch_ms(row.get("bid_date")),
        ask_time=epoch_ms(row.get("ask_date")),
        underlying=text(row.get("underlying")),
        strike=num(row.get("strike")),
        option_type=text(row.get("option_type")),
        expiration=date.fromisoformat(expiry) if expiry else None,
        greeks=greeks if isinstance(greeks, Mapping) else None,
        open_interest=num(row.get("open_interest")),
    )


def parse_quotes(body: Any) -> tuple[list[Quote], list[str]]:
    """``(quotes, unmatched symbols)`` of ``/markets/quotes``."""
    quotes = [parse_quote(q) for q in many(body, "quotes", "quote") if isinstance(q, Mapping)]
    outer = body.get("quotes") if isinstance(body, Mapping) else None
    unmatched = many(outer, "unmatched_symbols", "symbol") if isinstance(outer, Mapping) else []
    return quotes, [str(s) for s in unmatched]


def parse_chain(body: Any) -> list[Quote]:
    """The rows of ``/markets/options/chains`` (calls and puts of one expiration)."""
    return [parse_quote(q) for q in many(body, "options", "option") if isinstance(q, Mapping)]


def parse_expirations(body: Any) -> list[date]:
    """``/markets/options/expirations``: plain dates or ``expiration`` records."""
    dates = many(body, "expirations", "date")
    if not dates:
        dates = [e.get("date") for e in many(body, "expirations", "expiration")]
    return sorted(date.fromisoformat(str(d)) for d in dates if d)


@dataclass(frozen=True, slots=True)
class TimesaleBar:
    """One timesales bar; ``time`` is the bar start in New York time."""

    time: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float


def parse_timesales(body: Any) -> list[TimesaleBar]:
    """Bars of ``/markets/timesales`` (``series.data``; none is ``{"series": null}``)."""
    out = []
    for row in many(body, "series", "data"):
        if not isinstance(row, Mapping):
            continue
        time = ny_time(row.get("time"))
        if time is None:
            time = epoch_s(row.get("timestamp"))
        if time is None:
            continue
        out.append(
            TimesaleBar(
                time=time,
                open=num(row.get("open")),
                high=num(row.get("high")),
                low=num(row.get("low")),
                close=num(row.get("close")),
                volume=num(row.get("volume")),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class MarketClock:
    """``/markets/clock``: the venue's session state and time."""

    day: date
    state: str  # premarket | open | postmarket | closed
    time: pd.Timestamp
    next_change: str
    next_state: str


def parse_clock(body: Any) -> MarketClock:
    """The clock record (raises ``KeyError``/``ValueError`` when it is not one)."""
    clock = body["clock"]
    time = epoch_s(clock.get("timestamp"))
    if time is None:
        raise ValueError(f"clock without a timestamp: {clock!r}")
    return MarketClock(
        day=date.fromisoformat(str(clock["date"])),
        state=text(clock.get("state")),
        time=time,
        next_change=text(clock.get("next_change")),
        next_state=text(clock.get("next_state")),
    )


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One calendar day; ``open``/``close`` of the regular session (None when closed)."""

    day: date
    status: str
    open: pd.Timestamp | None
    close: pd.Timestamp | None


def parse_calendar(body: Any) -> list[CalendarDay]:
    """Days of ``/markets/calendar``."""
    cal = body.get("calendar") if isinstance(body, Mapping) else None
    out = []
    for row in many(cal, "days", "day"):
        day = date.fromisoformat(str(row["date"]))
        hours = row.get("open") if isinstance(row.get("open"), Mapping) else {}
        start, end = text(hours.get("start")), text(hours.get("end"))
        out.append(
            CalendarDay(
                day=day,
                status=text(row.get("status")),
                open=pd.Timestamp(f"{day} {start}", tz=NY) if start else None,
                close=pd.Timestamp(f"{day} {end}", tz=NY) if end else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class TradierOrder:
    """One order record; ``avg_fill_price`` NaN until filled (0.0 and null alike)."""

    id: str
    tag: str
    status: str
    kind: str  # market | limit | ...
    side: str
    quantity: int
    exec_quantity: int
    avg_fill_price: float
    last_fill_price: float
    remaining_quantity: int
    option_symbol: str
    price: float
    create_date: pd.Timestamp | None
    transaction_date: pd.Timestamp | None
    reason: str
    legs: tuple[TradierOrder, ...] = field(default_factory=tuple)


def parse_order(row: Mapping[str, Any]) -> TradierOrder:
    """One order record (legs of multileg orders parsed alike)."""
    return TradierOrder(
        id=text(row.get("id")),
        tag=text(row.get("tag")),
        status=text(row.get("status")).lower(),
        kind=text(row.get("type")).lower(),
        side=text(row.get("side")).lower(),
        quantity=qty(row.get("quantity")),
        exec_quantity=qty(row.get("exec_quantity", row.get("executed_quantity"))),
        avg_fill_price=price(row.get("avg_fill_price")),
        last_fill_price=price(row.get("last_fill_price")),
        remaining_quantity=qty(row.get("remaining_quantity")),
        option_symbol=text(row.get("option_symbol")),
        price=num(row.get("price")),
        create_date=utc_time(row.get("create_date")),
        transaction_date=utc_time(row.get("transaction_date")),
        reason=text(row.get("reason_description")),
        legs=tuple(parse_order(leg) for leg in as_list(row.get("leg")) if isinstance(leg, Mapping)),
    )


def parse_orders(body: Any) -> list[TradierOrder]:
    """``/accounts/{id}/orders`` (``{"orders": "null"}`` is none)."""
    return [parse_order(o) for o in many(body, "orders", "order") if isinstance(o, Mapping)]


@dataclass(frozen=True, slots=True)
class TradierPosition:
    """One position: signed quantity and total cost basis in dollars."""

    symbol: str
    quantity: int
    cost_basis: float
    acquired: pd.Timestamp | None


def parse_positions(body: Any) -> list[TradierPosition]:
    """``/accounts/{id}/positions`` (``{"positions": "null"}`` is none)."""
    out = []
    for row in many(body, "positions", "position"):
        if not isinstance(row, Mapping):
            continue
        out.append(
            TradierPosition(
                symbol=text(row.get("symbol")),
                quantity=qty(row.get("quantity")),
                cost_basis=num(row.get("cost_basis", row.get("costbasis"))),
                acquired=utc_time(row.get("date_acquired")),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Balances:
    """``/accounts/{id}/balances``: cash, equity and option buying power."""

    account_type: str
    total_cash: float
    total_equity: float
    option_buying_power: float


def parse_balances(body: Any) -> Balances:
    """The balances record; the buying power is read from the account type's sub-object."""
    b = body["balances"]
    kind = text(b.get("account_type")).lower() or "cash"
    sub = b.get(kind) if isinstance(b.get(kind), Mapping) else {}
    bp = num(sub.get("option_buying_power"))
    if math.isnan(bp):
        bp = num(sub.get("cash_available"))
    return Balances(
        account_type=kind,
        total_cash=num(b.get("total_cash")),
        total_equity=num(b.get("total_equity")),
        option_buying_power=bp,
    )


def errors_of(body: Any) -> list[str]:
    """The ``errors.error`` strings of a 200 reply that refused a request ([] if none)."""
    if not isinstance(body, Mapping):
        return []
    return [str(e) for e in many(body, "errors", "error")]
