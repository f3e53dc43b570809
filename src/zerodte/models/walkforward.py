"""Walk-forward splits: train, then a calibration window, then test, in time order.

Every split ``j`` is built on whole sessions::

    [ train sessions ........ ][embargo][ calib sessions ][embargo][ test sessions ]

Training rows precede calibration rows, which precede test rows; rows closer than
``embargo_minutes`` (>= the label horizon) to the start of the next window are dropped,
so no label of an earlier window overlaps a later window. Test windows of successive
splits tile the tail of the data without overlapping. There is never a random split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.schema import TIMEZONE


@dataclass(frozen=True)
class Split:
    """Row positions of one walk-forward split (``test`` is empty for the final split)."""

    train: np.ndarray
    calib: np.ndarray
    test: np.ndarray
    test_start: pd.Timestamp
    test_end: pd.Timestamp | None

    @property
    def train_end(self) -> int:
        """Last training row position (``-1`` when empty)."""
        return int(self.train[-1]) if len(self.train) else -1


def _sessions(timestamps: pd.DatetimeIndex) -> np.ndarray:
    if timestamps.tz is None:
        raise DataError("walk-forward splits need tz-aware timestamps (America/New_York)")
    if not timestamps.is_monotonic_increasing:
        raise DataError("walk-forward splits need timestamps sorted in increasing order")
    local = timestamps.tz_convert(TIMEZONE)
    return np.asarray(local.normalize().tz_localize(None).asi8)


def _embargoed(rows: np.ndarray, ts: np.ndarray, boundary: int, embargo_ns: int) -> np.ndarray:
    return rows[ts[rows] < boundary - embargo_ns]


def walk_forward_splits(
    timestamps: pd.DatetimeIndex,
    *,
    n_splits: int | None = None,
    train_days: int | None = None,
    test_days: int | None = None,
    calib_days: int = 0,
    embargo_minutes: int,
    expanding: bool = True,
    final: bool = False,
) -> list[Split]:
    """Session-aligned walk-forward splits over ``timestamps`` (one per row, sorted).

    Parameters
    ----------
    n_splits, test_days
        Test windows: ``n_splits`` windows of ``test_days`` sessions; give either (the other
        is derived so the windows tile the sessions after the first train + calib window).
    train_days
        Training sessions (the first window's length; later windows grow when
        ``expanding``, else slide). Default: half of the sessions.
    calib_days
        Sessions between training and test for fitting calibrators (0 for none).
    embargo_minutes
        Gap between windows; must be at least the label horizon.
    final
        Append a split that trains on everything (minus the last ``calib_days`` sessions,
        used for calibration) with an empty test window: the deployable model.
    """
    if embargo_minutes < 0:
        raise DataError(f"embargo_minutes must be >= 0, got {embargo_minutes}")
    ts_index = pd.DatetimeIndex(timestamps).as_unit("ns")
    day = _sessions(ts_index)
    ts = np.asarray(ts_index.asi8)
    days = np.unique(day)
    n_days = len(days)
    train_days = train_days if train_days is not None else max(1, n_days // 2)
    first_test = train_days + calib_days
    room = n_days - first_test
    if room < 1 and not final:
        raise DataError(
            f"walk-forward needs more sessions: {n_days} sessions, {train_days} train + "
            f"{calib_days} calibration leave none to test; use more --days or fewer train days"
        )
    if test_days is None:
        test_days = math.ceil(room / n_splits) if n_splits else room
    test_days = max(1, test_days)
    if n_splits is None:
        n_splits = math.ceil(room / test_days) if room > 0 else 0
    embargo_ns = int(embargo_minutes) * 60_000_000_000
    rows = np.arange(len(ts))
    starts = [
        first_test + j * test_days for j in range(n_splits) if first_test + j * test_days < n_days
    ]
    splits: list[Split] = []
    for start in [*starts, *([n_days] if final else [])]:
        stop = min(start + test_days, n_days) if start < n_days else n_days
        calib_start = start - calib_days
        train_start = 0 if expanding else max(0, calib_start - train_days)
        big = np.iinfo(np.int64).max

        def bound(i: int, big: int = big) -> int:
            return int(days[i]) if i < n_days else big

        train = rows[(day >= days[train_start]) & (day < bound(calib_start))]
        test = (
            rows[(day >= days[start]) & (day < days[stop - 1] + 1)] if start < n_days else rows[:0]
        )
        calib = rows[(day >= days[calib_start]) & (day < bound(start))] if calib_days else rows[:0]
        calib_boundary = int(ts[calib[0]]) if len(calib) else None
        test_boundary = int(ts[test[0]]) if len(test) else int(ts[-1]) + 60_000_000_000
        train = _embargoed(train, ts, calib_boundary or test_boundary, embargo_ns)
        calib = _embargoed(calib, ts, test_boundary, embargo_ns)
        splits.append(
            Split(
                train=train,
                calib=calib,
                test=test,
                test_start=pd.Timestamp(test_boundary, tz="UTC").tz_convert(TIMEZONE),
                test_end=ts_index[test[-1]] if len(test) else None,
            )
        )
    return splits
