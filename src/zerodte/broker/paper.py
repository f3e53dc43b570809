"""The paper broker: fills queued orders against snapshot quotes with honest friction.

Order lifecycle (see ``docs/fills.md``):

1. ``submit(order)`` during cycle ``t`` (after ``poll`` of bar ``t``) validates the order at
   the door and queues it with the time of bar ``t``.
2. ``poll(snapshot)`` of a later bar fills every due order at that bar's OPEN quote
   (:class:`~zerodte.broker.fills.NextBarLatency`): market orders at the ask/bid plus
   slippage; limit orders only when the quote crosses the limit, at the better of the limit
   and the slipped quote, else they stay pending until cancelled or the session ends.
3. Market orders that cannot fill are rejected with an explicit :class:`Rejection`
   (``insufficient_cash``, ``no_quote``, ``market_closed``); day orders left at the end of
   the session expire.

Positions are marked at the BID of the latest snapshot's CLOSE quote (what a sale would
get before slippage). A position still open after its expiry session settles at intrinsic
value from the last underlying price seen, with no fee.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from zerodte.broker.base import (
    BrokerEvent,
    OrderRecord,
    OrderStatus,
    Rejection,
    RejectReason,
    WorkingOrder,
    door_check,
)
from zerodte.broker.book import (
    AccountBook,
    SessionBounds,
    calendar_session_bounds,
    intrinsic_value,
)
from zerodte.broker.fills import ExecutionModel, build_execution_model
from zerodte.broker.ledger import ClosedTrade, Ledger
from zerodte.broker.reconcile import VenueView
from zerodte.broker.tags import SETTLEMENT_SUFFIX, is_settlement
from zerodte.config.root import Settings
from zerodte.errors import OrderRejected
from zerodte.types import (
    AccountState,
    Fill,
    OptionContract,
    OptionQuote,
    Order,
    OrderType,
    Position,
    Side,
    Snapshot,
)

logger = logging.getLogger(__name__)

SETTLEMENT_TAG_SUFFIX = SETTLEMENT_SUFFIX
"""Suffix of the tag of a settlement fill (the opening tag plus this)."""

__all__ = [
    "SETTLEMENT_TAG_SUFFIX",
    "PaperBroker",
    "SessionBounds",
    "calendar_session_bounds",
    "intrinsic_value",
]


def _usable(quote: OptionQuote | None) -> bool:
    """A quote an order can trade against: both sides finite, ask positive, bid <= ask."""
    if quote is None:
        return False
    bid, ask = quote.bid, quote.ask
    return math.isfinite(bid) and math.isfinite(ask) and ask > 0.0 and 0.0 <= bid <= ask


@dataclass(slots=True)
class _Pending:
    order_id: str
    order: Order
    due: pd.Timestamp | None
    session: date | None


class PaperBroker:
    """A simulated broker implementing :class:`~zerodte.broker.base.Broker`.

    Parameters
    ----------
    initial_cash
        Starting cash in dollars.
    execution
        Fill, slippage, fee and latency models (:func:`build_execution_model`).
    session_bounds
        ``session -> (open, close)``; defaults to the NYSE calendar. Orders only fill at bars
        starting inside ``[open, close)`` of the session they were submitted in.
    id_prefix
        Prefix of order ids (``paper-1``, ``paper-2``, ...).
    """

    polls_when_idle = False  # acts only on its own pending orders and open positions

    def __init__(
        self,
        initial_cash: float,
        execution: ExecutionModel,
        session_bounds: SessionBounds | None = None,
        id_prefix: str = "paper",
    ) -> None:
        self.execution = execution
        self.book = AccountBook(initial_cash, session_bounds)
        self._id_prefix = id_prefix
        self._next_id = 1
        self._records: dict[str, OrderRecord] = {}
        self._pending: list[_Pending] = []

    @classmethod
    def from_settings(
        cls, settings: Settings, session_bounds: SessionBounds | None = None
    ) -> PaperBroker:
        """A paper broker with ``broker.initial_cash`` and the friction of ``costs``."""
        return cls(
            initial_cash=settings.broker.initial_cash,
            execution=build_execution_model(settings.costs, tick=settings.options.tick),
            session_bounds=session_bounds,
        )

    @property
    def ledger(self) -> Ledger:
        """The books (cash, positions, closed trades)."""
        return self.book.ledger

    # -- Broker protocol -----------------------------------------------------------------
    def submit(self, order: Order) -> str:
        """Validate and queue ``order``; it fills at a later ``poll`` (never this bar).

        Raises
        ------
        OrderRejected
            ``invalid_quantity`` (qty not an integer >= 1), ``invalid_limit_price`` (limit
            order without a positive finite limit, or a market order with one) or
            ``insufficient_position`` (selling more than held minus pending sales).
        """
        order_id = f"{self._id_prefix}-{self._next_id}"
        self._next_id += 1
        snap = self.book.snapshot
        submitted_at = None if snap is None else snap.time
        problem = door_check(order, *self._held_and_selling(order))
        if problem is not None:
            reason, detail = problem
            self._records[order_id] = OrderRecord(
                order_id, order, OrderStatus.REJECTED, submitted_at, reject_reason=reason
            )
            raise OrderRejected(reason, detail)
        self._queue(order_id, order, submitted_at, self.book.session)
        return order_id

    def cancel(self, order_id: str) -> bool:
        """Cancel a pending order; ``False`` when it is unknown or no longer pending."""
        for i, pending in enumerate(self._pending):
            if pending.order_id == order_id:
                del self._pending[i]
                self._set_status(order_id, OrderStatus.CANCELLED)
                return True
        return False

    def poll(self, snapshot: Snapshot) -> list[BrokerEvent]:
        """Advance to ``snapshot``: settle expiries, expire stale orders, fill due orders."""
        events: list[BrokerEvent] = []
        if snapshot.session != self.book.session:
            events.extend(self._new_session(snapshot.session))
        self.book.observe(snapshot)
        if not self._pending:
            return events
        still: list[_Pending] = []
        for pending in self._pending:
            if pending.due is not None and snapshot.time < pending.due:
                still.append(pending)
                continue
            event = self._execute(pending, snapshot)
            if event is None:
                still.append(pending)
            else:
                events.append(event)
        self._pending = still
        return events

    def positions(self) -> tuple[Position, ...]:
        """Open positions (average price, entry time of the first fill, opening tag)."""
        return self.book.positions()

    def account(self) -> AccountState:
        """Cash, equity (positions at the latest close bid), buying power and counters."""
        return self.book.account()

    def orders(self) -> tuple[OrderRecord, ...]:
        """Every order submitted, in submission order, with its current status."""
        return tuple(self._records.values())

    def end_of_session(self, session: date) -> list[BrokerEvent]:
        """``session`` closed: its day orders end, what expires settles at intrinsic."""
        events: list[BrokerEvent] = [
            self._expire(p) for p in self._pending if p.session is None or p.session <= session
        ]
        self._pending = [p for p in self._pending if p.session is not None and p.session > session]
        events.extend(self.book.settle_expired(session))
        return events

    # -- extras --------------------------------------------------------------------------
    def closed_trades(self) -> tuple[ClosedTrade, ...]:
        """Every sale (full or partial exit, or settlement) matched to its entry."""
        return self.ledger.closed_trades()

    def marks(self) -> dict[OptionContract, float]:
        """Current per-share marks (close bids) of the open positions."""
        return self.book.marks()

    def venue_view(self) -> VenueView:
        """A simulated venue keeps nothing across a restart: the journal is the record."""
        return VenueView(orders={}, positions={}, authoritative=False)

    def fill_fee(self, qty: int) -> float:
        """The fee model's fee for ``qty`` contracts."""
        return self.execution.fees.fee(qty)

    def settle_expired(self, session: date) -> list[Fill]:
        """Settle positions expiring on or before ``session`` at intrinsic value.

        See :meth:`zerodte.broker.book.AccountBook.settle_expired`. Call it at the end of
        the data when the last session ran to its close.
        """
        return self.book.settle_expired(session)

    def restore(
        self, initial_cash: float, fills: list[tuple[Fill, date]], working: list[WorkingOrder]
    ) -> None:
        """Rebuild the books and the order queue from a journal after a restart.

        The books start again from ``initial_cash``; ``fills`` are booked in order (each
        with its session); ``working`` orders are queued again with the time of the bar they
        were submitted at, so they fill at the bar they would have.
        """
        self.book = AccountBook(initial_cash, self.book.bounds_source)
        self._pending = []
        for fill, session in fills:
            if self.book.session != session:
                self.book.start_session(session)
            self.book.book(fill, session, None, settled=is_settlement(fill.tag))
        for w in working:
            day = None if w.submitted_at is None else w.submitted_at.date()
            self._queue(w.order_id, w.order, w.submitted_at, day)
            self._next_id = max(self._next_id, _id_number(w.order_id, self._id_prefix) + 1)

    # -- internals -----------------------------------------------------------------------
    def _queue(
        self,
        order_id: str,
        order: Order,
        submitted_at: pd.Timestamp | None,
        session: date | None,
    ) -> None:
        due = None if submitted_at is None else self.execution.latency.due_time(submitted_at)
        self._records[order_id] = OrderRecord(order_id, order, OrderStatus.PENDING, submitted_at)
        self._pending.append(_Pending(order_id, order, due, session))

    def _held_and_selling(self, order: Order) -> tuple[int, int]:
        pos = self.ledger.position(order.contract)
        held = 0 if pos is None else pos.qty
        selling = sum(
            p.order.qty
            for p in self._pending
            if p.order.side is Side.SELL and p.order.contract == order.contract
        )
        return held, selling

    def _new_session(self, session: date) -> list[BrokerEvent]:
        events: list[BrokerEvent] = []
        if self.book.session is not None:
            # Day orders do not survive their session; a 0DTE contract would be gone anyway.
            for pending in self._pending:
                if pending.session is not None and pending.session != session:
                    events.append(self._expire(pending))
            self._pending = [p for p in self._pending if p.session is None or p.session == session]
        events.extend(self.book.start_session(session))
        return events

    def _expire(self, pending: _Pending) -> Rejection:
        if pending.order.order_type is OrderType.LIMIT:
            self._set_status(pending.order_id, OrderStatus.EXPIRED, RejectReason.EXPIRED.value)
            return Rejection(
                pending.order_id,
                pending.order,
                RejectReason.EXPIRED.value,
                f"day limit order unfilled when session {pending.session} ended",
            )
        return self._reject(
            pending,
            RejectReason.MARKET_CLOSED,
            f"session {pending.session} ended before the order could fill",
        )

    def _reject(self, pending: _Pending, reason: RejectReason, detail: str) -> Rejection:
        self._set_status(pending.order_id, OrderStatus.REJECTED, reason.value)
        logger.info("order %s rejected: %s (%s)", pending.order_id, reason.value, detail)
        return Rejection(pending.order_id, pending.order, reason.value, detail)

    def _set_status(self, order_id: str, status: OrderStatus, reason: str = "") -> None:
        rec = self._records[order_id]
        self._records[order_id] = replace(rec, status=status, reject_reason=reason)

    def _execute(self, pending: _Pending, snapshot: Snapshot) -> BrokerEvent | None:
        """Fill, reject, or (``None``) leave ``pending`` queued at ``snapshot``'s open."""
        order = pending.order
        is_limit = order.order_type is OrderType.LIMIT
        open_, close = self.book.session_bounds(snapshot.session)
        if not open_ <= snapshot.time < close:
            if is_limit and snapshot.time < open_:
                return None
            if is_limit:
                return self._expire(pending)
            return self._reject(
                pending,
                RejectReason.MARKET_CLOSED,
                f"bar {snapshot.time} is outside the session [{open_}, {close})",
            )
        quote = snapshot.quotes.quote(order.contract, at="open")
        side = order.side
        if quote is None or not _usable(quote) or (side is Side.SELL and quote.bid <= 0.0):
            if is_limit:
                return None
            return self._reject(
                pending,
                RejectReason.NO_QUOTE,
                f"no usable {side.value} quote for {order.contract} at {snapshot.time}: {quote!r}",
            )
        price, slip = self.execution.price(side, quote)
        if is_limit:
            limit = order.limit_price
            assert limit is not None
            # Fills only when the quote crosses the limit; never worse than the limit.
            if side is Side.BUY:
                if quote.ask > limit:
                    return None
                price = min(price, limit)
                slip = price - quote.ask
            else:
                if quote.bid < limit:
                    return None
                price = max(price, limit)
                slip = quote.bid - price
        fee = self.execution.fees.fee(order.qty)
        cash = self.ledger.cash
        if side is Side.BUY:
            cost = price * 100.0 * order.qty + fee
            if cost > cash:
                return self._reject(
                    pending,
                    RejectReason.INSUFFICIENT_CASH,
                    f"needs ${cost:,.2f} (price {price:.4f} x 100 x {order.qty} + fee "
                    f"{fee:.2f}), cash ${cash:,.2f}",
                )
        else:
            pos = self.ledger.position(order.contract)
            if pos is None or pos.qty < order.qty:
                return self._reject(
                    pending,
                    RejectReason.INSUFFICIENT_POSITION,
                    f"position in {order.contract} is {0 if pos is None else pos.qty} at fill",
                )
        fill = Fill(
            tag=order.tag,
            contract=order.contract,
            side=side,
            qty=order.qty,
            price=price,
            fee=fee,
            time=snapshot.time,
            slippage=slip,
            group=order.group,
            quote_spread=quote.ask - quote.bid,
            quote_source=quote.source,
        )
        self.book.book(fill, snapshot.session, quote)
        rec = self._records[pending.order_id]
        self._records[pending.order_id] = replace(rec, status=OrderStatus.FILLED, fill=fill)
        return fill


def _id_number(order_id: str, prefix: str) -> int:
    head, _, tail = order_id.rpartition("-")
    return int(tail) if head == prefix and tail.isdigit() else 0
