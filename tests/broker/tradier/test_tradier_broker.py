"""TradierBroker against the fake Tradier's faults: partial and delayed fills, the
avg-price race, lost replies, refusals; an unanswered order is found by its tag, never
sent twice."""

from __future__ import annotations

import httpx
import pytest

from zerodte.broker.base import OrderStatus, Rejection
from zerodte.broker.tradier.broker import TradierBroker, order_form
from zerodte.broker.tradier.client import TradierClient, http_client
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.broker.tradier.fake.server import mock_transport
from zerodte.broker.tradier.session import RetryPolicy
from zerodte.errors import OrderOutcomeUnknown
from zerodte.types import Fill, Order, OrderType, Side

from ..conftest import ACCOUNT, TOKEN, fake_tradier
from ..scripted_market import CALL, NO_FRICTION, bounds, snapshot

Q = {CALL: (0.95, 1.00)}


def _fills(events: list) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def _setup(**rates: float):  # type: ignore[no-untyped-def]
    broker, fake = fake_tradier(faults=FaultPlan(dict(rates), seed=3))

    def step(minute: int, quotes: dict = Q) -> list:  # type: ignore[type-arg]
        snap = snapshot(minute, quotes)
        fake.push(snap)
        return broker.poll(snap)

    return broker, fake, step


def test_order_form() -> None:
    form = order_form(Order("z-1", CALL, Side.BUY, 2, OrderType.LIMIT, 1.005))
    assert form == {
        "class": "option",
        "symbol": "SPY",
        "option_symbol": "SPY240315C00500000",
        "side": "buy_to_open",
        "quantity": "2",
        "type": "limit",
        "duration": "day",
        "tag": "z-1",
        "price": "1.00",
    }
    assert order_form(Order("z-2", CALL, Side.SELL, 1))["side"] == "sell_to_close"


def test_partial_fill_in_two_parts() -> None:
    broker, _, step = _setup(partial_fill=1.0)
    step(30)
    oid = broker.submit(Order("z-1", CALL, Side.BUY, 2))
    (first,) = _fills(step(31, {CALL: (0.95, 1.00)}))
    assert (first.qty, first.price) == (1, pytest.approx(1.00))
    assert broker.orders()[0].status is OrderStatus.PARTIALLY_FILLED
    (second,) = _fills(step(32, {CALL: (1.05, 1.10)}))
    assert (second.qty, second.price) == (1, pytest.approx(1.10))
    rec = broker.orders()[0]
    assert rec.order_id == oid and rec.status is OrderStatus.FILLED
    assert rec.fill is not None and rec.fill.price == pytest.approx(1.05) and rec.fill.qty == 2
    (pos,) = broker.positions()
    assert (pos.qty, pos.avg_price) == (2, pytest.approx(1.05))
    assert broker.account().cash == pytest.approx(10_000 - 210 - 2 * 0.65)


def test_cancel_after_a_partial_fill_keeps_the_filled_part() -> None:
    broker, fake, step = _setup(partial_fill=1.0)
    step(30)
    oid = broker.submit(Order("z-1", CALL, Side.BUY, 2))
    step(31)
    assert broker.cancel(oid) is True
    assert step(32) == []
    assert [p.qty for p in broker.positions()] == [1]
    assert fake.venue.orders[int(oid)].status == "canceled"


def test_filled_before_avg_price_is_booked_a_poll_later() -> None:
    broker, _, step = _setup(avg_price_race=1.0)
    step(30)
    broker.submit(Order("z-1", CALL, Side.BUY, 1))
    assert step(31) == []  # "filled" without avg_fill_price: not booked yet
    (fill,) = _fills(step(32))
    assert fill.price == pytest.approx(1.00)  # the price it really filled at, bar 31


def test_delayed_fill() -> None:
    broker, _, step = _setup(delayed_fill=1.0)
    step(30)
    broker.submit(Order("z-1", CALL, Side.BUY, 1))
    fills: list[Fill] = []
    for minute in range(31, 35):
        fills += _fills(step(minute))
    (fill,) = fills
    assert fill.time > snapshot(31).time


@pytest.mark.parametrize("fault", ["order_error_after_commit", "order_drop_after_commit"])
def test_lost_reply_is_adopted_not_duplicated(fault: str) -> None:
    broker, fake, step = _setup()
    step(30)
    fake.faults.rates[fault] = 1.0
    oid = broker.submit(Order("z-1", CALL, Side.BUY, 1))
    fake.faults.rates[fault] = 0.0
    assert broker.adopted == 1 and broker.resubmits == 0
    assert [o.tag for o in fake.venue.orders.values()] == ["z-1"]
    (fill,) = _fills(step(31))
    assert broker.orders()[0].order_id == oid and fill.qty == 1


def test_error_before_commit_is_proven_absent_and_sent_once_more() -> None:
    broker, fake, step = _setup()
    step(30)
    fake.faults.rates["order_error_before_commit"] = 1.0
    placements = {"n": 0}
    real = fake._r_place  # the first placement fails before commit, the second succeeds

    def once(query: dict, form: dict, params: dict) -> object:  # type: ignore[type-arg]
        if form.get("preview") != "true":
            placements["n"] += 1
            if placements["n"] == 2:
                fake.faults.rates["order_error_before_commit"] = 0.0
        return real(query, form, params)

    fake._r_place = once  # type: ignore[method-assign]
    broker.submit(Order("z-1", CALL, Side.BUY, 1))
    assert broker.resubmits == 1 and broker.adopted == 0
    assert [o.tag for o in fake.venue.orders.values()] == ["z-1"]


def test_unknown_outcome_when_the_venue_cannot_be_asked() -> None:
    _, fake, step = _setup()
    step(30)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b"preview" not in request.content:
            fake.handle(
                "POST",
                request.url.path,
                {},
                dict(httpx.QueryParams(request.content.decode())),
                request.headers,
            )
            raise httpx.ReadTimeout("lost", request=request)
        if request.method == "GET" and request.url.path.endswith("/orders"):
            raise httpx.ConnectError("down", request=request)
        return mock_transport(fake).handle_request(request)

    http = http_client("http://f/v1", TOKEN, transport=httpx.MockTransport(handler))
    client = TradierClient(http, account_id=ACCOUNT, retry=RetryPolicy(sleep=lambda s: None))
    broker = TradierBroker(
        client,
        fake.venue.execution,
        session_bounds=bounds,
        initial_cash=10_000.0,
        sleep=lambda s: None,
    )
    with pytest.raises(OrderOutcomeUnknown, match="z-1"):
        broker.submit(Order("z-1", CALL, Side.BUY, 1))
    assert len(fake.venue.orders) == 1  # placed once; the bot must reconcile before trading


def test_venue_refusal_is_a_rejection_at_the_next_poll() -> None:
    broker, fake, step = _setup()
    step(30)
    fake.faults.rates["reject"] = 1.0
    oid = broker.submit(Order("z-1", CALL, Side.BUY, 1))
    (rej,) = step(31)
    assert isinstance(rej, Rejection) and (rej.order_id, rej.reason) == (oid, "venue_rejected")
    assert broker.orders()[0].status is OrderStatus.REJECTED
    assert fake.venue.orders == {}


def test_order_missing_from_the_day_list_is_read_by_id() -> None:
    broker, fake, step = _setup()
    step(30)
    oid = broker.submit(Order("z-1", CALL, Side.BUY, 1))
    fake.venue.day_orders = lambda day: []  # type: ignore[method-assign]
    (fill,) = _fills(step(31))
    assert fill.tag == "z-1" and broker.orders()[0].order_id == oid


def test_costs_from_settings_match_the_venue() -> None:
    broker, fake, _ = _setup()
    assert broker.fill_fee(3) == pytest.approx(3 * NO_FRICTION.fee_per_contract)
    assert fake.stats()["over_limit"] == {}
