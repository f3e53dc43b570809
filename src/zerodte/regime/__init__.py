"""Market regimes: the 3x3x3 filtered HMM and the rule-based five-regime filter."""

from zerodte.regime.hmm import (
    OUTPUT_COLUMNS,
    RegimeConfig,
    RegimeModel,
    RegimeStream,
)
from zerodte.regime.rules import (
    DEFAULT_THRESHOLDS,
    Regime,
    RegimeThresholds,
    classify_regime,
    classify_regimes,
)
from zerodte.regime.walk_forward import walk_forward_regime

__all__ = [
    "DEFAULT_THRESHOLDS",
    "OUTPUT_COLUMNS",
    "Regime",
    "RegimeConfig",
    "RegimeModel",
    "RegimeStream",
    "RegimeThresholds",
    "classify_regime",
    "classify_regimes",
    "walk_forward_regime",
]
