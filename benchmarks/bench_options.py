"""Option model speed: price+greeks for 1e6 options, IV for 1e5 quotes, scalar quote latency.

Run: ``.venv/bin/python benchmarks/bench_options.py`` (writes results/options.json).
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import row, write
from zerodte.config.settings import OptionsSettings
from zerodte.options.black_scholes import bs_greeks, bs_price
from zerodte.options.iv import implied_vol
from zerodte.options.model import ModelledQuoteBook, OptionModel
from zerodte.types import OptionContract, Right

MIN = 1.0 / 525600.0


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    """Fastest wall time of ``repeat`` runs (seconds)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    s = rng.uniform(500, 600, n)
    k = np.round(s + rng.normal(0, 5, n))
    mte = rng.uniform(1, 390, n)
    vix = rng.uniform(10, 40, n)
    call = rng.random(n) < 0.5
    model = OptionModel(OptionsSettings())
    results = []

    vol = rng.uniform(0.05, 1.0, n)
    t_bs = best_of(lambda: bs_greeks(s, k, mte * MIN, vol, 0.045, 0.013, call))
    results.append(row("bs_greeks_1e6", t_bs, "s", "<= 1 s", t_bs <= 1.0))
    t_model = best_of(lambda: model.price(s, k, call, mte, vix))
    results.append(
        row(
            "OptionModel.price_1e6 (surface+greeks+bid/ask)", t_model, "s", "<= 1 s", t_model <= 1.0
        )
    )

    m = 100_000
    v = rng.uniform(0.05, 1.5, m)
    px = bs_price(s[:m], k[:m], mte[:m] * MIN, v, 0.045, 0.013, call[:m])
    t_iv = best_of(lambda: implied_vol(px, s[:m], k[:m], mte[:m] * MIN, 0.045, 0.013, call[:m]))
    results.append(row("implied_vol_1e5 (0DTE, 1-390 min)", t_iv, "s", "<= 1 s", t_iv <= 1.0))

    contract = OptionContract("SPY", date(2024, 11, 22), Right.CALL, 590.0)
    book = ModelledQuoteBook(
        model,
        time=pd.Timestamp("2024-11-22 11:00", tz="America/New_York"),
        spot_open=590.0,
        spot_close=590.2,
        vix_open=15.0,
        vix_close=15.1,
    )
    book.quote(contract)
    reps = 20_000
    t_q = best_of(lambda: [book.quote(contract) for _ in range(reps)]) / reps
    results.append(row("ModelledQuoteBook.quote latency", t_q * 1e6, "us", "< 30 us", t_q < 30e-6))
    for r in results:
        print(
            f"{r['name']:<52} {r['value']:10.4f} {r['unit']:<3} target {r['target']}  "
            f"{'ok' if r['ok'] else 'MISSED'}"
        )
    path = write("options", results, notes="best of 3 runs; single process, NumPy/SciPy")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
