"""End-to-end exit scenarios: ExitManager + PaperBroker over scripted minute quotes.

A scenario buys ``qty`` contracts at minute 0 (the order fills at minute 1's open ask,
``entry``), then feeds one close bid per minute held (``bids[k - 1]`` is the close bid of
the minute with ``minutes_held == k``; asks are ``bid + spread``). Each minute opens at the
previous close unless ``opens`` says otherwise (a gap). Exit signals are sent as market
sells and fill at the next minute's open bid through the paper broker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from zerodte.broker.base import OrderStatus
from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import PaperBroker
from zerodte.broker.scripted import ScriptedQuoteBook, make_quote, scripted_snapshot
from zerodte.config.settings import CostsSettings, ExitsSettings
from zerodte.exits.manager import ExitManager
from zerodte.types import (
    ExitReason,
    Fill,
    Observation,
    OptionContract,
    Order,
    Right,
    Side,
    Snapshot,
)

TZ = "America/New_York"
SESSION = date(2024, 3, 15)
ZERO_DTE = OptionContract("SPY", SESSION, Right.CALL, 500.0)
WEEKLY = OptionContract("SPY", date(2024, 3, 22), Right.CALL, 500.0)
NO_SLIPPAGE = CostsSettings(slippage_pct_of_spread=0.0, slippage_min_ticks=0)


def bounds(day: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(f"{day} 09:30", tz=TZ), pd.Timestamp(f"{day} 16:00", tz=TZ)


@dataclass(frozen=True)
class Exit:
    """One exit: its reason, ``minutes_held`` when the rule fired, the fill price and qty."""

    reason: ExitReason
    held: float
    price: float
    qty: int


@dataclass(frozen=True)
class Scenario:
    name: str
    entry: float
    bids: list[float]
    expected: list[tuple[ExitReason, float, float]]
    overrides: dict[str, Any] = field(default_factory=dict)
    opens: dict[int, float] = field(default_factory=dict)
    qty: int = 1
    start: str = "10:00"
    spread: float = 0.02
    contract: OptionContract = ZERO_DTE
    costs: CostsSettings = NO_SLIPPAGE


def observation(snap: Snapshot) -> Observation:
    spy = snap.bars["SPY"].close
    return Observation(
        index=snap.index,
        time=snap.time,
        session=snap.session,
        minutes_since_open=snap.minutes_since_open,
        minutes_to_close=snap.minutes_to_close,
        spy=spy,
        qqq=spy * 0.8,
        vix=15.0,
        features={},
    )


def run(sc: Scenario) -> tuple[list[Exit], PaperBroker]:
    """Drive the scenario; returns the exits (in fill order) and the broker."""
    manager = ExitManager.from_settings(ExitsSettings(**sc.overrides))
    broker = PaperBroker(10_000.0, build_execution_model(sc.costs), session_bounds=bounds)
    open_, close = bounds(SESSION)
    t0 = pd.Timestamp(f"{SESSION} {sc.start}", tz=TZ)
    c = sc.contract

    def snap(minute: int, open_bid: float, close_bid: float) -> Snapshot:
        t = t0 + pd.Timedelta(minutes=minute)
        book = ScriptedQuoteBook(
            {c: make_quote(c, t, open_bid, open_bid + sc.spread)},
            {c: make_quote(c, t, close_bid, close_bid + sc.spread)},
        )
        return scripted_snapshot(minute, t, open_, close, book, underlying={"SPY": 500.0})

    entry_bid = sc.entry - sc.spread
    broker.poll(snap(0, entry_bid, entry_bid))
    broker.submit(Order("entry", c, Side.BUY, sc.qty))
    signals: dict[str, tuple[ExitReason, float]] = {}
    exits: list[Exit] = []
    prev_close = entry_bid
    for minute in range(1, len(sc.bids) + 2):
        open_bid = entry_bid if minute == 1 else sc.opens.get(minute, prev_close)
        close_bid = sc.bids[minute - 1] if minute <= len(sc.bids) else open_bid
        s = snap(minute, open_bid, close_bid)
        for ev in broker.poll(s):
            if isinstance(ev, Fill) and ev.side is Side.SELL:
                reason, held = signals[ev.tag]
                exits.append(Exit(reason, held, ev.price, ev.qty))
        prev_close = close_bid
        if minute > len(sc.bids):
            break
        pending = {
            r.order.contract
            for r in broker.orders()
            if r.status is OrderStatus.PENDING and r.order.side is Side.SELL
        }
        obs = observation(s)
        for pos in broker.positions():
            quote = s.quotes.quote(pos.contract, at="close")
            tracked, signal = manager.step(pos, quote, obs)
            if signal is None or pos.contract in pending:
                continue
            tag = f"exit-{minute}"
            broker.submit(Order(tag, pos.contract, Side.SELL, signal.qty or pos.qty))
            signals[tag] = (signal.reason, tracked.minutes_held)
        manager.prune(broker.positions())
    return exits, broker
