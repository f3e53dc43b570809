"""The broker seam. ``PaperBroker`` and ``TradierBroker`` pass one contract test suite."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from zerodte.types import AccountState, Fill, Order, Position, Snapshot


class OrderStatus(str, Enum):
    """Lifecycle of an order."""

    PENDING = "pending"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


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
    """An explicit rejection event (insufficient_cash, no_quote, market_closed, invalid_qty)."""

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
