"""The broker seam. ``PaperBroker`` and ``TradierBroker`` pass one contract test suite."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol, runtime_checkable

import pandas as pd

from zerodte.types import AccountState, Fill, Order, OrderType, Position, Side, Snapshot


class OrderStatus(StrEnum):
    """Lifecycle of an order."""

    PENDING = "pending"
    PARTIALLY_FILLED = "partially_filled"  # some contracts filled, the rest still working
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"  # a day order still pending when its session ended


class RejectReason(StrEnum):
    """Machine-readable rejection reasons shared by every broker (``OrderRejected.reason``
    at submit, :attr:`Rejection.reason` from ``poll``)."""

    INVALID_QUANTITY = "invalid_quantity"
    INVALID_LIMIT_PRICE = "invalid_limit_price"
    INSUFFICIENT_POSITION = "insufficient_position"
    INSUFFICIENT_CASH = "insufficient_cash"
    NO_QUOTE = "no_quote"
    MARKET_CLOSED = "market_closed"
    EXPIRED = "expired"
    INVALID_TAG = "invalid_tag"
    CANCELLED = "cancelled"  # the venue cancelled the rest of an order we did not cancel
    VENUE_REJECTED = "venue_rejected"  # a venue refusal without a more specific reason
    NOT_PLACED = "not_placed"  # outcome unknown, proven absent at the venue, not re-sent


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """An order as the broker knows it."""

    order_id: str
    order: Order
    status: OrderStatus
    submitted_at: object
    fill: Fill | None = None
    reject_reason: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """An explicit rejection event; ``reason`` is a :class:`RejectReason` value.

    A day limit order still pending at the end of its session is reported the same way with
    reason ``"expired"`` (its record's status is ``EXPIRED``).
    """

    order_id: str
    order: Order
    reason: str
    detail: str = ""


BrokerEvent = Fill | Rejection


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """An order still working at the venue, as a journal remembers it across a restart.

    ``submitted_at`` is the start of the bar whose cycle sent it (what the paper broker's
    latency model counts from); ``filled_qty`` the contracts already filled.
    """

    order_id: str
    order: Order
    submitted_at: pd.Timestamp | None
    filled_qty: int = 0


@runtime_checkable
class Broker(Protocol):
    """What the engine needs from a broker, paper or live.

    ``poll(snapshot)`` is called once per cycle before anything else: the paper broker fills
    pending orders at this snapshot's opening quotes; a live broker asks the venue what
    happened. Both return the fills and rejections since the last poll.

    ``polls_when_idle`` says whether ``poll`` must be called on cycles without pending
    orders or open positions (a live broker learns of the venue there; the paper broker only
    acts on its own orders and positions, so the engine skips it). ``end_of_session`` is
    called when the data ends at a session's close: the broker settles what expires and
    ends its day orders.
    """

    @property
    def polls_when_idle(self) -> bool:
        """Whether ``poll`` must run on cycles with nothing pending and nothing held."""
        ...

    def submit(self, order: Order) -> str:
        """Queue ``order``; returns its id. Raises ``OrderRejected`` for invalid orders."""
        ...

    def cancel(self, order_id: str) -> bool:
        """Cancel a pending order; ``True`` if it was pending."""
        ...

    def poll(self, snapshot: Snapshot) -> list[BrokerEvent]:
        """Advance to ``snapshot`` and return fills and rejections since the last poll."""
        ...

    def positions(self) -> tuple[Position, ...]:
        """Open positions."""
        ...

    def account(self) -> AccountState:
        """Cash, equity (positions marked at the bid) and buying power."""
        ...

    def orders(self) -> tuple[OrderRecord, ...]:
        """Every order this broker has seen in this session."""
        ...

    def end_of_session(self, session: date) -> list[BrokerEvent]:
        """``session`` has closed: settle expiring positions, end its day orders."""
        ...


def door_check(order: Order, held: int, selling: int) -> tuple[str, str] | None:
    """The checks every broker makes at ``submit``: ``(reason, detail)`` or ``None``.

    ``held`` is the position in the order's contract and ``selling`` the contracts already
    being sold by pending orders. Reasons: ``invalid_quantity`` (not an int >= 1),
    ``invalid_limit_price`` (a limit order without a positive finite limit, or a market
    order with one), ``insufficient_position`` (selling more than held minus pending sales).
    """
    qty = order.qty
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        return (RejectReason.INVALID_QUANTITY.value, f"qty must be an integer >= 1, got {qty!r}")
    limit = order.limit_price
    if order.order_type is OrderType.LIMIT:
        if limit is None or not math.isfinite(limit) or limit <= 0.0:
            return (
                RejectReason.INVALID_LIMIT_PRICE.value,
                f"a limit order needs a positive finite limit_price, got {limit!r}",
            )
    elif limit is not None:
        return (
            RejectReason.INVALID_LIMIT_PRICE.value,
            f"a market order must not carry limit_price (got {limit!r}); use OrderType.LIMIT",
        )
    if order.side is Side.SELL and qty > held - selling:
        return (
            RejectReason.INSUFFICIENT_POSITION.value,
            f"sell {qty} {order.contract} but {held} held and {selling} already being sold",
        )
    return None
