"""Reconciliation: what the journal believes against what the venue reports, by tag.

:func:`reconcile` is a pure function. It compares every journaled order with the venue's
orders carrying the same client tag and the journal's positions with the venue's, and
returns the actions that bring the journal up to date plus the problems no action can fix:

* an order the journal wrote as an intent, or whose outcome was unknown (a timeout or a
  5xx on the POST), is ADOPTED when the venue has it (the reply was lost) and marked NOT
  PLACED when an authoritative venue does not (the request never arrived; the engine may
  send it again with the same tag);
* fills the venue has and the journal lacks become NEW FILLS at the price that makes the
  journal's average equal the venue's;
* a terminal venue status (filled, cancelled, expired, rejected) CLOSES the order;
* problems: two venue orders with one tag (a duplicate), fewer fills at the venue than in
  the journal, a position that differs between the two, or a venue order carrying this
  run's tags that the journal never intended. A bot must not trade until they are
  resolved by hand.

A simulated venue (the paper broker after a restart) is not authoritative: the journal is
the record, every journaled order is kept, and only intents with unknown outcome become
NOT PLACED (nothing of them survived the process).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd

from zerodte.types import Side


class JournalState(StrEnum):
    """Where an order stands in the journal."""

    INTENT = "intent"  # written before the order left; outcome not yet known
    UNKNOWN = "unknown"  # the request failed without an answer (timeout, 5xx)
    PLACED = "placed"  # the venue accepted it (has a broker id)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    NOT_PLACED = "not_placed"  # proven absent at the venue: never placed


OPEN_STATES = frozenset({JournalState.PLACED, JournalState.PARTIALLY_FILLED})
UNRESOLVED = frozenset({JournalState.INTENT, JournalState.UNKNOWN})
TERMINAL = frozenset(
    {
        JournalState.FILLED,
        JournalState.CANCELLED,
        JournalState.EXPIRED,
        JournalState.REJECTED,
        JournalState.NOT_PLACED,
    }
)

VENUE_TERMINAL = {
    "filled": JournalState.FILLED,
    "canceled": JournalState.CANCELLED,
    "cancelled": JournalState.CANCELLED,
    "expired": JournalState.EXPIRED,
    "rejected": JournalState.REJECTED,
    "error": JournalState.REJECTED,
}


@dataclass(frozen=True, slots=True)
class JournalView:
    """One journaled order as reconciliation sees it."""

    tag: str
    state: JournalState
    symbol: str
    side: Side
    qty: int
    filled_qty: int = 0
    avg_price: float = 0.0


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order at the venue, as its own records show it."""

    tag: str
    broker_id: str
    status: str  # the venue's word: open, partially_filled, filled, canceled, ...
    symbol: str
    side: Side
    qty: int
    filled_qty: int
    avg_price: float
    time: pd.Timestamp | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class VenueView:
    """What the venue reports: its orders by tag and its positions by OCC symbol."""

    orders: Mapping[str, tuple[VenueOrder, ...]]
    positions: Mapping[str, int]
    authoritative: bool = True


@dataclass(frozen=True, slots=True)
class Adopt:
    """The venue has the order: record its broker id."""

    tag: str
    broker_id: str


@dataclass(frozen=True, slots=True)
class NotPlaced:
    """The order never reached the venue."""

    tag: str


@dataclass(frozen=True, slots=True)
class NewFill:
    """Contracts the venue filled that the journal has not booked."""

    tag: str
    qty: int
    price: float
    time: pd.Timestamp | None


@dataclass(frozen=True, slots=True)
class Close:
    """The venue finished the order."""

    tag: str
    state: JournalState
    reason: str = ""


Action = Adopt | NotPlaced | NewFill | Close


@dataclass
class ReconcileReport:
    """The actions reconciliation takes and the problems it cannot fix."""

    actions: list[Action] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many actions of each kind (and problems), for reports."""
        out: dict[str, int] = {}
        for action in self.actions:
            name = type(action).__name__.lower()
            out[name] = out.get(name, 0) + 1
        out["problems"] = len(self.problems)
        return out


def reconcile(
    journal: Sequence[JournalView],
    positions: Mapping[str, int],
    venue: VenueView,
    *,
    own_tag_prefix: str | None = None,
) -> ReconcileReport:
    """Compare the journal with the venue (see the module docstring).

    Parameters
    ----------
    journal
        Every order of the run as journaled.
    positions
        The journal's signed positions by OCC symbol (from its fills).
    venue
        The venue's orders by tag and positions by OCC symbol.
    own_tag_prefix
        Tags that start with this belong to the run; a venue order with such a tag that the
        journal does not know is a problem.
    """
    report = ReconcileReport()
    implied = {s: q for s, q in positions.items() if q != 0}
    known = {o.tag for o in journal}
    for order in journal:
        at_venue = venue.orders.get(order.tag, ())
        if len(at_venue) > 1:
            ids = ", ".join(v.broker_id for v in at_venue)
            report.problems.append(
                f"tag {order.tag} has {len(at_venue)} orders at the venue ({ids}): a duplicate; "
                "cancel the extra one by hand and check the position"
            )
            continue
        if not venue.authoritative:
            if order.state in UNRESOLVED:
                report.actions.append(NotPlaced(order.tag))
            continue
        if not at_venue:
            if order.state in UNRESOLVED:
                report.actions.append(NotPlaced(order.tag))
            elif order.state in OPEN_STATES or order.filled_qty > 0:
                report.notes.append(
                    f"order {order.tag} ({order.state.value}) is not in the venue's list "
                    "(orders leave it at the New York day's end); kept as journaled"
                )
            continue
        v = at_venue[0]
        if order.state in UNRESOLVED:
            report.actions.append(Adopt(order.tag, v.broker_id))
        delta = v.filled_qty - order.filled_qty
        if delta < 0:
            report.problems.append(
                f"order {order.tag}: the journal has {order.filled_qty} filled but the venue "
                f"{v.filled_qty}; the journal's fills cannot be undone, check the account"
            )
            continue
        if delta > 0:
            if v.avg_price > 0.0:
                notional = v.avg_price * v.filled_qty - order.avg_price * order.filled_qty
                price = notional / delta
                report.actions.append(NewFill(order.tag, delta, price, v.time))
                sign = 1 if v.side is Side.BUY else -1
                implied[v.symbol] = implied.get(v.symbol, 0) + sign * delta
            else:
                report.notes.append(
                    f"order {order.tag}: {delta} filled at the venue without an average "
                    "price yet; booked at the next poll"
                )
                continue
        state = VENUE_TERMINAL.get(v.status.lower())
        finished = state is not None and (state is not JournalState.FILLED or v.filled_qty >= v.qty)
        if finished and order.state not in TERMINAL:
            assert state is not None
            report.actions.append(Close(order.tag, state, v.reason))
    if own_tag_prefix:
        for tag, at_venue in venue.orders.items():
            if tag.startswith(own_tag_prefix) and tag not in known:
                report.problems.append(
                    f"the venue has order(s) {[v.broker_id for v in at_venue]} tagged {tag} "
                    "that this run's journal never intended; resolve by hand before trading"
                )
    if venue.authoritative:
        for symbol in sorted(set(implied) | {s for s, q in venue.positions.items() if q}):
            mine, theirs = implied.get(symbol, 0), venue.positions.get(symbol, 0)
            if mine == theirs:
                continue
            message = (
                f"position {symbol}: journal {mine:+d}, venue {theirs:+d}; reconcile the "
                "account by hand (or flatten it) before the bot trades again"
            )
            if symbol in implied or symbol in {o.symbol for o in journal}:
                report.problems.append(message)
            else:
                report.notes.append(message + " (not a contract this run traded)")
    return report
