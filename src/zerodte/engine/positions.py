"""The trades one run holds and the orders it has working, booked from broker events.

:class:`TradeBook` is the engine's memory between cycles: open trades with their entry
context and tracked extremes, entries and exits sent but not (fully) filled, and the
trade-id counter. It turns each broker event into the engine's bookkeeping and each exit
fill into a trade row. Its whole state is plain data (:meth:`TradeBook.state`), so a
restarted bot continues exactly where its last checkpoint left off.

Partial fills: an entry or exit stays pending until all its contracts have filled or the
broker reports the rest rejected, cancelled or expired.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from zerodte.broker.base import Broker, Rejection
from zerodte.broker.tags import TagFactory, is_settlement
from zerodte.engine.trades import OpenTrade, half_spread, trade_row
from zerodte.errors import OrderRejected
from zerodte.types import Fill, OptionContract, Order, Side

logger = logging.getLogger(__name__)

SETTLED_REASON = "expiry_settlement"


@dataclass(slots=True)
class PendingEntry:
    """An entry order sent and not yet fully filled."""

    order_id: str
    context: dict[str, Any]
    remaining: int


@dataclass(slots=True)
class PendingExit:
    """An exit order sent and not yet fully filled."""

    reason: str
    contract: OptionContract
    remaining: int


RowSink = Callable[[dict[str, Any]], dict[str, Any]]
"""Stores a finished trade row and returns the stored copy (the recorder)."""


class TradeBook:
    """Open trades and working orders of one run.

    Parameters
    ----------
    broker
        Where orders go and positions are read.
    tags
        Builds the client tag of every order.
    """

    def __init__(self, broker: Broker, tags: TagFactory) -> None:
        self.broker = broker
        self.tags = tags
        self.open: dict[OptionContract, OpenTrade] = {}
        self.entries: dict[str, PendingEntry] = {}
        self.exits: dict[str, PendingExit] = {}
        self.trade_id = 0

    def idle(self) -> bool:
        """No open trade and nothing working."""
        return not (self.open or self.entries or self.exits)

    def exiting(self) -> set[OptionContract]:
        """Contracts with an exit order working."""
        return {p.contract for p in self.exits.values()}

    def pending_exit_qty(self, contract: OptionContract) -> int:
        """Contracts of ``contract`` already being sold."""
        return sum(p.remaining for p in self.exits.values() if p.contract == contract)

    # -- sending -------------------------------------------------------------------------
    def send_entry(self, order: Order, context: dict[str, Any]) -> str:
        """Submit an entry; raises ``OrderRejected`` when the broker refuses it."""
        order_id = self.broker.submit(order)
        self.entries[order.tag] = PendingEntry(order_id, context, order.qty)
        return order_id

    def cancel_entries(self, tags: list[str]) -> None:
        """Cancel entries sent this cycle (the legs of a straddle whose other leg failed)."""
        for tag in tags:
            pending = self.entries.pop(tag, None)
            if pending is not None:
                self.broker.cancel(pending.order_id)

    def send_exit(self, trade: OpenTrade, qty: int, reason: str) -> None:
        """Submit an exit of ``qty`` contracts of ``trade`` (a refusal is logged)."""
        trade.exits_sent += 1
        tag = self.tags.exit(trade.tag, trade.exits_sent)
        order = Order(tag, trade.position.contract, Side.SELL, qty, reason=reason)
        try:
            self.broker.submit(order)
        except OrderRejected as exc:
            logger.warning("exit %s refused by the broker: %s", tag, exc)
            return
        self.exits[tag] = PendingExit(reason, trade.position.contract, qty)

    # -- booking events ------------------------------------------------------------------
    def bought(self, fill: Fill, session: object) -> None:
        """Book an entry fill (the whole order or part of it)."""
        pending = self.entries.get(fill.tag)
        if pending is None:
            logger.warning("buy fill %s has no pending entry of this run; ignored", fill.tag)
            return
        pending.remaining -= fill.qty
        if pending.remaining <= 0:
            del self.entries[fill.tag]
        pos = next((p for p in self.broker.positions() if p.contract == fill.contract), None)
        if pos is None:
            logger.warning("buy fill %s left no position at the broker", fill.tag)
            return
        trade = self.open.get(fill.contract)
        half = half_spread(fill)
        if trade is None:
            context = dict(pending.context)
            context.update(entry_quote=fill.quote_source, entry_half_spread=half)
            self.open[fill.contract] = OpenTrade(
                tag=fill.tag,
                position=pos,
                entry_fee=fill.fee,
                context=context,
                session=session,
                group=str(pending.context.get("position_tag") or fill.tag),
            )
        else:
            # A second entry (or the rest of a partial fill) averages in, as the broker does.
            held = trade.position.qty
            before = float(trade.context.get("entry_half_spread", math.nan))
            trade.context["entry_half_spread"] = (before * held + half * fill.qty) / (
                held + fill.qty
            )
            trade.position = pos
            trade.entry_fee += fill.fee

    def sold(
        self, fill: Fill, exit_prices: Callable[[bool], tuple[float, float]], store: RowSink
    ) -> tuple[dict[str, Any] | None, bool]:
        """Book an exit or settlement fill; returns ``(stored row, position closed)``.

        ``exit_prices(settlement)`` gives the SPY and VIX levels recorded on the row.
        """
        trade = self.open.get(fill.contract)
        if trade is None:
            logger.warning("sell fill %s for a contract this run does not hold", fill.tag)
            return None, False
        settlement = is_settlement(fill.tag)
        if settlement:
            reason = SETTLED_REASON
        else:
            pending = self.exits.get(fill.tag)
            reason = "unknown" if pending is None else pending.reason
            if pending is not None:
                pending.remaining -= fill.qty
                if pending.remaining <= 0:
                    del self.exits[fill.tag]
        spy, vix = exit_prices(settlement)
        row = trade_row(self.trade_id, trade, fill, reason=reason, exit_spy=spy, exit_vix=vix)
        self.trade_id += 1
        stored = store(row)
        remaining = trade.position.qty - fill.qty
        if remaining <= 0:
            del self.open[fill.contract]
            return stored, True
        trade.entry_fee -= trade.entry_fee * fill.qty / trade.position.qty
        trade.position = replace(trade.position, qty=remaining)
        return stored, False

    def rejected(self, event: Rejection) -> None:
        """The rest of an order will not fill: forget it."""
        order = event.order
        logger.info("order %s rejected: %s %s", order.tag, event.reason, event.detail)
        if order.side is Side.BUY:
            self.entries.pop(order.tag, None)
        else:
            self.exits.pop(order.tag, None)

    # -- state ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Everything the book remembers, as JSON-ready data."""
        from zerodte.engine.state import open_trade_to_dict

        return {
            "trade_id": self.trade_id,
            "open": [open_trade_to_dict(t) for t in self.open.values()],
            "entries": {
                tag: {"order_id": p.order_id, "context": p.context, "remaining": p.remaining}
                for tag, p in self.entries.items()
            },
            "exits": {
                tag: {"reason": p.reason, "contract": p.contract.symbol, "remaining": p.remaining}
                for tag, p in self.exits.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back :meth:`state` (replaces what the book holds)."""
        from zerodte.engine.state import contract_from_symbol, open_trade_from_dict

        self.trade_id = int(state["trade_id"])
        trades = [open_trade_from_dict(d) for d in state["open"]]
        # In place: the engine's loop holds these dicts.
        self.open.clear()
        self.open.update({t.position.contract: t for t in trades})
        self.entries.clear()
        self.entries.update(
            {
                tag: PendingEntry(str(d["order_id"]), dict(d["context"]), int(d["remaining"]))
                for tag, d in state["entries"].items()
            }
        )
        self.exits.clear()
        self.exits.update(
            {
                tag: PendingExit(
                    str(d["reason"]), contract_from_symbol(d["contract"]), int(d["remaining"])
                )
                for tag, d in state["exits"].items()
            }
        )
