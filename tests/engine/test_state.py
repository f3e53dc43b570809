"""The engine's checkpoint: plain JSON data that restores exactly; partial fills."""

from __future__ import annotations

import json
import math
from datetime import date

import pandas as pd

from zerodte.broker.base import Rejection
from zerodte.broker.tags import TagFactory
from zerodte.engine.positions import TradeBook
from zerodte.engine.state import (
    open_trade_from_dict,
    open_trade_to_dict,
    trade_from_dict,
    trade_to_dict,
)
from zerodte.engine.trades import OpenTrade
from zerodte.exits.base import TrackedPosition
from zerodte.types import Fill, OptionContract, Order, Position, Right, Side

T = pd.Timestamp("2024-03-15 10:00", tz="America/New_York")
CALL = OptionContract("SPY", date(2024, 3, 15), Right.CALL, 500.0)


def _json(x: object) -> object:
    return json.loads(json.dumps(x, allow_nan=False))  # PostgreSQL's JSON has no NaN


def test_open_trade_round_trip_keeps_nan_and_times() -> None:
    pos = Position(CALL, 2, 1.234, T, 1.3, "z-1")
    tracked = TrackedPosition(pos, 3.0, -2.5, 4.0, -3.0, 1.30, False, math.nan, 2)
    trade = OpenTrade(
        "z-1",
        pos,
        1.3,
        {"iv": math.nan, "spy_price": 500.1, "why": "x"},
        date(2024, 3, 15),
        4.0,
        -3.0,
        tracked,
        1,
    )
    back = open_trade_from_dict(_json(open_trade_to_dict(trade)))  # type: ignore[arg-type]
    assert back.position == pos and back.exits_sent == 1 and back.session == date(2024, 3, 15)
    assert back.tracked is not None and math.isnan(back.tracked.mark)
    assert back.tracked.peak_mark == 1.30 and back.context["iv"] is None


def test_trade_rows_round_trip() -> None:
    row = {
        "trade_id": 0,
        "entry_time": T,
        "exit_time": T + pd.Timedelta(minutes=3),
        "session": date(2024, 3, 15),
        "expiry": date(2024, 3, 15),
        "pnl": 8.7,
        "delta": math.nan,
        "tag": "z-1",
    }
    back = trade_from_dict(_json(trade_to_dict(row)))  # type: ignore[arg-type]
    assert back["entry_time"] == T and back["session"] == date(2024, 3, 15)
    assert back["delta"] is None and back["pnl"] == 8.7


class _Broker:
    polls_when_idle = True

    def __init__(self) -> None:
        self.held = 0

    def submit(self, order: Order) -> str:
        return f"id-{order.tag}"

    def positions(self) -> tuple[Position, ...]:
        return (Position(CALL, self.held, 1.0, T, 0.0, "z-1"),) if self.held else ()


def test_partial_fills_keep_the_order_pending_and_the_state_restores() -> None:
    broker = _Broker()
    book = TradeBook(broker, TagFactory("z", "run"))  # type: ignore[arg-type]
    book.send_entry(Order("z-1", CALL, Side.BUY, 3), {"spy_price": 500.0})
    broker.held = 1
    book.bought(Fill("z-1", CALL, Side.BUY, 1, 1.0, 0.65, T), date(2024, 3, 15))
    assert book.entries["z-1"].remaining == 2 and book.open[CALL].position.qty == 1
    again = TradeBook(broker, TagFactory("z", "run"))  # type: ignore[arg-type]
    again.restore(_json(book.state()))  # type: ignore[arg-type]
    assert again.state() == book.state()
    broker.held = 3
    again.bought(Fill("z-1", CALL, Side.BUY, 2, 1.0, 1.3, T), date(2024, 3, 15))
    assert "z-1" not in again.entries and again.open[CALL].position.qty == 3
    assert again.open[CALL].entry_fee == 0.65 + 1.3
    again.send_exit(again.open[CALL], 3, "take_profit")
    (tag,) = again.exits
    again.rejected(Rejection("id", Order(tag, CALL, Side.SELL, 3), "cancelled"))
    assert again.exits == {}


def test_cycle_row_reads_the_reason_of_batch_pieces() -> None:
    # the vectorised path keeps batch reasons as Arrow text; a checkpoint row still has them
    import numpy as np

    from zerodte.engine.recorder import Recorder
    from zerodte.engine.state import cycle_row
    from zerodte.policy.base import decision_frame

    times = pd.date_range("2024-01-02 09:30", periods=4, freq="min", tz="America/New_York")
    rec = Recorder(times, [date(2024, 1, 2)] * 4)
    reasons = ["up 0.2%", "flat", "down 0.3%", "up 0.1%"]
    frame = decision_frame(
        times, np.array([1, 0, 2, 1]), None, np.tile([0.0, 1.0, 0.0], (4, 1)), reasons
    )
    rec.set_batch_decisions(frame.iloc[:2], start=0)
    rec.set_batch_decisions(frame.iloc[2:], start=2)
    assert [cycle_row(rec, i, [])["reason"] for i in range(4)] == reasons
    assert [rec.reason_of(i) for i in range(4)] == reasons
