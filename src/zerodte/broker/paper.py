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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from zerodte.broker.base import BrokerEvent, OrderRecord, OrderStatus, Rejection, RejectReason
from zerodte.broker.fills import ExecutionModel, build_execution_model
from zerodte.broker.ledger import ClosedTrade, Ledger
from zerodte.config.root import Settings
from zerodte.errors import BrokerError, OrderRejected
from zerodte.types import (
    AccountState,
    Fill,
    OptionContract,
    OptionQuote,
    Order,
    OrderType,
    Position,
    Right,
    Side,
    Snapshot,
)

logger = logging.getLogger(__name__)

SessionBounds = Callable[[date], tuple[pd.Timestamp, pd.Timestamp]]
"""``session -> (open, close)`` of the regular session, tz-aware New York times."""

SETTLEMENT_TAG_SUFFIX = ":expiry"
"""Suffix of the tag of a settlement fill (the opening tag plus this)."""


def calendar_session_bounds() -> SessionBounds:
    """Session bounds from the NYSE calendar (13:00 closes on half days)."""
    from zerodte.market.calendar import TradingCalendar

    cal = TradingCalendar()
    return lambda day: (cal.session_open(day), cal.session_close(day))


def intrinsic_value(contract: OptionContract, underlying: float) -> float:
    """``max(S - K, 0)`` for a call, ``max(K - S, 0)`` for a put."""
    if contract.right is Right.CALL:
        return max(underlying - contract.strike, 0.0)
    return max(contract.strike - underlying, 0.0)


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

    def __init__(
        self,
        initial_cash: float,
        execution: ExecutionModel,
        session_bounds: SessionBounds | None = None,
        id_prefix: str = "paper",
    ) -> None:
        self.execution = execution
        self.ledger = Ledger(initial_cash)
        self._bounds_fn = session_bounds
        self._bounds: dict[date, tuple[pd.Timestamp, pd.Timestamp]] = {}
        self._id_prefix = id_prefix
        self._next_id = 1
        self._records: dict[str, OrderRecord] = {}
        self._pending: list[_Pending] = []
        self._snapshot: Snapshot | None = None
        self._session: date | None = None
        self._marks: dict[OptionContract, float] = {}
        self._marked: Snapshot | None = None
        self._underlying: dict[str, float] = {}
        self._day_start_equity: float | None = None

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
        submitted_at = None if self._snapshot is None else self._snapshot.time
        problem = self._validate(order)
        if problem is not None:
            reason, detail = problem
            self._records[order_id] = OrderRecord(
                order_id, order, OrderStatus.REJECTED, submitted_at, reject_reason=reason
            )
            raise OrderRejected(reason, detail)
        due = None if submitted_at is None else self.execution.latency.due_time(submitted_at)
        self._records[order_id] = OrderRecord(order_id, order, OrderStatus.PENDING, submitted_at)
        self._pending.append(_Pending(order_id, order, due, self._session))
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
        if snapshot.session != self._session:
            events.extend(self._new_session(snapshot.session))
        self._snapshot = snapshot
        if self._marks:
            self._track_underlying(snapshot)
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
        return self.ledger.positions()

    def account(self) -> AccountState:
        """Cash, equity (positions at the latest close bid), buying power and counters."""
        snap = self._snapshot
        if snap is not None and self._marked is not snap and self._marks:
            self._mark(snap)
        return self.ledger.account(self._marks, day_start_equity=self._day_start_equity)

    def orders(self) -> tuple[OrderRecord, ...]:
        """Every order submitted, in submission order, with its current status."""
        return tuple(self._records.values())

    # -- extras --------------------------------------------------------------------------
    def closed_trades(self) -> tuple[ClosedTrade, ...]:
        """Every sale (full or partial exit, or settlement) matched to its entry."""
        return self.ledger.closed_trades()

    def marks(self) -> dict[OptionContract, float]:
        """Current per-share marks (close bids) of the open positions."""
        self.account()
        return dict(self._marks)

    def settle_expired(self, session: date) -> list[Fill]:
        """Settle positions expiring on or before ``session`` at intrinsic value.

        The underlying price is the last one seen (the close of the last bar polled); the
        settlement is a SELL fill at ``max(S - K, 0)`` (call) or ``max(K - S, 0)`` (put), no
        fee, time = the session close, tag = opening tag + :data:`SETTLEMENT_TAG_SUFFIX`.
        Call it at the end of the data when the last session ran to its close.
        """
        fills: list[Fill] = []
        for pos in self.ledger.positions():
            contract = pos.contract
            if contract.expiry > session:
                continue
            price = self._underlying.get(contract.underlying)
            if price is None:
                raise BrokerError(
                    f"cannot settle {contract}: no {contract.underlying} price was seen; poll "
                    "at least one snapshot with its bar (or quote) before settlement"
                )
            close = self._session_bounds(contract.expiry)[1]
            fill = Fill(
                tag=pos.tag + SETTLEMENT_TAG_SUFFIX,
                contract=contract,
                side=Side.SELL,
                qty=pos.qty,
                price=intrinsic_value(contract, price),
                fee=0.0,
                time=close,
                group=pos.group,
            )
            self.ledger.apply(fill, self._session or contract.expiry, settled=True)
            self._marks.pop(contract, None)
            logger.info("settled %s x%d at intrinsic %.4f", contract, pos.qty, fill.price)
            fills.append(fill)
        return fills

    # -- internals -----------------------------------------------------------------------
    def _validate(self, order: Order) -> tuple[str, str] | None:
        qty = order.qty
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            return (
                RejectReason.INVALID_QUANTITY.value,
                f"qty must be an integer >= 1, got {qty!r}",
            )
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
        if order.side is Side.SELL:
            pos = self.ledger.position(order.contract)
            held = 0 if pos is None else pos.qty
            selling = sum(
                p.order.qty
                for p in self._pending
                if p.order.side is Side.SELL and p.order.contract == order.contract
            )
            if qty > held - selling:
                return (
                    RejectReason.INSUFFICIENT_POSITION.value,
                    f"sell {qty} {order.contract} but {held} held and {selling} already being sold",
                )
        return None

    def _session_bounds(self, session: date) -> tuple[pd.Timestamp, pd.Timestamp]:
        bounds = self._bounds.get(session)
        if bounds is None:
            if self._bounds_fn is None:
                self._bounds_fn = calendar_session_bounds()
            bounds = self._bounds_fn(session)
            self._bounds[session] = bounds
        return bounds

    def _new_session(self, session: date) -> list[BrokerEvent]:
        events: list[BrokerEvent] = []
        previous = self._session
        if previous is not None:
            # Day orders do not survive their session; a 0DTE contract would be gone anyway.
            for pending in self._pending:
                if pending.session is not None and pending.session != session:
                    events.append(self._expire(pending))
            self._pending = [p for p in self._pending if p.session is None or p.session == session]
            if self._marks:
                events.extend(self.settle_expired(min(previous, session)))
        self._session = session
        self.ledger.roll_session(session)
        # Positions carried overnight are valued at their last marks (the previous close).
        self._day_start_equity = self.ledger.cash + self.ledger.positions_value(self._marks)
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
        open_, close = self._session_bounds(snapshot.session)
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
        if side is Side.BUY:
            cost = price * 100.0 * order.qty + fee
            if cost > self.ledger.cash:
                return self._reject(
                    pending,
                    RejectReason.INSUFFICIENT_CASH,
                    f"needs ${cost:,.2f} (price {price:.4f} x 100 x {order.qty} + fee "
                    f"{fee:.2f}), cash ${self.ledger.cash:,.2f}",
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
        )
        self.ledger.apply(fill, snapshot.session)
        rec = self._records[pending.order_id]
        self._records[pending.order_id] = replace(rec, status=OrderStatus.FILLED, fill=fill)
        if self.ledger.position(order.contract) is None:
            self._marks.pop(order.contract, None)
        else:
            self._marks[order.contract] = quote.bid
            self._underlying[order.contract.underlying] = quote.underlying_price
        self._marked = None
        return fill

    def _mark(self, snapshot: Snapshot) -> None:
        for contract in self._marks:
            quote = snapshot.quotes.quote(contract, at="close")
            if quote is not None and math.isfinite(quote.bid) and quote.bid >= 0.0:
                self._marks[contract] = quote.bid
                if contract.underlying not in snapshot.bars and math.isfinite(
                    quote.underlying_price
                ):
                    self._underlying[contract.underlying] = quote.underlying_price
            else:
                logger.debug(
                    "no close bid for %s at %s; keeping last mark", contract, snapshot.time
                )
        self._marked = snapshot

    def _track_underlying(self, snapshot: Snapshot) -> None:
        for contract in self._marks:
            bar = snapshot.bars.get(contract.underlying)
            if bar is not None and math.isfinite(bar.close):
                self._underlying[contract.underlying] = bar.close
