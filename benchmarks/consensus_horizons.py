"""How many trades the consensus makes with multi-horizon predictions (docs/controllers.md).

    zerodte train trees --horizons 15,30,60 --days 100 --seed 3 --edge 1 --folds 2 --out DIR
    .venv/bin/python benchmarks/consensus_horizons.py --bundles DIR --days 100 --seed 3 --edge 1

The same synthetic window the bundles were trained on walk-forward: every prediction comes
from the segment trained (with an embargo of its horizon) before the row, so the rows before
the first test window have none. Three runs of the default consensus (one configuration,
nothing tuned; seed 3 is a tuning seed) with the walk-forward HMM regime joined:

* ``regime only``: no predictions (what docs/controllers.md's comparison runs);
* ``15 min bundle``: ``models.predictor_bundle`` = the 15-minute bundle alone (its own
  outputs stand for the first horizon);
* ``15/30/60 bundles``: ``models.horizon_bundles`` = all three.

Results: ``benchmarks/results/consensus_horizons.json`` and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _run(settings: Any, md: Any, label: str, controller: str) -> dict[str, Any]:
    from zerodte.config import with_overrides
    from zerodte.engine.backtest import run_backtest

    cs = with_overrides(settings, {"entry.controller": controller})
    started = time.perf_counter()
    r = run_backtest(cs, md, write=False, record=False, n_boot=1000)
    d = r.decisions
    vetoes: Counter[str] = Counter()
    for text in d["vetoes"].astype(str):
        vetoes.update(v for v in text.split("; ") if v)
    cols = [c for c in d.columns if str(c).startswith("direction_prob_up")]
    s = r.summary
    return {
        "run": label,
        "controller": controller,
        "trades": s["trades"],
        "fees_paid": s["fees_paid"],
        "per_trade_pnl": s["per_trade_pnl"],
        "per_trade_pnl_ci95": s["per_trade_pnl_ci95"],
        "cycles": len(d),
        "cycles_with_prediction": {c: int(d[c].notna().sum()) for c in cols},
        "top_vetoes": vetoes.most_common(6),
        "wall_s": time.perf_counter() - started,
    }


def main() -> None:
    from zerodte.config import Settings, with_overrides
    from zerodte.market.loading import load_market

    parser = argparse.ArgumentParser()
    parser.add_argument("--bundles", type=Path, required=True, help="DIR of 15m/30m/60m")
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--edge", type=float, default=1.0)
    args = parser.parse_args()
    bundles = [args.bundles / f"{h}m" for h in (15, 30, 60)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = with_overrides(
            Settings(),
            {
                "models.regime_context": True,
                "engine.runs_dir": Path(tmp) / "runs",
                "store.path": Path(tmp) / "z.db",
            },
        )
        md = load_market(base, days=args.days, seed=args.seed, edge=args.edge)
        runs = {
            "regime only": base,
            "15 min bundle": with_overrides(base, {"models.predictor_bundle": bundles[0]}),
            "15/30/60 bundles": with_overrides(base, {"models.horizon_bundles": bundles}),
        }
        for label, s in runs.items():
            rows.append(_run(s, md, label, "consensus"))
            print(json.dumps(rows[-1], default=str), flush=True)
        rows.append(_run(runs["15/30/60 bundles"], md, "15/30/60 bundles", "contrarian"))
        print(json.dumps(rows[-1], default=str), flush=True)
    payload = {
        "window": f"synthetic seed {args.seed}, edge {args.edge:g}, {args.days} sessions",
        "data_source": md.source,
        "bundles": [str(b) for b in bundles],
        "configurations_tried": 1,
        "friction": "$0.65/contract fee, slippage 10 % of the spread, modelled quotes",
        "interval": "per-trade P&L: session-block bootstrap, 1,000 replicas",
        "rows": rows,
    }
    out = HERE / "results" / "consensus_horizons.json"
    out.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    print("| run | controller | trades | fees | $/trade | CI95 | cycles predicted (15/30/60) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ci = r["per_trade_pnl_ci95"]
        pt = r["per_trade_pnl"]
        pred = "/".join(str(v) for v in r["cycles_with_prediction"].values()) or "0"
        print(
            f"| {r['run']} | {r['controller']} | {r['trades']} | {r['fees_paid']:.2f} | "
            f"{'' if pt is None else f'{pt:+.2f}'} | "
            f"{'' if not ci else f'[{ci[0]:+.2f}, {ci[1]:+.2f}]'} | {pred} |"
        )
    print(f"written {out}")


if __name__ == "__main__":
    main()
