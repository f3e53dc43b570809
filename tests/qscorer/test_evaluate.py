"""Anti-selection check: rank correlation of Q with realised reward, sessions resampled."""

from __future__ import annotations

import numpy as np

from zerodte.qscorer.evaluate import anti_selection


def _sessions(n_days: int, per_day: int) -> np.ndarray:
    return np.repeat(np.arange(n_days), per_day)


def test_anti_selection_flags_a_model_that_ranks_backwards() -> None:
    rng = np.random.default_rng(1)
    days = _sessions(40, 50)
    reward = rng.normal(size=len(days))
    pred = -reward + 0.5 * rng.normal(size=len(days))
    out = anti_selection(pred, reward, days, n_boot=500)
    assert out["flag"] is True
    assert out["spearman"] < -0.8 and out["ci95"][1] < 0
    assert out["sessions"] == 40


def test_anti_selection_does_not_flag_a_shared_daily_shock() -> None:
    # Within a day every row shares one shock in both Q and reward (overlapping labels);
    # the days are independent and unrelated, so there is no anti-selection. Their sample
    # correlation happens to be -0.26 (seed 3): a bootstrap over rows would see 2,000
    # "independent" points and flag it; over 20 sessions the interval is honestly wide.
    rng = np.random.default_rng(3)
    days = _sessions(20, 100)
    day_q, day_r = rng.normal(size=20), rng.normal(size=20)
    pred = day_q[days] + 0.05 * rng.normal(size=len(days))
    reward = day_r[days] + 0.05 * rng.normal(size=len(days))
    out = anti_selection(pred, reward, days, n_boot=500)
    lo, hi = out["ci95"]
    assert lo < out["spearman"] < hi
    assert hi - lo > 0.3, out  # honest width for 20 independent days
    assert out["spearman"] < -0.1
    assert out["flag"] is False


def test_anti_selection_ignores_missing_rows_and_needs_variation() -> None:
    days = _sessions(5, 4)
    pred = np.arange(20, dtype=float)
    reward = np.where(np.arange(20) % 3 == 0, np.nan, pred)
    out = anti_selection(pred, reward, days, n_boot=200)
    assert out["n"] == int(np.isfinite(reward).sum())
    assert out["spearman"] > 0.99 and out["flag"] is False
    flat = anti_selection(np.ones(20), reward, days)
    assert flat["spearman"] is None and flat["flag"] is False
