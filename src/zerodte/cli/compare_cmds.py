"""``zerodte compare`` (every controller on the same window), ``zerodte train ppo|bandit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zerodte.cli.context import current_settings
from zerodte.cli.market_opts import (
    Config,
    Days,
    Edge,
    End,
    Json,
    Preset,
    Seed,
    Start,
    load_market_options,
)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def compare(  # noqa: PLR0917 (typer maps parameters to options)
    controllers: Annotated[
        str, typer.Option("--controllers", help="Comma-separated controller names.")
    ] = "momentum,random,bandit,consensus,contrarian",
    reference: Annotated[
        str, typer.Option("--reference", help="Controller the paired intervals compare with.")
    ] = "momentum",
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    preset: Preset = None,
    predictor: Annotated[
        Path | None,
        typer.Option("--predictor", help="Trained bundle (else models.predictor_bundle)."),
    ] = None,
    regime: Annotated[
        bool, typer.Option("--regime/--no-regime", help="Join the walk-forward HMM regime.")
    ] = True,
    out: Annotated[Path | None, typer.Option("--out", help="Directory of the equity plot.")] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicas.")] = 2000,
    json_out: Json = False,
) -> None:
    """Every controller on the same window with the same exits and friction."""
    from zerodte.config import with_overrides
    from zerodte.engine.rundir import code_version
    from zerodte.rl.compare import compare_controllers

    names = [n.strip() for n in controllers.split(",") if n.strip()]
    settings = with_overrides(current_settings(), {"models.regime_context": regime}, "--regime")
    if predictor is not None:
        settings = with_overrides(settings, {"models.predictor_bundle": predictor}, "--predictor")
    data = load_market_options(settings, days, start, end, seed, edge)
    result = compare_controllers(
        settings,
        data,
        names,
        reference=reference,
        n_boot=n_boot,
        code_version=code_version(),
        out_dir=out,
    )
    payload = result.to_dict()
    if json_out:
        print(json.dumps(payload, indent=2, sort_keys=True, default=str))
        return
    table = Table(
        "controller",
        "trades",
        "fees",
        "$/trade",
        "CI95",
        f"vs {reference}",
        "paired CI95",
        "OPE snips",
        title=f"{payload['n_compared']} controllers compared, {payload['window'][0]} to "
        f"{payload['window'][1]} ({payload['data_source']})",
    )
    for row in payload["table"]:
        table.add_row(
            row["controller"],
            str(row["trades"]),
            _fmt(row["fees_paid"]),
            _fmt(row["per_trade_pnl"]),
            _fmt(row["per_trade_pnl_ci95"]),
            _fmt(row["diff_vs_reference"]),
            _fmt(row["diff_vs_reference_ci95"]),
            _fmt(row["ope_snips"]),
        )
    Console().print(table)
    print(
        f"controllers compared: {payload['n_compared']}; "
        f"OPE logging run: {payload['logging_controller']}"
    )
    if out is not None:
        print(f"equity curves: {out / 'compare_equity.png'}")


def train_ppo_cmd(  # noqa: PLR0917
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    preset: Preset = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model directory.")] = None,
    timesteps: Annotated[
        int | None, typer.Option("--timesteps", help="Environment steps (else entry.ppo).")
    ] = None,
    json_out: Json = False,
) -> None:
    """Train the PPO entry policy on the engine (MaskablePPO) and save it."""
    from zerodte.config import with_overrides
    from zerodte.engine.rundir import code_version
    from zerodte.rl.train import train_ppo

    settings = with_overrides(current_settings(), {"models.regime_context": True})
    if timesteps is not None:
        settings = with_overrides(settings, {"entry.ppo.timesteps": timesteps}, "--timesteps")
    data = load_market_options(settings, days, start, end, seed, edge)
    target = out or settings.entry.ppo.model_dir
    meta = train_ppo(settings, data, target, code_version=code_version())
    shown = {k: v for k, v in meta.items() if k != "config"}
    if json_out:
        print(json.dumps({**shown, "model_dir": str(target)}, indent=2, sort_keys=True))
        return
    for key, value in shown.items():
        print(f"{key}: {_fmt(value)}")
    print(f"model directory: {target}")


def train_bandit_cmd(  # noqa: PLR0917
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    preset: Preset = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="State file (else entry.bandit.state_path).")
    ] = None,
    json_out: Json = False,
) -> None:
    """Learn the bandit from its trades and ghost rewards on a window and save its state."""
    from zerodte.engine.rundir import code_version
    from zerodte.rl.learners import train_bandit

    settings = current_settings()
    target = out or settings.entry.bandit.state_path or Path("models/bandit/state.json")
    data = load_market_options(settings, days, start, end, seed, edge)
    learned = train_bandit(settings, data, target, code_version=code_version())
    if json_out:
        print(json.dumps(learned, indent=2, sort_keys=True, default=str))
        return
    for key, value in learned.items():
        print(f"{key}: {_fmt(value)}")
    print(f"use it with entry.bandit.state_path = {target!s}")


def register(root: typer.Typer, train: typer.Typer) -> None:
    """Attach ``compare`` to the root app and ``ppo`` and ``bandit`` to ``train``."""
    root.command("compare")(compare)
    train.command("ppo")(train_ppo_cmd)
    train.command("bandit")(train_bandit_cmd)
