"""The broker seam. ``PaperBroker`` and ``TradierBroker`` pass one contract test suite."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from zerodte.types import AccountState, Fill, Order, Position, Snapshot


class OrderStatus(StrEnum):
    """Lifecycle of an order."""

    PENDING = "pending"
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


@runtime_checkable
class Broker(Protocol):
    """What the engine needs from a broker, paper or live.

    ``poll(snapshot)`` is called once per cycle before anything else: the paper broker fills
    pending orders at this snapshot's opening quotes; a live broker asks the venue what
    happened. Both return the fills and rejections since the last poll.
    """

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
