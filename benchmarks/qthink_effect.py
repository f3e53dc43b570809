"""The QThink effect of docs/learning.md: the consensus controller with and without weights.

    .venv/bin/python benchmarks/qthink_effect.py --seeds 1,2,3 --edges 1 [--days 120]
        [--learn 60] [--controller contrarian] [--predictor DIR] [--name NAME]
        [--confirm] [--n-boot 1000]

Each (seed, edge) runs :func:`zerodte.learning.effect.measure_effect`: weights learned on
the first ``--learn`` sessions of a synthetic market, evaluated on the later sessions of
the same market, paired session-block intervals. Tuning seeds 1-20 only, except with
``--confirm``: a confirmation declared before it is run (docs/learning.md), on seeds 41-60
that nothing was developed or tuned on, whose rows are one family (each row's family-wise
verdict is Bonferroni over all of them). Results: ``benchmarks/results/<name>.json`` (one
entry per seed and edge, written as they finish).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    """Parse the options and run every (seed, edge)."""
    from zerodte.config import Settings
    from zerodte.config.settings import EngineSettings, StoreSettings
    from zerodte.learning.effect import EffectSetup, measure_effect

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--edges", default="1,0")
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--learn", type=int, default=60)
    p.add_argument("--controller", default="contrarian")
    p.add_argument("--predictor", type=Path, default=None)
    p.add_argument("--min-quality", type=float, default=0.25)
    p.add_argument("--name", default="qthink_effect")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicas")
    p.add_argument("--confirm", action="store_true", help="the declared confirmation run")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    edges = [float(e) for e in args.edges.split(",")]
    if args.confirm and any(not 41 <= s <= 60 for s in seeds):
        raise SystemExit("a confirmation runs on the untouched seeds 41-60 only")
    if not args.confirm and any(not 1 <= s <= 20 for s in seeds):
        raise SystemExit("tune and measure on synthetic seeds 1-20 only")
    family = len(seeds) * len(edges) if args.confirm else 1
    out = HERE / "results" / f"{args.name}.json"
    rows = json.loads(out.read_text()) if out.exists() else []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            store=StoreSettings(path=Path(tmp) / "runs.db"),
            engine=EngineSettings(runs_dir=Path(tmp) / "runs"),
        )
        for edge in edges:
            for seed in seeds:
                t0 = time.time()
                setup = EffectSetup(
                    seed=seed,
                    edge=edge,
                    days=args.days,
                    learn_sessions=args.learn,
                    controller=args.controller,
                    predictor_bundle=args.predictor,
                    min_quality=args.min_quality,
                    n_boot=args.n_boot,
                    family=family,
                )
                res = measure_effect(settings, setup, Path(tmp) / "states")
                res["wall_s"] = round(time.time() - t0, 1)
                res["load_average"] = os.getloadavg()[0]
                rows.append(res)
                out.write_text(json.dumps(rows, indent=1, default=str))
                q, b = res["qthink"], res["plain"]
                print(
                    f"seed {seed} edge {edge:g}: plain {b['trades']} trades "
                    f"{b['per_trade_pnl']}, qthink {q['trades']} trades {q['per_trade_pnl']}, "
                    f"diff {res['diff_per_trade_pnl']} {res['diff_per_trade_ci95']} "
                    f"family-wise {res['diff_per_trade_ci_familywise']} ({res['wall_s']} s)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
