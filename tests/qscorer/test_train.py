"""Training: walk-forward split with embargo, determinism, learning, atomic artifacts."""

from __future__ import annotations

import itertools
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
    q = QScorerSettings(model="mlp", epochs=6, ensemble_size=3, hidden=(16, 16), seed=3)
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


def test_best_offset_centres_calibration_residuals_only() -> None:
    q = QScorerSettings(
        model="mlp", epochs=4, ensemble_size=2, hidden=(8,), calibration_fraction=0.2
    )
    ds = toy_dataset(2000)
    res = train_q_scorer(ds, q)
    rows = ds.labelled.sort_values("timestamp").reset_index(drop=True)
    y = rows[["target_call", "target_put"]].to_numpy()
    x = ds.features(rows)
    cal, val = res.split.calibration, res.split.validation
    assert len(cal) and set(cal).isdisjoint(val)
    # the offset is fitted for the model that never saw the calibration window
    resid = y[cal] - res.evaluation_model.predict(x[cal]).mean
    assert np.abs(resid.mean(axis=0)).max() < 1e-6
    # no calibration window: no offset, and the validation window is only reported on
    plain = train_q_scorer(ds, QScorerSettings(model="mlp", epochs=4, ensemble_size=2, hidden=(8,)))
    assert np.array_equal(plain.model.offset, np.zeros(2))
    assert plain.metrics["metrics_window"].startswith("validation")


@hsettings(max_examples=30, deadline=None)
@given(
    es=st.sampled_from([0.0, 0.1, 0.2]),
    cal=st.sampled_from([0.0, 0.1, 0.15]),
    val=st.floats(0.1, 0.3),
    embargo=st.integers(1, 60),
)
def test_four_windows_are_disjoint_in_time(es: float, cal: float, val: float, embargo: int) -> None:
    n = 3000
    step = np.ones(n, dtype=np.int64)
    step[::390] = 1000
    t = pd.Series(
        pd.Timestamp("2024-01-02 09:30", tz="America/New_York")
        + pd.to_timedelta(np.cumsum(step), "min")
    )
    ends = t + pd.Timedelta(minutes=embargo)
    s = walk_forward_split(
        t, ends, val, embargo, early_stopping_fraction=es, calibration_fraction=cal
    )
    used = [w for w in ("train", "early_stopping", "calibration", "validation") if len(s.rows(w))]
    assert len(used) == 2 + (es > 0) + (cal > 0)
    for a, b in itertools.pairwise(used):
        ra, rb = s.rows(a), s.rows(b)
        assert t.iloc[ra].max() + pd.Timedelta(minutes=embargo) < t.iloc[rb].min()
        assert ends.iloc[ra].max() < t.iloc[rb].min()


@pytest.mark.parametrize("model", ["mlp", "structured"])
def test_q_estimates_the_conditional_mean_under_heteroscedastic_noise(model: str) -> None:
    """Two states with the same mean reward (-5 $) and very different spreads.

    A loss weighted by the sign of the label converges to E[w y] / E[w], which moves the
    noisy state's estimate up by about a quarter of its standard deviation (-5 -> +11 with
    weight 2 and sd 60). The unweighted loss must find -5 for both.
    """
    from zerodte.qscorer.dataset import DatasetReport, QDataset

    rng = np.random.default_rng(7)
    n = 24_000
    noisy = rng.random(n) < 0.5
    x = np.column_stack([noisy.astype(float), rng.normal(size=n)])
    y = -5.0 + np.where(noisy, rng.normal(0, 60, n), rng.normal(0, 5, n))
    ts = pd.date_range("2024-01-02 09:30", periods=n, freq="1min", tz="America/New_York")
    fr = pd.DataFrame(x, columns=["noisy", "z"])
    fr["timestamp"], fr["session"] = ts, ts.date
    fr["target_call"], fr["target_put"] = y, y[::-1].copy()
    fr["label_end"] = ts + pd.Timedelta(minutes=15)
    fr["action"] = fr["executed_action"] = 0
    fr["prob_hold"], fr["prob_call"], fr["prob_put"], fr["reward"] = 0.9, 0.05, 0.05, 0.0
    ds = QDataset(fr, ("noisy", "z"), "h", 15, DatasetReport(15, n, n, n, 0))
    q = QScorerSettings(
        model=model, epochs=8, ensemble_size=3, hidden=(16,), cost_columns=("noisy", "z"),
        direction_terms=("z",), cost_trees=60, cost_min_leaf=200.0,
    )  # fmt: skip
    res = train_q_scorer(ds, q)
    probe = np.array([[1.0, 0.0], [0.0, 0.0]])
    mean = res.model.predict(probe).mean
    np.testing.assert_allclose(mean, -5.0, atol=3.0)


def test_ensemble_members_are_bagged_by_session() -> None:
    from zerodte.qscorer.train import session_bootstrap_weights

    sessions = np.repeat(np.arange(30), 50)
    w = session_bootstrap_weights(sessions, 4, np.random.default_rng(0))
    assert w.shape == (4, 1500)
    for m in range(4):
        per = w[m].reshape(30, 50)
        assert (per == per[:, :1]).all()  # one weight per session
    assert not np.array_equal(w[0], w[1])


def test_every_bagged_member_holds_data_even_with_few_sessions() -> None:
    """With one or two sessions a Poisson(1) draw is often all zeros (e^-1 per member for
    one session); such a member is drawn again, so none trains on nothing (xgboost refused
    it with a NaN base score)."""
    from zerodte.qscorer.train import session_bootstrap_weights

    for n_sessions in (1, 2):
        w = session_bootstrap_weights(
            np.repeat(np.arange(n_sessions), 10), 200, np.random.default_rng(0)
        )
        assert w.shape == (200, 10 * n_sessions)
        assert (w.sum(axis=1) > 0).all()
    many = session_bootstrap_weights(np.repeat(np.arange(30), 5), 50, np.random.default_rng(1))
    assert abs(many.mean() - 1.0) < 0.05  # Poisson(1) draws where no redraw is needed


def test_early_stopping_uses_its_own_window() -> None:
    q = QScorerSettings(
        model="mlp", epochs=5, ensemble_size=2, hidden=(8,), early_stopping_fraction=0.2
    )
    res = train_q_scorer(toy_dataset(2500), q)
    losses = [h["early_stopping_loss"] for h in res.history]
    assert res.metrics["best_epoch"] == int(np.argmin(losses))
    assert set(res.split.early_stopping).isdisjoint(res.split.validation)
    assert res.split.to_dict()["early_stopping_rows"] == len(res.split.early_stopping)


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
