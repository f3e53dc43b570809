"""``zerodte train predictor|trees|retrieval|patchtst|hmm`` and ``zerodte eval calibration``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

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

app = typer.Typer(no_args_is_help=True, help="Train predictors walk-forward and save bundles.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate predictors on held-out data.")

Folds = Annotated[int, typer.Option("--folds", help="Walk-forward test windows.")]
FeatureSetOpt = Annotated[str, typer.Option("--feature-set", help="Feature set name.")]
OutDir = Annotated[Path | None, typer.Option("--out", help="Output directory.")]


def _prepare(  # noqa: PLR0917
    days: int | None,
    start: str | None,
    end: str | None,
    seed: int | None,
    edge: float | None,
    feature_set: str,
) -> tuple[Any, Any, Any, Any, Any]:
    from zerodte.features import compute_features, get_feature_set
    from zerodte.models.targets import make_targets

    settings = current_settings()
    data = load_market_options(settings, days, start, end, seed, edge)
    fs = get_feature_set(feature_set).resolve(data.frame.columns)
    X = compute_features(data.frame, fs)
    m = settings.models
    y = make_targets(
        data.frame, m.horizon_minutes, m.neutral_band_pct, m.tree_thresholds_pct, m.tree_horizons
    )
    return settings, data, fs, X, y


def train_bundle(  # noqa: PLR0917
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
    """Walk-forward train ``kind``, evaluate held out, save the bundle (CLI and tests).

    With ``ablation`` (``train trees|ensemble``) the bundle's metrics and the output gain
    the held-out deltas of dropping each feature group.
    """
    from zerodte.engine.rundir import code_version
    from zerodte.features.groups import GROUPS
    from zerodte.models.evaluation import calibration_summary, held_out_reports
    from zerodte.models.tracking import track_run
    from zerodte.models.trees import feature_ablation
    from zerodte.models.walkforward import walk_forward_splits
    from zerodte.models.walkforward_fit import fit_walk_forward, model_config
    from zerodte.regime.rules import RULE_INPUTS, classify_regimes

    settings, data, fs, X, y = _prepare(days, start, end, seed, edge, feature_set)
    m = settings.models
    n_days = len(data.sessions)
    splits = walk_forward_splits(
        data.frame.index,
        n_splits=folds,
        train_days=max(2, n_days // 2),
        calib_days=max(1, n_days // 8),
        embargo_minutes=m.horizon_minutes,
        final=True,
    )
    cfg = model_config(kind, settings)
    bundle = fit_walk_forward(
        kind,
        cfg,
        X,
        y,
        splits,
        feature_set=fs,
        horizon_minutes=m.horizon_minutes,
        embargo_minutes=m.horizon_minutes,
        calibration_method=m.calibration_method,
        data_hash=data.data_hash,
        code_version=code_version(),
    )
    directory = out or (m.model_dir / kind)
    regimes = classify_regimes(X).to_numpy() if set(RULE_INPUTS) <= set(X.columns) else None
    summary = calibration_summary(
        held_out_reports(bundle, data.frame, X, y, regimes=regimes),
        directory / "reliability.png",
        f"{kind} held out",
    )
    bundle.metrics = {
        name: {k: v for k, v in rep.items() if k != "reliability"}
        for name, rep in summary["outputs"].items()
    }
    flat = {
        f"{n}.{k}": v
        for n, r in bundle.metrics.items()
        for k, v in r.items()
        if isinstance(v, float)
    }
    if ablation and kind in ("trees", "ensemble"):
        # held-out deltas of the direction head on the first test window, per feature group
        first = splits[0]
        abl = feature_ablation(
            cfg, X, y, first.train, first.test, {g: GROUPS[g].columns for g in fs.groups}
        )
        deltas = {"base": abl.base, "deltas": abl.deltas, "window": "first test window"}
        bundle.metrics["ablation"] = deltas
        summary["ablation"] = deltas
        flat.update({f"ablation.{g}.{k}": v for g, d in abl.deltas.items() for k, v in d.items()})
    bundle.save(directory)
    run_id = track_run(
        m.mlflow_tracking_uri,
        "zerodte-models",
        kind,
        {**bundle.config, "data_hash": data.data_hash},
        flat,
        [directory / "bundle.json", directory / "reliability.png"],
    )
    return (
        bundle,
        directory,
        {"kind": kind, "bundle": str(directory), "mlflow_run": run_id, **summary},
    )


def _train_cmd(kind: str):  # type: ignore[no-untyped-def]
    def command(  # noqa: PLR0917
        days: Days = None,
        start: Start = None,
        end: End = None,
        seed: Seed = None,
        edge: Edge = None,
        config: Config = None,
        preset: Preset = None,
        folds: Folds = 3,
        feature_set: FeatureSetOpt = "default",
        out: OutDir = None,
        json_out: Json = False,
    ) -> None:
        _, _, result = train_bundle(
            kind, days, start, end, seed, edge, folds, feature_set, out, ablation=True
        )
        _emit(result, json_out)

    command.__doc__ = f"Train the {kind} model walk-forward and save its bundle."
    return command


def _emit(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
        return
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
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    preset: Preset = None,
    out: OutDir = None,
    json_out: Json = False,
) -> None:
    """Fit the 3x3x3 regime HMM on the data and save it."""
    from zerodte.regime import RegimeConfig, RegimeModel

    settings, data, _, X, _ = _prepare(days, start, end, seed, edge, "default")
    model = RegimeModel(RegimeConfig.from_settings(settings.models)).fit(X)
    path = model.save((out or settings.models.model_dir / "hmm") / "hmm.json")
    _emit({"kind": "hmm", "bundle": str(path), "data_hash": data.data_hash}, json_out)


@eval_app.command("calibration")
def eval_calibration(  # noqa: PLR0917
    model: Annotated[
        str, typer.Option("--model", help="trees, retrieval, ensemble, predictor or patchtst.")
    ] = "trees",
    days: Days = None,
    start: Start = None,
    end: End = None,
    seed: Seed = None,
    edge: Edge = None,
    config: Config = None,
    preset: Preset = None,
    folds: Folds = 3,
    feature_set: FeatureSetOpt = "default",
    out: OutDir = None,
    json_out: Json = False,
) -> None:
    """Walk-forward train and report held-out calibration of every probabilistic output."""
    _, _, result = train_bundle(model, days, start, end, seed, edge, folds, feature_set, out)
    _emit(result, json_out)


def register(root: typer.Typer) -> None:
    """Attach ``train`` and ``eval`` to the root app."""
    root.add_typer(app, name="train")
    root.add_typer(eval_app, name="eval")
