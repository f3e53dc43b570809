"""Saving and loading the Q-scorer pair ``q_scorer.pt`` + ``q_scorer_metadata.json``.

Write order (each file atomically: temp file, fsync, rename): the ``.pt`` first, then the
metadata, which carries the SHA-256 of the ``.pt`` bytes. A reader loads the metadata,
reads the ``.pt`` bytes once and accepts the pair only when their hash matches, so a
reader racing a writer sees either the old pair, the new pair, or a mismatch it refuses;
never a model with someone else's metadata.
"""

from __future__ import annotations

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
from zerodte.io import atomic_write_bytes, atomic_write_json
from zerodte.qscorer.model import QModel, QScorerModel
from zerodte.qscorer.structured import StructuredQModel

logger = logging.getLogger(__name__)

MODEL_FILE = "q_scorer.pt"
METADATA_FILE = "q_scorer_metadata.json"
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


def save_model(model_dir: Path, model: QModel, metadata: dict[str, Any]) -> Path:
    """Write ``q_scorer.pt`` then ``q_scorer_metadata.json`` (with the ``.pt`` SHA-256).

    ``metadata`` is extended with ``feature_columns``, ``schema_hash``, ``normalisation``,
    ``horizon``, ``code_version``, ``format_version`` and ``pt_sha256``.
    """
    model_dir = Path(model_dir)
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
    atomic_write_bytes(model_dir / MODEL_FILE, data)
    atomic_write_json(model_dir / METADATA_FILE, meta)
    return model_dir


@dataclass(frozen=True)
class LoadedModel:
    """A verified pair: the model, its metadata and the ``.pt`` hash it was checked against."""

    model: QModel
    metadata: dict[str, Any]
    sha256: str


def load_model(model_dir: Path) -> LoadedModel:
    """Load and verify the pair in ``model_dir``.

    Raises
    ------
    ModelError
        A file is missing, unreadable, or the ``.pt`` does not match the metadata's
        ``pt_sha256`` (a writer is between its two renames, or the files come from
        different trainings).
    """
    model_dir = Path(model_dir)
    meta_path = model_dir / METADATA_FILE
    pt_path = model_dir / MODEL_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        data = pt_path.read_bytes()
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"cannot read the Q-scorer pair in {model_dir} ({exc}); train one with "
            "`zerodte q train` or point qscorer.model_dir (MODEL_RUN_DIR) at a model directory"
        ) from exc
    digest = sha256_bytes(data)
    if meta.get("pt_sha256") != digest:
        raise ModelError(
            f"{pt_path.name} (sha256 {digest[:12]}) does not match {meta_path.name} "
            f"(pt_sha256 {str(meta.get('pt_sha256'))[:12]}); the pair is being rewritten or "
            "comes from two trainings. Retry, or re-save both files"
        )
    try:
        model = _from_bytes(data)
    except Exception as exc:  # torch raises many types for a corrupt archive
        raise ModelError(f"{pt_path} is not a readable Q-scorer model: {exc}") from exc
    return LoadedModel(model, meta, digest)
