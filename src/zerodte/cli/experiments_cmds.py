"""``zerodte experiments``: the idea queue, both optimizer layers, workers and studies.

Each command parses its options, makes one call into :mod:`zerodte.experiments` and prints.
``--store URL`` (else ``store.url``, else SQLite at ``store.path``) names the shared store:
``postgresql://user@host/db`` lets workers on many machines share one queue.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zerodte.cli.context import current_settings
from zerodte.config import with_overrides

if TYPE_CHECKING:
    from zerodte.config import Settings
    from zerodte.experiments.family import FamilyConfig
    from zerodte.store.experiments import ExperimentStore

app = typer.Typer(no_args_is_help=True, help="Experiments: idea queue, optimizer layers, workers.")

StoreUrl = Annotated[
    str | None,
    typer.Option("--store", help="Store URL (postgresql://... for many machines; else store.*)."),
]
Family = Annotated[
    str, typer.Option("--family", help="Experiment family (trials counted together).")
]
Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
Loop = Annotated[bool, typer.Option("--loop", help="Repeat every --interval seconds.")]
Interval = Annotated[float, typer.Option("--interval", min=1, help="Seconds between rounds.")]
Executor = Annotated[
    str,
    typer.Option(
        "--executor",
        help="'inline' (this process), 'local' (processes), 'dask' (LocalCluster) or "
        "'dask://HOST:PORT'.",
    ),
]


def _settings(ctx: typer.Context, store_url: str | None) -> Settings:
    settings = current_settings(ctx)
    if store_url:
        settings = with_overrides(settings, {"store.url": store_url}, "--store")
    return settings


def _store(settings: Settings) -> ExperimentStore:
    from zerodte.engine.clock import WallClock
    from zerodte.store import make_engine
    from zerodte.store.experiments import ExperimentStore

    return ExperimentStore(make_engine(settings.store), clock=WallClock().utc)


def _print(doc: Any, json_out: bool) -> None:
    if json_out:
        print(json.dumps(doc, indent=2, sort_keys=True, default=str))
        return
    if isinstance(doc, list):
        for row in doc:
            print(_line(row))
        return
    print(json.dumps(doc, indent=2, sort_keys=True, default=str))


def _f(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)


def _line(row: dict[str, Any]) -> str:
    f = _f
    return (
        f"idea {row.get('idea_id')} {row.get('stage')}: {row.get('status')} "
        f"(trials {row.get('n_trials')}, trades {row.get('trades')}, "
        f"$/trade {f(row.get('per_trade_pnl'))}, DSR {f(row.get('dsr'))}, "
        f"PBO {f(row.get('pbo'))})"
    )


@app.command()
def add(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="What the idea tests.")],
    assignments: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE setting override (repeatable).")
    ] = None,
    hypothesis: Annotated[str | None, typer.Option("--hypothesis")] = None,
    family: Family = "default",
    priority: Annotated[int, typer.Option("--priority")] = 0,
    source: Annotated[str, typer.Option("--source", help="user or agent.")] = "user",
    seed: Annotated[
        int | None, typer.Option("--seed", help="Family market seed (new family).")
    ] = None,
    edge: Annotated[
        float | None, typer.Option("--edge", help="Synthetic edge (new family).")
    ] = None,
    quick_days: Annotated[int | None, typer.Option("--quick-days")] = None,
    validation_days: Annotated[int | None, typer.Option("--validation-days")] = None,
    store_url: StoreUrl = None,
    json_out: Json = False,
) -> None:
    """Queue an idea (idempotent: the same overrides in a family are one idea)."""
    from zerodte.experiments.family import parse_assignment
    from zerodte.experiments.ideas import submit_idea

    settings = _settings(ctx, store_url)
    store = _store(settings)
    given = {
        "seed": seed,
        "edge": edge,
        "quick_days": quick_days,
        "validation_days": validation_days,
    }
    cfg = _family(store, family, {k: v for k, v in given.items() if v is not None})
    overrides = dict(parse_assignment(a) for a in assignments or [])
    out = submit_idea(store, settings, cfg, title, overrides, hypothesis, source, None, priority)
    if json_out:
        _print(out, True)
    else:
        verb = "queued" if out["created"] else "already queued"
        print(f"{verb}: idea {out['id']} in family {family} {json.dumps(out['overrides'])}")


def _family(store: ExperimentStore, name: str, given: dict[str, Any]) -> FamilyConfig:
    from zerodte.experiments.family import FamilyConfig
    from zerodte.experiments.ideas import open_family

    stored = store.family(name)
    base = stored if stored is not None else FamilyConfig(name=name).to_dict()
    return open_family(store, FamilyConfig.from_dict({**base, **given}))


@app.command()
def status(ctx: typer.Context, store_url: StoreUrl = None, json_out: Json = False) -> None:
    """Ideas by status and every family's trial count, best DSR and PBO."""
    from zerodte.experiments.ideas import queue_status

    settings = _settings(ctx, store_url)
    doc = queue_status(_store(settings), settings.broker.initial_cash)
    if json_out:
        _print(doc, True)
        return
    print("  ".join(f"{k} {v}" for k, v in doc["counts"].items()))
    for fam in doc["families"]:
        best = fam.get("best") or {}
        print(
            f"family {fam['family']}: {fam['n_trials']} trial(s) so far; best "
            f"{best.get('trial_key')} DSR {_f(best.get('dsr'))} (over every trial), "
            f"PBO {_f(fam.get('pbo'))}"
        )
    for i in doc["ideas"]:
        d = i["decision"] or {}
        print(
            f"  {i['id']:>4} {i['status']:<17} {i['title'][:40]:<40} at decision: trials "
            f"{d.get('n_trials')} DSR {_f(d.get('dsr'))} PBO {_f(d.get('pbo'))}"
        )


def _worker(
    settings: Settings,
    store: ExperimentStore,
    family: str | None,
    heartbeat_s: float = 5.0,
    stale_s: float = 60.0,
) -> Any:
    from zerodte.experiments.worker import Worker, WorkerConfig

    timing = WorkerConfig(heartbeat_s=heartbeat_s, stale_s=stale_s)
    return Worker(store, settings, family=family, config=timing)


@app.command()
def run(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    single: Annotated[bool, typer.Option("--single", help="Run one idea and stop.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would run.")] = False,
    family: Annotated[str | None, typer.Option("--family")] = None,
    executor: Executor = "inline",
    workers: Annotated[int, typer.Option("--workers", min=1)] = 2,
    store_url: StoreUrl = None,
    json_out: Json = False,
) -> None:
    """Layer 1: quick-test pending ideas, validate promoted ones, until the queue is empty."""
    from zerodte.qscorer.power import check_executor

    check_executor(executor, also=("inline", "dask"))
    settings = _settings(ctx, store_url)
    store = _store(settings)
    if dry_run:
        todo = [
            {
                "id": i["id"],
                "title": i["title"],
                "stage": "quick" if i["status"] == "pending" else "validation",
            }
            for i in store.ideas(family=family)
            if i["status"] in ("pending", "passed_quick")
        ]
        if json_out:
            _print(todo, True)
        for row in [] if json_out else todo:
            print(f"would run idea {row['id']} ({row['stage']}): {row['title']}")
        return
    worker = _worker(settings, store, family)
    if executor == "inline":
        results = worker.run(max_ideas=1 if single else None)
    else:
        from zerodte.experiments.executor import run_batch

        results = []
        while batch := run_batch(
            store, settings, executor, 1 if single else workers, settings.engine.runs_dir, worker
        ):
            results += batch
            if single:
                break
    _print(results, json_out)


@app.command()
def meta(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    loop: Loop = False,
    interval: Interval = 1800.0,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report; queue nothing.")] = False,
    store_url: StoreUrl = None,
    json_out: Json = False,
) -> None:
    """Layer 2: patterns over every experiment; queue new ideas with their provenance."""
    from zerodte.experiments.meta import run_meta

    settings = _settings(ctx, store_url)
    store = _store(settings)
    while True:
        _print(run_meta(store, settings, settings.engine.runs_dir, dry_run=dry_run), json_out)
        if not loop:
            return
        time.sleep(interval)


@app.command()
def both(
    ctx: typer.Context,
    loop: Loop = False,
    interval: Interval = 1800.0,
    store_url: StoreUrl = None,
    json_out: Json = False,
) -> None:
    """Both layers: run the queue empty, then the meta-optimizer (forever with --loop)."""
    from zerodte.experiments.meta import run_meta

    settings = _settings(ctx, store_url)
    store = _store(settings)
    layer1 = _worker(settings, store, None)
    while True:
        _print(layer1.run(), json_out)
        report = run_meta(store, settings, settings.engine.runs_dir)
        _print({"proposals": report["proposals"]}, json_out)
        if not loop:
            return
        time.sleep(interval)


@app.command()
def worker(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    store_url: StoreUrl = None,
    family: Annotated[str | None, typer.Option("--family")] = None,
    once: Annotated[bool, typer.Option("--once", help="Stop when the queue is empty.")] = False,
    heartbeat: Annotated[float, typer.Option("--heartbeat", help="Seconds.")] = 5.0,
    stale: Annotated[float, typer.Option("--stale", help="Seconds without heartbeat.")] = 60.0,
    json_out: Json = False,
) -> None:
    """A worker for a shared store: claims ideas (SKIP LOCKED), heartbeats, requeues stale."""
    settings = _settings(ctx, store_url)
    w = _worker(settings, _store(settings), family, heartbeat_s=heartbeat, stale_s=stale)
    _print(w.run(loop=not once), json_out)


@app.command()
def analyze(
    run_dir: Annotated[Path, typer.Argument(help="A run or experiment directory.")],
) -> None:
    """Write ANALYSIS.md and SUMMARY.txt of one run directory."""
    from zerodte.experiments.analysis import analyze_run

    for path in analyze_run(run_dir):
        print(path)


@app.command()
def backfill(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rewrite existing analyses.")] = False,
    root: Annotated[Path | None, typer.Option("--root", help="Else engine.runs_dir.")] = None,
) -> None:
    """Analyse every past run directory that lacks SUMMARY.txt (all with --force)."""
    from zerodte.experiments.analysis import backfill as run_backfill

    result = run_backfill(root or current_settings(ctx).engine.runs_dir, force=force)
    done = result.analysed
    print(f"analysed {len(done)} run director{'y' if len(done) == 1 else 'ies'}")
    for reason in result.damaged.values():
        print(f"not analysed: {reason}", file=sys.stderr)
    if result.damaged:
        raise typer.Exit(1)


@app.command()
def study(  # noqa: PLR0917 (typer options)
    ctx: typer.Context,
    params: Annotated[
        list[str], typer.Option("--param", help="KEY=LOW:HIGH[:STEP] or KEY=A,B,C (repeatable).")
    ],
    trials: Annotated[int, typer.Option("--trials", min=1)] = 20,
    family: Family = "default",
    name: Annotated[str | None, typer.Option("--name", help="Study name.")] = None,
    storage: Annotated[
        str | None, typer.Option("--storage", help="Optuna RDB URL (else runs/optuna.db).")
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, max=2**32 - 1, help="Seed of the study's sampler.")
    ] = 0,
    store_url: StoreUrl = None,
    json_out: Json = False,
) -> None:
    """Optuna study over settings ranges, successive halving in trading days."""
    from zerodte.experiments.study import parse_param, run_study

    settings = _settings(ctx, store_url)
    store = _store(settings)
    cfg = _family(store, family, {})
    space = [parse_param(p) for p in params]
    out = run_study(
        store, settings, cfg, space, n_trials=trials, study_name=name, storage=storage, seed=seed
    )
    _print(out, json_out)


def register(root: typer.Typer) -> None:
    """Attach ``zerodte experiments``."""
    root.add_typer(app, name="experiments")
