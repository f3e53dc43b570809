"""Benchmark run statistics, PBO and the SQLite run store.

    .venv/bin/python benchmarks/bench_research.py

No targets were set for this area; the figures show the cost of a run's report and of the
overfitting statistics an optimisation loop calls many times.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import row, write
from zerodte.config.settings import StoreSettings
from zerodte.records import TRADE_COLUMNS
from zerodte.research import pbo, summarize
from zerodte.store import RunStore, make_engine

NY = "America/New_York"


def _time(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _run_data(days: int, trades_per_day: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    sessions = pd.bdate_range("2023-01-02", periods=days)
    stamps = pd.DatetimeIndex(
        [d + pd.Timedelta(hours=9, minutes=30 + m) for d in sessions for m in range(390)]
    ).tz_localize(NY)
    eq = 25_000 + np.cumsum(rng.normal(0.05, 5.0, len(stamps)))
    equity = pd.DataFrame(
        {
            "timestamp": stamps,
            "cash": eq,
            "positions_value": 0.0,
            "equity": eq,
            "open_positions": rng.integers(0, 2, len(stamps)),
        }
    )
    n = days * trades_per_day
    entry = pd.Series(stamps[rng.choice(len(stamps), n, replace=False)]).sort_values()
    trades = pd.DataFrame({c: np.nan for c in TRADE_COLUMNS}, index=range(n))
    trades = trades.astype(object)
    trades["trade_id"] = range(n)
    trades["session"] = entry.dt.date.to_numpy()
    trades["entry_time"] = entry.to_numpy()
    trades["exit_time"] = (entry + pd.Timedelta(minutes=15)).to_numpy()
    trades["symbol"], trades["right"], trades["qty"] = "SPY", "C", 1
    trades["entry_price"], trades["exit_price"], trades["fees"] = 2.0, 2.1, 1.3
    trades["pnl"] = rng.normal(5, 80, n)
    trades["exit_reason"] = rng.choice(["take_profit", "stop_loss", "max_hold"], n)
    trades["hold_minutes"] = 15.0
    return trades, equity


def main() -> None:
    """Time summarize, PBO and a store round trip; write results/research.json."""
    results = []
    trades, equity = _run_data(250, 8)
    t = _time(lambda: summarize(trades, equity, start_equity=25_000.0))
    results.append(
        row("summarize: 250 days x 390 cycles, 2000 trades, n_boot=2000", t, "s", None, None)
    )
    m = np.random.default_rng(1).normal(size=(1000, 100))
    t = _time(lambda: pbo(m, n_splits=16))
    results.append(row("pbo: 1000 x 100 trials, 16 splits (12870)", t, "s", None, None))
    with tempfile.TemporaryDirectory() as tmp:
        eng = make_engine(StoreSettings(path=Path(tmp) / "runs.db"))
        store = RunStore(eng)
        meta = {"run_id": "bench", "controller": "rules"}
        t = _time(lambda: store.record_run(meta, {"trades": len(trades)}, trades))
        results.append(row("store.record_run: 2000 trades (SQLite, replace)", t, "s", None, None))
        t = _time(lambda: store.trades("bench"))
        results.append(row("store.trades: read 2000 trades (SQLite)", t, "s", None, None))
        eng.dispose()
    for r in results:
        print(f"{r['name']}: {r['value']:.3f} {r['unit']}")
    print(write("research", results, notes="best of 3; no targets set for this area"))


if __name__ == "__main__":
    main()
