"""Model bundles: a fitted model with everything needed to trust and reuse it.

A bundle directory holds ``bundle.json`` (kind, config, feature set name and schema hash,
feature columns, training window, metrics, data hash, code version) and ``model.pkl`` (the
pickled walk-forward segments). Both are written atomically (temp file, fsync, rename) and
``model.pkl``'s SHA-256 is recorded in ``bundle.json`` so a half-written or swapped file is
refused. A save over an existing verified bundle first keeps it as ``model.previous.pkl`` +
``bundle.previous.json`` (:func:`zerodte.io.publish_pair`), so an interrupted save leaves a
loadable bundle (``load_bundle(..., fallback=True)``). ``bundle.json`` must be a JSON
object with the documented fields. Pickle executes code on load: load only bundles you
produced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.errors import ModelError
from zerodte.features import FeatureSet, custom_feature_set
from zerodte.io import previous_name, publish_pair

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
MODEL_FILE = "model.pkl"
META_FILE = "bundle.json"
REQUIRED = {"kind": str, "schema_hash": str, "columns": list, "model_sha256": str}
"""Fields ``bundle.json`` must have, with their JSON types."""


@dataclass
class Segment:
    """One walk-forward model: used for rows at or after ``valid_from``."""

    valid_from: pd.Timestamp
    model: Any
    knn: Any = None
    direction_calibrator: Any = None
    confidence_calibrator: Any = None
    train_start: pd.Timestamp | None = None
    train_end: pd.Timestamp | None = None
    train_rows: int = 0
    base_rates: dict[str, float] = field(default_factory=dict)
    calib_start: pd.Timestamp | None = None
    calib_end: pd.Timestamp | None = None


@dataclass
class ModelBundle:
    """A saved predictor (see the module docstring)."""

    kind: str
    config: dict[str, Any]
    feature_set: str
    feature_set_version: int
    schema_hash: str
    columns: tuple[str, ...]
    horizon_minutes: int
    embargo_minutes: int
    segments: list[Segment]
    data_hash: str = ""
    code_version: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def training_window(self) -> tuple[str | None, str | None]:
        """First and last training timestamps over all segments (ISO strings)."""
        starts = [s.train_start for s in self.segments if s.train_start is not None]
        ends = [s.train_end for s in self.segments if s.train_end is not None]
        return (
            min(starts).isoformat() if starts else None,
            max(ends).isoformat() if ends else None,
        )

    def manifest(self, model_sha256: str) -> dict[str, Any]:
        """The JSON manifest written beside the model."""
        return {
            "format": BUNDLE_FORMAT,
            "kind": self.kind,
            "config": self.config,
            "feature_set": self.feature_set,
            "feature_set_version": self.feature_set_version,
            "schema_hash": self.schema_hash,
            "columns": list(self.columns),
            "horizon_minutes": self.horizon_minutes,
            "embargo_minutes": self.embargo_minutes,
            "training_window": list(self.training_window),
            "segments": [
                {"valid_from": s.valid_from.isoformat(), "train_rows": s.train_rows}
                for s in self.segments
            ],
            "data_hash": self.data_hash,
            "code_version": self.code_version,
            "metrics": self.metrics,
            "model_sha256": model_sha256,
        }

    def save(self, directory: Path) -> Path:
        """Write ``model.pkl`` then ``bundle.json`` atomically; returns the directory."""
        directory = Path(directory)
        blob = pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)
        meta = self.manifest(hashlib.sha256(blob).hexdigest())
        return publish_pair(directory, (MODEL_FILE, META_FILE), blob, meta, sha_key="model_sha256")


def _load(directory: Path, meta_name: str, model_name: str) -> ModelBundle:
    meta_path, model_path = directory / meta_name, directory / model_name
    if not meta_path.is_file() or not model_path.is_file():
        raise ModelError(
            f"{directory} is not a model bundle (needs {META_FILE} and {MODEL_FILE}); train "
            "one with `zerodte train trees|retrieval|predictor|patchtst`"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        blob = model_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ModelError(f"{meta_path} cannot be read ({exc}); retrain the bundle") from exc
    if not isinstance(meta, dict):
        raise ModelError(
            f"{meta_path} holds {type(meta).__name__}, not a JSON object; retrain the bundle"
        )
    wrong = [k for k, kind in REQUIRED.items() if not isinstance(meta.get(k), kind)]
    if wrong:
        raise ModelError(
            f"{meta_path} lacks or mistypes {wrong} (needs {sorted(REQUIRED)}); retrain the bundle"
        )
    digest = hashlib.sha256(blob).hexdigest()
    if digest != meta["model_sha256"]:
        raise ModelError(
            f"{model_path} checksum {digest[:12]} differs from {meta_name} "
            f"({str(meta['model_sha256'])[:12]}): partial or replaced file; retrain"
        )
    try:
        bundle = pickle.loads(blob)
    except Exception as exc:  # unpickling raises many types for a file that is not ours
        raise ModelError(f"{model_path} cannot be unpickled ({exc}); retrain the bundle") from exc
    if not isinstance(bundle, ModelBundle):
        raise ModelError(f"{model_path} does not hold a ModelBundle (got {type(bundle).__name__})")
    return bundle


def load_bundle(
    directory: Path, expected_schema_hash: str | None = None, *, fallback: bool = False
) -> ModelBundle:
    """Load a bundle, verifying its checksum and (when given) its feature schema.

    ``fallback`` loads the previous bundle (with a warning) when the current one is
    unusable, e.g. after an interrupted save.

    Raises
    ------
    ModelError
        Missing or corrupt files, or a feature schema different from ``expected_schema_hash``.
    """
    directory = Path(directory)
    try:
        bundle = _load(directory, META_FILE, MODEL_FILE)
    except ModelError as exc:
        if not fallback or not (directory / previous_name(META_FILE)).is_file():
            raise
        bundle = _load(directory, previous_name(META_FILE), previous_name(MODEL_FILE))
        logger.warning("bundle in %s is unusable (%s); using the previous one", directory, exc)
    if expected_schema_hash is not None:
        check_schema(bundle, expected_schema_hash)
    return bundle


def check_schema(bundle: ModelBundle, schema_hash: str) -> None:
    """Raise :class:`ModelError` unless the data's feature schema hash is the bundle's."""
    if schema_hash != bundle.schema_hash:
        raise ModelError(
            f"feature schema mismatch: the {bundle.kind} bundle was trained on feature set "
            f"{bundle.feature_set!r} v{bundle.feature_set_version} with schema hash "
            f"{bundle.schema_hash[:16]}, but the data has schema hash {schema_hash[:16]}. "
            f"Compute features with feature set {bundle.feature_set!r} (same version), or "
            "retrain the model on the current features (`zerodte train ...`)"
        )


def frame_schema_hash(features: pd.DataFrame, name: str, version: int) -> str:
    """Schema hash of a feature frame's columns under the set ``name`` / ``version``."""
    if "schema_hash" in features.attrs:
        return str(features.attrs["schema_hash"])
    try:
        fs: FeatureSet = custom_feature_set(name, version, features.columns)
    except (KeyError, ValueError) as exc:
        raise ModelError(f"feature frame has columns no feature set defines: {exc}") from exc
    return fs.schema_hash
