"""The controller comparison tables of docs/controllers.md: synthetic years and the real week.

    .venv/bin/python benchmarks/compare_controllers.py [--seeds 21,22,23] [--days 252]

Every controller runs through ``zerodte.rl.compare.compare_controllers`` (the same window,
exits and friction for all; paired session-bootstrap intervals against ``momentum``) with
the walk-forward HMM regime joined and no predictor bundle. PPO is trained once on
synthetic seed 1 (a tuning seed; edge 1, 60 sessions) and evaluated on the other windows.
Nothing else is trained or tuned: every controller runs with its default settings, so the
number of configurations tried is one per controller.

The real window is the one week of SPY/QQQ/VIX minutes under ``../shared/data/real``
(imported with ``zerodte data import``, bar-end labels, minute gaps forward-filled); it is
skipped when that directory is absent. Results: ``benchmarks/results/<--name>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REAL = ROOT / ".." / "shared" / "data" / "real"
REAL_FILE = "spy_qqq_vix_1min_2019-02-11_to_15.parquet"
CONTROLLERS = ["momentum", "random", "bandit", "consensus", "contrarian", "ppo"]
N_BOOT = 1000


def _settings(tmp: Path, ppo_dir: Path | None, data_dir: Path | None = None) -> Any:
    from zerodte.config import Settings, with_overrides

    changes: dict[str, Any] = {
        "models.regime_context": True,
        "engine.runs_dir": tmp / "runs",
        "store.path": tmp / "runs" / "z.db",
    }
    if ppo_dir is not None:
        changes["entry.ppo.model_dir"] = ppo_dir
    if data_dir is not None:
        changes["data.data_dir"] = data_dir
    return with_overrides(Settings(), changes)


def _rows(cmp: Any, label: str, friction: str) -> list[dict[str, Any]]:
    out = []
    for row in cmp.to_dict()["table"]:
        out.append({"window": label, "friction": friction, **row})
    return out


def _import_real(target: Path) -> bool:
    source = REAL.resolve() / REAL_FILE
    if not source.exists():
        print(f"real window skipped: {source} does not exist")
        return False
    exe = Path(sys.executable).parent / "zerodte"
    for symbol in ("SPY", "QQQ", "VIX"):
        subprocess.run(
            [
                str(exe),
                "data",
                "import",
                str(source),
                "--symbol",
                symbol,
                "--map",
                "timestamp_end=timestamp",
                "--label",
                "end",
                "--repair",
                "fill-missing,drop-bad-prices",
                "--data-dir",
                str(target),
            ],
            check=True,
            capture_output=True,
        )
    return True


def main() -> None:
    from zerodte.market.loading import load_market
    from zerodte.rl.compare import compare_controllers
    from zerodte.rl.train import train_ppo

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="21,22,23")
    parser.add_argument("--edges", default="0,1")
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--ppo-timesteps", type=int, default=20_000)
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--name", default="controller_compare", help="results file stem")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    edges = [float(e) for e in args.edges.split(",")]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        ppo_dir = tmp / "ppo"
        base = _settings(tmp, ppo_dir)
        from zerodte.config import with_overrides

        train = with_overrides(base, {"entry.ppo.timesteps": args.ppo_timesteps})
        meta = train_ppo(train, load_market(train, days=60, seed=1, edge=1.0), ppo_dir)
        print(
            f"ppo trained: {meta['timesteps']} steps at {meta['steps_per_second']:.0f}/s",
            flush=True,
        )
        friction = (
            f"${base.costs.fee_per_contract}/contract fee, slippage "
            f"{base.costs.slippage_pct_of_spread:g} % of the spread, modelled quotes"
        )
        for seed in seeds:
            for edge in edges:
                md = load_market(base, days=args.days, seed=seed, edge=edge)
                cmp = compare_controllers(base, md, CONTROLLERS, n_boot=N_BOOT)
                label = f"synthetic seed {seed}, edge {edge:g}, {len(md.sessions)} sessions"
                rows += _rows(cmp, label, friction)
                print(f"{label}: done at {time.perf_counter() - started:.0f} s", flush=True)
        real_dir = tmp / "real"
        if args.real and _import_real(real_dir):
            rs = _settings(tmp, ppo_dir, real_dir)
            md = load_market(rs, days=None)
            cmp = compare_controllers(rs, md, CONTROLLERS, n_boot=N_BOOT)
            rows += _rows(cmp, f"real {md.sessions[0]}..{md.sessions[-1]} ({md.source})", friction)
    payload = {
        "controllers": CONTROLLERS,
        "n_compared": len(CONTROLLERS),
        "configurations_tried": 1,
        "n_boot": N_BOOT,
        "interval": "per-trade P&L: session-block bootstrap; vs momentum: paired sessions",
        "ppo": {k: v for k, v in meta.items() if k != "config"},
        "wall_s": time.perf_counter() - started,
        "rows": rows,
    }
    out = HERE / "results" / f"{args.name}.json"
    out.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    print(markdown(rows))
    print(f"written {out} in {payload['wall_s']:.0f} s")


def _ci(ci: Any) -> str:
    return "" if not ci else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The comparison rows as one markdown table per window."""
    lines: list[str] = []
    window = None
    for r in rows:
        if r["window"] != window:
            window = r["window"]
            lines += [
                "",
                f"**{window}**",
                "",
                "| controller | trades | fees | $/trade | CI95 | vs momentum | paired CI95 "
                "| OPE SNIPS | wall s |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
        pt = r["per_trade_pnl"]
        diff = r["diff_vs_reference"]
        ope = r["ope_snips"]
        lines.append(
            f"| {r['controller']} | {r['trades']} | {r['fees_paid']:.2f} | "
            f"{'' if pt is None else f'{pt:+.2f}'} | {_ci(r['per_trade_pnl_ci95'])} | "
            f"{'' if diff is None else f'{diff:+.2f}'} | {_ci(r['diff_vs_reference_ci95'])} | "
            f"{'' if ope is None else f'{ope:+.2f}'} | "
            f"{r.get('wall_s', float('nan')):.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
