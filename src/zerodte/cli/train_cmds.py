"""``zerodte train predictor|trees|retrieval|patchtst|hmm`` and ``zerodte eval calibration``."""

from __future__ import annotations

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
    VixProxy,
    load_market_options,
)
from zerodte.cli.output import print_json
from zerodte.cli.paths import OutDir

app = typer.Typer(no_args_is_help=True, help="Train predictors walk-forward and save bundles.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate predictors on held-out data.")

Folds = Annotated[int, typer.Option("--folds", min=1, help="Walk-forward test windows.")]
FeatureSetOpt = Annotated[str, typer.Option("--feature-set", help="Feature set name.")]
HorizonsOpt = Annotated[
    str | None,
    typer.Option(
        "--horizons",
        help="Comma-separated minutes (e.g. 15,30,60): one bundle per horizon in OUT/{h}m, "
        "loaded together by models.horizon_bundles.",
    ),
]


def _code_version() -> str:
    from zerodte.engine.rundir import code_version

    return code_version()


def train_bundle(  # noqa: PLR0917
    ctx: typer.Context,
    kind: str,
    days: int | None,
    start: str | None,
    end: str | None,
    seed: int | None,
    edge: float | None,
    folds: int,
    feature_set: str,
    out: Path | None,
    ablation: bool = False,
) -> tuple[Any, Path, dict[str, Any]]:
    """Parse the market options and call :func:`zerodte.models.training.train_bundle`."""
    from zerodte.models.training import train_bundle as train

    settings = current_settings(ctx)
    data = load_market_options(settings, days, start, end, seed, edge)
    bundle, path, result = train(
        settings, data, kind, folds, feature_set, out, ablation, code_version=_code_version()
    )
    return bundle, path, {**result, "data_source": data.data_source}


def _horizon_list(text: str) -> list[int]:
    try:
        hs = [int(h) for h in text.split(",") if h.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"--horizons {text!r}: give minutes such as 15,30,60") from exc
    if not hs or min(hs) < 1:
        raise typer.BadParameter(f"--horizons {text!r}: give positive minutes such as 15,30,60")
    return hs


def _emit_horizons(result: dict[str, Any], data_source: Any, json_out: bool) -> None:
    result = {**result, "data_source": data_source}
    for r in result["bundles"]:
        r["data_source"] = data_source
    if json_out:
        print_json(result)
        return
    for r in result["bundles"]:
        print(f"--- {r['horizon_minutes']} min")
        _emit(r, json_out=False)
    paths = ", ".join(f'"{p}"' for p in result["horizon_bundles"])
    print(f"load them together: models.horizon_bundles = [{paths}]")


def _train_cmd(kind: str):  # type: ignore[no-untyped-def]
    def command(  # noqa: PLR0917
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
        folds: Folds = 3,
        feature_set: FeatureSetOpt = "default",
        out: OutDir = None,
        horizons: HorizonsOpt = None,
        json_out: Json = False,
    ) -> None:
        if horizons:
            # Imported here: the model stack (torch, scikit-learn) takes seconds to import,
            # and every other command of the CLI is built with this module.
            from zerodte.models.training import train_horizon_bundles

            settings = current_settings(ctx)
            data = load_market_options(settings, days, start, end, seed, edge)
            _emit_horizons(
                train_horizon_bundles(
                    settings,
                    data,
                    kind,
                    _horizon_list(horizons),
                    folds,
                    feature_set,
                    out,
                    code_version=_code_version(),
                ),
                data.data_source,
                json_out,
            )
            return
        _, _, result = train_bundle(
            ctx, kind, days, start, end, seed, edge, folds, feature_set, out, ablation=True
        )
        _emit(result, json_out)

    command.__doc__ = f"Train the {kind} model walk-forward and save its bundle."
    return command


def _emit(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(result)
        return
    print(f"data: {result.get('data_source')}")
    print(f"bundle: {result.get('bundle')}  reliability plot: {result.get('reliability_plot')}")
    for name, r in result.get("outputs", {}).items():
        print(
            f"{name:20s} n={r['n']:6d} acc={r['accuracy']:.4f} "
            f"[{r['accuracy_ci95'][0]:.4f}, {r['accuracy_ci95'][1]:.4f}] "
            f"clim={r['accuracy_climatology']:.4f} brier={r['brier']:.5f} "
            f"clim={r['brier_climatology']:.5f} ece raw={r['ece_raw']:.4f} "
            f"cal={r['ece_calibrated']:.4f}"
        )
    ablation = result.get("ablation")
    if ablation:
        print("ablation (held-out delta when the group is dropped; > 0: the group helps):")
        for group, d in ablation["deltas"].items():
            print(f"  {group:12s} log_loss {d['log_loss']:+.5f} brier {d['brier']:+.5f}")


for _kind, _name in (
    ("predictor", "predictor"),
    ("trees", "trees"),
    ("retrieval", "retrieval"),
    ("patchtst", "patchtst"),
    ("ensemble", "ensemble"),
):
    app.command(_name)(_train_cmd(_kind))


@app.command("hmm")
def train_hmm(  # noqa: PLR0917
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
    out: OutDir = None,
    json_out: Json = False,
) -> None:
    """Fit the 3x3x3 regime HMM on the data and save it."""
    from zerodte.models.training import prepare
    from zerodte.regime import RegimeConfig, RegimeModel

    settings = current_settings(ctx)
    data = load_market_options(settings, days, start, end, seed, edge)
    X = prepare(settings, data, "default").X
    model = RegimeModel(RegimeConfig.from_settings(settings.models)).fit(X)
    path = model.save((out or settings.models.model_dir / "hmm") / "hmm.json")
    _emit({"kind": "hmm", "bundle": str(path), "data_hash": data.data_hash}, json_out)


@eval_app.command("calibration")
def eval_calibration(  # noqa: PLR0917
    ctx: typer.Context,
    model: Annotated[
        str, typer.Option("--model", help="trees, retrieval, ensemble, predictor or patchtst.")
    ] = "trees",
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
    folds: Folds = 3,
    feature_set: FeatureSetOpt = "default",
    out: OutDir = None,
    seeds: Annotated[
        str | None,
        typer.Option(
            "--seeds",
            help="Synthetic seeds (1-20, 1,3,5): report, per output, the share of seeds whose "
            "held-out gain over climatology is significant, at --edge (default 1) and at 0.",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Processes for --seeds.")] = 1,
    json_out: Json = False,
) -> None:
    """Walk-forward train and report held-out calibration of every probabilistic output."""
    if seeds is not None:
        result = _calibration_power(ctx, model, seeds, days, edge, folds, feature_set, out, workers)
        _emit_power(result, json_out)
        return
    _, _, result = train_bundle(ctx, model, days, start, end, seed, edge, folds, feature_set, out)
    _emit(result, json_out)


def _calibration_power(  # noqa: PLR0917
    ctx: typer.Context,
    model: str,
    seeds: str,
    days: int | None,
    edge: float | None,
    folds: int,
    feature_set: str,
    out: Path | None,
    workers: int,
) -> dict[str, Any]:
    from zerodte.models.training import calibration_power
    from zerodte.qscorer.power import parse_seeds

    settings = current_settings(ctx)
    edges = sorted({1.0 if edge is None else float(edge), 0.0}, reverse=True)
    root = out or settings.models.model_dir / f"calibration_power_{model}_{seeds}"
    return calibration_power(
        settings,
        model,
        parse_seeds(seeds),
        edges,
        days or settings.data.synthetic_days,
        folds,
        feature_set,
        root,
        workers=workers,
        code_version=_code_version(),
    )


def _emit_power(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(result)
        return
    print(
        f"{result['kind']} on {result['feature_set']}, {result['days']} sessions, seeds "
        f"{result['seeds'][0]}..{result['seeds'][-1]}: share of seeds whose held-out interval "
        "lies above zero (at edge 0 these are false positives)"
    )
    for key, outputs in result["shares"].items():
        for name, r in outputs.items():
            print(
                f"  {key:8s} {name:20s} accuracy gain {r['accuracy_gain_share']:.2f}  Brier "
                f"skill {r['brier_skill_share']:.2f}  ({r['seeds']} seeds)"
            )


def register(root: typer.Typer) -> None:
    """Attach ``train`` (with ``ppo``, ``bandit`` and ``threshold`` of
    :mod:`zerodte.cli.compare_cmds`) and ``eval`` to the root app."""
    from zerodte.cli import compare_cmds

    compare_cmds.attach(app)
    root.add_typer(app, name="train")
    root.add_typer(eval_app, name="eval")
