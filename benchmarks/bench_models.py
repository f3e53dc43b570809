"""Model benchmarks over one trading year of minutes (252 synthetic sessions, 2 CPU threads).

.venv/bin/python benchmarks/bench_models.py

The Gaussian predictor's one-epoch training and batched inference (MC dropout, 8 samples)
for each encoder; the target (<= 5 s inference) is the issue's and applies to every encoder,
the default being TCN. Tree heads and kNN retrieval over the same year are reported without
targets. Writes benchmarks/results/models.json.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import row, write
from zerodte.features import compute_features, get_feature_set
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import SyntheticConfig, simulate_market
from zerodte.models.gaussian import GaussianConfig
from zerodte.models.retrieval import RetrievalConfig
from zerodte.models.targets import make_targets
from zerodte.models.trees import TreeConfig

INFERENCE_TARGET_S = 5.0


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    frame = market_frame(simulate_market(SyntheticConfig(seed=7, days=252)).bars)
    fs = get_feature_set("default")
    X = compute_features(frame, fs)
    y = make_targets(frame, 15, 0.05, (0.1, 0.2), (5, 15, 30))
    results: list[dict[str, Any]] = []
    for enc in ("tcn", "lstm", "mamba", "transformer"):
        cfg = GaussianConfig(encoder=enc, epochs=1)
        model, fit_s = _timed(lambda cfg=cfg: cfg.build().fit(X, y))
        _, pred_s = _timed(lambda model=model: model.predict(X))
        default = " (default)" if enc == "tcn" else ""
        results.append(
            row(
                f"gaussian {enc}{default}: batched inference, one year",
                pred_s,
                "s",
                f"<= {INFERENCE_TARGET_S:g} s",
                pred_s <= INFERENCE_TARGET_S,
            )
        )
        results.append(row(f"gaussian {enc}: one training epoch, one year", fit_s, "s", None, None))
    heads = ("direction", "tradeable", "strength", "abs_move", "reach")
    trees, t_fit = _timed(lambda: TreeConfig(heads=heads).build().fit(X, y))
    _, t_pred = _timed(lambda: trees.predict(X))
    results.append(row(f"trees, {len(trees.models_)} models: fit one year", t_fit, "s", None, None))
    results.append(row("trees: predict one year", t_pred, "s", None, None))
    knn, k_fit = _timed(lambda: RetrievalConfig().build().fit(X, y))
    _, k_pred = _timed(lambda: knn.predict(X.iloc[-20_000:]))
    results.append(row("kNN k=50: fit one year", k_fit, "s", None, None))
    results.append(row("kNN k=50: query 20,000 rows", k_pred, "s", None, None))
    for r in results:
        ok = "" if r["ok"] is None else ("  ok" if r["ok"] else "  MISSED")
        print(f"{r['name']:<52} {r['value']:9.3f} {r['unit']:<2} {r['target'] or ''}{ok}")
    notes = (
        f"synthetic market, 252 sessions, {len(frame)} rows, {len(fs.columns)} default "
        f"features; torch {torch.__version__}, {torch.get_num_threads()} threads; MC dropout "
        f"{GaussianConfig().mc_samples} samples"
    )
    path = write("models", results, notes=notes)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
