"""Q-scorer benchmarks: ghosts, training, decision latency, default pipeline wall time.

.venv/bin/python benchmarks/bench_qscorer.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import row, write
from zerodte.cli.demo_cmds import (
    DEMO_DATASET_SESSIONS,
    DEMO_DAYS,
    DEMO_PRESET,
    MINUTES_PER_SESSION,
)
from zerodte.config import Settings, load_settings
from zerodte.config.settings import QScorerSettings
from zerodte.market.loading import load_market
from zerodte.qscorer.artifacts import load_model, save_model
from zerodte.qscorer.controller import QScorerController
from zerodte.qscorer.dataset import DatasetReport, QDataset
from zerodte.qscorer.ghosts import GhostTradeEvaluator
from zerodte.qscorer.pipeline import run_pipeline
from zerodte.qscorer.train import train_q_scorer
from zerodte.types import Observation


def bench_ghosts(settings: Settings, *, apply_exit_rules: bool) -> float:
    md = load_market(settings, days=257, seed=1, edge=1.0)
    frame = md.frame.iloc[:100_000]
    ev = GhostTradeEvaluator(settings, apply_exit_rules=apply_exit_rules)
    ev.rewards(frame.iloc[:1000])  # warm caches (calendar)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        ev.rewards(frame)
        best = min(best, time.perf_counter() - t0)
    print(
        f"ghosts {len(frame)} cycles x {len(ev.horizons)} horizons x 2 rights "
        f"(exit rules {'on' if apply_exit_rules else 'off'}): {best:.3f} s"
    )
    return best


def _dataset(n: int, n_feat: int = 16) -> QDataset:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, n_feat))
    ts = pd.date_range("2024-01-02 09:30", periods=n, freq="1min", tz="America/New_York")
    cols = [f"f{i}" for i in range(n_feat)]
    fr = pd.DataFrame(x, columns=cols)
    fr["timestamp"] = ts
    fr["target_call"] = 20 * x[:, 0] + rng.normal(0, 40, n)
    fr["target_put"] = -20 * x[:, 0] + rng.normal(0, 40, n)
    fr["label_end"] = ts + pd.Timedelta(minutes=15)
    return QDataset(fr, tuple(cols), "bench", 15, DatasetReport(15, n, n, n, 0))


def bench_training() -> tuple[float, QScorerController]:
    ds = _dataset(100_000)
    t0 = time.perf_counter()
    res = train_q_scorer(ds, QScorerSettings())
    dt = time.perf_counter() - t0
    print(f"training 100,000 rows (defaults: 30 epochs, 5 members, 64x64): {dt:.1f} s")
    with tempfile.TemporaryDirectory() as d:
        save_model(Path(d), res.model, {})
        ctrl = QScorerController(load_model(Path(d)))
    return dt, ctrl


def bench_latency(ctrl: QScorerController) -> float:
    rng = np.random.default_rng(1)
    cols = ctrl.feature_columns
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
    obs = [
        Observation(
            0,
            t,
            t.date(),
            30,
            330,
            470.0,
            400.0,
            14.0,
            dict(zip(cols, rng.normal(size=len(cols)).tolist(), strict=True)),
        )
        for _ in range(2000)
    ]
    times = []
    for o in obs:
        t0 = time.perf_counter()
        ctrl.decide(o)
        times.append(time.perf_counter() - t0)
    p99 = float(np.percentile(times, 99)) * 1000
    print(f"decision latency p50 {np.percentile(times, 50) * 1000:.3f} ms, p99 {p99:.3f} ms")
    return p99


def bench_pipeline() -> tuple[float, dict[str, Any]]:
    """The README's main job: ``zerodte demo``'s pipeline (q_scorer preset, one year)."""
    settings = load_settings(preset=DEMO_PRESET, env={}, dotenv=None)
    with tempfile.TemporaryDirectory() as d:
        s = settings.model_copy(
            update={"engine": settings.engine.model_copy(update={"runs_dir": Path(d)})}
        )
        t0 = time.perf_counter()
        md = load_market(s, days=DEMO_DAYS, seed=s.data.synthetic_seed, edge=s.data.synthetic_edge)
        out = run_pipeline(
            s, md, cycles=DEMO_DATASET_SESSIONS * MINUTES_PER_SESSION, out_dir=Path(d) / "p"
        )
        dt = time.perf_counter() - t0
    print(
        f"demo pipeline ({len(md.sessions)} sessions, {out['cycles']} cycles): {dt:.1f} s; "
        f"diff {out['diff_per_trade_pnl']:.2f} CI {out['diff_per_trade_pnl_ci95']}, "
        f"significant={out['significant']}"
    )
    return dt, out


def main() -> None:
    settings = Settings()
    g = bench_ghosts(settings, apply_exit_rules=False)
    gx = bench_ghosts(settings, apply_exit_rules=True)
    tr, ctrl = bench_training()
    lat = bench_latency(ctrl)
    pipe, out = bench_pipeline()
    ci = out["diff_per_trade_pnl_ci95"]
    path = write(
        "qscorer",
        [
            row("ghost rewards 100k cycles x 5 horizons x 2 rights", g, "s", "<= 2 s", g <= 2),
            row("ghost rewards, exit rules applied (same size)", gx, "s", "<= 2 s", gx <= 2),
            row("training 100k rows (CPU)", tr, "s", "<= 30 s", tr <= 30),
            row("q_scorer decision latency p99", lat, "ms", "<= 2 ms", lat <= 2),
            row("default (demo) pipeline wall time", pipe, "s", "<= 180 s", pipe <= 180),
        ],
        notes=(
            "Ghosts: default exits (stop 8 %, take profit 12 %, trailing 4/2). Pipeline: "
            f"zerodte demo's run (q_scorer preset, {DEMO_DAYS} synthetic sessions seed 7 "
            f"edge 1, {DEMO_DATASET_SESSIONS} logged, horizon 15, default feature set); "
            f"Q-scorer minus momentum {out['diff_per_trade_pnl']:.2f} $/trade, paired CI "
            f"[{ci[0]:.2f}, {ci[1]:.2f}] on {out['oos_sessions']} out-of-sample sessions."
        ),
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
