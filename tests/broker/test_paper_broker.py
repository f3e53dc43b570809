"""Paper-broker behaviour beyond the contract: friction, latency, gaps, expiry, counters."""

from __future__ import annotations

from datetime import date

import pytest

from zerodte.broker.base import OrderStatus, Rejection
from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import SETTLEMENT_TAG_SUFFIX, PaperBroker, intrinsic_value
from zerodte.config import Settings
from zerodte.config.settings import CostsSettings
from zerodte.types import Fill, OptionContract, Order, OrderType, Right, Side

from .scripted_market import CALL, NEXT_SESSION, NO_FRICTION, PUT, SESSION, bounds, snapshot

Q = {CALL: (0.95, 1.00)}


def paper(cash: float = 10_000.0, costs: CostsSettings = NO_FRICTION) -> PaperBroker:
    return PaperBroker(cash, build_execution_model(costs), session_bounds=bounds)


def test_pnl_scale_one_contract_ten_cents_is_870_cents() -> None:
    broker = paper()
    broker.poll(snapshot(30, {CALL: (0.95, 1.00)}))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    broker.poll(snapshot(31, {CALL: (0.95, 1.00)}))
    broker.submit(Order("out", CALL, Side.SELL, 1))
    broker.poll(snapshot(32, {CALL: (1.10, 1.15)}))
    (trade,) = broker.closed_trades()
    assert trade.pnl == pytest.approx(8.70, abs=1e-9)  # (1.10 - 1.00) * 100 * 1 - 2 * 0.65
    assert trade.fees == pytest.approx(1.30)
    assert broker.account().cash - 10_000.0 == pytest.approx(8.70, abs=1e-9)


def test_fill_uses_next_open_quote_not_decision_close() -> None:
    broker = paper()
    broker.poll(snapshot(30, {CALL: (0.95, 1.00)}, close={CALL: (0.75, 0.80)}))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    # bar 31 opens at 1.20 and closes at 0.50: the fill is the open ask
    (fill,) = broker.poll(snapshot(31, {CALL: (1.15, 1.20)}, close={CALL: (0.45, 0.50)}))
    assert isinstance(fill, Fill)
    assert fill.price == pytest.approx(1.20)
    assert fill.time == snapshot(31).time
    assert broker.account().equity == pytest.approx(10_000 - 120.65 + 45.0)  # close bid mark


def test_order_is_not_filled_on_the_bar_it_was_submitted() -> None:
    broker = paper()
    snap = snapshot(30, Q)
    broker.poll(snap)
    broker.submit(Order("in", CALL, Side.BUY, 1))
    assert broker.poll(snap) == []


def test_latency_over_a_minute_skips_a_bar() -> None:
    costs = NO_FRICTION.model_copy(update={"latency_seconds": 90.0})
    broker = paper(costs=costs)
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    assert broker.poll(snapshot(31, {CALL: (1.0, 1.05)})) == []
    (fill,) = broker.poll(snapshot(32, {CALL: (1.1, 1.15)}))
    assert isinstance(fill, Fill) and fill.price == pytest.approx(1.15)


def test_skipped_bars_fill_at_first_available_bar() -> None:
    broker = paper()
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    (fill,) = broker.poll(snapshot(35, {CALL: (1.2, 1.25)}))
    assert isinstance(fill, Fill) and fill.price == pytest.approx(1.25)


def test_default_slippage_applied_both_sides() -> None:
    broker = paper(costs=CostsSettings())  # 10 % of spread, $0.65
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 2))
    (buy,) = broker.poll(snapshot(31, {CALL: (0.90, 1.10)}))
    assert isinstance(buy, Fill)
    assert buy.price == pytest.approx(1.12) and buy.slippage == pytest.approx(0.02)
    broker.submit(Order("out", CALL, Side.SELL, 2))
    (sell,) = broker.poll(snapshot(32, {CALL: (0.90, 1.10)}))
    assert isinstance(sell, Fill)
    assert sell.price == pytest.approx(0.88) and sell.fee == pytest.approx(1.30)
    assert broker.closed_trades()[0].pnl == pytest.approx((0.88 - 1.12) * 200 - 2.60)


def test_sell_through_a_gap_fills_at_the_gapped_bid() -> None:
    broker = paper()
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    broker.poll(snapshot(31, Q))
    # the decision bar closes at 0.90 (stop level -10 %) ...
    broker.poll(snapshot(32, Q, close={CALL: (0.90, 0.95)}))
    broker.submit(Order("stop", CALL, Side.SELL, 1))
    # ... but the next bar opens at 0.50
    (fill,) = broker.poll(snapshot(33, {CALL: (0.50, 0.55)}))
    assert isinstance(fill, Fill) and fill.price == pytest.approx(0.50)


def test_zero_bid_sell_is_rejected_not_filled_at_zero() -> None:
    broker = paper()
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    broker.poll(snapshot(31, Q))
    broker.submit(Order("out", CALL, Side.SELL, 1))
    (rej,) = broker.poll(snapshot(32, {CALL: (0.0, 0.05)}))
    assert isinstance(rej, Rejection) and rej.reason == "no_quote"
    assert broker.positions()[0].qty == 1


def test_limit_order_expires_at_end_of_session() -> None:
    broker = paper()
    broker.poll(snapshot(380, Q))
    oid = broker.submit(Order("lim", CALL, Side.BUY, 1, OrderType.LIMIT, 0.50))
    assert broker.poll(snapshot(381, Q)) == []
    (rej,) = broker.poll(snapshot(0, Q, day=NEXT_SESSION))
    assert isinstance(rej, Rejection) and rej.reason == "expired" and rej.order_id == oid
    assert broker.orders()[0].status is OrderStatus.EXPIRED


def test_market_order_outside_session_hours_is_rejected() -> None:
    broker = paper()
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    (rej,) = broker.poll(snapshot(391, Q))  # a bar after the 16:00 close
    assert isinstance(rej, Rejection) and rej.reason == "market_closed"


def test_submit_before_any_poll_fills_at_first_poll() -> None:
    broker = paper()
    broker.submit(Order("in", CALL, Side.BUY, 1))
    (fill,) = broker.poll(snapshot(30, Q))
    assert isinstance(fill, Fill) and fill.price == pytest.approx(1.00)
    assert broker.orders()[0].submitted_at is None


@pytest.mark.parametrize(
    ("contract", "spy", "value"),
    [(CALL, 503.25, 3.25), (CALL, 497.0, 0.0), (PUT, 497.0, 3.0), (PUT, 503.0, 0.0)],
)
def test_expired_position_settles_at_intrinsic(
    contract: OptionContract, spy: float, value: float
) -> None:
    broker = paper()
    broker.poll(snapshot(380, {contract: (1.0, 1.05)}))
    broker.submit(Order("in", contract, Side.BUY, 2))
    broker.poll(snapshot(381, {contract: (1.0, 1.05)}))
    broker.poll(snapshot(389, {contract: (1.0, 1.05)}, spy=spy))  # last bar, SPY closes at spy
    events = broker.poll(snapshot(0, {}, day=NEXT_SESSION, spy=600.0))
    (fill,) = events
    assert isinstance(fill, Fill)
    assert fill.side is Side.SELL and fill.qty == 2 and fill.fee == 0.0
    assert fill.price == pytest.approx(value)
    assert fill.tag == "in" + SETTLEMENT_TAG_SUFFIX
    assert fill.time == bounds(SESSION)[1]
    assert broker.positions() == ()
    (trade,) = broker.closed_trades()
    assert trade.settled
    assert trade.pnl == pytest.approx((value - 1.05) * 200 - 1.30)
    assert broker.account().equity == pytest.approx(broker.account().cash)


def test_intrinsic_value() -> None:
    assert intrinsic_value(CALL, 510.0) == 10.0
    assert intrinsic_value(PUT, 510.0) == 0.0


def test_non_expiring_position_survives_the_night_and_is_marked() -> None:
    weekly = OptionContract("SPY", date(2024, 3, 22), Right.CALL, 500.0)
    broker = paper()
    broker.poll(snapshot(388, {weekly: (2.0, 2.1)}))
    broker.submit(Order("in", weekly, Side.BUY, 1))
    broker.poll(snapshot(389, {weekly: (2.0, 2.1)}))
    assert broker.poll(snapshot(0, {weekly: (2.5, 2.6)}, day=NEXT_SESSION)) == []
    assert broker.positions()[0].qty == 1
    acct = broker.account()
    assert acct.equity == pytest.approx(acct.cash + 250.0)
    assert acct.day_start_equity == pytest.approx(acct.cash + 200.0)  # previous close mark


def test_stale_mark_is_kept_when_the_close_quote_is_missing() -> None:
    broker = paper()
    broker.poll(snapshot(30, Q))
    broker.submit(Order("in", CALL, Side.BUY, 1))
    broker.poll(snapshot(31, Q, close={CALL: (0.97, 1.02)}))
    assert broker.marks() == {CALL: 0.97}
    broker.poll(snapshot(32, {}))
    assert broker.marks() == {CALL: 0.97}


def test_counters_for_gates() -> None:
    broker = paper()
    broker.poll(snapshot(30, Q))
    broker.submit(Order("a", CALL, Side.BUY, 2))
    broker.poll(snapshot(31, Q))
    broker.submit(Order("a-part", CALL, Side.SELL, 1))
    broker.poll(snapshot(32, {CALL: (1.05, 1.10)}))
    broker.submit(Order("a-rest", CALL, Side.SELL, 1))
    broker.poll(snapshot(33, {CALL: (1.10, 1.15)}))
    acct = broker.account()
    assert acct.trades_today == 1
    assert acct.day_trades_window == (SESSION,)  # one position opened and closed today
    # each sale carries its exit fee and half of the $1.30 entry fee
    assert acct.realized_pnl_today == pytest.approx((5.0 - 1.30) + (10.0 - 1.30))
    assert acct.last_exit_time == snapshot(33).time
    parts = broker.closed_trades()
    assert [t.qty for t in parts] == [1, 1]
    assert sum(t.fees for t in parts) == pytest.approx(4 * 0.65)
    broker.poll(snapshot(0, Q, day=NEXT_SESSION))
    acct = broker.account()
    assert (acct.trades_today, acct.realized_pnl_today) == (0, 0.0)
    assert acct.day_trades_window == (SESSION,)


def test_poll_with_nothing_to_do_is_empty_and_cheap() -> None:
    broker = paper()
    snap = snapshot(30, Q)
    broker.poll(snap)
    assert broker.poll(snap) == []


def test_from_settings() -> None:
    s = Settings()
    broker = PaperBroker.from_settings(s, session_bounds=bounds)
    assert broker.account().cash == s.broker.initial_cash
    assert broker.execution.fees.fee(1) == s.costs.fee_per_contract


def test_default_calendar_bounds_on_a_half_day() -> None:
    half = date(2024, 11, 29)  # day after Thanksgiving closes at 13:00
    contract = OptionContract("SPY", half, Right.CALL, 500.0)
    broker = PaperBroker(10_000.0, build_execution_model(NO_FRICTION))
    broker.poll(snapshot(209, {contract: (1.0, 1.05)}, day=half))  # 12:59 bar
    broker.submit(Order("late", contract, Side.BUY, 1))
    (rej,) = broker.poll(snapshot(210, {contract: (1.0, 1.05)}, day=half))  # 13:00
    assert isinstance(rej, Rejection) and rej.reason == "market_closed"
