"""The broker contract: what every ``Broker`` (paper or live) must do.

Subclass :class:`BrokerContract` in a test module; it runs against every parameter of the
``broker_factory`` fixture (see ``conftest.py``). Scenarios use friction-free slippage so
that prices are exact: buys at the ask, sells at the bid, $0.65 per contract.
"""

from __future__ import annotations

import pytest

from zerodte.broker.base import Broker, OrderStatus, Rejection
from zerodte.broker.journal import JournalingBroker, MemoryJournal
from zerodte.broker.reconcile import JournalState
from zerodte.broker.tags import settlement_tag
from zerodte.errors import OrderRejected
from zerodte.types import Fill, Order, OrderType, Side

from .conftest import BrokerFactory
from .scripted_market import CALL, NEXT_SESSION, PUT, SESSION, snapshot

Q = {CALL: (0.95, 1.00), PUT: (1.95, 2.00)}


def _fills(events: list) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def _rejections(events: list) -> list[Rejection]:
    return [e for e in events if isinstance(e, Rejection)]


class BrokerContract:
    """Semantics every broker implementation passes."""

    def test_is_a_broker(self, broker_factory: BrokerFactory) -> None:
        assert isinstance(broker_factory().broker, Broker)

    def test_fresh_account(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory(initial_cash=7_000.0)
        acct = h.broker.account()
        assert (acct.cash, acct.equity, acct.buying_power) == (7_000.0, 7_000.0, 7_000.0)
        assert acct.open_positions == 0
        assert h.broker.positions() == ()
        assert h.broker.orders() == ()

    def test_submit_queues_pending_with_unique_ids(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        a = h.broker.submit(Order("tag-a", CALL, Side.BUY, 1))
        b = h.broker.submit(Order("tag-b", PUT, Side.BUY, 2))
        assert a != b
        recs = h.broker.orders()
        assert [r.order_id for r in recs] == [a, b]
        assert all(r.status is OrderStatus.PENDING for r in recs)
        assert [r.order.tag for r in recs] == ["tag-a", "tag-b"]
        assert h.broker.positions() == ()

    def test_market_buy_fills_at_next_bar_ask(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, {CALL: (0.95, 1.00)}))
        oid = h.broker.submit(Order("entry-1", CALL, Side.BUY, 2, reason="test"))
        events = h.poll(snapshot(31, {CALL: (1.05, 1.10)}))
        (fill,) = _fills(events)
        assert (fill.tag, fill.side, fill.qty, fill.contract) == ("entry-1", Side.BUY, 2, CALL)
        assert fill.price == pytest.approx(1.10)  # the NEXT bar's ask, not the decision ask
        assert fill.fee == pytest.approx(2 * h.fee_per_contract)
        (rec,) = h.broker.orders()
        assert rec.order_id == oid and rec.status is OrderStatus.FILLED and rec.fill == fill
        (pos,) = h.broker.positions()
        assert (pos.contract, pos.qty, pos.tag) == (CALL, 2, "entry-1")
        assert pos.avg_price == pytest.approx(1.10)
        acct = h.broker.account()
        assert acct.cash == pytest.approx(h.initial_cash - 220.0 - 2 * h.fee_per_contract)
        assert acct.equity == pytest.approx(acct.cash + 1.05 * 100 * 2)
        assert acct.open_positions == 1

    def test_round_trip_cash_and_tags(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        h.broker.submit(Order("open-1", CALL, Side.BUY, 1))
        h.poll(snapshot(31, Q))
        h.broker.submit(Order("close-1", CALL, Side.SELL, 1))
        (fill,) = _fills(h.poll(snapshot(32, {CALL: (1.10, 1.15)})))
        assert (fill.tag, fill.side, fill.price) == ("close-1", Side.SELL, pytest.approx(1.10))
        assert h.broker.positions() == ()
        acct = h.broker.account()
        assert acct.cash == pytest.approx(h.initial_cash + 10.0 - 2 * h.fee_per_contract)
        assert acct.equity == pytest.approx(acct.cash)
        assert acct.open_positions == 0
        assert [r.order.tag for r in h.broker.orders()] == ["open-1", "close-1"]

    def test_cancel(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        oid = h.broker.submit(Order("c", CALL, Side.BUY, 1))
        assert h.broker.cancel(oid) is True
        assert h.broker.cancel(oid) is False
        assert h.broker.cancel("no-such-order") is False
        assert h.poll(snapshot(31, Q)) == []
        assert h.broker.orders()[0].status is OrderStatus.CANCELLED
        assert h.broker.positions() == ()

    def test_cancel_after_fill_is_false(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        oid = h.broker.submit(Order("c", CALL, Side.BUY, 1))
        h.poll(snapshot(31, Q))
        assert h.broker.cancel(oid) is False
        assert h.broker.orders()[0].status is OrderStatus.FILLED

    @pytest.mark.parametrize("qty", [0, -1, 1.5, True])
    def test_invalid_quantity_raises(self, broker_factory: BrokerFactory, qty: object) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        with pytest.raises(OrderRejected) as err:
            h.broker.submit(Order("bad", CALL, Side.BUY, qty))  # type: ignore[arg-type]
        assert err.value.reason == "invalid_quantity"
        assert h.broker.orders()[-1].status is OrderStatus.REJECTED

    def test_limit_order_needs_a_limit(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        with pytest.raises(OrderRejected) as err:
            h.broker.submit(Order("lim", CALL, Side.BUY, 1, OrderType.LIMIT, None))
        assert err.value.reason == "invalid_limit_price"

    def test_sell_more_than_held_raises(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        with pytest.raises(OrderRejected) as err:
            h.broker.submit(Order("naked", CALL, Side.SELL, 1))
        assert err.value.reason == "insufficient_position"
        h.broker.submit(Order("b", CALL, Side.BUY, 2))
        h.poll(snapshot(31, Q))
        h.broker.submit(Order("s1", CALL, Side.SELL, 2))
        with pytest.raises(OrderRejected) as err:
            h.broker.submit(Order("s2", CALL, Side.SELL, 1))  # 2 held, 2 already being sold
        assert err.value.reason == "insufficient_position"

    def test_insufficient_cash_is_a_rejection_event(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory(initial_cash=150.0)
        h.poll(snapshot(30, Q))
        oid = h.broker.submit(Order("big", CALL, Side.BUY, 2))  # needs 201.30
        (rej,) = _rejections(h.poll(snapshot(31, Q)))
        assert (rej.order_id, rej.reason, rej.order.tag) == (oid, "insufficient_cash", "big")
        assert h.broker.orders()[0].status is OrderStatus.REJECTED
        assert h.broker.positions() == ()
        assert h.broker.account().cash == 150.0

    def test_no_quote_is_a_rejection_event(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        h.broker.submit(Order("nq", CALL, Side.BUY, 1))
        (rej,) = _rejections(h.poll(snapshot(31, {PUT: (1.95, 2.00)})))
        assert rej.reason == "no_quote"
        h.broker.submit(Order("nan", CALL, Side.BUY, 1))
        (rej,) = _rejections(h.poll(snapshot(32, {CALL: (float("nan"), float("nan"))})))
        assert rej.reason == "no_quote"

    def test_market_closed_is_a_rejection_event(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(389, Q))  # the last bar, 15:59
        h.broker.submit(Order("late", PUT, Side.BUY, 1))
        (rej,) = _rejections(h.poll(snapshot(0, Q, day=NEXT_SESSION)))
        assert (rej.reason, rej.order.tag) == ("market_closed", "late")
        assert h.broker.positions() == ()

    def test_limit_buy_waits_until_the_ask_crosses(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        oid = h.broker.submit(Order("lim", CALL, Side.BUY, 1, OrderType.LIMIT, 0.90))
        assert h.poll(snapshot(31, {CALL: (0.90, 0.95)})) == []
        assert h.broker.orders()[0].status is OrderStatus.PENDING
        (fill,) = _fills(h.poll(snapshot(32, {CALL: (0.80, 0.85)})))
        assert fill.price == pytest.approx(0.85)  # better of limit and quote
        assert h.broker.orders()[0].order_id == oid
        assert h.broker.orders()[0].status is OrderStatus.FILLED

    def test_limit_sell_never_below_limit(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q))
        h.broker.submit(Order("b", CALL, Side.BUY, 1))
        h.poll(snapshot(31, Q))
        h.broker.submit(Order("tp", CALL, Side.SELL, 1, OrderType.LIMIT, 1.20))
        assert h.poll(snapshot(32, {CALL: (1.15, 1.20)})) == []
        (fill,) = _fills(h.poll(snapshot(33, {CALL: (1.30, 1.35)})))
        assert fill.price == pytest.approx(1.30)
        assert h.broker.positions() == ()

    def test_orders_fill_in_submission_order_against_cash(
        self, broker_factory: BrokerFactory
    ) -> None:
        h = broker_factory(initial_cash=250.0)
        h.poll(snapshot(30, Q))
        h.broker.submit(Order("first", CALL, Side.BUY, 2))  # 201.30
        h.broker.submit(Order("second", CALL, Side.BUY, 1))  # 100.65 > 48.70 left
        events = h.poll(snapshot(31, Q))
        assert [type(e).__name__ for e in events] == ["Fill", "Rejection"]
        assert [e.order.tag for e in _rejections(events)] == ["second"]

    def test_end_of_session_settles_at_intrinsic(self, broker_factory: BrokerFactory) -> None:
        h = broker_factory()
        h.poll(snapshot(30, Q, spy=503.0))
        h.broker.submit(Order("held", CALL, Side.BUY, 1))
        h.poll(snapshot(31, Q, spy=503.0))
        h.poll(snapshot(389, Q, spy=503.0))
        (fill,) = _fills(h.broker.end_of_session(SESSION))
        assert (fill.tag, fill.side, fill.qty) == (settlement_tag("held"), Side.SELL, 1)
        assert fill.price == pytest.approx(3.0) and fill.fee == 0.0  # intrinsic, no fee
        assert h.broker.positions() == ()
        assert h.broker.account().cash == pytest.approx(h.initial_cash + 200.0 - 0.65)

    def test_journaled_restart_loses_and_duplicates_nothing(
        self, broker_factory: BrokerFactory
    ) -> None:
        h = broker_factory()
        assert h.reopen is not None
        journal = MemoryJournal()
        jb = JournalingBroker(h.broker, journal, "run", tag_prefix="z-")
        jb.recover()
        h.broker = jb
        h.poll(snapshot(30, Q))
        first = jb.submit(Order("z-k-1", CALL, Side.BUY, 2))
        (fill,) = _fills(h.poll(snapshot(31, Q)))
        jb.submit(Order("z-k-1-x1", CALL, Side.SELL, 2))
        # the process dies here; a new one reconciles before it trades again
        again = JournalingBroker(h.reopen(), journal, "run", tag_prefix="z-")
        again.recover(events_seen=1)  # the engine's checkpoint had booked the buy
        h.broker = again
        assert again.submit(Order("z-k-1", CALL, Side.BUY, 2)) == first  # not sent again
        (sale,) = _fills(h.poll(snapshot(32, {CALL: (1.10, 1.15)})))
        assert (sale.tag, sale.qty, sale.price) == ("z-k-1-x1", 2, pytest.approx(1.10))
        assert again.positions() == ()
        cash = h.initial_cash + (1.10 - 1.00) * 200 - 4 * h.fee_per_contract
        assert again.account().cash == pytest.approx(cash)
        assert [o.state for o in journal.orders("run")] == [JournalState.FILLED] * 2
        assert [e.decode() for e in journal.events("run")][:1] == [fill]
