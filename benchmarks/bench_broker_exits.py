"""Per-call cost of the paper broker and the exit manager on the engine's hot path.

    .venv/bin/python benchmarks/bench_broker_exits.py

Targets: a few microseconds per call when there is nothing to do (``poll`` without pending
orders, exit evaluation of a position that does not exit).
"""

from __future__ import annotations

import timeit
from datetime import date

import pandas as pd

from machine import row, write
from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import PaperBroker
from zerodte.broker.scripted import ScriptedQuoteBook, make_quote, scripted_snapshot
from zerodte.config.settings import CostsSettings, ExitsSettings
from zerodte.exits.manager import ExitManager
from zerodte.types import Observation, OptionContract, Order, Right, Side

TZ = "America/New_York"
DAY = date(2024, 3, 15)
OPEN = pd.Timestamp(f"{DAY} 09:30", tz=TZ)
CLOSE = pd.Timestamp(f"{DAY} 16:00", tz=TZ)
C = OptionContract("SPY", DAY, Right.CALL, 500.0)


def _snap(minute: int, bid: float = 1.0):  # type: ignore[no-untyped-def]
    t = OPEN + pd.Timedelta(minutes=minute)
    q = make_quote(C, t, bid, bid + 0.02)
    book = ScriptedQuoteBook({C: q})
    return scripted_snapshot(minute, t, OPEN, CLOSE, book, underlying={"SPY": 500.0})


def _per_call_us(stmt, number: int) -> float:  # type: ignore[no-untyped-def]
    best = min(timeit.repeat(stmt, number=number, repeat=5))
    return best / number * 1e6


def main() -> None:
    """Time the hot-path calls and write ``results/broker_exits.json``."""
    bounds = lambda d: (OPEN, CLOSE)  # noqa: E731
    broker = PaperBroker(1e6, build_execution_model(CostsSettings()), session_bounds=bounds)
    snaps = [_snap(m) for m in range(60)]
    broker.poll(snaps[0])
    idle = _per_call_us(lambda: broker.poll(snaps[5]), 200_000)

    broker.submit(Order("in", C, Side.BUY, 1))
    broker.poll(snaps[6])
    held = _per_call_us(lambda: broker.poll(snaps[7]), 200_000)
    account = _per_call_us(broker.account, 200_000)

    def round_trip() -> None:
        b = PaperBroker(1e6, build_execution_model(CostsSettings()), session_bounds=bounds)
        b.poll(snaps[0])
        b.submit(Order("in", C, Side.BUY, 1))
        b.poll(snaps[1])
        b.submit(Order("out", C, Side.SELL, 1))
        b.poll(snaps[2])

    trip = _per_call_us(round_trip, 5_000)

    manager = ExitManager.from_settings(ExitsSettings())
    (pos,) = broker.positions()
    s = snaps[10]
    obs = Observation(
        index=10,
        time=s.time,
        session=DAY,
        minutes_since_open=s.minutes_since_open,
        minutes_to_close=s.minutes_to_close,
        spy=500.0,
        qqq=400.0,
        vix=15.0,
        features={},
    )
    quote = s.quotes.quote(C, at="close")
    manager.update(pos, quote, obs)
    step = _per_call_us(lambda: manager.step(pos, quote, obs), 200_000)
    tracked = manager.update(pos, quote, obs)
    evaluate = _per_call_us(lambda: manager.evaluate(tracked, quote, obs), 200_000)

    target = "<= 5 us"
    results = [
        row("poll, nothing pending, flat", idle, "us/call", target, idle <= 5),
        row("poll, nothing pending, 1 position", held, "us/call", target, held <= 5),
        row("account, 1 position (cached marks)", account, "us/call", target, account <= 5),
        row(
            "exit manager step (update + evaluate), no exit",
            step,
            "us/call",
            "<= 10 us",
            step <= 10,
        ),
        row("exit manager evaluate only, no exit", evaluate, "us/call", target, evaluate <= 5),
        row("paper round trip (new broker, buy, sell)", trip, "us", None, None),
    ]
    for r in results:
        print(f"{r['name']:<50} {r['value']:8.2f} {r['unit']:<8} target {r['target']}")
    path = write("broker_exits", results, notes="best of 5 repeats; scripted quote book")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
