"""Walk-forward training of any predictor kind and causal prediction of context columns.

``fit_walk_forward`` trains one :class:`~.bundle.Segment` per split (train window, then a
calibration window for the calibrators, then the test window it serves) plus, with
``final=True``, a deployable segment trained on everything. ``predict_frame`` gives every
row the outputs of the newest segment whose ``valid_from`` is not after the row, so each
row is predicted by a model trained only on earlier data; rows before the first segment
are NaN (the prediction controller holds there).

Context columns (:data:`CONTEXT_COLUMNS`)::

    predicted_return, return_std   percent forward return over the horizon
    risk_adjusted_return           predicted_return / return_std
    direction_prob_{down,neutral,up}  calibrated class probabilities
    ml_confidence                  raw confidence of the (calibrated) up/down call
    calibrated_confidence          calibrated P(the up/down call is right)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from zerodte.config import Settings
from zerodte.errors import ModelError
from zerodte.features import FeatureSet
from zerodte.models.bundle import ModelBundle, Segment, check_schema, frame_schema_hash
from zerodte.models.calibration import MulticlassCalibrator, make_calibrator
from zerodte.models.gaussian import GaussianConfig
from zerodte.models.patchtst import PatchTSTConfig, ohlcv_channels
from zerodte.models.retrieval import RetrievalConfig, ensemble_direction
from zerodte.models.trees import TreeConfig
from zerodte.models.walkforward import Split

logger = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("trees", "retrieval", "ensemble", "predictor", "patchtst")
DIRS = ("direction_prob_down", "direction_prob_neutral", "direction_prob_up")
CONTEXT_COLUMNS: tuple[str, ...] = (
    "predicted_return",
    "return_std",
    "risk_adjusted_return",
    *DIRS,
    "ml_confidence",
    "calibrated_confidence",
)
SEQUENCE_KINDS = ("predictor", "patchtst")


def model_config(kind: str, settings: Settings, **overrides: Any) -> Any:
    """The config object that builds a model of ``kind`` from ``settings.models``."""
    m = settings.models
    if kind in ("trees", "ensemble"):
        base = {
            "thresholds_pct": m.tree_thresholds_pct,
            "horizons": m.tree_horizons,
            "random_state": m.seed,
        }
        return TreeConfig(**{**base, **overrides})
    if kind == "retrieval":
        return RetrievalConfig(**{"k": m.knn_k, "random_state": m.seed, **overrides})
    if kind == "predictor":
        return GaussianConfig.from_settings(m, **overrides)
    if kind == "patchtst":
        base = asdict(PatchTSTConfig())
        base.update(sequence_length=m.sequence_length, epochs=m.epochs, random_state=m.seed)
        return PatchTSTConfig(**{**base, **overrides})
    raise ModelError(f"unknown model kind {kind!r}; valid kinds: {', '.join(KINDS)}")


def model_inputs(kind: str, frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """What the model reads: raw OHLCV channels for PatchTST, the features otherwise."""
    return ohlcv_channels(frame) if kind == "patchtst" else features


def _call_conf(p: pd.DataFrame) -> np.ndarray:
    up, dn = p["direction_prob_up"].to_numpy(), p["direction_prob_down"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.maximum(up, dn) / (up + dn)


def raw_outputs(kind: str, seg: Segment, X: pd.DataFrame) -> pd.DataFrame:
    """Uncalibrated outputs of one segment on rows of ``X`` (sequence models need history)."""
    if kind in SEQUENCE_KINDS:
        out = seg.model.predict(X)
        return out.loc[:, ["predicted_return", "return_std", *DIRS, "ml_confidence"]]
    if kind == "retrieval":
        k = seg.model.predict(X)
        out = k.loc[:, list(DIRS)].copy()
        out["predicted_return"] = k["knn_mean_return"]
        out["return_std"] = k["knn_std_return"]
    else:
        t = seg.model.predict(X)
        if kind == "ensemble" and seg.knn is not None:
            t = ensemble_direction(t, seg.knn.predict(X))
        out = t.loc[:, list(DIRS)].copy()
        out["predicted_return"] = t.get("strength", np.nan)
        out["return_std"] = t.get("return_std", np.nan)
    out["ml_confidence"] = _call_conf(out)
    return out


def call_confidence(raw: pd.DataFrame, probs: pd.DataFrame) -> np.ndarray:
    """Raw confidence of the call made by ``probs`` (the calibrated probabilities).

    ``raw["ml_confidence"]`` is the model's confidence that its own (raw) up/down call is
    right: the confidence head of the sequence models, ``max(p_up, p_down) / (p_up +
    p_down)`` otherwise. Where calibration flips the call to the other side, the confidence
    in the call actually made is ``1 - ml_confidence``. The confidence calibrator is fit on
    exactly this quantity, so a confident raw call that calibration reversed cannot show up
    as a confident call (which inverted the confidence: its top tercile hit less often than
    its bottom one).
    """
    raw_up = raw["direction_prob_up"].to_numpy() >= raw["direction_prob_down"].to_numpy()
    cal_up = probs["direction_prob_up"].to_numpy() >= probs["direction_prob_down"].to_numpy()
    conf = raw["ml_confidence"].to_numpy(np.float64)
    return np.where(raw_up == cal_up, conf, 1.0 - conf)


def calibrated(seg: Segment, raw: pd.DataFrame) -> pd.DataFrame:
    """Add calibrated direction probabilities and confidence (raw kept when no calibrator)."""
    out = raw.copy()
    if seg.direction_calibrator is not None:
        out.loc[:, list(DIRS)] = seg.direction_calibrator.predict(raw.loc[:, list(DIRS)].to_numpy())
    conf = call_confidence(raw, out)
    out["ml_confidence"] = conf
    out["calibrated_confidence"] = (
        seg.confidence_calibrator.predict(conf) if seg.confidence_calibrator is not None else conf
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["risk_adjusted_return"] = out["predicted_return"] / out["return_std"]
    return out.loc[:, list(CONTEXT_COLUMNS)]


def call_right(probs: pd.DataFrame, fwd: np.ndarray) -> np.ndarray:
    """1/0 whether the up/down call of ``probs`` matches the sign of ``fwd`` (NaN unknown)."""
    up = probs["direction_prob_up"].to_numpy() >= probs["direction_prob_down"].to_numpy()
    right = np.where(up, fwd > 0, fwd < 0).astype(np.float64)
    return np.where(
        np.isnan(fwd) | (fwd == 0) | probs[list(DIRS)].isna().any(axis=1), np.nan, right
    )


def rows_outputs(
    kind: str, seg: Segment, X: pd.DataFrame, rows: np.ndarray, lookback: int
) -> pd.DataFrame:
    """Raw outputs for row positions ``rows`` (a contiguous run), reading history only."""
    if not len(rows):
        return pd.DataFrame(columns=[*DIRS, "predicted_return", "return_std", "ml_confidence"])
    lo = max(0, int(rows[0]) - lookback + 1) if kind in SEQUENCE_KINDS else int(rows[0])
    part = raw_outputs(kind, seg, X.iloc[lo : int(rows[-1]) + 1])
    return part.iloc[rows - lo]


def fit_segment(  # noqa: PLR0917
    kind: str,
    config: Any,
    X: pd.DataFrame,
    y: pd.DataFrame,
    split: Split,
    calibration_method: str = "platt",
    knn_config: RetrievalConfig | None = None,
) -> Segment:
    """Fit one model on ``split.train`` and its calibrators on ``split.calib``."""
    train = split.train
    if kind in SEQUENCE_KINDS:
        # contiguous history up to the training end; labels outside the window hidden
        end = int(train[-1]) + 1
        y_tr = y.iloc[:end].copy()
        y_tr.loc[~np.isin(np.arange(end), train), :] = np.nan
        model = config.build().fit(X.iloc[:end], y_tr)
    else:
        model = config.build().fit(X.iloc[train], y.iloc[train])
    knn = None
    if kind == "ensemble":
        knn = (knn_config or RetrievalConfig()).build().fit(X.iloc[train], y.iloc[train])
    seg = Segment(
        valid_from=split.test_start,
        model=model,
        knn=knn,
        train_start=X.index[train[0]],
        train_end=X.index[train[-1]],
        train_rows=len(train),
        base_rates={
            "up": float(np.nanmean(y["up"].to_numpy()[train])),
            **{
                c: float(np.nanmean(y["direction"].to_numpy()[train] == k))
                for k, c in enumerate(DIRS)
            },
        },
    )
    if len(split.calib):
        seg.calib_start, seg.calib_end = X.index[split.calib[0]], X.index[split.calib[-1]]
        lookback = getattr(config, "sequence_length", 1)
        raw = rows_outputs(kind, seg, X, split.calib, lookback)
        lab = y["direction"].to_numpy()[split.calib]
        seg.direction_calibrator = MulticlassCalibrator(calibration_method, factored=True).fit(  # type: ignore[arg-type]
            raw.loc[:, list(DIRS)].to_numpy(), lab
        )
        cal_probs = raw.copy()
        cal_probs.loc[:, list(DIRS)] = seg.direction_calibrator.predict(
            raw.loc[:, list(DIRS)].to_numpy()
        )
        right = call_right(cal_probs, y["fwd_ret"].to_numpy()[split.calib])
        seg.confidence_calibrator = make_calibrator(calibration_method).fit(  # type: ignore[arg-type]
            call_confidence(raw, cal_probs), right
        )
    return seg


def fit_walk_forward(
    kind: str,
    config: Any,
    X: pd.DataFrame,
    y: pd.DataFrame,
    splits: list[Split],
    *,
    feature_set: FeatureSet,
    horizon_minutes: int,
    embargo_minutes: int,
    calibration_method: str = "platt",
    knn_config: RetrievalConfig | None = None,
    data_hash: str = "",
    code_version: str = "",
) -> ModelBundle:
    """One segment per split, in time order, packed into a :class:`ModelBundle`."""
    segments = []
    for i, split in enumerate(splits):
        logger.info(
            "walk-forward %s segment %d/%d: %d train rows",
            kind,
            i + 1,
            len(splits),
            len(split.train),
        )
        segments.append(fit_segment(kind, config, X, y, split, calibration_method, knn_config))
    return ModelBundle(
        kind=kind,
        config=asdict(config),
        feature_set=feature_set.name,
        feature_set_version=feature_set.version,
        schema_hash=feature_set.schema_hash,
        columns=tuple(feature_set.columns),
        horizon_minutes=horizon_minutes,
        embargo_minutes=embargo_minutes,
        segments=segments,
        data_hash=data_hash,
        code_version=code_version,
    )


def predict_frame(
    bundle: ModelBundle, market_frame: pd.DataFrame, features: pd.DataFrame, *, raw: bool = False
) -> pd.DataFrame:
    """Causal context columns for every row of ``market_frame`` (see the module docstring).

    Raises
    ------
    ModelError
        The features' schema differs from the bundle's.

    With ``raw`` the uncalibrated ``raw_direction_prob_*`` and the row's segment number
    (``segment``) are added (for evaluation).
    """
    check_schema(
        bundle, frame_schema_hash(features, bundle.feature_set, bundle.feature_set_version)
    )
    X = model_inputs(bundle.kind, market_frame, features)
    extra = [f"raw_{c}" for c in DIRS] + ["segment"] if raw else []
    out = pd.DataFrame(np.nan, index=market_frame.index, columns=[*CONTEXT_COLUMNS, *extra])
    ts = np.asarray(pd.DatetimeIndex(market_frame.index).as_unit("ns").asi8)
    starts = [int(s.valid_from.value) for s in bundle.segments]
    lookback = int(bundle.config.get("sequence_length", 1))
    for j, seg in enumerate(bundle.segments):
        stop = starts[j + 1] if j + 1 < len(starts) else None
        m = ts >= starts[j]
        if stop is not None:
            m &= ts < stop
        rows = np.flatnonzero(m)
        if not len(rows):
            continue
        raw_out = rows_outputs(bundle.kind, seg, X, rows, lookback)
        values = calibrated(seg, raw_out).to_numpy()
        if raw:
            values = np.column_stack(
                [values, raw_out.loc[:, list(DIRS)].to_numpy(), np.full(len(rows), j)]
            )
        out.iloc[rows] = values
    return out


def embed_frame(
    bundle: ModelBundle, market_frame: pd.DataFrame, features: pd.DataFrame
) -> pd.DataFrame:
    """The Gaussian predictor's embedding (``emb_0`` ...) for every row, causally.

    Each row is embedded by the segment valid at its time (as :func:`predict_frame`), from
    the window of features that ends at the row; rows before the first segment, or
    without a full window, are NaN.

    Raises
    ------
    ModelError
        The bundle is not a Gaussian predictor (only it has an embedding), or the
        features' schema differs from the bundle's.
    """
    if bundle.kind != "predictor":
        raise ModelError(
            f"a {bundle.kind!r} bundle has no embedding; train the Gaussian predictor "
            "(`zerodte train predictor`) for qscorer.predictor_embedding"
        )
    check_schema(
        bundle, frame_schema_hash(features, bundle.feature_set, bundle.feature_set_version)
    )
    X = model_inputs(bundle.kind, market_frame, features)
    width = int(bundle.config["hidden"])
    out = np.full((len(market_frame), width), np.nan)
    ts = np.asarray(pd.DatetimeIndex(market_frame.index).as_unit("ns").asi8)
    starts = [int(seg.valid_from.value) for seg in bundle.segments]
    lookback = int(bundle.config.get("sequence_length", 1))
    for j, seg in enumerate(bundle.segments):
        m = ts >= starts[j]
        if j + 1 < len(starts):
            m &= ts < starts[j + 1]
        rows = np.flatnonzero(m)
        if not len(rows):
            continue
        lo = max(0, int(rows[0]) - lookback + 1)
        emb = seg.model.embed(X.iloc[lo : int(rows[-1]) + 1])
        out[rows] = emb[rows - lo]
    return pd.DataFrame(out, index=market_frame.index, columns=[f"emb_{k}" for k in range(width)])


def context_source(
    predictions: pd.DataFrame, columns: Sequence[str] = CONTEXT_COLUMNS
) -> Callable[[int], dict[str, float]]:
    """``cycle -> {column: value}`` over ``columns`` of a frame (NaN entries omitted).

    ``predictions`` is a :func:`predict_frame` result, possibly joined with regime columns
    (``hmm_*``) by passing their names in ``columns``.
    """
    values = predictions.loc[:, list(columns)].to_numpy(np.float64)
    names = list(columns)

    def context(i: int) -> dict[str, float]:
        row = values[i]
        return {n: float(v) for n, v in zip(names, row, strict=True) if not np.isnan(v)}

    return context
