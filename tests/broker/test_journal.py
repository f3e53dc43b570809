"""JournalingBroker over the paper broker: the lifecycle is journaled, a restart loses and
duplicates nothing."""

from __future__ import annotations

import pytest

from zerodte.broker.base import OrderStatus
from zerodte.broker.fills import build_execution_model
from zerodte.broker.journal import JournalingBroker, JournalOrder, MemoryJournal
from zerodte.broker.paper import PaperBroker
from zerodte.broker.reconcile import JournalState, VenueOrder, VenueView
from zerodte.errors import BrokerError, OrderRejected
from zerodte.types import Fill, Order, Side

from .scripted_market import CALL, NO_FRICTION, bounds, snapshot

Q = {CALL: (0.95, 1.00)}
RUN = "run-1"


def _broker(journal: MemoryJournal) -> JournalingBroker:
    paper = PaperBroker(10_000.0, build_execution_model(NO_FRICTION), session_bounds=bounds)
    jb = JournalingBroker(paper, journal, RUN, tag_prefix="z-abc-")
    jb.recover()
    return jb


def test_lifecycle_is_journaled() -> None:
    journal = MemoryJournal()
    jb = _broker(journal)
    jb.poll(snapshot(30, Q))
    jb.submit(Order("z-abc-1", CALL, Side.BUY, 2))
    (order,) = journal.orders(RUN)
    assert order.state is JournalState.PLACED and order.broker_id == "paper-1"
    (fill,) = jb.poll(snapshot(31, Q))
    assert isinstance(fill, Fill)
    (order,) = journal.orders(RUN)
    assert (order.state, order.filled_qty, order.avg_price) == (JournalState.FILLED, 2, 1.0)
    (event,) = journal.events(RUN)
    assert event.decode() == fill
    assert journal.meta(RUN) == {"initial_cash": 10_000.0, "reconciliations": [{"problems": 0}]}


def test_restart_rebuilds_books_and_redelivers_unseen_events() -> None:
    journal = MemoryJournal()
    jb = _broker(journal)
    jb.poll(snapshot(30, Q))
    jb.submit(Order("z-abc-1", CALL, Side.BUY, 2))
    (fill,) = jb.poll(snapshot(31, Q))
    jb.submit(Order("z-abc-1-x1", CALL, Side.SELL, 1))  # working when the process dies
    before = (jb.account().cash, jb.positions())

    again = JournalingBroker(
        PaperBroker(10_000.0, build_execution_model(NO_FRICTION), session_bounds=bounds),
        journal,
        RUN,
        tag_prefix="z-abc-",
    )
    again.recover(events_seen=0)  # the engine's checkpoint had booked nothing
    # marks come back with the next snapshot; cash and positions at once
    assert (again.account().cash, again.positions()) == before
    # the same tags re-submitted by the restarted engine are not sent again
    assert again.submit(Order("z-abc-1", CALL, Side.BUY, 2)) == "paper-1"
    assert again.submit(Order("z-abc-1-x1", CALL, Side.SELL, 1)) == "paper-2"
    events = again.poll(snapshot(32, {CALL: (1.10, 1.15)}))
    assert events[0] == fill  # redelivered first
    sale = events[1]
    assert isinstance(sale, Fill) and (sale.tag, sale.price) == ("z-abc-1-x1", 1.10)
    assert [p.qty for p in again.positions()] == [1]
    assert [o.state for o in journal.orders(RUN)] == [JournalState.FILLED] * 2


def test_intent_without_placement_is_sent_after_recovery() -> None:
    journal = MemoryJournal()
    order = Order("z-abc-7", CALL, Side.BUY, 1)
    journal.write_order(RUN, JournalOrder(order.tag, order, JournalState.INTENT))
    jb = _broker(journal)
    assert journal.orders(RUN)[0].state is JournalState.NOT_PLACED
    jb.poll(snapshot(30, Q))
    assert jb.submit(order) == "paper-1"
    assert jb.orders()[0].status is OrderStatus.PENDING


def test_door_refusal_is_journaled_and_repeated() -> None:
    journal = MemoryJournal()
    jb = _broker(journal)
    jb.poll(snapshot(30, Q))
    naked = Order("z-abc-9", CALL, Side.SELL, 1)
    with pytest.raises(OrderRejected):
        jb.submit(naked)
    assert journal.orders(RUN)[0].state is JournalState.REJECTED
    with pytest.raises(OrderRejected):
        jb.submit(naked)


def test_unrecoverable_broker_is_refused() -> None:
    class Opaque:
        polls_when_idle = True

    jb = JournalingBroker(Opaque(), MemoryJournal(), RUN)  # type: ignore[arg-type]
    with pytest.raises(BrokerError, match="cannot be reconciled"):
        jb.recover()


class _Venue(PaperBroker):
    """A paper broker whose venue remembers its orders (like Tradier's order list)."""

    remembers = False  # set once the order has filled

    def venue_view(self) -> VenueView:
        if not self.remembers:
            return VenueView({}, {})
        order = VenueOrder("z-abc-1", "paper-1", "filled", CALL.symbol, Side.BUY, 1, 1, 1.0)
        return VenueView({order.tag: (order,)}, {CALL.symbol: 1})


def test_crash_between_fill_event_and_order_row_books_the_fill_once() -> None:
    """The fill event is durable before its order row is updated; a kill between the two
    must not make recovery book the venue's fill a second time."""
    journal = MemoryJournal()
    venue = _Venue(10_000.0, build_execution_model(NO_FRICTION), session_bounds=bounds)
    jb = JournalingBroker(venue, journal, RUN, tag_prefix="z-abc-")
    jb.recover()
    jb.poll(snapshot(30, Q))
    order = Order("z-abc-1", CALL, Side.BUY, 1)
    jb.submit(order)
    jb.poll(snapshot(31, Q))
    venue.remembers = True
    (row,) = journal.orders(RUN)
    # the state a kill -9 right after append_event leaves: the row still says placed
    journal.write_order(RUN, JournalOrder(row.tag, order, JournalState.PLACED, row.broker_id))
    again = JournalingBroker(venue, journal, RUN, tag_prefix="z-abc-")
    report = again.recover(events_seen=0)
    assert report.problems == [] and report.actions == []
    assert [e.kind for e in journal.events(RUN)] == ["fill"]
    (healed,) = journal.orders(RUN)
    assert (healed.state, healed.filled_qty, healed.avg_price) == (JournalState.FILLED, 1, 1.0)
    assert [p.qty for p in again.positions()] == [1]
