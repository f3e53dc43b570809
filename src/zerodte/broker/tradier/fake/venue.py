"""The fake venue's account: orders, their matching, positions and balances.

Matching is the paper broker's (:class:`~zerodte.broker.paper.PaperBroker` with the same
fill, slippage, fee and latency models as a backtest): the venue feeds it one snapshot per
bar, as the engine does, so an order placed during bar ``t`` fills at bar ``t + 1``'s open
quote. That is what makes a replay against the fake comparable with its backtest.

A venue order is split into child paper orders: normally one; ``partial_fill`` sends half
now and half one bar later, ``delayed_fill`` holds the whole order one or two bars. The
venue aggregates its children into Tradier's order record (``exec_quantity``,
``avg_fill_price``, ``status``) and answers in Tradier's shapes and quirks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from zerodte.broker.base import Rejection, RejectReason
from zerodte.broker.book import SessionBounds
from zerodte.broker.fills import ExecutionModel
from zerodte.broker.paper import PaperBroker
from zerodte.broker.tags import TAG_PATTERN
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.errors import DataError, OrderRejected
from zerodte.options.occ import parse_occ
from zerodte.types import Fill, OptionContract, OptionQuote, Order, OrderType, Side, Snapshot

logger = logging.getLogger(__name__)

_SIDES = {"buy_to_open": Side.BUY, "sell_to_close": Side.SELL}
_REASON_TEXT = {
    RejectReason.INSUFFICIENT_CASH.value: "DayTradingBuyingPowerExceeded",
    RejectReason.NO_QUOTE.value: "There is no price.",
    RejectReason.INSUFFICIENT_POSITION.value: "Sell order quantity exceeds the position",
}
QuoteAt = Callable[[OptionContract], OptionQuote | None]


class Refusal(Exception):
    """The venue refuses a request: ``status`` 200 with ``errors``, or 400 plain text."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def utc_iso(time: pd.Timestamp) -> str:
    """``2024-11-22T15:02:10.905Z`` (Tradier's order dates)."""
    utc = time.tz_convert("UTC")
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass
class VenueOrder:
    """One order at the venue and what its children did."""

    id: int
    tag: str
    order: Order
    create: pd.Timestamp
    status: str = "open"
    exec_qty: int = 0
    notional: float = 0.0
    last_fill_price: float = 0.0
    last_fill_qty: int = 0
    transaction: pd.Timestamp | None = None
    reason: str = ""
    children: dict[str, int] = field(default_factory=dict)  # paper order id -> qty
    held: list[tuple[int, int]] = field(default_factory=list)  # (release step, qty)
    hide_avg: bool = False

    @property
    def done(self) -> bool:
        """Whether the order is in a final state."""
        return self.status in ("filled", "canceled", "expired", "rejected")

    def record(self) -> dict[str, Any]:
        """Tradier's order record (``TRADIER_API.md`` §5.12)."""
        o = self.order
        avg = 0.0 if self.exec_qty == 0 or self.hide_avg else self.notional / self.exec_qty
        rec: dict[str, Any] = {
            "id": self.id,
            "type": o.order_type.value.lower(),
            "symbol": o.contract.underlying,
            "side": "buy_to_open" if o.side is Side.BUY else "sell_to_close",
            "quantity": float(o.qty),
            "status": self.status,
            "duration": "day",
            "price": o.limit_price if o.limit_price is not None else None,
            "avg_fill_price": avg,
            "exec_quantity": float(self.exec_qty),
            "last_fill_price": self.last_fill_price,
            "last_fill_quantity": float(self.last_fill_qty),
            "remaining_quantity": float(o.qty - self.exec_qty) if not self.done else 0.0,
            "create_date": utc_iso(self.create),
            "transaction_date": utc_iso(self.transaction or self.create),
            "class": "option",
            "option_symbol": o.contract.symbol,
            "tag": self.tag,
        }
        if self.reason:
            rec["reason_description"] = self.reason
        return rec


class FakeVenue:
    """The account of the fake Tradier.

    Parameters
    ----------
    initial_cash
        Cash of the account.
    execution
        Fill, slippage, fee and latency models of the matching (the backtest's).
    faults
        Fault plan (partial and delayed fills, the avg-price race).
    session_bounds
        ``session -> (open, close)``; default the NYSE calendar.
    quote_at
        The current quote of a contract (for previews).
    """

    def __init__(
        self,
        initial_cash: float,
        execution: ExecutionModel,
        *,
        faults: FaultPlan | None = None,
        session_bounds: SessionBounds | None = None,
        quote_at: QuoteAt | None = None,
    ) -> None:
        self.paper = PaperBroker(initial_cash, execution, session_bounds, id_prefix="match")
        self.execution = execution
        self.faults = faults or FaultPlan()
        self.quote_at = quote_at
        self.orders: dict[int, VenueOrder] = {}
        self._by_child: dict[str, int] = {}
        self._next_id = 880001
        self.step = 0
        self.snapshot: Snapshot | None = None

    # -- the market moves ----------------------------------------------------------------
    def feed(self, snapshot: Snapshot) -> None:
        """Bar ``snapshot`` opens: due orders fill at its open quotes; held ones are sent."""
        for order in self.orders.values():
            order.hide_avg = False
        self._apply(self.paper.poll(snapshot))
        self.snapshot = snapshot
        self.step += 1
        for order in self.orders.values():
            if order.done or not order.held:
                continue
            due = [h for h in order.held if h[0] <= self.step]
            order.held = [h for h in order.held if h[0] > self.step]
            for _, qty in due:
                self._send_child(order, qty)

    def end_session(self, session: date) -> None:
        """The session closed: day orders expire, expiring positions settle."""
        self._apply(self.paper.end_of_session(session))
        for order in self.orders.values():
            if not order.done and order.create.date() <= session:
                order.held = []
                self._finish(order, "expired", "")

    # -- requests ------------------------------------------------------------------------
    def check(self, form: dict[str, str]) -> Order:
        """The order a form asks for; raises :class:`Refusal` as Tradier would."""
        tag = form.get("tag", "")
        if tag and not TAG_PATTERN.fullmatch(tag):
            why = "more than 255 characters" if len(tag) > 255 else "contains invalid characters"
            raise Refusal(400, f"Invalid parameter, tag: {why}.")
        if form.get("class", "option") != "option":
            raise Refusal(400, f"Invalid parameter, class: {form.get('class')}")
        side = _SIDES.get(form.get("side", ""))
        if side is None:
            raise Refusal(400, f"Invalid parameter, side: {form.get('side')}")
        try:
            contract = parse_occ(form.get("option_symbol", ""))
        except DataError as exc:
            raise Refusal(400, f"Invalid parameter, option_symbol: {exc}") from exc
        try:
            qty = int(form.get("quantity", ""))
        except ValueError:
            qty = 0
        if qty < 1:
            raise Refusal(200, "IncorrectOrderQuantity")
        kind = form.get("type", "market")
        if kind not in ("market", "limit"):
            raise Refusal(400, f"Invalid parameter, type: {kind}")
        limit = None
        if kind == "limit":
            try:
                limit = float(form["price"])
            except (KeyError, ValueError) as exc:
                raise Refusal(400, "Invalid parameter, price: required for limit orders") from exc
            if not limit > 0:
                raise Refusal(400, f"Invalid parameter, price: {limit}")
        order_type = OrderType.LIMIT if kind == "limit" else OrderType.MARKET
        return Order(tag, contract, side, qty, order_type, limit)

    def preview(self, order: Order) -> dict[str, Any]:
        """Validate like a placement and price it; raises :class:`Refusal`."""
        fee = self.execution.fees.fee(order.qty)
        quote = None if self.quote_at is None else self.quote_at(order.contract)
        cost = math.nan if quote is None else quote.ask * 100.0 * order.qty
        if order.side is Side.SELL:
            pos = self.paper.ledger.position(order.contract)
            if pos is None or pos.qty < order.qty:
                raise Refusal(200, _REASON_TEXT[RejectReason.INSUFFICIENT_POSITION.value])
        elif math.isfinite(cost) and cost + fee > self.paper.ledger.cash:
            raise Refusal(200, _REASON_TEXT[RejectReason.INSUFFICIENT_CASH.value])
        return {
            "status": "ok",
            "result": True,
            "commission": fee,
            "cost": (0.0 if math.isnan(cost) else cost) + fee,
            "fees": 0.0,
            "order_cost": 0.0 if math.isnan(cost) else cost,
            "symbol": order.contract.underlying,
            "quantity": float(order.qty),
            "side": "buy_to_open" if order.side is Side.BUY else "sell_to_close",
            "type": order.order_type.value.lower(),
            "duration": "day",
            "class": "option",
            "strategy": "option",
        }

    def place(self, order: Order, now: pd.Timestamp, session_open: bool) -> VenueOrder:
        """Create the order and send it to matching; raises :class:`Refusal`."""
        venue_order = VenueOrder(
            self._next_id, order.tag, order, now, "open" if session_open else "pending"
        )
        qty = order.qty
        if qty >= 2 and self.faults.draw("partial_fill"):
            first = (qty + 1) // 2
            venue_order.held.append((self.step + 1, qty - first))
            qty = first
        elif self.faults.draw("delayed_fill"):
            venue_order.held.append((self.step + 1 + self.faults.choice(2), qty))
            qty = 0
        if qty:
            try:
                self._send_child(venue_order, qty)
            except OrderRejected as exc:
                raise Refusal(200, _REASON_TEXT.get(exc.reason, exc.reason)) from exc
        self.orders[venue_order.id] = venue_order
        self._next_id += 1
        return venue_order

    def cancel(self, order_id: int) -> VenueOrder:
        """Cancel a working order; raises :class:`Refusal` for a final one."""
        order = self.orders[order_id]
        if order.done:
            raise Refusal(400, f"order already in finalized state: {order.status}")
        for child in order.children:
            self.paper.cancel(child)
        order.held = []
        order.status = "canceled"
        return order

    def day_orders(self, day: date) -> list[VenueOrder]:
        """Orders created on ``day`` (New York), oldest first."""
        return [o for o in self.orders.values() if o.create.date() == day]

    def positions(self) -> list[dict[str, Any]]:
        """Position records (``TRADIER_API.md`` §5.10)."""
        out = []
        for i, pos in enumerate(self.paper.positions()):
            out.append(
                {
                    "id": 4410000 + i,
                    "symbol": pos.contract.symbol,
                    "quantity": float(pos.qty),
                    "cost_basis": round(pos.avg_price * 100.0 * pos.qty, 6),
                    "date_acquired": utc_iso(pos.entry_time),
                }
            )
        return out

    def balances(self, account_number: str) -> dict[str, Any]:
        """The balances record of a margin account."""
        acct = self.paper.account()
        value = acct.equity - acct.cash
        return {
            "account_number": account_number,
            "account_type": "margin",
            "total_equity": acct.equity,
            "total_cash": acct.cash,
            "market_value": value,
            "long_market_value": value,
            "option_long_value": value,
            "close_pl": acct.realized_pnl_today,
            "pending_orders_count": sum(1 for o in self.orders.values() if not o.done),
            "margin": {"option_buying_power": acct.cash, "stock_buying_power": 2 * acct.cash},
        }

    # -- internals -----------------------------------------------------------------------
    def _send_child(self, order: VenueOrder, qty: int) -> None:
        child_tag = f"v{order.id}c{len(order.children) + 1}"
        o = order.order
        paper_id = self.paper.submit(
            Order(child_tag, o.contract, o.side, qty, o.order_type, o.limit_price)
        )
        order.children[paper_id] = qty
        self._by_child[child_tag] = order.id
        self._by_child[paper_id] = order.id

    def _apply(self, events: list[Fill | Rejection]) -> None:
        for event in events:
            if isinstance(event, Rejection):
                vid = self._by_child.get(event.order_id)
                if vid is None:
                    continue
                order = self.orders[vid]
                if order.done:
                    continue
                status = "expired" if event.reason in ("expired", "market_closed") else "rejected"
                self._finish(order, status, _REASON_TEXT.get(event.reason, event.detail))
                continue
            vid = self._by_child.get(event.tag)
            if vid is None:
                continue  # an expiry settlement: positions change, no order does
            order = self.orders[vid]
            order.exec_qty += event.qty
            order.notional += event.price * event.qty
            order.last_fill_price = event.price
            order.last_fill_qty = event.qty
            order.transaction = event.time
            if order.exec_qty >= order.order.qty:
                order.status = "filled"
                order.hide_avg = self.faults.draw("avg_price_race")
            else:
                order.status = "partially_filled"

    def _finish(self, order: VenueOrder, status: str, reason: str) -> None:
        for child in order.children:
            self.paper.cancel(child)
        order.held = []
        order.status = status
        order.reason = reason
