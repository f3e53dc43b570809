"""Training: walk-forward split with embargo, determinism, learning, atomic artifacts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from zerodte.config.settings import QScorerSettings
from zerodte.errors import ModelError
from zerodte.qscorer.artifacts import METADATA_FILE, MODEL_FILE, load_model, save_model
from zerodte.qscorer.train import train_q_scorer, walk_forward_split

from .conftest import toy_dataset


@hsettings(max_examples=40, deadline=None)
@given(
    n=st.integers(200, 2000),
    frac=st.floats(0.1, 0.5),
    embargo=st.integers(1, 90),
    gap_every=st.integers(50, 400),
)
def test_walk_forward_disjoint_with_embargo(
    n: int, frac: float, embargo: int, gap_every: int
) -> None:
    step = np.ones(n, dtype=np.int64)
    step[::gap_every] = 1000  # overnight-like gaps
    minutes = np.cumsum(step)
    t = pd.Series(
        pd.Timestamp("2024-01-02 09:30", tz="America/New_York") + pd.to_timedelta(minutes, "min")
    )
    ends = t + pd.Timedelta(minutes=embargo)
    try:
        s = walk_forward_split(t, ends, frac, embargo)
    except Exception:
        return  # too few rows: refused, never a bad split
    tt, tv = t.iloc[s.train], t.iloc[s.validation]
    assert tt.max() + pd.Timedelta(minutes=embargo) < tv.min()
    assert ends.iloc[s.train].max() < tv.min()
    assert set(s.train).isdisjoint(s.validation)
    assert s.embargo_minutes >= 1


def test_long_trade_labels_are_embargoed() -> None:
    ds = toy_dataset(600)
    fr = ds.frame
    t = fr["timestamp"]
    ends = t + pd.Timedelta(minutes=15)
    ends.iloc[400] = t.iloc[-1]  # a trade label that ends at the very end
    s = walk_forward_split(t, ends, 0.25, 15)
    assert 400 not in set(s.train)


def test_training_learns_and_is_deterministic() -> None:
    q = QScorerSettings(epochs=6, ensemble_size=3, hidden=(16, 16), seed=3)
    ds = toy_dataset(2500)
    a = train_q_scorer(ds, q)
    b = train_q_scorer(ds, q)
    x = ds.features()[:100]
    assert np.array_equal(a.model.predict(x).mean, b.model.predict(x).mean)
    assert a.metrics["call"]["pearson"] > 0.5
    assert a.metrics["put"]["pearson"] > 0.5
    # the LCB is below the mean by z * std
    p = a.model.predict(x)
    assert np.allclose(p.lcb, p.mean - q.lcb_z * p.std)
    assert a.split.train_end + pd.Timedelta(minutes=15) < a.split.validation_start


def test_best_offset_centres_validation_residuals() -> None:
    q = QScorerSettings(epochs=4, ensemble_size=2, hidden=(8,), positive_weight=4.0)
    ds = toy_dataset(2000)
    res = train_q_scorer(ds, q)
    rows = ds.labelled.sort_values("timestamp").reset_index(drop=True)
    xv = ds.features(rows)[res.split.validation]
    yv = rows[["target_call", "target_put"]].to_numpy()[res.split.validation]
    resid = yv - res.model.predict(xv).mean
    assert np.abs(resid.mean(axis=0)).max() < 1e-6


def test_save_load_roundtrip_and_hash(toy_model, tmp_path) -> None:
    d, res = toy_model
    loaded = load_model(d)
    x = np.random.default_rng(0).normal(size=(50, 4))
    assert np.array_equal(loaded.model.predict(x).lcb, res.model.predict(x).lcb)
    meta = json.loads((d / METADATA_FILE).read_text())
    for key in (
        "feature_columns",
        "schema_hash",
        "normalisation",
        "horizon",
        "pt_sha256",
        "code_version",
        "best_offset",
    ):
        assert key in meta
    # a .pt from another training with this metadata is refused
    other = tmp_path / "other"
    save_model(other, res.model, {"x": 1})
    (other / MODEL_FILE).write_bytes((other / MODEL_FILE).read_bytes() + b"junk")
    with pytest.raises(ModelError, match="does not match"):
        load_model(other)
