"""Exit rules one by one, their documented order, and the manager's tracking."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from zerodte.broker.scripted import make_quote
from zerodte.config.settings import ExitsSettings
from zerodte.exits.base import ExitRule, TrackedPosition
from zerodte.exits.manager import ExitManager
from zerodte.exits.rules import (
    EXIT_RULE_ORDER,
    EodFlatten,
    ExpiryGuard,
    LossCap,
    MaxHold,
    PartialTakeProfit,
    RunnerTrail,
    StopLoss,
    TakeProfit,
    TrailingStop,
    build_exit_rules,
    partial_quantity,
)
from zerodte.types import ExitReason, Observation, OptionContract, Position, Right

TZ = "America/New_York"
DAY = date(2024, 3, 15)
C = OptionContract("SPY", DAY, Right.CALL, 500.0)
T0 = pd.Timestamp(f"{DAY} 10:00", tz=TZ)


def obs(minute: int = 0, minutes_to_close: float = 300.0, session: date = DAY) -> Observation:
    return Observation(
        index=minute,
        time=T0 + pd.Timedelta(minutes=minute),
        session=session,
        minutes_since_open=30.0 + minute,
        minutes_to_close=minutes_to_close,
        spy=500.0,
        qqq=400.0,
        vix=15.0,
        features={},
    )


def pos(
    qty: int = 1, avg: float = 1.0, fees: float = 0.65, contract: OptionContract = C
) -> Position:
    return Position(contract, qty, avg, T0, entry_fees=fees * qty, tag="t")


def tracked(
    *,
    pnl: float = 0.0,
    held: float = 5.0,
    gain: float | None = None,
    qty: int = 1,
    max_qty: int | None = None,
    contract: OptionContract = C,
) -> TrackedPosition:
    p = pos(qty, contract=contract)
    mark = 1.0 + pnl / 100.0
    mq = qty if max_qty is None else max_qty
    g = pnl if gain is None else gain
    return TrackedPosition(p, held, pnl, g, min(pnl, 0.0), 1.0 + g / 100, qty < mq, mark, mq)


def test_order_constant_and_built_order() -> None:
    assert EXIT_RULE_ORDER == (
        ExitReason.LOSS_CAP,
        ExitReason.STOP_LOSS,
        ExitReason.TAKE_PROFIT,
        ExitReason.TRAILING_STOP,
        ExitReason.PARTIAL_TAKE_PROFIT,
        ExitReason.RUNNER_TRAIL,
        ExitReason.DYNAMIC,  # the dynamic exit evaluator, off by default
        ExitReason.MAX_HOLD,
        ExitReason.EXPIRY_GUARD,
        ExitReason.EOD_FLATTEN,
    )
    default = [r.name for r in build_exit_rules(ExitsSettings())]
    assert default == [
        "loss_cap",
        "stop_loss",
        "take_profit",
        "trailing_stop",
        "max_hold",
        "expiry_guard",
        "eod_flatten",
    ]
    partial = [
        r.name
        for r in build_exit_rules(
            ExitsSettings(use_partial_take_profit=True, use_trailing_stop=False)
        )
    ]
    assert partial == [
        "loss_cap",
        "stop_loss",
        "partial_take_profit",
        "runner_trail",
        "max_hold",
        "expiry_guard",
        "eod_flatten",
    ]
    order = [r.value for r in EXIT_RULE_ORDER]
    for names in (default, partial):
        assert names == sorted(names, key=order.index)


def test_rules_are_exit_rules() -> None:
    for rule in build_exit_rules(ExitsSettings(use_partial_take_profit=True)):
        assert isinstance(rule, ExitRule)


def test_loss_cap_includes_entry_fees() -> None:
    rule = LossCap(10.0)
    assert rule.evaluate(tracked(pnl=-9.0), None, obs()) is None  # 9 + 0.65
    sig = rule.evaluate(tracked(pnl=-9.4), None, obs())  # 9.40 + 0.65 >= 10
    assert sig is not None and sig.reason is ExitReason.LOSS_CAP and sig.qty is None


def test_stop_loss_boundaries() -> None:
    rule = StopLoss(8.0, 1.0)
    assert rule.evaluate(tracked(pnl=-8.0, held=2), None, obs()) is not None
    assert rule.evaluate(tracked(pnl=-7.99, held=2), None, obs()) is None
    assert rule.evaluate(tracked(pnl=-20.0, held=1), None, obs()) is None


def test_take_profit() -> None:
    rule = TakeProfit(12.0)
    assert rule.evaluate(tracked(pnl=11.99), None, obs()) is None
    assert rule.evaluate(tracked(pnl=12.0), None, obs()) is not None


def test_trailing_stop_in_points_of_entry() -> None:
    rule = TrailingStop(4.0, 2.0)
    assert rule.evaluate(tracked(pnl=1.0, gain=3.9), None, obs()) is None  # not armed
    assert rule.evaluate(tracked(pnl=4.1, gain=6.0), None, obs()) is None
    sig = rule.evaluate(tracked(pnl=4.0, gain=6.0), None, obs())
    assert sig is not None and sig.reason is ExitReason.TRAILING_STOP
    # after a partial the runner trail owns the position
    assert rule.evaluate(tracked(pnl=0.0, gain=6.0, qty=1, max_qty=2), None, obs()) is None


@pytest.mark.parametrize(
    ("qty", "fraction", "sold"),
    [(1, 0.5, 0), (2, 0.5, 1), (3, 0.5, 1), (4, 0.5, 2), (5, 0.9, 4), (10, 0.01, 1)],
)
def test_partial_quantity(qty: int, fraction: float, sold: int) -> None:
    assert partial_quantity(qty, fraction) == sold


def test_partial_take_profit_once() -> None:
    rule = PartialTakeProfit(10.0, 0.5)
    sig = rule.evaluate(tracked(pnl=10.0, qty=4), None, obs())
    assert sig is not None and sig.reason is ExitReason.PARTIAL_TAKE_PROFIT and sig.qty == 2
    assert rule.evaluate(tracked(pnl=15.0, qty=2, max_qty=4), None, obs()) is None
    assert rule.evaluate(tracked(pnl=15.0, qty=1), None, obs()) is None  # single: runner


def test_runner_trail() -> None:
    rule = RunnerTrail(10.0, 4.0)
    assert rule.evaluate(tracked(pnl=5.0, gain=9.0, qty=3), None, obs()) is None  # no runner
    assert rule.evaluate(tracked(pnl=8.5, gain=12.0, qty=1, max_qty=2), None, obs()) is None
    sig = rule.evaluate(tracked(pnl=8.0, gain=12.0, qty=1, max_qty=2), None, obs())
    assert sig is not None and sig.reason is ExitReason.RUNNER_TRAIL
    assert rule.evaluate(tracked(pnl=8.0, gain=12.0, qty=1), None, obs()) is not None


def test_time_rules() -> None:
    assert MaxHold(45).evaluate(tracked(held=44.9), None, obs()) is None
    assert MaxHold(45).evaluate(tracked(held=45), None, obs()) is not None
    guard = ExpiryGuard(30)
    assert guard.evaluate(tracked(), None, obs(minutes_to_close=31)) is None
    assert guard.evaluate(tracked(), None, obs(minutes_to_close=30)) is not None
    weekly = OptionContract("SPY", date(2024, 3, 22), Right.CALL, 500.0)
    assert guard.evaluate(tracked(contract=weekly), None, obs(minutes_to_close=5)) is None
    stale = OptionContract("SPY", date(2024, 3, 14), Right.CALL, 500.0)
    assert guard.evaluate(tracked(contract=stale), None, obs()) is not None
    assert EodFlatten(1).evaluate(tracked(), None, obs(minutes_to_close=2)) is None
    assert EodFlatten(1).evaluate(tracked(), None, obs(minutes_to_close=1)) is not None


def test_manager_tracks_marks_every_minute() -> None:
    m = ExitManager.from_settings(ExitsSettings(use_trailing_stop=False, take_profit_pct=50))
    p = pos()
    bids = [0.98, 1.05, 0.97, 1.02]
    states = [
        m.update(p, make_quote(C, obs(i).time, b, b + 0.02), obs(i)) for i, b in enumerate(bids)
    ]
    last = states[-1]
    assert [s.minutes_held for s in states] == [1.0, 2.0, 3.0, 4.0]
    assert last.pnl_pct == pytest.approx(2.0)
    assert last.max_gain_pct == pytest.approx(5.0)
    assert last.max_drawdown_pct == pytest.approx(-3.0)
    assert last.peak_mark == pytest.approx(1.05)
    assert last.mark == 1.02 and not last.partial_taken
    assert m.tracked(p) == last


def test_manager_without_quote_keeps_marks_and_runs_time_rules_only() -> None:
    m = ExitManager.from_settings(ExitsSettings(max_hold_minutes=3))
    p = pos()
    m.update(p, make_quote(C, obs(0).time, 0.50, 0.52), obs(0))  # -50 %: would stop
    t, sig = m.step(p, None, obs(1))
    assert sig is None  # stop and loss rules need a fresh mark
    assert t.pnl_pct == pytest.approx(-50.0) and t.minutes_held == 2.0
    nan_quote = make_quote(C, obs(2).time, math.nan, math.nan)
    t, sig = m.step(p, nan_quote, obs(2))
    assert sig is not None and sig.reason is ExitReason.MAX_HOLD
    first = ExitManager.from_settings(ExitsSettings()).update(p, None, obs(0))
    assert math.isnan(first.pnl_pct) and math.isnan(first.mark)


def test_manager_partial_taken_follows_quantity_and_prune() -> None:
    m = ExitManager.from_settings(ExitsSettings(use_partial_take_profit=True))
    p4 = pos(qty=4)
    q = make_quote(C, obs(0).time, 1.0, 1.02)
    assert not m.update(p4, q, obs(0)).partial_taken
    p2 = Position(C, 2, 1.0, T0, entry_fees=1.3, tag="t")
    assert m.update(p2, q, obs(1)).partial_taken
    assert m.prune([p2]) == []
    (gone,) = m.prune([])
    assert gone.position == p2 and gone.max_qty == 4
    assert m.tracked(p2) is None


def test_first_signal_wins() -> None:
    m = ExitManager.from_settings(ExitsSettings(max_loss_per_trade=1.0, max_hold_minutes=1))
    q = make_quote(C, obs(5).time, 0.5, 0.52)
    _, sig = m.step(pos(), q, obs(5, minutes_to_close=0))
    assert sig is not None and sig.reason is ExitReason.LOSS_CAP
