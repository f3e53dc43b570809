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
from zerodte.cli.paths import output_dir, output_file
from zerodte.errors import ConfigError


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def compare(  # noqa: PLR0917 (typer maps parameters to options)
    ctx: typer.Context,
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
    data_dir_opt: DataDirOpt = None,
    vix_proxy: VixProxy = False,
    skip_missing_days: SkipMissingDays = False,
    preset: Preset = None,
    predictor: Annotated[
        Path | None,
        typer.Option("--predictor", help="Trained bundle (else models.predictor_bundle)."),
    ] = None,
    regime: Annotated[
        bool, typer.Option("--regime/--no-regime", help="Join the walk-forward HMM regime.")
    ] = True,
    out: Annotated[
        Path | None,
        typer.Option("--out", callback=output_dir, help="Directory of the equity plot."),
    ] = None,
    n_boot: Annotated[int, typer.Option("--n-boot", min=1, help="Bootstrap replicas.")] = 2000,
    threshold_model: ThresholdModel = None,
    json_out: Json = False,
) -> None:
    """Every controller on the same window with the same exits and friction."""
    from zerodte.config import with_overrides
    from zerodte.engine.rundir import code_version
    from zerodte.rl.compare import compare_controllers

    names = [n.strip() for n in controllers.split(",") if n.strip()]
    if not names:
        raise ConfigError("--controllers names no controller; give one or more: momentum,random")
    settings = with_overrides(current_settings(ctx), {"models.regime_context": regime}, "--regime")
    for name in names:  # a misspelt name is refused before any market is loaded or stored
        with_overrides(settings, {"entry.controller": name}, "--controllers")
    if predictor is not None:
        settings = with_overrides(settings, {"models.predictor_bundle": predictor}, "--predictor")
    settings = with_threshold_model(settings, threshold_model)
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
        "significant",
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
            _verdict(row, reference),
            _fmt(row["ope_snips"]),
        )
    Console().print(table)
    print(
        f"controllers compared: {payload['n_compared']}; significance family-wise at "
        f"{payload['familywise_alpha']:g} (Bonferroni over the controllers and the differences; "
        f"the CI95 columns are unadjusted); OPE logging run: {payload['logging_controller']}"
    )
    if out is not None:
        print(f"equity curves: {out / 'compare_equity.png'}")


def _verdict(row: dict[str, Any], reference: str) -> str:
    """The family-wise verdicts of :func:`zerodte.rl.compare.verdicts`, for the table."""
    from zerodte.rl.compare import verdicts

    return ", ".join(v if v == "positive" else f"{v} than {reference}" for v in verdicts(row))


def train_ppo_cmd(  # noqa: PLR0917
    ctx: typer.Context,
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
    out: Annotated[
        Path | None, typer.Option("--out", callback=output_dir, help="Model directory.")
    ] = None,
    timesteps: Annotated[
        int | None, typer.Option("--timesteps", help="Environment steps (else entry.ppo).")
    ] = None,
    json_out: Json = False,
) -> None:
    """Train the PPO entry policy on the engine (MaskablePPO) and save it."""
    from zerodte.config import with_overrides
    from zerodte.engine.rundir import code_version
    from zerodte.rl.train import train_ppo

    settings = with_overrides(current_settings(ctx), {"models.regime_context": True})
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


StateOut = Annotated[
    Path | None,
    typer.Option(
        "--out",
        callback=output_file,
        help="State file (else entry.bandit / entry.threshold .state_path).",
    ),
]
LearnerController = Annotated[
    str | None,
    typer.Option(
        "--controller",
        help="threshold: the controller it learns in front of (else entry.controller).",
    ),
]
_LEARNERS = {
    "bandit": (
        "Learn the bandit from its trades and ghost rewards on a window and save its state.",
        "models/bandit/state.json",
        "entry.bandit.state_path = {target}",
    ),
    "threshold": (
        "Learn the threshold learner in front of a controller from a logging run's trades "
        "and ghost outcomes, and save its state.",
        "models/threshold/state.json",
        "--threshold-model {target} (entry.threshold.state_path)",
    ),
}


def _learner_cmd(kind: str):  # type: ignore[no-untyped-def]
    """``zerodte train bandit|threshold`` (:mod:`zerodte.rl.learners`)."""
    doc, default_path, hint = _LEARNERS[kind]

    def command(  # noqa: PLR0917
        ctx: typer.Context,
        controller: LearnerController = None,
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
        out: StateOut = None,
        json_out: Json = False,
    ) -> None:
        from zerodte.config import with_overrides
        from zerodte.engine.rundir import code_version
        from zerodte.rl import learners

        settings = current_settings(ctx)
        if controller is not None:
            if kind == "bandit" and controller != "bandit":
                raise typer.BadParameter(
                    f"--controller {controller!r}: `train bandit` learns the bandit itself"
                )
            settings = with_overrides(settings, {"entry.controller": controller}, "--controller")
        section = getattr(settings.entry, kind)
        target = out or section.state_path or Path(default_path)
        data = load_market_options(settings, days, start, end, seed, edge)
        train = learners.train_bandit if kind == "bandit" else learners.train_threshold
        learned = train(settings, data, target, code_version=code_version())
        _print_learned(learned, json_out)
        if not json_out:
            print("use it with " + hint.format(target=target))

    command.__doc__ = doc
    return command


def _print_learned(learned: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print(json.dumps(learned, indent=2, sort_keys=True, default=str))
        return
    for key, value in learned.items():
        print(f"{key}: {_fmt(value)}")


def register(root: typer.Typer) -> None:
    """Attach ``compare`` to the root app."""
    root.command("compare")(compare)


def attach(train: typer.Typer) -> None:
    """Attach ``ppo``, ``bandit`` and ``threshold`` to ``zerodte train``."""
    train.command("ppo")(train_ppo_cmd)
    train.command("bandit")(_learner_cmd("bandit"))
    train.command("threshold")(_learner_cmd("threshold"))
