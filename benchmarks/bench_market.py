"""Market benchmarks: generate one trading year; load one year from the store.

    .venv/bin/python benchmarks/bench_market.py

Targets: generation of 252 sessions of SPY+QQQ+VIX minutes <= 5 s; loading them from the
Parquet store <= 0.5 s. Also reports the oracle IC of the planted edge at edge 0 and 1.
Writes benchmarks/results/market.json.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from machine import row, write
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import market_frame
from zerodte.market.store import ParquetStore
from zerodte.market.synthetic import SyntheticConfig, planted_signal, simulate_market


def _best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    TradingCalendar()  # build the exchange calendar once (cached per process, ~1 s)
    cfg = SyntheticConfig(seed=7, days=252, start=date(2024, 1, 2))
    gen_s = _best(lambda: simulate_market(cfg))
    market = simulate_market(cfg)
    rows = sum(len(f) for f in market.bars.values())
    with tempfile.TemporaryDirectory() as tmp:
        store = ParquetStore(Path(tmp))
        t0 = time.perf_counter()
        for sym, frame in market.bars.items():
            store.write(sym, frame, source="bench")
        write_s = time.perf_counter() - t0
        load_s = _best(lambda: store.load(start=date(2024, 1, 1), end=date(2024, 12, 31)), 5)
        frame_s = _best(lambda: market_frame(store.load()), 3)
    ics = {}
    for edge in (0.0, 1.0):
        m = simulate_market(SyntheticConfig(seed=7, days=252, edge=edge))
        f = market_frame(m.bars)
        fwd = f.groupby("session")["spy_close"].shift(-15) / f["spy_close"] - 1
        ok = fwd.notna()
        ics[edge] = float(np.corrcoef(planted_signal(m.state)[ok], fwd[ok])[0, 1])
    results = [
        row("generate_252_sessions", gen_s, "s", "<= 5 s", gen_s <= 5.0),
        row("rows_generated", float(rows), "bars", None, None),
        row("store_write_252_sessions", write_s, "s", None, None),
        row("store_load_252_sessions", load_s, "s", "<= 0.5 s", load_s <= 0.5),
        row("load_plus_market_frame", frame_s, "s", None, None),
        row("oracle_ic_edge0", ics[0.0], "corr", "|IC| < 0.03", abs(ics[0.0]) < 0.03),
        row("oracle_ic_edge1", ics[1.0], "corr", "0.15 .. 0.30", 0.15 <= ics[1.0] <= 0.30),
    ]
    for r in results:
        print(
            f"{r['name']:28s} {r['value']:12.4f} {r['unit']:5s} target {r['target']} ok={r['ok']}"
        )
    path = write("market", results, notes="seed 7, start 2024-01-02; best of 3 (load: of 5)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
