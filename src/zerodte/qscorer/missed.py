"""MissedOpportunityRecords: which decisions get ghost rewards, why they were not entered,
their file in the run directory, and the gap between the full and simplified estimates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from zerodte.io import atomic_write
from zerodte.records import ghost_column
from zerodte.types import Action, Right

MISSED_FILE = "missed.parquet"
RIGHTS: tuple[tuple[str, Right], ...] = (("call", Right.CALL), ("put", Right.PUT))
"""The two rights of the ghost columns, in their canonical order."""


def ghost_columns(horizons: Sequence[int]) -> list[str]:
    """Ghost column names in canonical order: calls by horizon, then puts by horizon."""
    return [ghost_column(label, int(h)) for label, _ in RIGHTS for h in horizons]


def select_missed(decisions: pd.DataFrame, label_mode: str) -> np.ndarray:
    """Boolean mask of the decisions that get a MissedOpportunityRecord."""
    executed = decisions["executed_action"].to_numpy(np.int64)
    not_entered = executed == int(Action.HOLD)
    if label_mode == "all":
        return not_entered
    if label_mode == "flat_only":
        return not_entered & decisions["flat"].to_numpy(bool)
    if label_mode == "hold_only":
        return decisions["action"].to_numpy(np.int64) == int(Action.HOLD)
    raise ValueError(f"unknown qscorer.label_mode {label_mode!r}; use all, flat_only or hold_only")


def missed_reason(chosen: pd.DataFrame) -> np.ndarray:
    """Why each chosen decision was not entered: ``hold``, ``veto: ...`` or ``not executed``."""
    action = chosen["action"].to_numpy(np.int64)
    vetoes = chosen["vetoes"].fillna("").astype(str).to_numpy() if "vetoes" in chosen else None
    reason = np.full(len(chosen), "hold", dtype=object)
    entered_wish = action != int(Action.HOLD)
    if vetoes is not None:
        vetoed = entered_wish & (vetoes != "")
        reason[vetoed] = np.char.add("veto: ", vetoes[vetoed].astype(str)).astype(object)
        reason[entered_wish & ~vetoed] = "not executed"
    else:
        reason[entered_wish] = "not executed"
    return reason


def write_missed(run_dir: Path, records: pd.DataFrame) -> Path:
    """Write MissedOpportunityRecords to ``run_dir/missed.parquet`` atomically."""
    return atomic_write(Path(run_dir) / MISSED_FILE, lambda p: records.to_parquet(p, index=False))


def read_missed(run_dir: Path) -> pd.DataFrame:
    """Read ``run_dir/missed.parquet``."""
    return pd.read_parquet(Path(run_dir) / MISSED_FILE)


def compare_estimates(full: pd.DataFrame, simple: pd.DataFrame) -> pd.DataFrame:
    """Gap between the full repricing and the simplified estimate, per right and horizon.

    Columns: ``right, horizon, n, mean_full, mean_simple, mean_abs_diff, median_abs_diff,
    corr`` (Pearson; NaN with fewer than 3 rows or no variance).
    """
    rows = []
    for col in full.columns:
        if not col.startswith("ghost_"):
            continue
        _, right, hz = col.split("_")
        a = full[col].to_numpy(np.float64)
        b = simple[col].to_numpy(np.float64)
        ok = np.isfinite(a) & np.isfinite(b)
        a, b = a[ok], b[ok]
        diff = np.abs(a - b)
        corr = float("nan")
        if len(a) >= 3 and a.std() > 0 and b.std() > 0:
            corr = float(np.corrcoef(a, b)[0, 1])
        rows.append(
            {
                "right": right,
                "horizon": int(hz.rstrip("m")),
                "n": len(a),
                "mean_full": float(a.mean()) if len(a) else float("nan"),
                "mean_simple": float(b.mean()) if len(b) else float("nan"),
                "mean_abs_diff": float(diff.mean()) if len(a) else float("nan"),
                "median_abs_diff": float(np.median(diff)) if len(a) else float("nan"),
                "corr": corr,
            }
        )
    return pd.DataFrame(rows).sort_values(["horizon", "right"]).reset_index(drop=True)
