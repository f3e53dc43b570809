"""The order journal: every order's lifecycle, durable, keyed by its client tag.

:class:`JournalingBroker` wraps any broker (paper or Tradier) and writes, for every order,
the intent (before the order leaves), the placement with the broker's id, each fill and
rejection as an event with a sequence number, and the final state. The lifecycle is
written once, here, whatever the broker.

On start, and after any unknown outcome, :meth:`JournalingBroker.recover` reconciles the
journal with the broker by tag (:func:`zerodte.broker.reconcile.reconcile`), rebuilds the
broker's books from the journaled fills, and redelivers the events the engine had not yet
seen at its last checkpoint. A re-submitted tag is never sent twice: a known tag returns
the order id it already has, and only an order proven absent at the venue is sent again.

The :class:`Journal` is injected (``broker`` never imports ``store``):
:class:`MemoryJournal` here, ``zerodte.store.journal.SqlJournal`` (SQLite with fsync or
PostgreSQL) for real runs. Journals also keep the live run's checkpoints (engine state and
per-cycle records), so a restarted bot continues where it stopped.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from zerodte.broker.base import Broker, BrokerEvent, OrderRecord, Rejection, WorkingOrder
from zerodte.broker.codec import (
    fill_from_dict,
    fill_to_dict,
    order_from_dict,
    order_to_dict,
    rejection_from_dict,
    rejection_to_dict,
    time_from_str,
    time_to_str,
)
from zerodte.broker.reconcile import (
    OPEN_STATES,
    Adopt,
    Close,
    JournalState,
    JournalView,
    NewFill,
    NotPlaced,
    ReconcileReport,
    VenueView,
    reconcile,
)
from zerodte.errors import BrokerError, OrderRejected
from zerodte.types import AccountState, Fill, Order, Position, Side, Snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalOrder:
    """One order as the journal holds it."""

    tag: str
    order: Order
    state: JournalState
    broker_id: str | None = None
    filled_qty: int = 0
    avg_price: float = 0.0
    reason: str = ""
    submitted_at: pd.Timestamp | None = None


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """A fill or rejection, numbered in the order it was journaled."""

    seq: int
    tag: str
    kind: str  # "fill" | "rejection"
    data: dict[str, Any]

    def decode(self) -> BrokerEvent:
        """The :class:`Fill` or :class:`Rejection` it records."""
        if self.kind == "fill":
            return fill_from_dict(self.data)
        return rejection_from_dict(self.data)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A live run's last saved cycle: engine state and every cycle's record row."""

    cycle: int
    bar_time: pd.Timestamp
    events_seen: int
    state: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


@runtime_checkable
class Journal(Protocol):
    """Durable storage of orders, events and checkpoints, per run.

    Every write is durable when the call returns (a crash right after loses nothing).
    """

    def write_order(self, run_id: str, order: JournalOrder) -> None:
        """Insert or replace the order with ``order.tag``."""
        ...

    def orders(self, run_id: str) -> list[JournalOrder]:
        """Every order of the run, in the order first written."""
        ...

    def append_event(self, run_id: str, tag: str, kind: str, data: dict[str, Any]) -> int:
        """Append an event; returns its sequence number (increasing per run)."""
        ...

    def events(self, run_id: str, after: int = 0) -> list[JournalEvent]:
        """Events with ``seq > after``, in order."""
        ...

    def set_meta(self, run_id: str, key: str, value: Any) -> None:
        """Store one JSON value about the run (initial cash, ...)."""
        ...

    def meta(self, run_id: str) -> dict[str, Any]:
        """Everything stored with :meth:`set_meta`."""
        ...

    def save_cycle(
        self,
        run_id: str,
        *,
        cycle: int,
        bar_time: pd.Timestamp,
        events_seen: int,
        state: dict[str, Any],
        row: dict[str, Any],
    ) -> None:
        """Store cycle ``cycle``'s record row and the checkpoint after it, atomically."""
        ...

    def checkpoint(self, run_id: str) -> Checkpoint | None:
        """The latest checkpoint with every saved cycle row, or ``None``."""
        ...


def _copy(value: Any) -> Any:
    """A deep copy through JSON: what a durable journal would give back."""
    return json.loads(json.dumps(value))


class MemoryJournal:
    """A :class:`Journal` in memory (tests, and runs that need no durability)."""

    def __init__(self) -> None:
        self._orders: dict[str, dict[str, JournalOrder]] = {}
        self._events: dict[str, list[JournalEvent]] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._rows: dict[str, dict[int, dict[str, Any]]] = {}
        self._checkpoints: dict[str, Checkpoint] = {}
        self._seq = itertools.count(1)

    def write_order(self, run_id: str, order: JournalOrder) -> None:
        """Insert or replace the order with ``order.tag``."""
        self._orders.setdefault(run_id, {})[order.tag] = order

    def orders(self, run_id: str) -> list[JournalOrder]:
        """Every order of the run, in the order first written."""
        return list(self._orders.get(run_id, {}).values())

    def append_event(self, run_id: str, tag: str, kind: str, data: dict[str, Any]) -> int:
        """Append an event; returns its sequence number."""
        seq = next(self._seq)
        self._events.setdefault(run_id, []).append(JournalEvent(seq, tag, kind, _copy(data)))
        return seq

    def events(self, run_id: str, after: int = 0) -> list[JournalEvent]:
        """Events with ``seq > after``, in order."""
        return [e for e in self._events.get(run_id, []) if e.seq > after]

    def set_meta(self, run_id: str, key: str, value: Any) -> None:
        """Store one JSON value about the run."""
        self._meta.setdefault(run_id, {})[key] = _copy(value)

    def meta(self, run_id: str) -> dict[str, Any]:
        """Everything stored with :meth:`set_meta`."""
        return copy.deepcopy(self._meta.get(run_id, {}))

    def save_cycle(
        self,
        run_id: str,
        *,
        cycle: int,
        bar_time: pd.Timestamp,
        events_seen: int,
        state: dict[str, Any],
        row: dict[str, Any],
    ) -> None:
        """Store the cycle row and the checkpoint after it."""
        self._rows.setdefault(run_id, {})[cycle] = _copy(row)
        self._checkpoints[run_id] = Checkpoint(cycle, bar_time, events_seen, _copy(state))

    def checkpoint(self, run_id: str) -> Checkpoint | None:
        """The latest checkpoint with every saved cycle row."""
        cp = self._checkpoints.get(run_id)
        if cp is None:
            return None
        rows = [self._rows[run_id][c] for c in sorted(self._rows[run_id])]
        return replace(cp, state=_copy(cp.state), rows=_copy(rows))


@runtime_checkable
class Recoverable(Protocol):
    """A broker whose state can be checked against, and rebuilt from, a journal."""

    def venue_view(self) -> VenueView:
        """The venue's orders by tag and positions by OCC symbol."""
        ...

    def restore(
        self, initial_cash: float, fills: list[tuple[Fill, date]], working: list[WorkingOrder]
    ) -> None:
        """Rebuild the books from ``initial_cash`` and ``fills``; track ``working`` again."""
        ...

    def fill_fee(self, qty: int) -> float:
        """The fee booked on a fill of ``qty`` contracts."""
        ...


def encode_order(order: JournalOrder) -> dict[str, Any]:
    """A journal order as plain data (for SQL journals)."""
    return {
        "order": order_to_dict(order.order),
        "state": order.state.value,
        "broker_id": order.broker_id,
        "filled_qty": order.filled_qty,
        "avg_price": order.avg_price,
        "reason": order.reason,
        "submitted_at": time_to_str(order.submitted_at),
    }


def decode_order(tag: str, data: Mapping[str, Any]) -> JournalOrder:
    """Inverse of :func:`encode_order`."""
    return JournalOrder(
        tag=tag,
        order=order_from_dict(dict(data["order"])),
        state=JournalState(data["state"]),
        broker_id=data.get("broker_id"),
        filled_qty=int(data.get("filled_qty", 0)),
        avg_price=float(data.get("avg_price", 0.0)),
        reason=str(data.get("reason", "")),
        submitted_at=time_from_str(data.get("submitted_at")),
    )


class JournalingBroker:
    """A broker that journals every order's lifecycle (see the module docstring).

    Parameters
    ----------
    inner
        The broker doing the work (paper or Tradier); must be :class:`Recoverable` for
        :meth:`recover`.
    journal
        Where the lifecycle goes.
    run_id
        The run the orders belong to (the same after a restart).
    tag_prefix
        The head of every tag of the run (``TagFactory``); a venue order carrying it that
        the journal does not know stops the bot.
    """

    def __init__(
        self, inner: Broker, journal: Journal, run_id: str, tag_prefix: str | None = None
    ) -> None:
        self.inner = inner
        self.journal = journal
        self.run_id = run_id
        self.tag_prefix = tag_prefix
        self.events_seen = 0
        self.last_report: ReconcileReport | None = None
        self.reconciliations: list[dict[str, int]] = []
        self._orders: dict[str, JournalOrder] = {}
        self._by_id: dict[str, str] = {}
        self._redeliver: list[BrokerEvent] = []
        self._bar_time: pd.Timestamp | None = None

    @property
    def polls_when_idle(self) -> bool:
        """As the wrapped broker."""
        return self.inner.polls_when_idle

    # -- Broker protocol -----------------------------------------------------------------
    def submit(self, order: Order) -> str:
        """Journal the intent, send ``order`` once, journal the placement.

        A tag already placed (in this process or before a restart) is not sent again: its
        order id is returned. Raises what the inner broker raises; an ``OrderRejected`` is
        journaled as a rejection, a ``BrokerError`` (outcome unknown) as ``unknown``.
        """
        known = self._orders.get(order.tag)
        if known is not None and known.state is JournalState.REJECTED and not known.broker_id:
            raise OrderRejected(known.reason, f"{order.tag} was refused at the door before")
        if known is not None and known.state is not JournalState.NOT_PLACED:
            logger.info("order %s already journaled (%s); not sent again", order.tag, known.state)
            return known.broker_id or order.tag
        entry = JournalOrder(order.tag, order, JournalState.INTENT, submitted_at=self._bar_time)
        self._write(entry)
        try:
            order_id = self.inner.submit(order)
        except OrderRejected as exc:
            self._write(replace(entry, state=JournalState.REJECTED, reason=exc.reason))
            raise
        except BrokerError:
            self._write(replace(entry, state=JournalState.UNKNOWN))
            raise
        self._write(replace(entry, state=JournalState.PLACED, broker_id=order_id))
        self._by_id[order_id] = order.tag
        return order_id

    def cancel(self, order_id: str) -> bool:
        """Cancel at the broker; a confirmed cancel is journaled."""
        done = self.inner.cancel(order_id)
        tag = self._by_id.get(order_id)
        if done and tag is not None:
            self._write(replace(self._orders[tag], state=JournalState.CANCELLED))
        return done

    def poll(self, snapshot: Snapshot) -> list[BrokerEvent]:
        """The events the engine has not seen: redelivered ones first, then the broker's."""
        self._bar_time = snapshot.time
        events = self._redeliver + self._journal_events(self.inner.poll(snapshot))
        self._redeliver = []
        return events

    def positions(self) -> tuple[Position, ...]:
        """As the wrapped broker."""
        return self.inner.positions()

    def account(self) -> AccountState:
        """As the wrapped broker."""
        return self.inner.account()

    def orders(self) -> tuple[OrderRecord, ...]:
        """As the wrapped broker."""
        return self.inner.orders()

    def end_of_session(self, session: date) -> list[BrokerEvent]:
        """End the session at the broker and journal its settlements and expiries."""
        return self._journal_events(self.inner.end_of_session(session))

    # -- journal -------------------------------------------------------------------------
    def journaled(self) -> dict[str, JournalOrder]:
        """Every order of the run by tag, as journaled."""
        return dict(self._orders)

    def _write(self, order: JournalOrder) -> None:
        self.journal.write_order(self.run_id, order)
        self._orders[order.tag] = order

    def _journal_events(self, events: list[BrokerEvent]) -> list[BrokerEvent]:
        for event in events:
            if isinstance(event, Rejection):
                tag = event.order.tag
                self.events_seen = self.journal.append_event(
                    self.run_id, tag, "rejection", rejection_to_dict(event)
                )
                known = self._orders.get(tag)
                if known is not None:
                    state = (
                        JournalState.EXPIRED if event.reason == "expired" else JournalState.REJECTED
                    )
                    self._write(replace(known, state=state, reason=event.reason))
            else:
                self.events_seen = self.journal.append_event(
                    self.run_id, event.tag, "fill", fill_to_dict(event)
                )
                self._book_fill(event.tag, event.qty, event.price)
        return events

    def _book_fill(self, tag: str, qty: int, price: float) -> None:
        known = self._orders.get(tag)
        if known is None:
            return  # a settlement: no order of its own
        filled = known.filled_qty + qty
        avg = (known.avg_price * known.filled_qty + price * qty) / filled
        state = JournalState.FILLED if filled >= known.order.qty else JournalState.PARTIALLY_FILLED
        self._write(replace(known, state=state, filled_qty=filled, avg_price=avg))

    # -- recovery ------------------------------------------------------------------------
    def recover(self, events_seen: int = 0, initial_cash: float | None = None) -> ReconcileReport:
        """Reconcile with the broker by tag and rebuild its books before trading.

        ``events_seen`` is the last event sequence number the engine's checkpoint had
        booked: later events are delivered again at the next poll. Raises ``BrokerError``
        (naming every problem) when the journal and the venue disagree in a way no action
        can fix.
        """
        inner = self.inner
        if not isinstance(inner, Recoverable):
            raise BrokerError(f"{type(inner).__name__} cannot be reconciled with a journal")
        meta = self.journal.meta(self.run_id)
        cash = meta.get("initial_cash")
        if cash is None:
            cash = inner.account().cash if initial_cash is None else initial_cash
            self.journal.set_meta(self.run_id, "initial_cash", cash)
        self._orders = {o.tag: o for o in self.journal.orders(self.run_id)}
        self._heal_from_events()
        view = inner.venue_view()
        report = reconcile(
            [_view(o) for o in self._orders.values()],
            self._positions(),
            view,
            own_tag_prefix=self.tag_prefix,
        )
        self._apply(report, inner)
        self.last_report = report
        # Every start's reconciliation is kept with the run, so the report covers restarts.
        history = list(self.journal.meta(self.run_id).get("reconciliations", []))
        history.append(report.counts())
        self.journal.set_meta(self.run_id, "reconciliations", history)
        self.reconciliations = history
        for note in report.notes:
            logger.warning("reconcile: %s", note)
        if report.problems:
            raise BrokerError(
                "the journal and the broker disagree; not trading until resolved: "
                + "; ".join(report.problems)
            )
        fills = [
            (e.decode(), _session_of(e))
            for e in self.journal.events(self.run_id)
            if e.kind == "fill"
        ]
        working = [
            WorkingOrder(o.broker_id or o.tag, o.order, o.submitted_at, o.filled_qty)
            for o in self._orders.values()
            if o.state in OPEN_STATES
        ]
        inner.restore(float(cash), [(f, s) for f, s in fills if isinstance(f, Fill)], working)
        self._by_id = {o.broker_id: o.tag for o in self._orders.values() if o.broker_id}
        self._redeliver = [e.decode() for e in self.journal.events(self.run_id, events_seen)]
        latest = self.journal.events(self.run_id)
        self.events_seen = latest[-1].seq if latest else 0
        logger.info(
            "reconciled run %s: %s; %d event(s) to redeliver",
            self.run_id,
            report.counts(),
            len(self._redeliver),
        )
        return report

    def _heal_from_events(self) -> None:
        """Bring every order row up to its journaled events before reconciling.

        An event is appended before its order row is updated; a crash between the two
        leaves a row behind its events. The events are the record: fills and rejections
        are replayed onto the rows, so the venue's fill is not booked a second time.
        """
        fills: dict[str, list[tuple[int, float]]] = {}
        ended: dict[str, str] = {}
        for event in self.journal.events(self.run_id):
            if event.tag not in self._orders:
                continue  # a settlement: no order of its own
            if event.kind == "fill":
                fills.setdefault(event.tag, []).append(
                    (int(event.data["qty"]), float(event.data["price"]))
                )
            else:
                ended[event.tag] = str(event.data["reason"])
        for tag, known in list(self._orders.items()):
            healed = known
            booked = fills.get(tag, [])
            qty = sum(q for q, _ in booked)
            if qty != known.filled_qty:
                avg = sum(q * p for q, p in booked) / qty if qty else 0.0
                state = (
                    JournalState.FILLED if qty >= known.order.qty else JournalState.PARTIALLY_FILLED
                )
                healed = replace(healed, state=state, filled_qty=qty, avg_price=avg)
            reason = ended.get(tag)
            if reason is not None and healed.state in OPEN_STATES | {JournalState.UNKNOWN}:
                state = _ENDED.get(reason, JournalState.REJECTED)
                healed = replace(healed, state=state, reason=reason)
            if healed != known:
                logger.warning(
                    "journal row %s was behind its events (crash between writes); "
                    "healed %s -> %s, %d filled",
                    tag,
                    known.state.value,
                    healed.state.value,
                    healed.filled_qty,
                )
                self._write(healed)

    def _positions(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for event in self.journal.events(self.run_id):
            if event.kind != "fill":
                continue
            sign = 1 if event.data["side"] == Side.BUY.value else -1
            symbol = str(event.data["symbol"])
            out[symbol] = out.get(symbol, 0) + sign * int(event.data["qty"])
        return out

    def _apply(self, report: ReconcileReport, inner: Recoverable) -> None:
        for action in report.actions:
            known = self._orders[action.tag]
            if isinstance(action, Adopt):
                self._write(replace(known, state=JournalState.PLACED, broker_id=action.broker_id))
            elif isinstance(action, NotPlaced):
                self._write(replace(known, state=JournalState.NOT_PLACED))
            elif isinstance(action, NewFill):
                time = action.time if action.time is not None else pd.Timestamp.now(tz="UTC")
                fill = Fill(
                    tag=action.tag,
                    contract=known.order.contract,
                    side=known.order.side,
                    qty=action.qty,
                    price=action.price,
                    fee=inner.fill_fee(action.qty),
                    time=time.tz_convert("America/New_York"),
                    group=known.order.group,
                )
                self.journal.append_event(self.run_id, action.tag, "fill", fill_to_dict(fill))
                self._book_fill(action.tag, action.qty, action.price)
            elif isinstance(action, Close):
                current = self._orders[action.tag]
                if current.state is JournalState.FILLED and action.state is JournalState.FILLED:
                    continue
                # the event first: a crash before the row is healed from it at the next start
                if action.state is not JournalState.FILLED:
                    rejection = Rejection(
                        current.broker_id or current.tag,
                        current.order,
                        "expired" if action.state is JournalState.EXPIRED else "cancelled",
                        f"the venue ended the order ({action.state.value}) while the bot was down",
                    )
                    self.journal.append_event(
                        self.run_id, action.tag, "rejection", rejection_to_dict(rejection)
                    )
                self._write(replace(current, state=action.state, reason=action.reason))


_ENDED = {"expired": JournalState.EXPIRED, "cancelled": JournalState.CANCELLED}


def _view(order: JournalOrder) -> JournalView:
    return JournalView(
        tag=order.tag,
        state=order.state,
        symbol=order.order.contract.symbol,
        side=order.order.side,
        qty=order.order.qty,
        filled_qty=order.filled_qty,
        avg_price=order.avg_price,
    )


def _session_of(event: JournalEvent) -> date:
    time = time_from_str(event.data["time"])
    assert time is not None
    return time.date()
