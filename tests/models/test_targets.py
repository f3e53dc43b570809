"""Labels: never cross a session; a label at t depends only on bars t+1..t+h."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zerodte.models.targets import make_targets

from .conftest import MarketCase


def test_labels_stay_in_session_and_match_definition(small_case: MarketCase) -> None:
    f, y = small_case.frame, small_case.targets
    last = f.groupby("session")["minute"].transform("max")
    assert y["fwd_ret"][f["minute"] > last - 15].isna().all()
    i = 100
    expect = 100 * (f["spy_close"].iloc[i + 15] / f["spy_close"].iloc[i] - 1)
    assert np.isclose(y["fwd_ret"].iloc[i], expect)
    hi = f["spy_high"].iloc[i + 1 : i + 16].max() / f["spy_close"].iloc[i] - 1
    assert y["reach_0.1_15_up"].iloc[i] == float(hi >= 0.001)


def test_labels_need_only_horizon_after_t(small_case: MarketCase) -> None:
    f = small_case.frame
    k = 2000
    part = make_targets(f.iloc[: k + 16], 15, 0.05, (0.1,), (15,))
    full = small_case.targets.iloc[: k + 1]
    pd.testing.assert_frame_equal(part.iloc[: k + 1], full)
