"""Causal features: one definition per feature serving batch and streaming paths."""

from zerodte.features.compute import FeatureStream, compute_features, valid_mask
from zerodte.features.sets import FEATURE_SETS, FeatureSet, custom_feature_set, get_feature_set

__all__ = [
    "FEATURE_SETS",
    "FeatureSet",
    "FeatureStream",
    "compute_features",
    "custom_feature_set",
    "get_feature_set",
    "valid_mask",
]
