"""What a Q-scorer pair must satisfy before it may decide anything.

The metadata (``q_scorer_metadata.json``) must be a JSON object with the fields of
:class:`PairMetadata` (others are kept), and a ``normalisation`` object of its
``model_kind``: :class:`MlpNormalisation` or :class:`StructuredNormalisation`. The model must
be internally consistent. For the two-head MLP (``"mlp"``):

* every layer ``(W, b)`` has ``W`` of shape ``(members, in, out)`` and ``b`` of shape
  ``(members, out)``, the same number of members throughout, the first ``in`` equal to the
  number of feature columns, each ``out`` equal to the next ``in``, and a last ``out`` of 2
  (call, put);
* ``x_mean`` and ``x_std`` have one value per feature column; ``x_std`` and
  ``target_scale`` are positive.

For the structured model ``Q = s ± d`` (``"structured"``, :mod:`zerodte.qscorer.structured`):

* ``d_coef`` is ``(members, terms)``, ``d_intercept`` ``(members,)``, ``d_mean`` and
  ``d_std`` one value per term, one cost booster per member, at least one member and one
  cost input;
* every term and cost input points into the feature list; ``d_std`` is positive;
* the feature moments ``x_mean`` / ``x_std`` are empty or one value per feature column;
* every booster loads (:func:`load_boosters`).

For both kinds: ``offset`` has two values; every array and scalar is finite; ``lcb_z`` is
not negative and the horizon is at least one minute; the metadata agrees with the model on
the kind, the feature columns, the schema hash, the horizon, the ensemble size and the
normalisation (and, for the structured model, its cost columns and direction terms).

A model that fails any check raises :class:`~zerodte.errors.ModelError` naming the file,
the field and the value seen: it could only make the controller crash, or silently hold
forever (NaN weights, a zero std).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zerodte.errors import ModelError

if TYPE_CHECKING:
    from zerodte.qscorer.model import QModel, QScorerModel
    from zerodte.qscorer.structured import StructuredQModel

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class MlpNormalisation(BaseModel):
    """Input normalisation and output scale of the MLP, saved with the model."""

    model_config = ConfigDict(extra="allow")

    mean: list[FiniteFloat]
    std: list[PositiveFloat]
    target_scale: PositiveFloat


class StructuredNormalisation(BaseModel):
    """Direction-design standardisation and the parts of the structured model."""

    model_config = ConfigDict(extra="allow")

    direction_mean: list[FiniteFloat]
    direction_std: list[PositiveFloat]
    cost_columns: Annotated[list[str], Field(min_length=1)]
    direction_terms: list[str]


NORMALISATIONS: dict[str, type[BaseModel]] = {
    "mlp": MlpNormalisation,
    "structured": StructuredNormalisation,
}
"""``model_kind`` -> the schema of its ``normalisation`` object."""


class PairMetadata(BaseModel):
    """The documented fields of ``q_scorer_metadata.json`` (extra fields are kept)."""

    model_config = ConfigDict(extra="allow", strict=False)

    format_version: int
    model_kind: Literal["mlp", "structured"]
    feature_columns: Annotated[list[str], Field(min_length=1)]
    schema_hash: Annotated[str, Field(min_length=1)]
    normalisation: dict[str, Any]
    horizon: Annotated[int, Field(ge=1)]
    lcb_z: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    ensemble_size: Annotated[int, Field(ge=1)]
    pt_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _problems(exc: ValidationError, prefix: str = "") -> str:
    return "; ".join(
        f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']} "
        f"(seen {str(e.get('input'))[:40]})"
        for e in exc.errors(include_url=False)
    )


def check_metadata(meta: object, where: Path) -> PairMetadata:
    """Validate the metadata object or raise :class:`ModelError` listing every problem."""
    if not isinstance(meta, dict):
        raise ModelError(
            f"{where} holds {type(meta).__name__} {str(meta)[:40]!r}, not a JSON object; "
            "the metadata was overwritten. Re-save the pair with `zerodte q train`"
        )
    try:
        parsed = PairMetadata.model_validate(meta)
        NORMALISATIONS[parsed.model_kind].model_validate(parsed.normalisation)
    except ValidationError as exc:
        prefix = "" if exc.title == PairMetadata.__name__ else "normalisation."
        problems = _problems(exc, prefix)
        raise ModelError(f"{where} is not valid Q-scorer metadata: {problems}") from None
    return parsed


def _finite(name: str, value: np.ndarray | float, where: Path) -> None:
    arr = np.asarray(value, dtype=np.float64)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ModelError(
            f"{where}: {name} holds {bad} non-finite value(s) (NaN or inf); the training "
            "diverged or the file is corrupt. Retrain with `zerodte q train`"
        )


def check_model(model: QModel, where: Path) -> None:
    """Raise :class:`ModelError` unless ``model`` is internally consistent (module docstring)."""
    if model.kind == "structured":
        problems = structured_problems(model)  # type: ignore[arg-type]
        if problems:
            raise ModelError(
                f"{where}: invalid structured Q-scorer model: {'; '.join(problems)}. "
                "Retrain with `zerodte q train`"
            )
        return
    if model.kind != "mlp":
        raise ModelError(f"{where}: unknown Q-model kind {model.kind!r}; expected mlp, structured")
    _check_mlp(model, where)  # type: ignore[arg-type]


def _check_mlp(model: QScorerModel, where: Path) -> None:
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


def structured_problems(model: StructuredQModel) -> list[str]:
    """Every way ``model`` is inconsistent (empty when it may decide); module docstring.

    Used by :class:`~zerodte.qscorer.structured.StructuredQModel` itself on construction
    and by :func:`check_model` when a pair is saved or loaded.
    """
    d_coef = np.asarray(model.d_coef)
    n_terms = len(model.terms)
    m = d_coef.shape[0] if d_coef.ndim == 2 else -1
    n = len(model.feature_columns)
    problems = []
    if d_coef.ndim != 2 or d_coef.shape[1] != n_terms:
        problems.append(f"d_coef shape {d_coef.shape} does not fit {n_terms} terms")
    if len(model.term_names) != n_terms:
        problems.append(f"{len(model.term_names)} term names for {n_terms} terms")
    for name in ("d_mean", "d_std"):
        if np.shape(getattr(model, name)) != (n_terms,):
            shape = np.shape(getattr(model, name))
            problems.append(f"{name} has shape {shape}, expected ({n_terms},)")
    if m < 1 or len(model.boosters) != m or np.shape(model.d_intercept) != (m,):
        problems.append(
            f"{len(model.boosters)} boosters / intercepts {np.shape(model.d_intercept)} "
            f"for {m} members"
        )
    if not model.cost_index:
        problems.append("no cost inputs")
    bad_term = any(not (0 <= i < n and -1 <= j < n) for i, j in model.terms)
    if bad_term or any(not 0 <= i < n for i in model.cost_index):
        problems.append("a term or cost input points outside the feature list")
    if np.shape(model.offset) != (2,):
        problems.append(f"offset has shape {np.shape(model.offset)}, expected (2,)")
    arrays = (model.d_mean, model.d_std, d_coef, model.d_intercept, model.offset)
    moments = (model.x_mean, model.x_std)
    if not all(np.isfinite(np.asarray(a, np.float64)).all() for a in (*arrays, *moments)):
        problems.append("non-finite coefficients or normalisation")
    if not (np.isfinite(model.lcb_z) and model.lcb_z >= 0) or model.horizon < 1:
        problems.append(f"lcb_z {model.lcb_z} / horizon {model.horizon}: need >= 0 and >= 1")
    x_mean, x_std = np.asarray(model.x_mean), np.asarray(model.x_std)
    if (len(x_mean) and len(x_mean) != n) or len(x_std) != len(x_mean):
        problems.append("feature moments do not fit the feature list")
    if (np.asarray(model.d_std) <= 0).any():
        problems.append("a direction term has a non-positive normalisation std")
    return problems


def load_boosters(raw: Sequence[bytes]) -> list[Any]:
    """Every member's cost booster, loaded (single-threaded); :class:`ModelError` if one is not.

    A booster that does not load would otherwise fail on the first decision.
    """
    import xgboost as xgb

    out = []
    for i, data in enumerate(raw):
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(data))
        except xgb.core.XGBoostError as exc:
            raise ModelError(
                f"invalid structured Q-scorer model: member {i}'s cost booster does not load "
                f"({str(exc).splitlines()[0][:120]}); retrain with `zerodte q train`"
            ) from None
        booster.set_param({"nthread": 1})
        out.append(booster)
    return out


def check_agreement(model: QModel, meta: PairMetadata, where: Path) -> None:
    """Raise :class:`ModelError` when the metadata describes another model."""
    problems = []
    if model.kind != meta.model_kind:
        problems.append(f"model kind ({model.kind} vs {meta.model_kind})")
    if list(model.feature_columns) != meta.feature_columns:
        problems.append("feature columns")
    if model.schema_hash != meta.schema_hash:
        problems.append("schema hash")
    if int(model.horizon) != meta.horizon:
        problems.append(f"horizon ({model.horizon} vs {meta.horizon})")
    if model.members != meta.ensemble_size:
        problems.append(f"ensemble size ({model.members} vs {meta.ensemble_size})")
    problems += _normalisation_differences(model, meta.normalisation)
    if problems:
        raise ModelError(
            f"{where}: the metadata and the model disagree on {', '.join(problems)}; the files "
            "come from two trainings. Re-save the pair"
        )


def _same(values: object, array: object) -> bool:
    a, b = np.asarray(values, dtype=np.float64), np.asarray(array, dtype=np.float64)
    return a.shape == b.shape and np.array_equal(a, b)


def _normalisation_differences(model: QModel, norm: dict[str, Any]) -> list[str]:
    if model.kind != "structured":
        return [
            f"normalisation {name}"
            for name, array in (("mean", model.x_mean), ("std", model.x_std))
            if not _same(norm.get(name), array)
        ]
    s: StructuredQModel = model  # type: ignore[assignment]
    out = [
        f"normalisation {name}"
        for name, array in (("direction_mean", s.d_mean), ("direction_std", s.d_std))
        if not _same(norm.get(name), array)
    ]
    if list(norm.get("cost_columns", ())) != [s.feature_columns[i] for i in s.cost_index]:
        out.append("cost columns")
    if list(norm.get("direction_terms", ())) != list(s.term_names):
        out.append("direction terms")
    return out
