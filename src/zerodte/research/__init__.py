"""Performance statistics, overfitting statistics and run reports (pure functions of records)."""

from zerodte.research.bootstrap import bootstrap_ci
from zerodte.research.overfitting import (
    DSRResult,
    PBOResult,
    deflated_sharpe,
    expected_max_sharpe,
    pbo,
    probabilistic_sharpe,
    sharpe_moments,
)
from zerodte.research.report import write_run_report
from zerodte.research.stats import (
    SUMMARY_KEYS,
    daily_pnl,
    daily_returns,
    paired_bootstrap_diff,
    summarize,
)

__all__ = [
    "SUMMARY_KEYS",
    "DSRResult",
    "PBOResult",
    "bootstrap_ci",
    "daily_pnl",
    "daily_returns",
    "deflated_sharpe",
    "expected_max_sharpe",
    "paired_bootstrap_diff",
    "pbo",
    "probabilistic_sharpe",
    "sharpe_moments",
    "summarize",
    "write_run_report",
]
