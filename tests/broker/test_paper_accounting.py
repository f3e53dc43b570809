"""Accounting properties of the paper broker over random quote paths and order sequences.

* equity = cash + positions marked at the close bid, at every step (marks recomputed here
  independently from the scripted quotes);
* cash - initial = realised P&L - cost basis (and entry fees) of what is still open, at
  every step; once flat, the sum of trade P&L equals the change in cash;
* every fill's fee is ``fee_per_contract * qty``; buys pay at least the open ask, sells get
  at most the open bid, never below zero;
* no sale earns more than the option could have paid while held (exit price <= max bid).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerodte.broker.base import Rejection
from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import PaperBroker
from zerodte.config.settings import CostsSettings
from zerodte.errors import OrderRejected
from zerodte.types import CONTRACT_MULTIPLIER, Fill, OptionContract, Order, Side

from .scripted_market import CALL, PUT, bounds, snapshot

CONTRACTS = (CALL, PUT)
Quote = tuple[float, float]


@st.composite
def quote_path(draw: st.DrawFn, steps: int) -> list[tuple[dict, dict]]:
    """Per step: (open quotes, close quotes); a contract is sometimes unquoted."""
    path = []
    mids = {c: draw(st.floats(0.05, 5.0)) for c in CONTRACTS}
    for _ in range(steps):
        opens: dict[OptionContract, Quote] = {}
        closes: dict[OptionContract, Quote] = {}
        for c in CONTRACTS:
            for book in (opens, closes):
                mids[c] = max(0.01, mids[c] * math.exp(draw(st.floats(-0.3, 0.3))))
                half = mids[c] * draw(st.floats(0.0, 0.2))
                if draw(st.integers(0, 9)) > 0:  # 10 % of quotes missing
                    book[c] = (max(0.0, mids[c] - half), mids[c] + half)
        path.append((opens, closes))
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    steps=st.integers(3, 25),
    cash=st.floats(100.0, 5_000.0),
    fee=st.floats(0.0, 1.0),
    slip_pct=st.floats(0.0, 50.0),
    ticks=st.integers(0, 2),
)
def test_accounting_identities(  # noqa: PLR0917 - hypothesis passes keyword arguments
    data: st.DataObject, steps: int, cash: float, fee: float, slip_pct: float, ticks: int
) -> None:
    costs = CostsSettings(
        fee_per_contract=fee, slippage_pct_of_spread=slip_pct, slippage_min_ticks=ticks
    )
    broker = PaperBroker(cash, build_execution_model(costs), session_bounds=bounds)
    path = data.draw(quote_path(steps))
    marks: dict[OptionContract, float] = {}
    max_bid: dict[OptionContract, float] = {}
    # a final, fully quoted bar where everything left is sold
    final = {c: (0.5, 0.6) for c in CONTRACTS}
    path = [*path, (final, final), (final, final)]
    for i, (opens, closes) in enumerate(path):
        last = i == len(path) - 1
        snap = snapshot(30 + i, opens, close=closes)
        events = broker.poll(snap)
        for c in list(max_bid):  # a held contract could have been sold at this open
            if c in opens:
                max_bid[c] = max(max_bid[c], opens[c][0])
        for ev in events:
            if isinstance(ev, Rejection):
                assert ev.reason in {"insufficient_cash", "no_quote"}
                continue
            assert isinstance(ev, Fill)
            assert ev.fee == pytest.approx(fee * ev.qty)
            bid, ask = opens[ev.contract]
            marks[ev.contract] = bid  # the freshest bid of a traded contract is its open
            if ev.side is Side.BUY:
                assert ev.price >= ask - 1e-12
                if ev.contract not in max_bid:
                    max_bid[ev.contract] = bid
            else:
                assert 0.0 <= ev.price <= bid + 1e-12
                assert ev.price <= max_bid[ev.contract] + 1e-12
        held = {p.contract: p for p in broker.positions()}
        for c in list(marks):
            if c not in held:
                del marks[c]
                max_bid.pop(c, None)
            elif c in closes:
                marks[c] = closes[c][0]
                max_bid[c] = max(max_bid[c], closes[c][0])
        acct = broker.account()
        value = sum(marks[c] * CONTRACT_MULTIPLIER * p.qty for c, p in held.items())
        assert acct.equity == pytest.approx(acct.cash + value, abs=1e-6)
        assert acct.open_positions == len(held)
        basis = sum(p.avg_price * CONTRACT_MULTIPLIER * p.qty + p.entry_fees for p in held.values())
        realised = sum(t.pnl for t in broker.closed_trades())
        assert acct.cash - cash == pytest.approx(realised - basis, abs=1e-6)
        if last:
            break
        # orders for the next bar
        pending_sells = {
            c: sum(
                r.order.qty
                for r in broker.orders()
                if r.status.value == "pending"
                and r.order.side is Side.SELL
                and r.order.contract == c
            )
            for c in CONTRACTS
        }
        if i >= len(path) - 2:
            for c, p in held.items():
                if p.qty - pending_sells[c] > 0:
                    broker.submit(Order(f"flat-{i}", c, Side.SELL, p.qty - pending_sells[c]))
            continue
        for j in range(data.draw(st.integers(0, 2))):
            c = data.draw(st.sampled_from(CONTRACTS))
            side = data.draw(st.sampled_from([Side.BUY, Side.SELL]))
            qty = data.draw(st.integers(1, 3))
            available = (held[c].qty if c in held else 0) - pending_sells[c]
            try:
                broker.submit(Order(f"o-{i}-{j}", c, side, qty))
            except OrderRejected as err:
                assert side is Side.SELL and qty > available
                assert err.reason == "insufficient_position"
            else:
                assert side is Side.BUY or qty <= available
                if side is Side.SELL:
                    pending_sells[c] += qty
    assert broker.positions() == ()
    total = sum(t.pnl for t in broker.closed_trades())
    assert broker.account().cash - cash == pytest.approx(total, abs=1e-6)
    assert broker.account().equity == pytest.approx(broker.account().cash)
