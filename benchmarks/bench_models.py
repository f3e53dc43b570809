"""Model benchmarks: Gaussian predictor epoch and batched inference over one trading year,
tree heads and kNN over the same year. Writes benchmarks/results/models.json."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import torch

from zerodte.features import compute_features, get_feature_set
from zerodte.market.schema import market_frame
from zerodte.market.synthetic import SyntheticConfig, simulate_market
from zerodte.models.gaussian import GaussianConfig
from zerodte.models.retrieval import RetrievalConfig
from zerodte.models.targets import make_targets
from zerodte.models.trees import TreeConfig


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    frame = market_frame(simulate_market(SyntheticConfig(seed=7, days=252)).bars)
    fs = get_feature_set("default")
    X = compute_features(frame, fs)
    y = make_targets(frame, 15, 0.05, (0.1, 0.2), (5, 15, 30))
    rows = len(frame)
    results: dict[str, object] = {
        "machine": {
            "cpu": _cpu(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "rows_one_year": rows,
        "features": len(fs.columns),
    }
    for enc in ("tcn", "lstm", "mamba", "transformer"):
        cfg = GaussianConfig(encoder=enc, epochs=1)
        model, fit_s = _timed(lambda cfg=cfg: cfg.build().fit(X, y))
        _, pred_s = _timed(lambda model=model: model.predict(X))
        results[f"gaussian_{enc}"] = {
            "one_epoch_one_year_s": round(fit_s, 2),
            "batched_inference_one_year_s": round(pred_s, 2),
            "mc_samples": cfg.mc_samples,
            "target_inference_s": 5.0,
        }
        print(enc, results[f"gaussian_{enc}"], flush=True)
    trees, t_fit = _timed(
        lambda: (
            TreeConfig(heads=("direction", "tradeable", "strength", "abs_move", "reach"))
            .build()
            .fit(X, y)
        )
    )
    _, t_pred = _timed(lambda: trees.predict(X))
    results["trees_all_heads"] = {
        "models": len(trees.models_),
        "fit_one_year_s": round(t_fit, 2),
        "predict_one_year_s": round(t_pred, 2),
    }
    knn, k_fit = _timed(lambda: RetrievalConfig().build().fit(X, y))
    _, k_pred = _timed(lambda: knn.predict(X.iloc[-20_000:]))
    results["knn_k50"] = {"fit_s": round(k_fit, 2), "query_20k_rows_s": round(k_pred, 2)}
    print(json.dumps(results, indent=2))
    out = Path(__file__).resolve().parent / "results" / "models.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
