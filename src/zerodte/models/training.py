"""Walk-forward training of a predictor bundle and its held-out calibration report.

The work behind ``zerodte train <kind>`` and ``zerodte eval calibration``, in the package so
that experiment workers and studies call it without the CLI: features and targets, the
walk-forward splits, the fit, the held-out reports, the optional feature-group ablation,
the bundle and the MLflow run. :func:`calibration_power` repeats it over synthetic seeds
and edges and reports how often each output's held-out gain over climatology is
significant (the predictors' power, as :mod:`zerodte.qscorer.power` is the Q-scorer's).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zerodte.config import Settings
from zerodte.errors import DataError

logger = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Market data, the resolved feature set, features ``X`` and targets ``y``."""

    data: Any
    feature_set: Any
    X: Any
    y: Any


def prepare(settings: Settings, data: Any, feature_set: str) -> Prepared:
    """Features of ``feature_set`` and the predictors' targets on ``data``."""
    from zerodte.features import compute_features, get_feature_set
    from zerodte.models.targets import make_targets

    fs = get_feature_set(feature_set).resolve(data.frame.columns)
    X = compute_features(data.frame, fs)
    m = settings.models
    y = make_targets(
        data.frame, m.horizon_minutes, m.neutral_band_pct, m.tree_thresholds_pct, m.tree_horizons
    )
    return Prepared(data, fs, X, y)


def train_bundle(  # noqa: PLR0917
    settings: Settings,
    data: Any,
    kind: str,
    folds: int,
    feature_set: str,
    out: Path | None,
    ablation: bool = False,
    code_version: str = "unknown",
) -> tuple[Any, Path, dict[str, Any]]:
    """Walk-forward train ``kind``, evaluate held out, save the bundle.

    With ``ablation`` (trees, ensemble) the bundle's metrics and the result gain the
    held-out deltas of dropping each feature group. Returns the bundle, its directory and
    the JSON result of ``zerodte eval calibration``.
    """
    from zerodte.features.groups import GROUPS
    from zerodte.models.evaluation import calibration_summary, held_out_reports
    from zerodte.models.tracking import track_run
    from zerodte.models.trees import feature_ablation
    from zerodte.models.walkforward import walk_forward_splits
    from zerodte.models.walkforward_fit import fit_walk_forward, model_config
    from zerodte.regime.rules import RULE_INPUTS, classify_regimes

    p = prepare(settings, data, feature_set)
    fs, X, y = p.feature_set, p.X, p.y
    m = settings.models
    n_days = len(data.sessions)
    train_days, calib_days = max(2, n_days // 2), max(1, n_days // 8)
    if n_days < train_days + calib_days + 1:
        raise DataError(
            f"walk-forward training needs at least {train_days + calib_days + 1} sessions "
            f"({train_days} to train, {calib_days} to calibrate, then at least one held out "
            f"to evaluate); the data has {n_days}: use more --days"
        )
    splits = walk_forward_splits(
        data.frame.index,
        n_splits=folds,
        train_days=train_days,
        calib_days=calib_days,
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
        code_version=code_version,
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


def train_horizon_bundles(  # noqa: PLR0917
    settings: Settings,
    data: Any,
    kind: str,
    horizons: Sequence[int],
    folds: int,
    feature_set: str,
    out: Path | None,
    code_version: str = "unknown",
) -> dict[str, Any]:
    """One bundle per horizon (:mod:`zerodte.models.horizons`) on the same window.

    Bundle ``h`` is :func:`train_bundle` with ``models.horizon_minutes = h`` (targets,
    embargo and calibration of that horizon), saved to ``out/{h}m``. Returns every
    bundle's result and the ``models.horizon_bundles`` value that loads them together.
    """
    from zerodte.config import with_overrides

    hs = sorted({int(h) for h in horizons})
    if not hs:
        raise ValueError("train_horizon_bundles needs at least one horizon")
    root = out or (settings.models.model_dir / f"{kind}_horizons")
    results = []
    for h in hs:
        hs_settings = with_overrides(settings, {"models.horizon_minutes": h}, "--horizons")
        _, _, result = train_bundle(
            hs_settings, data, kind, folds, feature_set, root / f"{h}m", code_version=code_version
        )
        results.append({"horizon_minutes": h, **result})
    paths = [r["bundle"] for r in results]
    return {"kind": kind, "horizons": hs, "horizon_bundles": paths, "bundles": results}


@dataclass(frozen=True)
class CalibrationTask:
    """One held-out calibration run of a power study (picklable)."""

    settings: Settings
    kind: str
    seed: int
    edge: float
    days: int
    folds: int
    feature_set: str
    out: Path
    code_version: str


def _run_calibration(task: CalibrationTask) -> dict[str, Any]:
    from zerodte.market.loading import load_market

    data = load_market(task.settings, days=task.days, seed=task.seed, edge=task.edge)
    _, _, result = train_bundle(
        task.settings,
        data,
        task.kind,
        task.folds,
        task.feature_set,
        task.out,
        code_version=task.code_version,
    )
    outputs = {
        name: {
            "accuracy_gain_ci95": r.get("accuracy_gain_ci95"),
            "brier_skill_ci95": r.get("brier_skill_ci95"),
            "ece_calibrated": r.get("ece_calibrated"),
            "n": r.get("n"),
        }
        for name, r in result["outputs"].items()
    }
    return {"seed": task.seed, "edge": task.edge, "outputs": outputs}


def _clears(ci: Sequence[float] | None) -> bool:
    return ci is not None and ci[0] > 0


def calibration_power(  # noqa: PLR0917
    settings: Settings,
    kind: str,
    seeds: Sequence[int],
    edges: Sequence[float],
    days: int,
    folds: int,
    feature_set: str,
    out: Path,
    *,
    workers: int = 1,
    code_version: str = "unknown",
) -> dict[str, Any]:
    """Held-out calibration on every ``seed x edge``; per output, how often it beats
    climatology.

    For each output and edge: ``accuracy_gain_share`` and ``brier_skill_share``, the share
    of seeds whose accuracy-gain (Brier-skill) 95 % block-bootstrap interval lies above
    zero; at edge 0 these are false positives. Every seed's intervals are in ``rows``.
    """
    tasks = [
        CalibrationTask(
            settings,
            kind,
            int(s),
            float(e),
            days,
            folds,
            feature_set,
            Path(out) / f"edge{e:g}_seed{s}",
            code_version,
        )
        for e in edges
        for s in seeds
    ]
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            rows = list(pool.map(_run_calibration, tasks))
    else:
        rows = [_run_calibration(t) for t in tasks]
    shares: dict[str, dict[str, Any]] = {}
    for e in edges:
        part = [r for r in rows if r["edge"] == float(e)]
        names = sorted({n for r in part for n in r["outputs"]})
        shares[f"edge_{e:g}"] = {
            name: {
                "seeds": len(part),
                "accuracy_gain_share": sum(
                    _clears(r["outputs"].get(name, {}).get("accuracy_gain_ci95")) for r in part
                )
                / len(part),
                "brier_skill_share": sum(
                    _clears(r["outputs"].get(name, {}).get("brier_skill_ci95")) for r in part
                )
                / len(part),
            }
            for name in names
        }
    return {
        "kind": kind,
        "feature_set": feature_set,
        "days": days,
        "seeds": [int(s) for s in seeds],
        "edges": [float(e) for e in edges],
        "rows": rows,
        "shares": shares,
    }
