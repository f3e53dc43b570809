"""The controller comparison tables of docs/controllers.md: synthetic years and real windows.

    .venv/bin/python benchmarks/compare_controllers.py [--seeds 21,22,23] [--days 252]
        [--edges 0,1] [--no-real] [--n-boot 1000] [--family-windows 1] [--name NAME]

Every controller runs through ``zerodte.rl.compare.compare_controllers`` (the same window,
exits and friction for all; paired session-bootstrap intervals against ``momentum``) with
the walk-forward HMM regime joined and no predictor bundle. PPO is trained once on
synthetic seed 1 (a tuning seed; edge 1, 60 sessions) and evaluated on the other windows.
The Q-scorer (``q_scorer``) is trained by the existing Q pipeline (exploratory logging run,
ghost labels, the structured Q regression; default ``qscorer`` settings) on the ``--q-days``
sessions of the same synthetic market (seed, edge) just before the compared window, which
is the ``--days`` sessions after them. Nothing else is trained or tuned: every controller
runs with its default settings, so the number of configurations tried is one per controller.

The real windows (``--real-windows``) are imported from ``../shared/data/real`` by
``zerodte data import`` with the commands of docs/real-data.md ("Stores"); each is skipped
with a printed reason when its files are absent:

* ``week``: SPY/QQQ/VIX minutes 2019-02-11..15 (bar-end labels, minute gaps forward-filled);
  5 sessions, too few for a Q-scorer (the Q pipeline finds 0 labelled rows): no ``q_scorer``
  row, every other controller on all 5 sessions.
* ``poly``: SPY minutes (Polygon, SIP volume), 38 sessions 2024-02-20..04-12, Cboe daily VIX.
* ``iex``: SPY and QQQ minutes (Alpaca IEX volume), 61 sessions in 5 windows 2022-01..2024-01,
  Cboe daily VIX without its 13 rows on NYSE holidays (``--repair drop-outside-session``).

On ``poly`` and ``iex`` the sessions are split as ``zerodte q pipeline`` splits them
(``qscorer.pipeline.split_sessions`` with its default dataset size, the first half of the
sessions): the Q-scorer is trained on the first part as on the synthetic markets and every
controller is compared on the later sessions only. Results: ``benchmarks/results/<--name>.json``.
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
WEEK_FILE = "spy_qqq_vix_1min_2019-02-11_to_15.parquet"
VIX_DAILY = "vix_daily_cboe.csv"
_WEEK = "--map timestamp_end=timestamp --label end --repair fill-missing,drop-bad-prices"
_IEX = "spy_qqq_1min_alpaca_iex.parquet --feed iex --symbol"
# window -> its ``zerodte data import`` calls (file, then options); docs/real-data.md "Stores"
REAL_IMPORTS: dict[str, list[list[str]]] = {
    "week": [f"{WEEK_FILE} --symbol {sym} {_WEEK}".split() for sym in ("SPY", "QQQ", "VIX")],
    "poly": [
        ["spy_1min_polygon_rth.parquet", "--symbol", "SPY", "--feed", "sip"],
        f"{VIX_DAILY} --symbol VIX --interval 1day --start 2024-02-20 --end 2024-04-12".split(),
    ],
    "iex": [
        f"{_IEX} SPY".split(),
        f"{_IEX} QQQ".split(),
        f"{VIX_DAILY} --symbol VIX --interval 1day --start 2022-01-03 --end 2024-01-18 "
        "--repair drop-outside-session".split(),
    ],
}
# windows too short for a Q-training part, with the reason printed and documented
NO_Q_WINDOW = {"week": "5 sessions: the Q pipeline finds 0 labelled rows to train on"}
CONTROLLERS = ["momentum", "random", "bandit", "consensus", "contrarian", "ppo", "q_scorer"]
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
    result = cmp.to_dict()
    for row in result["table"]:
        out.append(
            {
                "window": label,
                "friction": friction,
                "n_compared": result["n_compared"],
                "logging_controller": result["logging_controller"],
                **row,
            }
        )
    return out


def _train_q(settings: Any, md_q: Any, target: Path) -> dict[str, Any]:
    """The Q-scorer of the existing pipeline (``zerodte.qscorer.pipeline``: the exploratory
    logging run, ghost labels, the structured Q regression) on ``md_q``, saved in ``target``."""
    from zerodte.qscorer.artifacts import save_model
    from zerodte.qscorer.pipeline import generate_dataset, training_metadata
    from zerodte.qscorer.train import train_q_scorer

    ds = generate_dataset(settings, md_q, None).dataset
    res = train_q_scorer(ds, settings.qscorer, settings.qscorer.horizon_minutes)
    save_model(target, res.model, training_metadata(settings, res, ds, "benchmark"))
    return {
        "window": [str(md_q.sessions[0]), str(md_q.sessions[-1])],
        "rows": len(ds.frame),
        "model_dir": str(target),
    }


def _windows(base: Any, seed: int, edge: float, days: int, q_days: int) -> tuple[Any, Any]:
    """``q_days`` sessions to train the Q-scorer on, then the ``days`` compared sessions, of
    one synthetic market (seed, edge)."""
    from zerodte.market.loading import load_market
    from zerodte.qscorer.compare import slice_market

    full = load_market(base, days=q_days + days, seed=seed, edge=edge)
    sessions = list(full.sessions)
    return slice_market(full, sessions[:q_days]), slice_market(full, sessions[q_days:])


def _import_real(window: str, target: Path) -> bool:
    """Import ``window`` into the store ``target`` with ``zerodte data import``; ``False``
    (with the reason printed) when a file is absent."""
    root = REAL.resolve()
    for call in REAL_IMPORTS[window]:
        source = root / call[0]
        if not source.exists():
            print(f"real window {window} skipped: {source} does not exist")
            return False
    exe = Path(sys.executable).parent / "zerodte"
    for call in REAL_IMPORTS[window]:
        command = [str(exe), "data", "import", str(root / call[0]), *call[1:]]
        subprocess.run([*command, "--data-dir", str(target)], check=True, capture_output=True)
    return True


def _real_split(md: Any) -> tuple[Any, Any]:
    """The Q pipeline's own split of a real window: (Q-training part, compared part)."""
    from zerodte.qscorer.compare import slice_market
    from zerodte.qscorer.pipeline import default_cycles, split_sessions

    q_sessions, cmp_sessions = split_sessions(md, default_cycles(md))
    return slice_market(md, q_sessions), slice_market(md, cmp_sessions)


def main() -> None:
    import zerodte.qscorer.controller  # noqa: F401 (registers the q_scorer controller)
    from zerodte.market.loading import load_market
    from zerodte.rl.compare import compare_controllers
    from zerodte.rl.train import train_ppo

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="21,22,23")
    parser.add_argument("--edges", default="0,1")
    parser.add_argument("--days", type=int, default=252)
    parser.add_argument("--ppo-timesteps", type=int, default=20_000)
    parser.add_argument("--real", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--real-windows", default="week,poly,iex", help=f"of {', '.join(REAL_IMPORTS)}"
    )
    parser.add_argument("--name", default="controller_compare", help="results file stem")
    parser.add_argument("--n-boot", type=int, default=N_BOOT, help="bootstrap replicas")
    parser.add_argument(
        "--family-windows",
        type=int,
        default=1,
        help="windows in one claim: each window's verdicts are Bonferroni over all of them",
    )
    parser.add_argument(
        "--q-days", type=int, default=60, help="sessions before the window the Q-scorer learns"
    )
    parser.add_argument(
        "--ppo-dir",
        type=Path,
        default=None,
        help="reuse the PPO model in this directory (trained there first when absent)",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]  # "" = no synthetic window
    edges = [float(e) for e in args.edges.split(",")]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        ppo_dir = args.ppo_dir or tmp / "ppo"
        base = _settings(tmp, ppo_dir)
        from zerodte.config import with_overrides

        meta_file = ppo_dir / "ppo_metadata.json"
        if meta_file.exists():
            meta = json.loads(meta_file.read_text())
        else:
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
        q_models: dict[str, Any] = {}
        out = HERE / "results" / f"{args.name}.json"

        def save() -> None:
            """Written after every window, so an interrupted run keeps what it measured."""
            payload = {
                "controllers": CONTROLLERS,
                "n_compared": len(CONTROLLERS),
                "configurations_tried": 1,
                "n_boot": args.n_boot,
                "family_windows": args.family_windows,
                "interval": "per-trade P&L: session-block bootstrap; vs momentum: paired sessions",
                "ppo": {k: v for k, v in meta.items() if k != "config"},
                "q_scorer": {"q_days": args.q_days, "models": q_models},
                "wall_s": time.perf_counter() - started,
                "rows": rows,
            }
            out.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")

        for seed in seeds:
            for edge in edges:
                md_q, md = _windows(base, seed, edge, args.days, args.q_days)
                q_dir = tmp / "q" / f"seed{seed}_edge{edge:g}"
                q_models[f"seed {seed}, edge {edge:g}"] = _train_q(base, md_q, q_dir)
                qs = with_overrides(base, {"qscorer.model_dir": q_dir})
                cmp = compare_controllers(
                    qs, md, CONTROLLERS, n_boot=args.n_boot, windows=args.family_windows
                )
                label = (
                    f"synthetic seed {seed}, edge {edge:g}, {len(md.sessions)} sessions "
                    f"{md.sessions[0]}..{md.sessions[-1]}"
                )
                rows += _rows(cmp, label, friction)
                save()
                print(f"{label}: done at {time.perf_counter() - started:.0f} s", flush=True)
        windows = [w for w in args.real_windows.split(",") if w.strip()] if args.real else []
        if windows and not REAL.resolve().is_dir():
            print(f"real windows skipped: {REAL.resolve()} does not exist")
            windows = []
        for window in windows:
            real_dir = tmp / "real" / window
            if not _import_real(window, real_dir):
                continue
            rs = _settings(tmp, ppo_dir, real_dir)
            md = load_market(rs, days=None)
            names, split = CONTROLLERS, ""
            if window in NO_Q_WINDOW:
                names = [c for c in CONTROLLERS if c != "q_scorer"]
                print(f"real window {window}: no q_scorer row ({NO_Q_WINDOW[window]})")
            else:
                md_q, md = _real_split(md)
                q_dir = tmp / "q" / window
                q_models[window] = _train_q(rs, md_q, q_dir)
                rs = with_overrides(rs, {"qscorer.model_dir": q_dir})
                split = (
                    f", after {len(md_q.sessions)} Q-training sessions "
                    f"{md_q.sessions[0]}..{md_q.sessions[-1]}"
                )
            cmp = compare_controllers(
                rs, md, names, n_boot=args.n_boot, windows=args.family_windows
            )
            files = ", ".join(dict.fromkeys(call[0] for call in REAL_IMPORTS[window]))
            label = (
                f"real {window}: {len(md.sessions)} sessions "
                f"{md.sessions[0]}..{md.sessions[-1]}{split} ({files})"
            )
            rows += _rows(cmp, label, friction)
            save()
            print(f"{label}: done at {time.perf_counter() - started:.0f} s", flush=True)
    save()
    print(markdown(rows))
    print(f"written {out} in {time.perf_counter() - started:.0f} s")


def _ci(ci: Any) -> str:
    return "" if not ci else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def _verdict(r: dict[str, Any]) -> str:
    """The family-wise (Bonferroni) verdicts of ``zerodte compare``: alone, and vs momentum."""
    from zerodte.rl.compare import verdicts

    if "diff_vs_reference_ci_familywise" not in r:
        return "n/a"
    return ", ".join(verdicts(r)) or "-"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The comparison rows as one markdown table per window."""
    lines: list[str] = []
    window = None
    for r in rows:
        if r["window"] != window:
            window = r["window"]
            lines += [
                "",
                f"**{window}** ({r.get('n_compared', '?')} controllers compared; OPE logging "
                f"run: {r.get('logging_controller')})",
                "",
                "| controller | trades | fees | $/trade | CI95 | vs momentum | paired CI95 "
                "| family-wise | OPE IPS | OPE SNIPS | SNIPS CI95 | wall s |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
        pt = r["per_trade_pnl"]
        diff = r["diff_vs_reference"]
        ope, ips = r["ope_snips"], r["ope_ips"]
        lines.append(
            f"| {r['controller']} | {r['trades']} | {r['fees_paid']:.2f} | "
            f"{'' if pt is None else f'{pt:+.2f}'} | {_ci(r['per_trade_pnl_ci95'])} | "
            f"{'' if diff is None else f'{diff:+.2f}'} | {_ci(r['diff_vs_reference_ci95'])} | "
            f"{_verdict(r)} | "
            f"{'' if ips is None else f'{ips:+.3f}'} | {'' if ope is None else f'{ope:+.3f}'} | "
            f"{_ci(r.get('ope_snips_ci95'))} | {r.get('wall_s', float('nan')):.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
