"""What a Q-scorer pair must satisfy before it may decide anything.

The metadata (``q_scorer_metadata.json``) must be a JSON object with the fields of
:class:`PairMetadata` (others are kept). The model must be internally consistent:

* every layer ``(W, b)`` has ``W`` of shape ``(members, in, out)`` and ``b`` of shape
  ``(members, out)``, the same number of members throughout, the first ``in`` equal to the
  number of feature columns, each ``out`` equal to the next ``in``, and a last ``out`` of 2
  (call, put);
* ``x_mean`` and ``x_std`` have one value per feature column and ``offset`` two;
* every weight, bias, mean, std, offset, ``target_scale`` and ``lcb_z`` is finite;
  ``x_std`` and ``target_scale`` are positive, ``lcb_z`` is not negative and the horizon is
  at least one minute;
* the metadata agrees with the model on the feature columns, the schema hash, the
  horizon and the normalisation.

A model that fails any check raises :class:`~zerodte.errors.ModelError` naming the file,
the field and the value seen: it could only make the controller crash, or silently hold
forever (NaN weights, a zero std).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerodte.errors import ModelError
from zerodte.qscorer.model import QScorerModel

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class Normalisation(BaseModel):
    """Input normalisation and output scale saved with the model."""

    model_config = ConfigDict(extra="allow")

    mean: list[FiniteFloat]
    std: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]]
    target_scale: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class PairMetadata(BaseModel):
    """The documented fields of ``q_scorer_metadata.json`` (extra fields are kept)."""

    model_config = ConfigDict(extra="allow", strict=False)

    format_version: int
    feature_columns: Annotated[list[str], Field(min_length=1)]
    schema_hash: Annotated[str, Field(min_length=1)]
    normalisation: Normalisation
    horizon: Annotated[int, Field(ge=1)]
    lcb_z: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    pt_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def check_metadata(meta: object, where: Path) -> PairMetadata:
    """Validate the metadata object or raise :class:`ModelError` listing every problem."""
    if not isinstance(meta, dict):
        raise ModelError(
            f"{where} holds {type(meta).__name__} {str(meta)[:40]!r}, not a JSON object; "
            "the metadata was overwritten. Re-save the pair with `zerodte q train`"
        )
    try:
        return PairMetadata.model_validate(meta)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (seen {str(e.get('input'))[:40]})"
            for e in exc.errors(include_url=False)
        )
        raise ModelError(f"{where} is not valid Q-scorer metadata: {problems}") from None


def _finite(name: str, value: np.ndarray | float, where: Path) -> None:
    arr = np.asarray(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ModelError(
            f"{where}: {name} holds {bad} non-finite value(s) (NaN or inf); the training "
            "diverged or the file is corrupt. Retrain with `zerodte q train`"
        )


def check_model(model: QScorerModel, where: Path) -> None:
    """Raise :class:`ModelError` unless ``model`` is internally consistent (module docstring)."""
    n_feat = len(model.feature_columns)
    if not model.layers:
        raise ModelError(f"{where}: the model has no layers")
    members = None
    width = n_feat
    for i, (w, b) in enumerate(model.layers):
        w, b = np.asarray(w), np.asarray(b)
        if w.ndim != 3 or b.ndim != 2:
            raise ModelError(
                f"{where}: layer {i} weights have shape {w.shape} and biases {b.shape}; "
                "expected (members, in, out) and (members, out)"
            )
        members = w.shape[0] if members is None else members
        if w.shape[0] != members or b.shape[0] != members:
            raise ModelError(f"{where}: layer {i} has {w.shape[0]} members, layer 0 {members}")
        if w.shape[1] != width:
            what = f"{n_feat} feature columns" if i == 0 else f"layer {i - 1}'s {width} outputs"
            raise ModelError(
                f"{where}: layer {i} takes {w.shape[1]} inputs but receives {what}; the "
                "weights do not belong to this feature list. Retrain with `zerodte q train`"
            )
        if b.shape[1] != w.shape[2]:
            raise ModelError(f"{where}: layer {i} has {w.shape[2]} outputs but {b.shape[1]} biases")
        _finite(f"layer {i} weights", w, where)
        _finite(f"layer {i} biases", b, where)
        width = w.shape[2]
    if width != 2:
        raise ModelError(f"{where}: the last layer has {width} outputs; a Q-scorer has 2")
    for name, arr, size in (("x_mean", model.x_mean, n_feat), ("x_std", model.x_std, n_feat)):
        if np.shape(arr) != (size,):
            raise ModelError(f"{where}: {name} has shape {np.shape(arr)}, expected ({size},)")
        _finite(name, arr, where)
    if np.shape(model.offset) != (2,):
        raise ModelError(f"{where}: offset has shape {np.shape(model.offset)}, expected (2,)")
    _finite("offset", model.offset, where)
    _finite("target_scale", model.target_scale, where)
    _finite("lcb_z", model.lcb_z, where)
    if not (np.asarray(model.x_std) > 0).all():
        raise ModelError(
            f"{where}: x_std has non-positive values {np.asarray(model.x_std)[:4]}; a feature "
            "was constant in training, so every input would be scaled to inf. Retrain"
        )
    if not model.target_scale > 0 or model.lcb_z < 0 or model.horizon < 1:
        raise ModelError(
            f"{where}: target_scale {model.target_scale}, lcb_z {model.lcb_z}, horizon "
            f"{model.horizon}: need target_scale > 0, lcb_z >= 0 and horizon >= 1"
        )


def check_agreement(model: QScorerModel, meta: PairMetadata, where: Path) -> None:
    """Raise :class:`ModelError` when the metadata describes another model."""
    problems = []
    if list(model.feature_columns) != meta.feature_columns:
        problems.append("feature columns")
    if model.schema_hash != meta.schema_hash:
        problems.append("schema hash")
    if int(model.horizon) != meta.horizon:
        problems.append(f"horizon ({model.horizon} vs {meta.horizon})")
    norm = meta.normalisation
    if len(norm.mean) != len(model.x_mean) or not np.array_equal(norm.mean, model.x_mean):
        problems.append("normalisation mean")
    if len(norm.std) != len(model.x_std) or not np.array_equal(norm.std, model.x_std):
        problems.append("normalisation std")
    if problems:
        raise ModelError(
            f"{where}: the metadata and the model disagree on {', '.join(problems)}; the files "
            "come from two trainings. Re-save the pair"
        )
