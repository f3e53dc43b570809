"""Walk-forward splits: time order, embargo, test windows never overlap."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from zerodte.models.walkforward import walk_forward_splits


def _index(n_days: int, per_day: int = 30) -> pd.DatetimeIndex:
    days = pd.bdate_range("2024-01-02", periods=n_days, tz="America/New_York")
    stamps = [d + pd.Timedelta(hours=9, minutes=30 + m) for d in days for m in range(per_day)]
    return pd.DatetimeIndex(stamps)


@settings(max_examples=40, deadline=None)
@given(
    n_days=st.integers(6, 40),
    n_splits=st.integers(1, 5),
    calib=st.integers(0, 3),
    embargo=st.integers(0, 20),
    expanding=st.booleans(),
    final=st.booleans(),
)
def test_windows_ordered_embargoed_and_disjoint(  # noqa: PLR0917
    n_days: int, n_splits: int, calib: int, embargo: int, expanding: bool, final: bool
) -> None:
    idx = _index(n_days)
    ts = idx.as_unit("ns").asi8
    splits = walk_forward_splits(
        idx,
        n_splits=n_splits,
        train_days=n_days // 3 or 1,
        calib_days=calib,
        embargo_minutes=embargo,
        expanding=expanding,
        final=final,
    )
    gap = embargo * 60_000_000_000
    seen_test: set[int] = set()
    prev_end = -1
    for s in splits:
        assert len(s.train) > 0
        windows = [w for w in (s.train, s.calib, s.test) if len(w)]
        for a, b in itertools.pairwise(windows):
            assert ts[a].max() + gap <= ts[b].min()  # earlier window ends an embargo before
        assert not (set(s.train) & set(s.test)) and not (set(s.calib) & set(s.test))
        assert not (set(s.test.tolist()) & seen_test)  # test windows never overlap
        seen_test |= set(s.test.tolist())
        if len(s.test):
            assert s.test.min() > prev_end
            prev_end = int(s.test.max())
            assert s.test_start == idx[s.test[0]]


def test_final_split_trains_on_everything_but_calibration() -> None:
    idx = _index(10)
    s = walk_forward_splits(
        idx, n_splits=2, train_days=4, calib_days=2, embargo_minutes=15, final=True
    )[-1]
    assert len(s.test) == 0 and s.test_start > idx[-1]
    assert np.isin(np.arange(len(idx) - 2 * 30), s.train).mean() > 0.9
    assert len(s.calib) > 0 and idx[s.calib[-1]] <= idx[-1]
