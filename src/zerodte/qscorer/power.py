"""Power study: the whole Q-scorer pipeline on many synthetic markets (``zerodte q power``).

One seed is one independent synthetic year. For each seed and edge the study generates the
market in memory, runs :func:`~zerodte.qscorer.pipeline.run_pipeline` (exploratory logging,
dataset, training, out-of-sample comparison against the baseline with the same exits) and
runs the ``oracle`` controller (:mod:`zerodte.policy.controllers.oracle`) on the same
out-of-sample window as the positive ceiling. Per seed::

    own_positive    Q-scorer's per-trade session-block interval lies above zero
    beats_baseline  the paired per-trade difference's interval lies above zero
    significant     own_positive AND beats_baseline

Totals over the seeds of one edge::

    power                share of seeds significant at edge > 0, Wilson 95 % interval
    false_positive_rate  share of seeds at edge 0 that are own_positive OR beats_baseline
    oracle_efficiency    Q-scorer $/trade / oracle $/trade on the same windows (per seed,
                         and pooled: summed P&L over summed trades on both sides)

The study reports every seed, never a chosen one. Seeds run in parallel on local
processes, or on a Dask cluster (``executor="dask://HOST:PORT"``) so a study can spread
over many machines; each task only needs the settings and its seed, and builds its own
market.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from scipy.stats import binomtest

from zerodte.config import with_overrides
from zerodte.config.root import Settings
from zerodte.errors import ConfigError
from zerodte.types import SESSION_MINUTES

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DAYS = 250
DEFAULT_LOGGED_SESSIONS = 100


@dataclass(frozen=True)
class PowerTask:
    """One pipeline run of the study: everything a worker needs (picklable)."""

    settings: Settings
    seed: int
    edge: float
    days: int
    cycles: int
    horizon: int | None
    baseline: str
    out_dir: Path
    n_boot: int
    code_version: str


def _ci_above_zero(ci: Sequence[float] | None) -> bool:
    return ci is not None and ci[0] > 0


def run_task(task: PowerTask) -> dict[str, Any]:
    """Run the pipeline and the oracle for one seed; returns the study's row."""
    from zerodte.market.loading import load_market

    md = load_market(task.settings, days=task.days, seed=task.seed, edge=task.edge)
    row = pipeline_row(
        task.settings,
        md,
        task.cycles,
        task.horizon,
        task.baseline,
        task.out_dir,
        task.n_boot,
        task.code_version,
    )
    row.update(seed=task.seed, edge=task.edge, sessions=task.days)
    logger.info(
        "seed %d edge %g: %s trades, %s $/trade, significant %s",
        task.seed,
        task.edge,
        row["trades"],
        row["per_trade_pnl"],
        row["significant"],
    )
    return row


def pipeline_row(  # noqa: PLR0917 (the pieces of one study row)
    settings: Settings,
    md: Any,
    cycles: int,
    horizon: int | None,
    baseline: str,
    out_dir: Path,
    n_boot: int,
    code_version: str,
) -> dict[str, Any]:
    """The pipeline on ``md`` and the oracle on its out-of-sample window, as a study row."""
    from zerodte.engine.backtest import run_backtest
    from zerodte.policy.controllers.oracle import OracleController
    from zerodte.qscorer.compare import slice_market
    from zerodte.qscorer.pipeline import run_pipeline, split_sessions

    t0 = time.perf_counter()
    s = run_pipeline(
        settings,
        md,
        horizon=horizon,
        cycles=cycles,
        baseline=baseline,
        out_dir=out_dir,
        code_version=code_version,
        n_boot=n_boot,
    )
    _, oos = split_sessions(md, cycles)
    md_oos = slice_market(md, oos)
    oracle = run_backtest(
        settings,
        md_oos,
        controller=OracleController.from_market(md_oos, int(s["horizon"])),
        write=False,
        record=False,
        feature_set=settings.qscorer.feature_set,
        n_boot=n_boot,
        code_version=code_version,
    )
    q, b, o = s["q_scorer"], s["baseline"], oracle.summary
    own = _ci_above_zero(q["per_trade_pnl_ci95"])
    beats = bool(s["significant"])
    acted = s["evaluation"]["anti_selection_acted"]
    return {
        "sessions": len(md.sessions),
        "oos_sessions": s["oos_sessions"],
        "trades": q["trades"],
        "pnl": q["pnl"],
        "fees": q["fees_paid"],
        "per_trade_pnl": q["per_trade_pnl"],
        "per_trade_pnl_ci95": q["per_trade_pnl_ci95"],
        "baseline_trades": b["trades"],
        "baseline_pnl": b["pnl"],
        "baseline_per_trade_pnl": b["per_trade_pnl"],
        "diff_per_trade_pnl": s["diff_per_trade_pnl"],
        "diff_per_trade_pnl_ci95": s["diff_per_trade_pnl_ci95"],
        "own_positive": own,
        "beats_baseline": beats,
        "significant": own and beats,
        "oracle_trades": o["trades"],
        "oracle_pnl": o["pnl"],
        "oracle_per_trade_pnl": o["per_trade_pnl"],
        "oracle_per_trade_pnl_ci95": o["per_trade_pnl_ci95"],
        "oracle_efficiency": _ratio(q["per_trade_pnl"], o["per_trade_pnl"]),
        "anti_selection_acted_spearman": acted["spearman"],
        "anti_selection_acted_ci95": acted["ci95"],
        "anti_selection_acted_flag": acted["flag"],
        "ope_dr": s["ope"]["dr"],
        "ope_dr_ci95": s["ope"]["dr_ci95"],
        "pipeline_dir": s["pipeline_dir"],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return float(a / b)


def wilson(k: int, n: int) -> list[float] | None:
    """Wilson 95 % interval of a share ``k / n`` (``None`` for ``n = 0``)."""
    if n == 0:
        return None
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The study's figures from its rows (see the module docstring)."""
    out: dict[str, Any] = {}
    for edge in sorted({float(r["edge"]) for r in rows}):
        part = [r for r in rows if float(r["edge"]) == edge]
        n = len(part)
        if edge > 0:
            k = sum(bool(r["significant"]) for r in part)
            key = "power"
        else:
            k = sum(bool(r["own_positive"] or r["beats_baseline"]) for r in part)
            key = "false_positive_rate"
        q_pnl = sum(float(r["pnl"]) for r in part)
        q_n = sum(int(r["trades"]) for r in part)
        o_pnl = sum(float(r["oracle_pnl"]) for r in part)
        o_n = sum(int(r["oracle_trades"]) for r in part)
        effs = [r["oracle_efficiency"] for r in part if r["oracle_efficiency"] is not None]
        spear = [
            r["anti_selection_acted_spearman"]
            for r in part
            if r["anti_selection_acted_spearman"] is not None
        ]
        out[f"edge_{edge:g}"] = {
            "edge": edge,
            "seeds": [int(r["seed"]) for r in part],
            key: k / n if n else None,
            f"{key}_count": k,
            f"{key}_ci95": wilson(k, n),
            "trades": q_n,
            "per_trade_pnl_pooled": q_pnl / q_n if q_n else None,
            "fees": sum(float(r["fees"]) for r in part),
            "oracle_trades": o_n,
            "oracle_per_trade_pnl_pooled": o_pnl / o_n if o_n else None,
            "oracle_efficiency_pooled": _ratio(q_pnl / q_n if q_n else None, o_pnl / o_n)
            if o_n
            else None,
            "oracle_efficiency_median": float(np.median(effs)) if effs else None,
            "anti_selection_flagged": sum(bool(r["anti_selection_acted_flag"]) for r in part),
            "anti_selection_spearman_quartiles": [
                float(x) for x in np.percentile(spear, [25, 50, 75])
            ]
            if spear
            else None,
        }
    return out


def _one_thread() -> None:
    """Worker start-up: one BLAS/OpenMP thread per process (the processes share the cores)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


_DASK_ADDRESS = re.compile(r"dask://[^\s:/]+:\d{1,5}")


def check_executor(executor: str, also: tuple[str, ...] = ()) -> str:
    """``executor`` when it is ``'local'``, ``'dask://HOST:PORT'`` or one of ``also``.

    Checked before any work is claimed or started, so a misspelt executor changes nothing.
    """
    if executor in ("local", *also) or _DASK_ADDRESS.fullmatch(executor):
        return executor
    named = ", ".join(f"'{name}'" for name in ("local", *also))
    raise ConfigError(
        f"unknown executor {executor!r}; use {named} (this machine) or 'dask://HOST:PORT' "
        "(a Dask scheduler, e.g. dask://127.0.0.1:8786)"
    )


def map_tasks(fn: Callable[[Any], T], tasks: Sequence[Any], executor: str, workers: int) -> list[T]:
    """``[fn(t) for t in tasks]`` on local processes or a Dask scheduler, in task order."""
    check_executor(executor)
    if executor == "local":
        if workers <= 1:
            return [fn(t) for t in tasks]
        import multiprocessing

        # spawn: a forked child of a process that already ran torch threads can hang
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_one_thread
        ) as pool:
            return list(pool.map(fn, tasks))
    from distributed import Client

    address = "tcp://" + executor.removeprefix("dask://")
    with Client(address) as client:
        futures = client.map(fn, list(tasks), pure=False)
        return list(client.gather(futures))


def power_study(
    settings: Settings,
    seeds: Sequence[int],
    edges: Sequence[float],
    *,
    days: int = DEFAULT_DAYS,
    cycles: int | None = None,
    horizon: int | None = None,
    baseline: str = "momentum",
    out_dir: Path,
    workers: int = 2,
    executor: str = "local",
    n_boot: int = 1000,
    code_version: str = "unknown",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the pipeline on every ``seed x edge`` and return rows and totals.

    ``cycles`` defaults to :data:`DEFAULT_LOGGED_SESSIONS` full sessions of logging; the
    rest of the ``days`` sessions are out of sample.
    """
    if settings.data.source != "synthetic":
        logger.info("power study runs on synthetic markets generated per seed")
    if not seeds:
        raise ConfigError("a power study needs at least one seed (--seeds A-B)")
    check_executor(executor)
    with_overrides(settings, {"entry.controller": baseline}, "--baseline")  # refused up front
    c = int(cycles) if cycles is not None else DEFAULT_LOGGED_SESSIONS * SESSION_MINUTES
    tasks = [
        PowerTask(
            settings=settings,
            seed=int(seed),
            edge=float(edge),
            days=int(days),
            cycles=c,
            horizon=horizon,
            baseline=baseline,
            out_dir=Path(out_dir) / f"edge{edge:g}_seed{seed}",
            n_boot=n_boot,
            code_version=code_version,
        )
        for edge in edges
        for seed in seeds
    ]
    t0 = time.perf_counter()
    rows = map_tasks(run_task, tasks, executor, workers)
    rows.sort(key=lambda r: (r["edge"], r["seed"]))
    return {
        "seeds": [int(s) for s in seeds],
        "edges": [float(e) for e in edges],
        "days": int(days),
        "cycles": c,
        "baseline": baseline,
        "exits": settings.exits.model_dump(mode="json"),
        "feature_set": settings.qscorer.feature_set,
        "per_trade_interval": "session_block",
        "rows": rows,
        "totals": totals(rows),
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "executor": executor,
        "workers": workers,
    }


def parse_seeds(text: str) -> list[int]:
    """``"1-20"``, ``"1,3,5"`` or ``"1-4,9"`` -> seeds (refused with a clear error)."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                a, b = (int(x) for x in part.split("-", 1))
                if b < a:
                    raise ValueError
                seeds.extend(range(a, b + 1))
            elif part:
                seeds.append(int(part))
    except ValueError as exc:
        raise ConfigError(
            f"--seeds {text!r} is not a seed list; write a range and/or a comma list such as "
            "1-20 or 1,3,5"
        ) from exc
    if not seeds:
        raise ConfigError(f"--seeds {text!r} names no seed")
    return sorted(dict.fromkeys(seeds))
