"""Multi-horizon predictions: one bundle per horizon, loaded together.

A bundle predicts one label horizon (``ModelBundle.horizon_minutes``: its targets, its
embargo and its calibration are all built for that horizon), so the multi-horizon outputs
are several bundles trained on the same window, one per horizon
(``zerodte train <kind> --horizons 15,30,60 --out DIR`` writes ``DIR/15m``, ``DIR/30m``,
``DIR/60m``), listed in ``models.horizon_bundles``. For every bundle of horizon ``h`` the
context gains::

    direction_prob_up_{h}m, direction_prob_down_{h}m   (the bundle's calibrated outputs)

Each row is predicted by the bundle's walk-forward segment valid at its time
(:func:`~zerodte.models.walkforward_fit.predict_frame`): a segment is used only after the
end of its training window plus an embargo of at least ``h``, and the deployable final
segment only after the last training row; rows before a bundle's first segment stay NaN.
Used on a later window, every row is predicted by a model trained before it. The same
values feed the vectorised frame and the streaming context, so both paths see the same
numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.errors import ModelError
from zerodte.models.bundle import ModelBundle, check_schema, load_bundle

logger = logging.getLogger(__name__)


def horizon_columns(horizon: int) -> tuple[str, str]:
    """Context names of the direction probabilities at ``horizon`` minutes."""
    return f"direction_prob_up_{horizon}m", f"direction_prob_down_{horizon}m"


def load_horizon_bundles(paths: Sequence[Path]) -> list[tuple[Path, ModelBundle]]:
    """Load every bundle of ``paths``; two bundles of the same horizon are refused.

    Raises
    ------
    ModelError
        A bundle is missing or corrupt, or two share a horizon (the message names both).
    """
    seen: dict[int, Path] = {}
    out: list[tuple[Path, ModelBundle]] = []
    for path in paths:
        bundle = load_bundle(Path(path))
        h = int(bundle.horizon_minutes)
        if h in seen:
            raise ModelError(
                f"models.horizon_bundles: {seen[h]} and {path} both predict {h} minutes; "
                "list one bundle per horizon"
            )
        seen[h] = Path(path)
        out.append((Path(path), bundle))
    return out


def horizon_predictions(
    bundles: Sequence[tuple[Path, ModelBundle]], frame: pd.DataFrame
) -> pd.DataFrame:
    """``direction_prob_{up,down}_{h}m`` of every bundle for every row of ``frame``.

    Raises
    ------
    ModelError
        A bundle's feature schema differs from what its feature set computes now.
    """
    from zerodte.features import compute_features, get_feature_set
    from zerodte.models.walkforward_fit import predict_frame

    cache: dict[str, pd.DataFrame] = {}
    parts: list[pd.DataFrame] = []
    for path, bundle in bundles:
        fs = get_feature_set(bundle.feature_set).resolve(frame.columns)
        try:
            check_schema(bundle, fs.schema_hash)
        except ModelError as exc:
            raise ModelError(f"models.horizon_bundles {path}: {exc}") from exc
        if fs.schema_hash not in cache:
            cache[fs.schema_hash] = compute_features(frame, fs)
        p = predict_frame(bundle, frame, cache[fs.schema_hash])
        up, dn = horizon_columns(int(bundle.horizon_minutes))
        part = pd.DataFrame(
            {up: p["direction_prob_up"].to_numpy(), dn: p["direction_prob_down"].to_numpy()},
            index=frame.index,
        )
        logger.info(
            "horizon bundle %s (%s, %d min) predicts %d of %d cycles",
            path,
            bundle.kind,
            bundle.horizon_minutes,
            int(part[up].notna().sum()),
            len(frame),
        )
        parts.append(part)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


def horizon_manifest(bundles: Sequence[tuple[Path, ModelBundle]]) -> list[dict[str, Any]]:
    """What the run manifest records of each horizon bundle."""
    return [
        {
            "path": str(path),
            "kind": b.kind,
            "horizon_minutes": int(b.horizon_minutes),
            "schema_hash": b.schema_hash,
            "data_hash": b.data_hash,
            "code_version": b.code_version,
            "training_window": list(b.training_window),
        }
        for path, b in bundles
    ]
