"""``zerodte backtest`` and ``zerodte runs list|show``."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import (
    Config,
    DataDirOpt,
    Days,
    Edge,
    End,
    Json,
    Preset,
    Seed,
    SkipMissingDays,
    Start,
    ThresholdModel,
    VixProxy,
    load_market_options,
    with_threshold_model,
)
from zerodte.cli.output import print_json
from zerodte.config import with_overrides

runs_app = typer.Typer(no_args_is_help=True, help="Recorded runs in the SQL store.")

_HEADLINE = (
    "run_id",
    "controller",
    "start",
    "end",
    "cycles",
    "trades",
    "pnl",
    "per_trade_pnl",
    "per_trade_pnl_ci95",
    "win_rate",
    "sharpe",
    "max_drawdown",
    "fees_paid",
    "final_equity",
)


def backtest(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    controller: Annotated[
        str | None, typer.Option("--controller", help="Entry controller (else ENTRY_CONTROLLER).")
    ] = None,
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Run directory (else runs/<run_id>).")
    ] = None,
    streaming: Annotated[
        bool, typer.Option("--streaming", help="Decide cycle by cycle, as live does.")
    ] = False,
    json_out: Json = False,
    predictor: Annotated[
        Path | None,
        typer.Option("--predictor", help="Trained bundle (else models.predictor_bundle)."),
    ] = None,
    threshold_model: ThresholdModel = None,
    plots: Annotated[
        bool,
        typer.Option(
            "--plots/--no-plots",
            help="Draw equity.png (off by default: the records and summary do not need it, "
            "and drawing it costs about half a second).",
        ),
    ] = False,
) -> None:
    """Backtest an entry controller on the market data and write its run directory."""
    from zerodte.engine.backtest import run_backtest
    from zerodte.engine.clock import WallClock
    from zerodte.engine.publish import check_run_target
    from zerodte.engine.rundir import code_version
    from zerodte.policy.controllers import build_controller

    settings = current_settings(ctx)
    if controller is not None:
        settings = with_overrides(settings, {"entry.controller": controller}, "--controller")
    if predictor is not None:
        settings = with_overrides(settings, {"models.predictor_bundle": predictor}, "--predictor")
    settings = with_threshold_model(settings, threshold_model)
    check_run_target(run_dir, settings.engine.runs_dir)  # before the replay, not after it
    ctrl = build_controller(settings)
    # What exists now (the modules, the settings, the controller) lives as long as the
    # process: the cyclic collector need not walk it again in each full collection of the run.
    gc.freeze()
    with _cycle_bar(show=not json_out) as progress:
        result = run_backtest(
            settings,
            # The replay reads the aligned frame only: the per-symbol bars (as large again)
            # go now. No name here holds the frame, so it goes once the replay is done.
            replace(load_market_options(settings, days, start, end, seed, edge), bars={}),
            controller=ctrl,
            run_dir=run_dir,
            path="streaming" if streaming else "vectorised",
            code_version=code_version(),
            created_at=WallClock().now(),
            progress=progress,
            plots=plots,
        )
    if json_out:
        print_json(result.summary)
        return
    _print_summary(result.summary)
    print(f"run directory: {result.run_dir}")


@contextmanager
def _cycle_bar(*, show: bool) -> Iterator[Callable[[int, int], None]]:
    """The replay's progress callback: a transient bar on stderr, or a no-op (``--json``
    prints nothing but the document, and then rich is not imported at all)."""
    if not show:
        yield lambda i, _total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("cycles", total=None)
        yield lambda i, total: bar.update(task, completed=i, total=total)


def _print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"run {summary.get('run_id')}", show_header=False)
    for key in _HEADLINE:
        if key in summary:
            table.add_row(key, _fmt(summary[key]))
    table.add_row("exit_reasons", _fmt(summary.get("exit_reasons")))
    table.add_row("vetoes", _fmt(summary.get("vetoes")))
    Console().print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return str(value)


def _store(ctx: typer.Context) -> Any:
    """The run store, after completing or removing what a crashed backtest left."""
    from zerodte.engine.publish import recover_runs, store_lookup
    from zerodte.store import RunStore, make_engine

    settings = current_settings(ctx)
    store = RunStore(make_engine(settings.store))
    for line in recover_runs(settings.engine.runs_dir, store_lookup(store)):
        print(f"note: {line}", file=sys.stderr)
    return store


@runs_app.command("list")
def runs_list(ctx: typer.Context, json_out: Json = False) -> None:
    """List recorded runs, oldest first."""
    rows = _store(ctx).list_runs()
    if json_out:
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("run_id", "controller", "mode", "start", "end", "trades", "pnl", "created")
    for row in rows:
        s = row.get("summary") or {}
        table.add_row(
            str(row["run_id"]),
            str(row.get("controller")),
            str(row.get("mode")),
            str(row.get("start")),
            str(row.get("end")),
            str(s.get("trades")),
            _fmt(s.get("pnl")),
            str(row.get("created_at")),
        )
    Console().print(table)


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (see `zerodte runs list`).")],
    json_out: Json = False,
) -> None:
    """Show one run's summary and metadata."""
    row = _store(ctx).get_run(run_id)
    if row is None:
        print(
            f"no run {run_id!r} in the store; `zerodte runs list` shows the recorded runs",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    if json_out:
        print_json(row)
        return
    _print_summary(dict(row.get("summary") or {}, run_id=run_id))
    meta = {k: v for k, v in row.items() if k not in ("summary",)}
    for key, value in meta.items():
        print(f"{key}: {value}")


def register(root: typer.Typer) -> None:
    """Attach ``backtest`` and the ``runs`` group to the root app."""
    root.command("backtest")(backtest)
    root.add_typer(runs_app, name="runs")
