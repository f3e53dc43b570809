"""``TradierBroker``: the :class:`~zerodte.broker.base.Broker` of a Tradier account.

* Orders: OCC ``option_symbol``, explicit intent (``buy_to_open``, ``sell_to_close``),
  market or limit (2 dp), ``duration=day``, the client tag as ``tag``; each is previewed
  (``preview=true``) before it is placed.
* Door checks are the paper broker's (:func:`~zerodte.broker.base.door_check`), plus the
  tag grammar; a venue refusal (preview or placement) is a
  :class:`~zerodte.broker.base.Rejection` at the next poll, as the paper broker reports
  cash and quote problems.
* An order POST without an answer is never re-sent blindly: the order is looked up by its
  tag; found, it is adopted; proven absent after ``lookup_attempts`` lookups, it is sent
  once more; still unknown, :class:`~zerodte.errors.OrderOutcomeUnknown` stops the cycle
  and the bot reconciles.
* ``poll`` reads today's orders and books fills as the increase of ``exec_quantity``
  since the last poll, at the price that keeps the average equal to ``avg_fill_price``
  (a ``filled`` status before ``avg_fill_price`` waits for the next poll). A terminal
  status with contracts left (``canceled``, ``expired``, ``rejected``) is a rejection of
  the rest.
* Cash, positions and marks are booked in the same :class:`~zerodte.broker.book.AccountBook`
  as the paper broker's, from the venue's fills and the configured fee schedule (Tradier
  reports no per-fill fees), so the gates see the same counters.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
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
from zerodte.broker.book import AccountBook, SessionBounds
from zerodte.broker.fills import ExecutionModel
from zerodte.broker.reconcile import VenueOrder, VenueView
from zerodte.broker.tags import check_tag, is_settlement
from zerodte.broker.tradier.client import TradierClient
from zerodte.broker.tradier.parse import TradierOrder
from zerodte.broker.tradier.session import reject_reason
from zerodte.errors import BrokerError, OrderOutcomeUnknown, OrderRejected, TransientBrokerError
from zerodte.types import AccountState, Fill, Order, OrderType, Position, Side, Snapshot

logger = logging.getLogger(__name__)

_TERMINAL = ("filled", "canceled", "cancelled", "expired", "rejected", "error")


def order_form(order: Order) -> dict[str, str]:
    """The form fields of a single-leg option order (``TRADIER_API.md`` §5.13)."""
    form = {
        "class": "option",
        "symbol": order.contract.underlying,
        "option_symbol": order.contract.symbol,
        "side": "buy_to_open" if order.side is Side.BUY else "sell_to_close",
        "quantity": str(order.qty),
        "type": "limit" if order.order_type is OrderType.LIMIT else "market",
        "duration": "day",
        "tag": order.tag,
    }
    if order.limit_price is not None:
        form["price"] = f"{order.limit_price:.2f}"
    return form


@dataclass(slots=True)
class _Working:
    """An order at the venue that this broker still follows."""

    seq: int
    order: Order
    filled: int = 0
    notional: float = 0.0  # sum of fill price x qty booked so far
    cancel_requested: bool = False


class TradierBroker:
    """A Tradier account as a :class:`~zerodte.broker.base.Broker` (module docstring).

    Parameters
    ----------
    client
        The account's :class:`TradierClient`.
    execution
        Friction models; only the fee schedule is used (fills are the venue's).
    session_bounds
        ``session -> (open, close)``; defaults to the NYSE calendar.
    initial_cash
        Cash to start the books from (default: the account's ``total_cash``).
    preview
        Preview every order before placing it.
    lookup_attempts, lookup_wait, sleep
        Lookups by tag after an unanswered POST, the wait before each, and how to wait.
    """

    polls_when_idle = True  # the venue may change things the bot did not ask for

    def __init__(
        self,
        client: TradierClient,
        execution: ExecutionModel,
        *,
        session_bounds: SessionBounds | None = None,
        initial_cash: float | None = None,
        preview: bool = True,
        lookup_attempts: int = 3,
        lookup_wait: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.execution = execution
        self.preview = preview
        self.lookup_attempts = max(1, lookup_attempts)
        self.lookup_wait = lookup_wait
        self._sleep = sleep
        self._bounds = session_bounds
        self._initial_cash = initial_cash
        self._book: AccountBook | None = None
        self._records: dict[str, OrderRecord] = {}
        self._working: dict[str, _Working] = {}
        self._queued: list[tuple[int, BrokerEvent]] = []
        self._seq = 0
        self._refused = 0
        self.resubmits = 0
        self.adopted = 0
        self.poll_failures = 0

    @property
    def book(self) -> AccountBook:
        """The account book (started from ``total_cash`` on first use)."""
        if self._book is None:
            cash = self._initial_cash
            if cash is None:
                cash = self.client.balances().total_cash
            self._book = AccountBook(float(cash), self._bounds)
        return self._book

    # -- Broker protocol -----------------------------------------------------------------
    def submit(self, order: Order) -> str:
        """Check, preview and place ``order``; returns the venue's order id.

        Raises ``OrderRejected`` for door refusals and ``OrderOutcomeUnknown`` when the
        venue never answered and the order can be neither found nor proven absent.
        """
        snap = self.book.snapshot
        submitted_at = None if snap is None else snap.time
        problem = door_check(order, *self._held_and_selling(order))
        if problem is None and (tag_problem := check_tag(order.tag)) is not None:
            problem = (RejectReason.INVALID_TAG.value, tag_problem)
        if problem is not None:
            reason, detail = problem
            self._refuse_at_door(order, submitted_at, reason)
            raise OrderRejected(reason, detail)
        form = order_form(order)
        try:
            if self.preview:
                self.client.preview(form)
            order_id = self._place(order, form)
        except OrderRejected as exc:
            return self._refused_by_venue(order, submitted_at, exc.reason, exc.detail)
        except TransientBrokerError as exc:  # the preview got no answer; nothing was placed
            return self._refused_by_venue(
                order, submitted_at, RejectReason.VENUE_REJECTED.value, f"preview failed: {exc}"
            )
        self._seq += 1
        self._records[order_id] = OrderRecord(order_id, order, OrderStatus.PENDING, submitted_at)
        self._working[order_id] = _Working(self._seq, order)
        return order_id

    def cancel(self, order_id: str) -> bool:
        """Cancel a working order; ``True`` when the venue accepted the cancel."""
        working = self._working.get(order_id)
        if working is None:
            return False
        try:
            verdict = self.client.cancel(order_id)
            after = None if verdict == "filled" else self.client.order(order_id)
        except (BrokerError, TransientBrokerError) as exc:
            # Still followed: the next poll shows whether it filled, and the session's end
            # expires it at the venue.
            logger.warning("cancel of %s got no verdict (%s); still following it", order_id, exc)
            return False
        if verdict == "filled":
            return False
        if after is not None and after.status == "filled":
            return False
        working.cancel_requested = True
        if after is not None and after.status in _TERMINAL:
            self._queued.extend((working.seq, e) for e in self._update(order_id, after))
        self._set_status(order_id, OrderStatus.CANCELLED)
        return True

    def poll(self, snapshot: Snapshot) -> list[BrokerEvent]:
        """Fills and rejections since the last poll, in submission order."""
        book = self.book
        events: list[tuple[int, BrokerEvent]] = []
        if snapshot.session != book.session:
            events.extend((0, f) for f in book.start_session(snapshot.session))
        book.observe(snapshot)
        events.extend(self._queued)
        self._queued = []
        if self._working:
            try:
                venue = {o.id: o for o in self.client.orders()}
                for order_id in list(self._working):
                    record = venue.get(order_id) or self.client.order(order_id)
                    if record is None:
                        logger.warning(
                            "order %s is unknown to the venue; still following", order_id
                        )
                        continue
                    seq = self._working[order_id].seq
                    events.extend((seq, e) for e in self._update(order_id, record))
            except TransientBrokerError as exc:
                # Nothing is lost: the venue keeps the fills and the next poll books them.
                self.poll_failures += 1
                logger.warning("order poll failed (%s); fills are booked at the next poll", exc)
        events.sort(key=lambda pair: pair[0])
        return [e for _, e in events]

    def positions(self) -> tuple[Position, ...]:
        """Open positions from the booked fills."""
        return self.book.positions()

    def account(self) -> AccountState:
        """Cash and counters from the booked fills, positions at the latest close bid."""
        return self.book.account()

    def orders(self) -> tuple[OrderRecord, ...]:
        """Orders sent by this process, in submission order."""
        return tuple(self._records.values())

    def end_of_session(self, session: date) -> list[BrokerEvent]:
        """The session closed: working day orders are over, expiring positions settle.

        The venue expires 0DTE contracts itself (an ITM long option may be exercised); the
        book settles them at intrinsic value, as the paper broker does, and the next
        reconciliation compares positions.
        """
        events: list[BrokerEvent] = []
        for order_id, working in list(self._working.items()):
            reason = (
                RejectReason.EXPIRED
                if working.order.order_type is OrderType.LIMIT
                else RejectReason.MARKET_CLOSED
            )
            events.append(Rejection(order_id, working.order, reason.value, f"{session} ended"))
            self._set_status(order_id, OrderStatus.EXPIRED)
            del self._working[order_id]
        events.extend(self.book.settle_expired(session))
        return events

    # -- recovery ------------------------------------------------------------------------
    def venue_view(self) -> VenueView:
        """Today's orders by tag and the positions, as the venue reports them."""
        orders: dict[str, list[VenueOrder]] = {}
        for o in self.client.orders():
            if not o.tag or not o.option_symbol:
                continue
            orders.setdefault(o.tag, []).append(
                VenueOrder(
                    tag=o.tag,
                    broker_id=o.id,
                    status=o.status,
                    symbol=o.option_symbol,
                    side=Side.BUY if o.side.startswith("buy") else Side.SELL,
                    qty=o.quantity,
                    filled_qty=o.exec_quantity,
                    avg_price=0.0 if math.isnan(o.avg_fill_price) else o.avg_fill_price,
                    time=o.transaction_date,
                    reason=o.reason,
                )
            )
        positions = {p.symbol: p.quantity for p in self.client.positions() if p.quantity}
        return VenueView({t: tuple(v) for t, v in orders.items()}, positions, authoritative=True)

    def restore(
        self, initial_cash: float, fills: list[tuple[Fill, date]], working: list[WorkingOrder]
    ) -> None:
        """Rebuild the book from the journal's fills and follow its working orders again."""
        self._initial_cash = initial_cash
        self._book = AccountBook(initial_cash, self._bounds)
        notional: dict[str, float] = {}
        for fill, session in fills:
            if self._book.session != session:
                self._book.start_session(session)
            self._book.book(fill, session, None, settled=is_settlement(fill.tag))
            notional[fill.tag] = notional.get(fill.tag, 0.0) + fill.price * fill.qty
        self._working = {}
        for w in working:
            self._seq += 1
            self._working[w.order_id] = _Working(
                self._seq, w.order, w.filled_qty, notional.get(w.order.tag, 0.0)
            )
            status = OrderStatus.PARTIALLY_FILLED if w.filled_qty else OrderStatus.PENDING
            self._records[w.order_id] = OrderRecord(w.order_id, w.order, status, w.submitted_at)

    def fill_fee(self, qty: int) -> float:
        """The configured fee schedule for ``qty`` contracts."""
        return self.execution.fees.fee(qty)

    # -- internals -----------------------------------------------------------------------
    def _place(self, order: Order, form: dict[str, str]) -> str:
        """POST the order; after an unanswered POST find it by tag or prove it absent."""
        try:
            return self.client.place(form)
        except OrderOutcomeUnknown as first:
            found = self._find(order.tag)
            if found is not None:
                self.adopted += 1
                logger.warning("order %s was placed although its reply was lost", order.tag)
                return found
            logger.warning("order %s proven absent after %s; sent once more", order.tag, first)
            self.resubmits += 1
            try:
                return self.client.place(form)
            except OrderOutcomeUnknown:
                found = self._find(order.tag)
                if found is not None:
                    self.adopted += 1
                    return found
                raise

    def _find(self, tag: str) -> str | None:
        """The id of the one venue order carrying ``tag``, or ``None`` if proven absent."""
        seen_answer = False
        for _ in range(self.lookup_attempts):
            self._sleep(self.lookup_wait)
            try:
                found = self.client.find_by_tag(tag)
            except TransientBrokerError as exc:
                logger.info("lookup of %s failed (%s); trying again", tag, exc)
                continue
            seen_answer = True
            if len(found) > 1:
                raise BrokerError(
                    f"tag {tag} has {len(found)} orders at the venue "
                    f"({', '.join(o.id for o in found)}); cancel the duplicate by hand"
                )
            if found:
                return found[0].id
        if not seen_answer:
            raise OrderOutcomeUnknown(tag, "every lookup by tag failed")
        return None

    def _update(self, order_id: str, record: TradierOrder) -> list[BrokerEvent]:
        """Book what changed at the venue for one working order."""
        working = self._working[order_id]
        order = working.order
        events: list[BrokerEvent] = []
        delta = record.exec_quantity - working.filled
        avg = record.avg_fill_price
        if delta > 0:
            if math.isnan(avg):
                return events  # filled before avg_fill_price: book it at the next poll
            total = avg * record.exec_quantity
            fill_price = (total - working.notional) / delta
            fill = Fill(
                tag=order.tag,
                contract=order.contract,
                side=order.side,
                qty=delta,
                price=round(fill_price, 10),
                fee=self.execution.fees.fee(delta),
                time=self._fill_time(record),
                group=order.group,
            )
            book = self.book
            snap = book.snapshot
            quote = None if snap is None else snap.quotes.quote(order.contract, at="open")
            book.book(fill, fill.time.date(), quote)
            working.filled += delta
            working.notional += fill.price * delta
            events.append(fill)
            self._set_fill(order_id, fill)
        status = record.status
        if status in _TERMINAL or working.filled >= order.qty:
            if working.filled < order.qty and not working.cancel_requested:
                reason = _reason(status, order, record.reason)
                events.append(Rejection(order_id, order, reason, record.reason or status))
                self._set_status(
                    order_id,
                    OrderStatus.EXPIRED if status == "expired" else OrderStatus.REJECTED,
                    reason,
                )
            del self._working[order_id]
        return events

    def _set_fill(self, order_id: str, fill: Fill) -> None:
        """The order record's fill: the one fill, or the aggregate of several."""
        rec = self._records.get(order_id)
        if rec is None:
            return
        working = self._working[order_id]
        if working.filled != fill.qty:
            fill = replace(
                fill,
                qty=working.filled,
                price=working.notional / working.filled,
                fee=self.execution.fees.fee(working.filled),
            )
        done = working.filled >= rec.order.qty
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        self._records[order_id] = replace(rec, status=status, fill=fill)

    def _fill_time(self, record: TradierOrder) -> pd.Timestamp:
        """When the venue filled: its ``transaction_date``, else the bar being polled."""
        if record.transaction_date is not None:
            return record.transaction_date
        snap = self.book.snapshot
        if snap is not None:
            return snap.time
        if record.create_date is not None:
            return record.create_date
        raise BrokerError(f"order {record.id} filled without any time to book it at")

    def _set_status(self, order_id: str, status: OrderStatus, reason: str = "") -> None:
        rec = self._records.get(order_id)
        if rec is not None:
            self._records[order_id] = replace(rec, status=status, reject_reason=reason)

    def _held_and_selling(self, order: Order) -> tuple[int, int]:
        pos = self.book.ledger.position(order.contract)
        held = 0 if pos is None else pos.qty
        selling = sum(
            w.order.qty - w.filled
            for w in self._working.values()
            if w.order.side is Side.SELL and w.order.contract == order.contract
        )
        return held, selling

    def _local_id(self) -> str:
        self._refused += 1
        return f"refused-{self._refused}"

    def _refuse_at_door(self, order: Order, at: pd.Timestamp | None, reason: str) -> None:
        order_id = self._local_id()
        self._records[order_id] = OrderRecord(
            order_id, order, OrderStatus.REJECTED, at, reject_reason=reason
        )

    def _refused_by_venue(
        self, order: Order, at: pd.Timestamp | None, reason: str, detail: str
    ) -> str:
        order_id = self._local_id()
        logger.info("order %s refused by the venue: %s (%s)", order.tag, reason, detail)
        self._records[order_id] = OrderRecord(
            order_id, order, OrderStatus.REJECTED, at, reject_reason=reason
        )
        self._seq += 1
        self._queued.append((self._seq, Rejection(order_id, order, reason, detail)))
        return order_id


def _reason(status: str, order: Order, text: str) -> str:
    """Why the rest of an order will not fill, as a :class:`RejectReason` value."""
    if status == "expired":
        if order.order_type is OrderType.LIMIT:
            return RejectReason.EXPIRED.value
        return RejectReason.MARKET_CLOSED.value
    if status in ("canceled", "cancelled"):
        return RejectReason.CANCELLED.value
    return reject_reason(text) if text else RejectReason.VENUE_REJECTED.value
