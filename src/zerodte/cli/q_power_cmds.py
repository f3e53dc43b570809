"""``zerodte q power``: the Q-scorer pipeline on many synthetic markets, with its power."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import Config, Json, Preset
from zerodte.cli.output import format_figure as _fmt
from zerodte.cli.output import print_json
from zerodte.cli.paths import OutDir
from zerodte.cli.state import cli_state
from zerodte.errors import ConfigError

POWER_PRESET = "q_scorer"
"""The preset a study uses unless --preset or --config is given (as ``zerodte demo``)."""


def _edges(text: str) -> list[float]:
    try:
        edges = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise ConfigError(f"--edge {text!r} is not a number or a comma list such as 1,0") from exc
    if not edges or any(not 0.0 <= e <= 5.0 for e in edges):
        raise ConfigError(f"--edge {text!r}: give edges between 0 and 5, e.g. 1,0")
    return edges


def power(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
    seeds: Annotated[
        str | None, typer.Option("--seeds", help="Seeds, e.g. 1-20 or 1,3,5 (required).")
    ] = None,
    edge: Annotated[
        str,
        typer.Option("--edge", help="Planted edge(s), comma list; 0 gives the false positives."),
    ] = "1,0",
    days: Annotated[
        int, typer.Option("--days", min=1, help="Sessions per synthetic market.")
    ] = 250,
    cycles: Annotated[
        int | None,
        typer.Option("--cycles", min=1, help="Logged decision minutes (default: 100 sessions)."),
    ] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="Label horizon.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Local processes.")] = 2,
    executor: Annotated[
        str, typer.Option("--executor", help="'local' or dask://HOST:PORT (a Dask scheduler).")
    ] = "local",
    baseline: Annotated[str, typer.Option("--baseline", help="Baseline controller.")] = "momentum",
    out: OutDir = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap replicas.")] = 1000,
    config: Config = None,
    preset: Preset = None,
    json_out: Json = False,
) -> None:
    """Run the whole pipeline on every seed and report power, false positives, efficiency."""
    from zerodte.engine.rundir import code_version
    from zerodte.qscorer.power import parse_seeds, power_study

    state = cli_state(ctx)
    if state.preset is None and state.config_file is None and state.settings is None:
        state.preset = POWER_PRESET
    settings = current_settings(ctx)
    if seeds is None:
        raise ConfigError("--seeds is required, e.g. --seeds 1-20")
    if horizon is not None and horizon < 1:
        raise ConfigError(f"--horizon must be at least 1 minute, got {horizon}")
    seed_list = parse_seeds(seeds)
    edges = _edges(edge)
    tag = f"{seeds}_e{edge.replace(',', '-')}"
    root = out or settings.engine.runs_dir / "q_power" / tag
    res = power_study(
        settings,
        seed_list,
        edges,
        days=days,
        cycles=cycles,
        horizon=horizon,
        baseline=baseline,
        out_dir=root,
        workers=workers,
        executor=executor,
        n_boot=n_boot,
        code_version=code_version(),
    )
    res["preset"] = state.preset
    res["out_dir"] = str(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "power.json").write_text(json.dumps(res, indent=2, sort_keys=True, default=str))
    if json_out:
        print_json(res)
        return
    _print(res)


def _print(res: dict[str, Any]) -> None:
    table = Table(
        "edge", "seed", "trades", "$/trade", "CI (session blocks)", "- baseline", "paired CI",
        "sig", "oracle $/trade", "efficiency",
    )  # fmt: skip
    for r in res["rows"]:
        table.add_row(
            _fmt(r["edge"]),
            str(r["seed"]),
            str(r["trades"]),
            _fmt(r["per_trade_pnl"]),
            _fmt(r["per_trade_pnl_ci95"]),
            _fmt(r["diff_per_trade_pnl"]),
            _fmt(r["diff_per_trade_pnl_ci95"]),
            "yes" if r["significant"] else ("fp" if r["edge"] == 0 and r["own_positive"] else ""),
            _fmt(r["oracle_per_trade_pnl"]),
            _fmt(r["oracle_efficiency"]),
        )
    Console(width=max(Console().width, 160)).print(table)
    for key, t in res["totals"].items():
        name = "power" if t["edge"] > 0 else "false_positive_rate"
        print(
            f"{key}: {name} {_fmt(t[name])} ({t[name + '_count']} of {len(t['seeds'])} seeds, "
            f"Wilson 95% {_fmt(t[name + '_ci95'])}); {t['trades']} trades, "
            f"{_fmt(t['per_trade_pnl_pooled'])} $/trade pooled after {_fmt(t['fees'])} fees; "
            f"oracle {_fmt(t['oracle_per_trade_pnl_pooled'])} $/trade, efficiency "
            f"{_fmt(t['oracle_efficiency_pooled'])} (median {_fmt(t['oracle_efficiency_median'])})"
        )
    print(
        f"{len(res['seeds'])} seeds x {len(res['edges'])} edges, {res['days']} sessions each "
        f"({res['cycles']:,} logged minutes), per-trade intervals by {res['per_trade_interval']} "
        f"bootstrap; {res['wall_seconds']} s on {res['workers']} {res['executor']} workers; "
        f"rows in {res['out_dir']}/power.json"
    )


def attach(app: typer.Typer) -> None:
    """Add ``power`` to the ``zerodte q`` group."""
    app.command("power")(power)
