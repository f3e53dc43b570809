"""Saving and loading the Q-scorer pair ``q_scorer.pt`` + ``q_scorer_metadata.json``.

Write order (each file atomically: temp file, fsync, rename): when the directory already
holds a verified pair, it is first copied to ``q_scorer.previous.pt`` +
``q_scorer_metadata.previous.json`` (the ``.pt`` first); then the new ``.pt``, then the new
metadata, which carries the SHA-256 of the ``.pt`` bytes. At every instant one complete
pair exists: the current one, or (between the two renames of a deploy) the previous one.

A reader loads the metadata, reads the ``.pt`` bytes once and accepts the pair only when
their hash matches, so a reader racing a writer sees either the old pair, the new pair, or
a mismatch it refuses; never a model with someone else's metadata. Every pair is then
validated (:mod:`zerodte.qscorer.checks`), for both model kinds: metadata fields (the
``normalisation`` of the pair's ``model_kind``), shapes against the feature list (MLP
layers; structured coefficients, terms and members), finite weights, positive
normalisation stds, loadable cost boosters, and metadata that describes this model.
``load_model(...,
fallback=True)`` (a controller starting up) returns the previous pair, with a warning,
when the current one is incomplete or invalid; a hot reload never falls back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zerodte import __version__
from zerodte.errors import ModelError
from zerodte.io import previous_name, publish_pair
from zerodte.qscorer.checks import check_agreement, check_metadata, check_model
from zerodte.qscorer.model import QModel, QScorerModel
from zerodte.qscorer.structured import StructuredQModel

logger = logging.getLogger(__name__)

MODEL_FILE = "q_scorer.pt"
METADATA_FILE = "q_scorer_metadata.json"
PREVIOUS_MODEL_FILE = previous_name(MODEL_FILE)
PREVIOUS_METADATA_FILE = previous_name(METADATA_FILE)
FORMAT_VERSION = 2
"""2: the payload names its ``kind`` (``"mlp"`` or ``"structured"``); 1 was MLP only."""


def _tensors(payload: dict[str, Any]) -> dict[str, Any]:
    import torch

    def conv(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return torch.from_numpy(np.ascontiguousarray(v))
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in payload.items()}


def _numpy(payload: dict[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if hasattr(v, "numpy"):
            return v.numpy()
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    return {k: conv(v) for k, v in payload.items()}


def _to_bytes(model: QModel) -> bytes:
    import torch  # deferred: the controller module stays light

    if isinstance(model, StructuredQModel):
        buf = io.BytesIO()
        torch.save({"format_version": FORMAT_VERSION, **_tensors(model.to_payload())}, buf)
        return buf.getvalue()
    assert isinstance(model, QScorerModel)
    payload = {
        "kind": "mlp",
        "format_version": FORMAT_VERSION,
        "weights": [torch.from_numpy(np.ascontiguousarray(w)) for w, _ in model.layers],
        "biases": [torch.from_numpy(np.ascontiguousarray(b)) for _, b in model.layers],
        "x_mean": torch.from_numpy(np.asarray(model.x_mean, np.float64)),
        "x_std": torch.from_numpy(np.asarray(model.x_std, np.float64)),
        "offset": torch.from_numpy(np.asarray(model.offset, np.float64)),
        "target_scale": float(model.target_scale),
        "lcb_z": float(model.lcb_z),
        "horizon": int(model.horizon),
        "feature_columns": list(model.feature_columns),
        "schema_hash": model.schema_hash,
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def _from_bytes(data: bytes) -> QModel:
    import torch

    payload = torch.load(io.BytesIO(data), weights_only=True)
    if payload.get("kind") == "structured":
        return StructuredQModel.from_payload(_numpy(payload))
    layers = tuple(
        (w.numpy().astype(np.float64), b.numpy().astype(np.float64))
        for w, b in zip(payload["weights"], payload["biases"], strict=True)
    )
    return QScorerModel(
        layers=layers,
        feature_columns=tuple(payload["feature_columns"]),
        schema_hash=str(payload["schema_hash"]),
        x_mean=payload["x_mean"].numpy().astype(np.float64),
        x_std=payload["x_std"].numpy().astype(np.float64),
        target_scale=float(payload["target_scale"]),
        offset=payload["offset"].numpy().astype(np.float64),
        lcb_z=float(payload["lcb_z"]),
        horizon=int(payload["horizon"]),
    )


def _normalisation(model: QModel) -> dict[str, Any]:
    if isinstance(model, StructuredQModel):
        return {
            "direction_mean": [float(v) for v in model.d_mean],
            "direction_std": [float(v) for v in model.d_std],
            **model.describe(),
        }
    assert isinstance(model, QScorerModel)
    return {
        "mean": [float(v) for v in model.x_mean],
        "std": [float(v) for v in model.x_std],
        "target_scale": float(model.target_scale),
    }


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def write_pair(model_dir: Path, data: bytes, meta: dict[str, Any]) -> Path:
    """Publish a new pair, keeping the current verified pair as the previous one first."""
    files = (MODEL_FILE, METADATA_FILE)
    return publish_pair(Path(model_dir), files, data, meta, sha_key="pt_sha256")


def save_model(model_dir: Path, model: QModel, metadata: dict[str, Any]) -> Path:
    """Write ``q_scorer.pt`` then ``q_scorer_metadata.json`` (with the ``.pt`` SHA-256).

    ``metadata`` is extended with ``feature_columns``, ``schema_hash``, ``normalisation``,
    ``horizon``, ``code_version``, ``format_version`` and ``pt_sha256``. A model that fails
    :func:`~zerodte.qscorer.checks.check_model` is refused before anything is written; a
    verified pair already in ``model_dir`` becomes the previous pair (module docstring).
    """
    model_dir = Path(model_dir)
    check_model(model, model_dir / MODEL_FILE)
    data = _to_bytes(model)
    meta = dict(metadata)
    meta.update(
        {
            "format_version": FORMAT_VERSION,
            "feature_columns": list(model.feature_columns),
            "schema_hash": model.schema_hash,
            "model_kind": getattr(model, "kind", "mlp"),
            "normalisation": _normalisation(model),
            "best_offset": {"call": float(model.offset[0]), "put": float(model.offset[1])},
            "lcb_z": float(model.lcb_z),
            "horizon": int(model.horizon),
            "ensemble_size": model.members,
            "code_version": __version__,
            "pt_sha256": sha256_bytes(data),
        }
    )
    return write_pair(model_dir, data, meta)


def deploy_pair(source: Path, target: Path) -> Path:
    """Copy a verified pair from ``source`` into ``target`` (``write_pair``'s order)."""
    loaded = load_model(source)  # verify before publishing
    data = (Path(source) / MODEL_FILE).read_bytes()
    write_pair(Path(target), data, loaded.metadata)
    check = load_model(target)
    if check.sha256 != loaded.sha256:
        raise ModelError(f"deployed model in {target} does not match {source}")
    return Path(target)


@dataclass(frozen=True)
class LoadedModel:
    """A verified pair: the model, its metadata and the ``.pt`` hash it was checked against.

    ``previous`` is True when the previous pair was loaded because the current one was
    incomplete or invalid.
    """

    model: QModel
    metadata: dict[str, Any]
    sha256: str
    previous: bool = False


def _load(model_dir: Path, meta_name: str, pt_name: str) -> LoadedModel:
    meta_path = model_dir / meta_name
    pt_path = model_dir / pt_name
    try:
        raw = json.loads(meta_path.read_text(encoding="utf-8"))
        data = pt_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot read the Q-scorer pair in {model_dir} ({exc}); train one with "
            "`zerodte q train` or point qscorer.model_dir (MODEL_RUN_DIR) at a model directory"
        ) from exc
    meta = check_metadata(raw, meta_path)
    if meta.format_version != FORMAT_VERSION:
        raise ModelError(
            f"{meta_path}: format_version {meta.format_version}, this zerodte reads "
            f"{FORMAT_VERSION}; retrain with `zerodte q train`"
        )
    digest = sha256_bytes(data)
    if meta.pt_sha256 != digest:
        raise ModelError(
            f"{pt_path.name} (sha256 {digest[:12]}) does not match {meta_path.name} "
            f"(pt_sha256 {meta.pt_sha256[:12]}); the pair is being rewritten or "
            "comes from two trainings. Retry, or re-save both files"
        )
    try:
        model = _from_bytes(data)
    except ModelError as exc:  # a structured model refuses itself (zerodte.qscorer.checks)
        raise ModelError(f"{pt_path}: {exc}") from None
    except Exception as exc:  # torch raises many types for a corrupt archive
        raise ModelError(f"{pt_path} is not a readable Q-scorer model: {exc}") from exc
    check_model(model, pt_path)
    check_agreement(model, meta, meta_path)
    return LoadedModel(model, raw, digest)


def load_model(model_dir: Path, *, fallback: bool = False) -> LoadedModel:
    """Load and verify the pair in ``model_dir``.

    Parameters
    ----------
    fallback
        When the current pair is unusable, load the previous pair (kept by
        :func:`write_pair`) instead, with a warning. For starting a controller after a
        deploy was interrupted; hot reloads keep their model instead.

    Raises
    ------
    ModelError
        A file is missing or unreadable, the ``.pt`` does not match the metadata's
        ``pt_sha256`` (a writer is between its two renames, or the files come from
        different trainings), or the pair fails validation
        (:mod:`zerodte.qscorer.checks`); with ``fallback``, when the previous pair fails too.
    """
    model_dir = Path(model_dir)
    try:
        return _load(model_dir, METADATA_FILE, MODEL_FILE)
    except ModelError as exc:
        if not fallback or not (model_dir / PREVIOUS_METADATA_FILE).exists():
            raise
        previous = _load(model_dir, PREVIOUS_METADATA_FILE, PREVIOUS_MODEL_FILE)
        logger.warning(
            "the Q-scorer pair in %s is unusable (%s); using the previous pair (sha256 %s)",
            model_dir,
            exc,
            previous.sha256[:12],
        )
        return dataclasses.replace(previous, previous=True)
