"""Benchmark features and regime: one trading year of minutes, batch and streaming.

.venv/bin/python benchmarks/bench_features.py
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import row, write
from zerodte.features import FeatureStream, compute_features, get_feature_set
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market
from zerodte.regime import RegimeConfig, RegimeModel


def _best(fn, repeats: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    """Run the benchmarks and write results/features.json."""
    frame = market_frame(generate_market(date(2023, 1, 3), 252, seed=1, edge=1.0))
    n = len(frame)
    results = []
    compute_features(frame.iloc[:500])  # calendar and imports warm
    t_default = _best(lambda: compute_features(frame, "default"))
    results.append(row(f"default features, batch, {n} rows", t_default, "s", "<= 2 s",
                       bool(t_default <= 2.0)))  # fmt: skip
    t_min = _best(lambda: compute_features(frame, "minimal"))
    results.append(row(f"minimal features, batch, {n} rows", t_min, "s", None, None))
    t_flow = _best(lambda: compute_features(frame, "flow"))
    results.append(row(f"flow features (18 columns), batch, {n} rows", t_flow, "s", None, None))

    for name in ("default", "minimal", "flow"):
        fs = get_feature_set(name)
        stream = FeatureStream(name)
        stream.prime(frame.iloc[:2000])
        rows = frame[list(fs.inputs)].iloc[2000:7000].to_dict("records")
        stamps = frame.index[2000:7000]
        lat = np.empty(len(rows))
        cpu0 = time.process_time()
        for i, (ts, r) in enumerate(zip(stamps, rows, strict=True)):
            t0 = time.perf_counter()
            stream.update(ts, r)
            lat[i] = time.perf_counter() - t0
        cpu_ms = 1e3 * (time.process_time() - cpu0) / len(rows)
        ms_mean, ms_p99 = 1e3 * lat.mean(), 1e3 * np.quantile(lat, 0.99)
        results.append(row(f"{name} stream update, CPU time mean", cpu_ms, "ms", "<= 1 ms",
                           bool(cpu_ms <= 1.0)))  # fmt: skip
        results.append(row(f"{name} stream update, wall mean", ms_mean, "ms", "<= 1 ms",
                           bool(ms_mean <= 1.0)))  # fmt: skip
        results.append(row(f"{name} stream update, p99", ms_p99, "ms", None, None))

    topo = frame.iloc[:2000]
    t_topo = _best(lambda: compute_features(topo, "topology"), repeats=1)
    results.append(row("topology features, batch, per row", 1e3 * t_topo / len(topo), "ms",
                       None, None))  # fmt: skip

    feats = compute_features(frame, "default")
    train = feats.iloc[: 60 * 390]
    t0 = time.perf_counter()
    model = RegimeModel(RegimeConfig()).fit(train)
    t_fit = time.perf_counter() - t0
    results.append(row("regime HMM fit, 60 sessions", t_fit, "s", None, None))
    t_filter = _best(lambda: model.filter(feats), repeats=1)
    results.append(row(f"regime HMM filter, {n} rows", t_filter, "s", None, None))
    stream = model.stream()
    recs = feats.iloc[:3000].to_dict("records")
    t0 = time.perf_counter()
    for r in recs:
        stream.update(r)
    results.append(row("regime stream update, mean", 1e3 * (time.perf_counter() - t0) / 3000,
                       "ms", None, None))  # fmt: skip

    for r in results:
        ok = "" if r["ok"] is None else ("  ok" if r["ok"] else "  MISSED")
        print(f"{r['name']:<48} {r['value']:10.4f} {r['unit']:<3} {r['target'] or ''}{ok}")
    path = write("features", results, notes=f"synthetic market, 252 sessions, {n} rows")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
