"""Is the modelled option premium a fair price for the moves that follow on edge 0?

    .venv/bin/python benchmarks/edge0_premium.py --seeds 1-20 --days 120 [--name NAME]
    .venv/bin/python benchmarks/edge0_premium.py --seeds "" --qthink-seeds 2,4 \
        --explain-seed 21 [--name NAME]

Grid (``--seeds``, tuning seeds 1-20 only): for each synthetic market (seed, ``--edge``,
default 0, ``--days`` sessions, built by ``zerodte.market.loading.load_market`` as the
benchmarks build it) and every ``--step``-th session minute, the ATM 0DTE call and put the
default selector picks (``options.selection`` at the bar's close) are bought at the bar's
close quote (the open quote of the next bar, which is where an order decided at that bar
fills) and sold ``h`` minutes later (``--horizons``; capped at the last quote before the
close, one minute to expiry). Everything is priced by ``zerodte.options.model.OptionModel``
with the default settings, the quotes the paper broker fills against. Per observation:

* ``mid``: the quote-mid to quote-mid P&L ``((bid + ask) / 2 at exit - at entry) * 100``;
* ``half_spreads``: ``((ask - bid) / 2 at entry + at exit) * 100``, the ``spread_cost`` of a
  trade row; with the fees (``costs.fee_per_contract`` per side) it is what
  ``zerodte.learning.effect`` calls ``per_trade_friction``;
* ``slippage``: ``costs.slippage_pct_of_spread`` % of the spread on each side (the paper
  broker charges it on top of the ask/bid); ``per_trade_before_friction`` of
  ``zerodte.learning.effect`` is ``mid - slippage``;
* ``rv`` and ``iv``: the realised variance of SPY over the holding window (sum of squared
  one-minute log returns of the closes) and the entry quote's implied variance for it
  (``iv ** 2 * minutes / 525,600``, the calendar clock of ``zerodte.options.expiry``);
* ``delta``: the entry delta times the SPY move to the exit, times 100. On a martingale it
  has mean zero, so ``mid - delta`` (the ``premium_part``: theta, gamma and vega) carries
  the premium's mismatch with the moves that followed, with the direction noise removed.

Means are per observation (one contract, one entry minute, one horizon); intervals are the
95 % session-block bootstrap of ``zerodte.research.bootstrap.session_bootstrap_ci``
(per-session sums, blocks of consecutive sessions, widened for the number of sessions),
pooled over seeds (sessions of all seeds in seed order) and per seed. Nothing is fitted: one
configuration (the default settings).

``--qthink-seeds`` reruns the edge-0 rows of ``benchmarks/qthink_effect.py`` (contrarian,
120 sessions, 60 learning) and splits the plain and QThink trades of the evaluation window
the same way (friction, slippage, delta part, premium part; by time block of the entry).
``--explain-seed`` (a seed outside 1-20, to explain a reported row) reruns the two backtests
of the ``momentum`` and ``ppo`` rows of ``benchmarks/compare_controllers.py`` for that seed
(the last ``--explain-days`` of ``--q-days + --explain-days`` sessions; PPO trained on
synthetic seed 1, edge 1, 60 sessions with ``--ppo-timesteps``) and reports each one's
friction split, holding times and time-block mix. Results: ``benchmarks/results/<name>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_BOOT = 1000
HORIZONS = (1, 3, 5, 10, 15, 20, 30, 60)
SEED_HORIZONS = (3, 15, 30)  # the per-seed tables keep these (the file stays small)
RIGHTS = ("call", "put")
VIX_EDGES = (14.0, 22.0)  # buckets: below 14, 14-22, from 22 (calm, normal, stressed levels)
VIX_NAMES = ("vix<14", "vix14-22", "vix>=22")
STATS = ("n", "mid", "model_mid", "delta", "half_spreads", "slippage", "rv", "iv", "hold")
SLOTS = 13  # half hours 09:30 .. 16:00; the time blocks are unions of them
BLOCK_SLOTS = {
    "early_open": (0, 2),
    "chop_mid": (2, 6),
    "setup_mid": (6, 10),
    "decay_close": (10, 13),
}


def _grid(settings: Any, frame: pd.DataFrame, step: int, horizons: tuple[int, ...]) -> Any:
    """Per-session sums, shape (sessions, slot, horizon, right, vix bucket, stat)."""
    from zerodte.market.calendar import TradingCalendar
    from zerodte.options.chain import select_strikes
    from zerodte.options.expiry import MINUTES_PER_YEAR
    from zerodte.options.model import OptionModel
    from zerodte.types import Right

    model = OptionModel(settings.options)
    slip = settings.costs.slippage_pct_of_spread / 100.0
    cal = TradingCalendar()
    sessions = sorted(pd.unique(frame["session"]))
    s_index = {d: i for i, d in enumerate(sessions)}
    length_of = {d: len(cal.session_minutes(d)) for d in sessions}
    spot = frame["spy_close"].to_numpy(float)
    vix = frame["vix_close"].to_numpy(float)
    minute = frame["minute"].to_numpy(np.int64)
    sess = frame["session"].map(s_index).to_numpy(np.int64)
    length = frame["session"].map(length_of).to_numpy(np.int64)
    local = pd.DatetimeIndex(frame.index).tz_convert("America/New_York")
    clock = np.asarray(local.hour * 60 + local.minute, np.int64)  # bar start, minutes
    slot = np.minimum((clock - 570) // 30, SLOTS - 1)
    vixb = np.searchsorted(VIX_EDGES, vix, side="right")
    logret = np.zeros(len(spot))
    logret[1:] = np.diff(np.log(spot))
    logret[minute == 0] = 0.0  # the overnight gap is not in any holding window
    cum2 = np.cumsum(logret**2)
    # an entry at bar i's close needs a later quote with a minute to expiry: i <= L - 3
    entries = np.flatnonzero((minute % step == 0) & (minute <= length - 3))
    out = np.zeros((len(sessions), SLOTS, len(horizons), 2, 3, len(STATS)))
    last = entries - minute[entries] + length[entries] - 2  # the last bar with mte >= 1
    mte_in = (length - minute - 1)[entries].astype(float)
    for r, name in enumerate(RIGHTS):
        right = Right.CALL if name == "call" else Right.PUT
        strike = select_strikes(spot[entries], right, settings.options)
        is_call = np.full(len(entries), name == "call")
        q0 = model.price(spot[entries], strike, is_call, mte_in, vix[entries])
        mid0 = 0.5 * (q0["bid"] + q0["ask"])
        for h, hz in enumerate(horizons):
            ex = np.minimum(entries + hz, last)
            mte_out = (length - minute - 1)[ex].astype(float)
            q1 = model.price(spot[ex], strike, is_call, mte_out, vix[ex])
            hold = (ex - entries).astype(float)
            spreads = (q0["ask"] - q0["bid"]) + (q1["ask"] - q1["bid"])
            vals = {
                "n": np.ones(len(entries)),
                "mid": (0.5 * (q1["bid"] + q1["ask"]) - mid0) * 100.0,
                "model_mid": (q1["mid"] - q0["mid"]) * 100.0,
                "delta": q0["delta"] * (spot[ex] - spot[entries]) * 100.0,
                "half_spreads": 0.5 * spreads * 100.0,
                "slippage": slip * spreads * 100.0,
                "rv": cum2[ex] - cum2[entries],
                "iv": q0["iv"] ** 2 * hold / MINUTES_PER_YEAR,
                "hold": hold,
            }
            for k, stat in enumerate(STATS):
                v = vals[stat]
                if not np.isfinite(v).all():
                    raise ValueError(f"{stat} holds NaN or inf at horizon {hz} ({name})")
                np.add.at(out[..., h, r, :, k], (sess[entries], slot[entries], vixb[entries]), v)
    return out


def _cell(sums: np.ndarray, fee: float) -> dict[str, Any]:
    """Means of one cell's per-session sums ``(sessions, stat)`` with bootstrap intervals."""
    from zerodte.research.bootstrap import session_bootstrap_ci

    col = {s: sums[:, k] for k, s in enumerate(STATS)}
    n = float(col["n"].sum())
    clusters = int((col["n"] > 0).sum())
    out: dict[str, Any] = {"observations": int(n), "sessions": clusters}
    if n == 0:
        return out
    for stat in ("mid", "model_mid", "delta", "half_spreads", "slippage", "hold"):
        out[stat] = float(col[stat].sum() / n)
    out["premium_part"] = out["mid"] - out["delta"]
    out["friction"] = out["half_spreads"] + 2.0 * fee
    out["before_friction"] = out["mid"] - out["slippage"]
    out["net"] = out["mid"] - out["slippage"] - out["friction"]
    out["rv_over_iv"] = float(col["rv"].sum() / col["iv"].sum())

    def ci(num: np.ndarray, den: np.ndarray) -> list[float] | None:
        got = session_bootstrap_ci(
            {"a": num, "b": den}, lambda s: s["a"] / s["b"], n_boot=N_BOOT, clusters=clusters
        )
        return None if got is None else [round(got[0], 4), round(got[1], 4)]

    out["mid_ci95"] = ci(col["mid"], col["n"])
    out["before_friction_ci95"] = ci(col["mid"] - col["slippage"], col["n"])
    out["premium_part_ci95"] = ci(col["mid"] - col["delta"], col["n"])
    paid = col["slippage"] + col["half_spreads"] + 2.0 * fee * col["n"]
    out["net_ci95"] = ci(col["mid"] - paid, col["n"])
    out["rv_over_iv_ci95"] = ci(col["rv"], col["iv"])
    return out


def _tables(grid: np.ndarray, horizons: tuple[int, ...], fee: float, full: bool) -> dict[str, Any]:
    """Cells by block x horizon (both rights), and with ``full`` by right, VIX and slot;
    without ``full`` only the horizons of ``SEED_HORIZONS`` (the per-seed tables)."""
    out: dict[str, Any] = {}
    for block, (lo, hi) in BLOCK_SLOTS.items():
        for h, hz in enumerate(horizons):
            if not full and hz not in SEED_HORIZONS:
                continue
            part = grid[:, lo:hi, h]
            out[f"{block}|h{hz}|both"] = _cell(part.sum(axis=(1, 2, 3)), fee)
            if full:
                for r, right in enumerate(RIGHTS):
                    out[f"{block}|h{hz}|{right}"] = _cell(part[:, :, r].sum(axis=(1, 2)), fee)
    for h, hz in enumerate(horizons):
        if not full and hz not in SEED_HORIZONS:
            continue
        out[f"all|h{hz}|both"] = _cell(grid[:, :, h].sum(axis=(1, 2, 3)), fee)
        if not full:
            continue
        for b, vname in enumerate(VIX_NAMES):
            out[f"{vname}|h{hz}|both"] = _cell(grid[:, :, h, :, b].sum(axis=(1, 2)), fee)
        for s in range(SLOTS):
            start = f"{9 + (30 + 30 * s) // 60:02d}:{(30 + 30 * s) % 60:02d}"
            out[f"slot {start}|h{hz}|both"] = _cell(grid[:, s, h].sum(axis=(1, 2)), fee)
    return out


def _split(tr: pd.DataFrame, sessions: list[Any], slip: float) -> dict[str, Any]:
    """Per-trade friction split of trade rows, overall and by time block of the entry.

    ``before_friction`` is ``zerodte.learning.effect``'s (P&L + fees + half spreads);
    ``mid_to_mid`` adds back the slippage (``slip`` of each side's spread, i.e.
    ``2 * slip * spread_cost``); ``delta_part`` is the entry delta times the SPY move to the
    exit (zero-mean on a martingale) and ``premium_part`` the rest of the mid-to-mid P&L.
    """
    from zerodte.policy.qthink_state import time_blocks
    from zerodte.research.stats import per_trade_ci95

    if tr.empty:
        return {"trades": 0}
    cols = _parts(tr, slip)
    blocks = time_blocks(pd.to_datetime(tr["entry_time"]))

    def summary(sel: np.ndarray, with_ci: bool) -> dict[str, Any]:
        part = tr[sel]
        out: dict[str, Any] = {"trades": int(sel.sum())}
        for name in cols.columns:
            v = cols[name]
            out[str(name)] = round(float(v[sel].mean()), 3)
            if with_ci and name in ("pnl", "before_friction", "mid_to_mid", "premium_part"):
                ci = per_trade_ci95(part.assign(pnl=v[sel]), sessions, n_boot=N_BOOT)
                out[f"{name}_ci95"] = None if ci is None else [round(c, 3) for c in ci]
        out["hold_minutes"] = round(float(part["hold_minutes"].mean()), 2)
        return out

    res = summary(np.ones(len(tr), dtype=bool), True)
    hold = tr["hold_minutes"]
    res["hold_quantiles"] = {f"{q:g}": float(hold.quantile(q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)}
    res["exit_reasons"] = tr["exit_reason"].value_counts().to_dict()
    res["calls"] = int(tr["right"].astype(str).str.upper().str.startswith("C").sum())
    res["by_block"] = {str(b): summary(blocks == b, True) for b in sorted(set(blocks))}
    return res


def _explain(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The friction split, holding times and block mix of ``momentum`` and ``ppo``."""
    from zerodte.config import Settings, with_overrides
    from zerodte.engine.backtest import run_backtest
    from zerodte.market.loading import load_market
    from zerodte.policy.controllers import build_controller
    from zerodte.qscorer.compare import per_trade_diff, slice_market
    from zerodte.rl.train import train_ppo

    ppo_dir = tmp / "ppo"
    # the settings of benchmarks/compare_controllers.py (_settings)
    base = with_overrides(
        Settings(),
        {
            "models.regime_context": True,
            "engine.runs_dir": tmp / "runs",
            "store.path": tmp / "runs" / "z.db",
            "entry.ppo.model_dir": ppo_dir,
        },
    )
    train = with_overrides(base, {"entry.ppo.timesteps": args.ppo_timesteps})
    meta = train_ppo(train, load_market(train, days=60, seed=1, edge=1.0), ppo_dir)
    full = load_market(
        base, days=args.q_days + args.explain_days, seed=args.explain_seed, edge=args.edge
    )
    md = slice_market(full, list(full.sessions)[args.q_days :])
    sessions = sorted(pd.unique(md.frame["session"]))
    out: dict[str, Any] = {
        "seed": args.explain_seed,
        "edge": args.edge,
        "sessions": [str(sessions[0]), str(sessions[-1]), len(sessions)],
        "ppo_model_sha256": meta.get("model_sha256"),
        "ppo_timesteps": meta.get("timesteps"),
    }
    slip = base.costs.slippage_pct_of_spread / 100.0
    trades = {}
    for name in ("momentum", "ppo"):
        cs = with_overrides(base, {"entry.controller": name})
        t0 = time.process_time()
        res = run_backtest(
            cs, md, controller=build_controller(cs), write=False, record=False, n_boot=N_BOOT
        )
        trades[name] = res.trades
        out[name] = _split(res.trades, sessions, slip)
        out[name]["cpu_s"] = round(time.process_time() - t0, 1)
        print(f"seed {args.explain_seed} {name}: {out[name]}", flush=True)
    for name in ("pnl", "before_friction", "mid_to_mid", "premium_part"):
        a, b = (_with_pnl(trades[c], name, slip) for c in ("ppo", "momentum"))
        diff, ci = per_trade_diff(a, b, sessions, n_boot=N_BOOT)
        out[f"ppo_minus_momentum_{name}"] = [diff, ci]
    return out


def _parts(tr: pd.DataFrame, slip: float) -> pd.DataFrame:
    """:func:`zerodte.research.pnl_parts.pnl_parts` of ``tr`` (slippage ``slip`` of the
    spread per fill); the default costs always determine it."""
    from zerodte.research.pnl_parts import pnl_parts

    parts = pnl_parts(tr, slip * 100.0)
    if parts is None:
        raise SystemExit("the trades do not determine the P&L split (see research/pnl_parts.py)")
    return parts


def _with_pnl(tr: pd.DataFrame, name: str, slip: float) -> pd.DataFrame:
    """``tr`` with ``pnl`` replaced by one column of :func:`_split` (for paired diffs)."""
    from zerodte.research.pnl_parts import with_pnl_of

    return with_pnl_of(tr, _parts(tr, slip), name)


def _qthink(seeds: list[int], tmp: Path) -> dict[str, Any]:
    """The plain and QThink runs of ``benchmarks/qthink_effect.py`` split like :func:`_split`.

    ``measure_effect`` writes the learned state; the two evaluation-window runs are then
    repeated with the same overrides as ``zerodte.learning.effect.measure_effect`` (checked:
    the trade counts must equal its own).
    """
    from zerodte.config import Settings, with_overrides
    from zerodte.engine.backtest import run_backtest
    from zerodte.learning.effect import EffectSetup, measure_effect
    from zerodte.market.loading import load_market
    from zerodte.qscorer.compare import per_trade_diff

    settings = with_overrides(
        Settings(), {"store.path": tmp / "runs.db", "engine.runs_dir": tmp / "runs"}
    )
    slip = settings.costs.slippage_pct_of_spread / 100.0
    out: dict[str, Any] = {}
    for seed in seeds:
        setup = EffectSetup(seed=seed, edge=0.0)
        effect = measure_effect(settings, setup, tmp / "states")
        plain = with_overrides(
            settings,
            {
                "entry.controller": setup.controller,
                "models.hmm_train_days": setup.hmm_train_days,
                "models.regime_context": True,
            },
        )
        state = tmp / "states" / f"qthink_state_s{seed}_e{setup.edge:g}.json"
        qthink = with_overrides(
            plain,
            {
                "entry.consensus.qthink.enabled": True,
                "entry.consensus.qthink.state_path": str(state),
                "entry.consensus.qthink.min_quality": setup.min_quality,
            },
        )
        md = load_market(plain, days=setup.days, seed=seed, edge=setup.edge)
        sessions = sorted(set(pd.DatetimeIndex(md.frame.index).date))
        cut = pd.Timestamp(f"{sessions[setup.learn_sessions]} 09:30", tz="America/New_York")
        row: dict[str, Any] = {"penalties": effect["penalties"], "weights": effect["weights"]}
        runs = {}
        for side, cfg in (("plain", plain), ("qthink", qthink)):
            tr = run_backtest(cfg, md, write=False, record=False, n_boot=100).trades
            tr = tr[pd.to_datetime(tr["entry_time"]) >= cut]
            if len(tr) != effect[side]["trades"]:
                raise RuntimeError(
                    f"seed {seed} {side}: {len(tr)} trades, measure_effect had "
                    f"{effect[side]['trades']}; the overrides drifted"
                )
            runs[side] = tr
            row[side] = _split(tr, sessions[setup.learn_sessions :], slip)
        for name in ("pnl", "before_friction", "mid_to_mid", "premium_part"):
            a, b = (_with_pnl(runs[s], name, slip) for s in ("qthink", "plain"))
            row[f"qthink_minus_plain_{name}"] = list(
                per_trade_diff(a, b, sessions[setup.learn_sessions :], n_boot=N_BOOT)
            )
        out[str(seed)] = row
        print(f"qthink seed {seed}: {row}", flush=True)
    return out


def _dumps(payload: dict[str, Any]) -> str:
    """JSON with one line per cell (``pooled`` / ``per_seed``) and floats to 4 decimals."""

    def rounded(x: Any) -> Any:
        if isinstance(x, float):
            return round(x, 4)
        if isinstance(x, (list, tuple)):
            return [rounded(v) for v in x]
        if isinstance(x, dict):
            return {k: rounded(v) for k, v in x.items()}
        return x

    def cells(table: dict[str, Any], pad: str) -> str:
        rows = [f"{pad} {json.dumps(k)}: {json.dumps(rounded(v))}" for k, v in table.items()]
        return "{\n" + ",\n".join(rows) + "\n" + pad + "}"

    parts = []
    for key, value in payload.items():
        if key == "pooled":
            text = cells(value, " ")
        elif key == "per_seed":
            seeds = [f"  {json.dumps(s)}: {cells(t, '  ')}" for s, t in value.items()]
            text = "{\n" + ",\n".join(seeds) + "\n }"
        else:
            text = json.dumps(rounded(value), default=str)
        parts.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}"


def _seeds(text: str) -> list[int]:
    if not text.strip():
        return []
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-"))
        return list(range(lo, hi + 1))
    return [int(s) for s in text.split(",")]


def main() -> None:
    """Parse the options, run the grid and the optional explanation, write the results."""
    from zerodte.config import Settings
    from zerodte.market.loading import load_market

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", default="1-20", help="'1-20' or '2,4'; '' for none")
    p.add_argument("--edge", type=float, default=0.0)
    p.add_argument("--days", type=int, default=120)
    p.add_argument("--step", type=int, default=1, help="every step-th session minute")
    p.add_argument("--horizons", default=",".join(str(h) for h in HORIZONS))
    p.add_argument("--explain-seed", type=int, default=None)
    p.add_argument("--qthink-seeds", default="", help="edge-0 QThink rows to split, e.g. 2,4")
    p.add_argument("--explain-days", type=int, default=252)
    p.add_argument("--q-days", type=int, default=60)
    p.add_argument("--ppo-timesteps", type=int, default=5000)
    p.add_argument("--name", default="edge0_premium")
    args = p.parse_args()
    seeds = _seeds(args.seeds)
    if any(not 1 <= s <= 20 for s in seeds):
        raise SystemExit("the grid measures on synthetic seeds 1-20 only")
    horizons = tuple(int(h) for h in args.horizons.split(","))
    settings = Settings()
    fee = settings.costs.fee_per_contract
    started, cpu0 = time.perf_counter(), time.process_time()
    out_file = HERE / "results" / f"{args.name}.json"
    payload: dict[str, Any] = {
        "edge": args.edge,
        "days": args.days,
        "step_minutes": args.step,
        "horizons": list(horizons),
        "seeds": seeds,
        "configurations_tried": 1,
        "n_boot": N_BOOT,
        "fee_per_side": fee,
        "slippage_pct_of_spread": settings.costs.slippage_pct_of_spread,
        "interval": "95 % session-block bootstrap (session_bootstrap_ci), widened for sessions",
    }
    grids = []
    per_seed: dict[str, Any] = {}
    for seed in seeds:
        md = load_market(settings, days=args.days, seed=seed, edge=args.edge)
        grid = _grid(settings, md.frame, args.step, horizons)
        grids.append(grid)
        per_seed[str(seed)] = _tables(grid, horizons, fee, full=False)
        cell = per_seed[str(seed)].get("all|h15|both")
        print(f"seed {seed}: all, 15 min: {cell} ({time.perf_counter() - started:.0f} s)")
    if grids:
        payload["pooled"] = _tables(np.concatenate(grids), horizons, fee, full=True)
        payload["per_seed"] = per_seed
    if _seeds(args.qthink_seeds):
        with tempfile.TemporaryDirectory() as tmp:
            payload["qthink"] = _qthink(_seeds(args.qthink_seeds), Path(tmp))
    if args.explain_seed is not None:
        with tempfile.TemporaryDirectory() as tmp:
            payload["explain"] = _explain(args, Path(tmp))
    payload["wall_s"] = round(time.perf_counter() - started, 1)
    payload["cpu_s"] = round(time.process_time() - cpu0, 1)
    payload["load_average"] = os.getloadavg()[0]
    out_file.write_text(_dumps(payload) + "\n")
    print(f"written {out_file} in {payload['wall_s']} s wall, {payload['cpu_s']} s CPU")


if __name__ == "__main__":
    main()
