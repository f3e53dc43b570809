"""No look-ahead: features at t from data[:t+1] equal features at t from the full data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zerodte.features import compute_features

CUTS = (0, 4, 14, 29, 59, 139, 200, 388, 389, 390, 391, 405, 420, 779, 780, 1000, 1169)


@pytest.fixture(scope="module")
def full(synth_frame: pd.DataFrame) -> pd.DataFrame:
    return compute_features(synth_frame, "default")


@pytest.mark.parametrize("cut", CUTS)
def test_default_features_do_not_look_ahead(synth_frame, full, cut: int) -> None:
    part = compute_features(synth_frame.iloc[: cut + 1], "default")
    got, want = part.iloc[cut], full.iloc[cut]
    bad = [
        c
        for c in full.columns
        if not np.isclose(got[c], want[c], rtol=1e-9, atol=1e-10, equal_nan=True)
    ]
    assert not bad, f"row {cut}: features changed when later data was removed: {bad}"


def test_future_garbage_does_not_leak(synth_frame, full) -> None:
    cut = 500
    noisy = synth_frame.copy()
    rng = np.random.default_rng(0)
    for col in ("spy_open", "spy_high", "spy_low", "spy_close", "qqq_close", "vix_close"):
        noisy.iloc[cut + 1 :, noisy.columns.get_loc(col)] *= rng.uniform(
            0.9, 1.1, len(noisy) - cut - 1
        )
    noisy.iloc[cut + 1 :, noisy.columns.get_loc("spy_volume")] *= 7.0
    changed = compute_features(noisy, "default")
    np.testing.assert_allclose(
        changed.iloc[: cut + 1].to_numpy(), full.iloc[: cut + 1].to_numpy(), rtol=1e-12
    )
    assert not np.allclose(changed.iloc[cut + 5 :].to_numpy(), full.iloc[cut + 5 :].to_numpy())


@pytest.mark.parametrize("cut", (29, 45, 70))
def test_topology_features_do_not_look_ahead(synth_frame, cut: int) -> None:
    frame = synth_frame.iloc[:80]
    full = compute_features(frame, "topology")
    part = compute_features(frame.iloc[: cut + 1], "topology")
    np.testing.assert_allclose(part.iloc[cut], full.iloc[cut], rtol=1e-9, equal_nan=True)


@pytest.mark.parametrize("cut", (10, 20, 400))
def test_optional_features_do_not_look_ahead(synth_frame, cut: int) -> None:
    frame = synth_frame.iloc[:450].copy()
    frame["put_call_ratio"] = np.linspace(0.7, 1.3, len(frame))
    frame["sentiment"] = np.sin(np.arange(len(frame)) / 17.0)
    full = compute_features(frame)
    part = compute_features(frame.iloc[: cut + 1])
    np.testing.assert_allclose(part.iloc[cut], full.iloc[cut], rtol=1e-9, equal_nan=True)
