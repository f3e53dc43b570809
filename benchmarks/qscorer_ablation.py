"""The predictor ablation table of docs/qscorer.md: scalars, + predictor outputs, + embedding.

    .venv/bin/python benchmarks/qscorer_ablation.py [--seeds 1,2,3,4] [--edges 1,0]

Runs :func:`zerodte.qscorer.ablation.predictor_ablation` with the ``q_scorer`` preset (per
seed and edge: a Gaussian TCN predictor trained on the first 100 sessions, then the
``zerodte q power`` pipeline three times on the next 250). Seeds default to development
seeds (1-20). Results: ``results/qscorer_ablation.json`` (a study table, not a
``results`` row list, so ``run_all.py`` leaves it to the docs).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from zerodte.config import load_settings
from zerodte.qscorer.ablation import predictor_ablation

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Run the ablation and write ``results/qscorer_ablation.json``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3,4")
    parser.add_argument("--edges", default="1,0")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    edges = [float(e) for e in args.edges.split(",")]
    settings = load_settings(preset="q_scorer", dotenv=None)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res = predictor_ablation(settings, seeds, edges, out_dir=Path(tmp), workers=args.workers)
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    res["load_average_start_end"] = [list(load0), list(os.getloadavg())]
    res["configurations_tried"] = 3
    out = HERE / "results" / "qscorer_ablation.json"
    out.write_text(json.dumps(res, indent=1, sort_keys=True, default=str) + "\n")
    print(f"written {out} in {res['wall_s']} s")


if __name__ == "__main__":
    main()
