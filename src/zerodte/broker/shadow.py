"""A shadow paper broker beside a live one: the slippage report.

:class:`ShadowedBroker` forwards everything to the live broker and sends every order also
to a :class:`~zerodte.broker.paper.PaperBroker` polled with the same snapshots. Each live
fill is paired, by tag, with the fill the paper broker simulated for the same order, so
the report shows what the backtest's fill model predicted beside what the venue did:

    slippage per share = live price - simulated price   (buys; sells the other way round)

A positive figure is a cost the model did not charge. The shadow never affects trading:
its refusals are logged and its fills only reported.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from zerodte.broker.base import Broker, BrokerEvent, OrderRecord
from zerodte.broker.paper import PaperBroker
from zerodte.errors import OrderRejected
from zerodte.types import AccountState, Fill, Order, Position, Side, Snapshot

logger = logging.getLogger(__name__)


class ShadowedBroker:
    """``live`` with a paper ``shadow`` that records its simulated fill of every order."""

    def __init__(self, live: Broker, shadow: PaperBroker) -> None:
        self.live = live
        self.shadow = shadow
        self.pairs: list[dict[str, Any]] = []
        self._live: dict[str, list[Fill]] = {}
        self._sim: dict[str, list[Fill]] = {}

    @property
    def polls_when_idle(self) -> bool:
        """As the live broker."""
        return self.live.polls_when_idle

    def submit(self, order: Order) -> str:
        """Send to the live broker, then to the shadow (whose refusal is only logged)."""
        order_id = self.live.submit(order)
        try:
            self.shadow.submit(order)
        except OrderRejected as exc:
            logger.info("shadow refused %s: %s", order.tag, exc)
        return order_id

    def cancel(self, order_id: str) -> bool:
        """Cancel at the live broker (the shadow's copy expires with its session)."""
        return self.live.cancel(order_id)

    def poll(self, snapshot: Snapshot) -> list[BrokerEvent]:
        """The live broker's events; the shadow fills at the same snapshot."""
        events = self.live.poll(snapshot)
        for e in self.shadow.poll(snapshot):
            if isinstance(e, Fill):
                self._sim.setdefault(e.tag, []).append(e)
        for e in events:
            if isinstance(e, Fill):
                self._live.setdefault(e.tag, []).append(e)
        self._pair()
        return events

    def positions(self) -> tuple[Position, ...]:
        """The live positions."""
        return self.live.positions()

    def account(self) -> AccountState:
        """The live account."""
        return self.live.account()

    def orders(self) -> tuple[OrderRecord, ...]:
        """The live orders."""
        return self.live.orders()

    def end_of_session(self, session: date) -> list[BrokerEvent]:
        """End the session at both."""
        self.shadow.end_of_session(session)
        return self.live.end_of_session(session)

    def _pair(self) -> None:
        for tag in [t for t in self._live if t in self._sim]:
            live, sim = self._live.pop(tag), self._sim.pop(tag)
            qty = sum(f.qty for f in live)
            price = sum(f.price * f.qty for f in live) / qty
            sim_qty = sum(f.qty for f in sim)
            sim_price = sum(f.price * f.qty for f in sim) / sim_qty
            side = live[0].side
            slip = price - sim_price if side is Side.BUY else sim_price - price
            self.pairs.append(
                {
                    "tag": tag,
                    "side": side.value,
                    "qty": qty,
                    "live_price": price,
                    "sim_price": sim_price,
                    "slippage": slip,
                    "live_time": live[-1].time.isoformat(),
                    "sim_time": sim[-1].time.isoformat(),
                }
            )

    def report(self) -> dict[str, Any]:
        """Pairs and their mean slippage per share (positive: costlier than modelled)."""
        n = len(self.pairs)
        mean = sum(p["slippage"] for p in self.pairs) / n if n else None
        dollars = sum(p["slippage"] * 100 * p["qty"] for p in self.pairs)
        return {
            "pairs": n,
            "mean_slippage_per_share": mean,
            "slippage_dollars": dollars,
            "unpaired_live": sorted(self._live),
            "rows": self.pairs[-50:],
        }
