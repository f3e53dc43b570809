"""Predictors (Gaussian network, boosted trees, kNN retrieval, PatchTST), calibration and
model bundles. Everything is trained walk-forward (see :mod:`zerodte.models.walkforward`)."""

from zerodte.models.bundle import ModelBundle, Segment, check_schema, load_bundle
from zerodte.models.calibration import (
    IsotonicCalibrator,
    MulticlassCalibrator,
    PlattCalibrator,
    RegimeCalibrator,
    brier_score,
    expected_calibration_error,
    reliability_curve,
)
from zerodte.models.targets import make_targets
from zerodte.models.tracking import CalibrationTracker
from zerodte.models.walkforward import Split, walk_forward_splits
from zerodte.models.walkforward_fit import (
    CONTEXT_COLUMNS,
    KINDS,
    context_source,
    embed_frame,
    fit_walk_forward,
    model_config,
    predict_frame,
)

__all__ = [
    "CONTEXT_COLUMNS",
    "KINDS",
    "CalibrationTracker",
    "IsotonicCalibrator",
    "ModelBundle",
    "MulticlassCalibrator",
    "PlattCalibrator",
    "RegimeCalibrator",
    "Segment",
    "Split",
    "brier_score",
    "check_schema",
    "context_source",
    "embed_frame",
    "expected_calibration_error",
    "fit_walk_forward",
    "load_bundle",
    "make_targets",
    "model_config",
    "predict_frame",
    "reliability_curve",
    "walk_forward_splits",
]
