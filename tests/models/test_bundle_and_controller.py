"""Bundles (round trip, schema refusal, checksum), predict_frame causality, the controller."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings
from zerodte.errors import ModelError
from zerodte.features import compute_features, get_feature_set
from zerodte.models import (
    context_source,
    fit_walk_forward,
    load_bundle,
    predict_frame,
    walk_forward_splits,
)
from zerodte.models.trees import TreeConfig
from zerodte.policy.controllers import build_controller
from zerodte.policy.controllers.prediction import INPUTS, PredictionController
from zerodte.types import Action, Observation

from .conftest import MarketCase

COLS = ("ret_15m", "ret_30m", "volume_spike", "rv_15m", "vix_level", "minute_of_session")


@pytest.fixture(scope="module")
def bundle(small_case: MarketCase):  # type: ignore[no-untyped-def]
    c = small_case
    splits = walk_forward_splits(
        c.frame.index, n_splits=2, train_days=5, calib_days=1, embargo_minutes=15, final=True
    )
    cfg = TreeConfig(
        heads=("direction", "strength", "abs_move"),
        columns=COLS,
        n_estimators=20,
        min_child_weight=20,
    )
    return fit_walk_forward(
        "ensemble",
        cfg,
        c.features,
        c.targets,
        splits,
        feature_set=c.feature_set,
        horizon_minutes=15,
        embargo_minutes=15,
        data_hash="d",
    )


def test_predict_frame_is_walk_forward_and_causal(small_case: MarketCase, bundle) -> None:  # type: ignore[no-untyped-def]
    c = small_case
    pred = predict_frame(bundle, c.frame, c.features)
    first = bundle.segments[0].valid_from
    assert pred[c.frame.index < first].isna().all().all()  # no model trained before it
    assert pred[c.frame.index >= first]["direction_prob_up"].notna().mean() > 0.95
    for seg in bundle.segments:
        assert seg.train_end < seg.valid_from  # each row predicted by a model of earlier data
    k = int(len(c.frame) * 0.8)
    part = predict_frame(
        bundle, c.frame.iloc[:k], compute_features(c.frame.iloc[:k], c.feature_set)
    )
    pd.testing.assert_frame_equal(part, pred.iloc[:k])
    ctx = context_source(pred)(len(pred) - 30)
    assert set(ctx) <= set(pred.columns) and "calibrated_confidence" in ctx


def test_bundle_round_trip_and_schema_refusal(
    small_case: MarketCase, bundle, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bundle.save(tmp_path / "b")
    loaded = load_bundle(tmp_path / "b", expected_schema_hash=small_case.feature_set.schema_hash)
    assert loaded.training_window == bundle.training_window and loaded.data_hash == "d"
    pd.testing.assert_frame_equal(
        predict_frame(loaded, small_case.frame, small_case.features),
        predict_frame(bundle, small_case.frame, small_case.features),
    )
    other = get_feature_set("minimal")
    with pytest.raises(ModelError, match="schema mismatch") as err:
        load_bundle(tmp_path / "b", expected_schema_hash=other.schema_hash)
    assert other.schema_hash[:16] in str(err.value) and bundle.schema_hash[:16] in str(err.value)
    with pytest.raises(ModelError, match="schema mismatch"):
        predict_frame(bundle, small_case.frame, compute_features(small_case.frame, other))
    (tmp_path / "b" / "model.pkl").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="checksum"):
        load_bundle(tmp_path / "b")


def _obs(ctx: dict[str, float]) -> Observation:
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
    return Observation(0, t, t.date(), 30, 300, 470.0, 400.0, 14.0, {}, ctx)


def test_prediction_controller_rule_and_parity() -> None:
    ctrl = build_controller(Settings(), "prediction")
    assert isinstance(ctrl, PredictionController)
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "predicted_return": rng.normal(0, 0.1, n),
            "return_std": rng.uniform(0.05, 0.2, n),
            "direction_prob_down": rng.uniform(0, 0.5, n),
            "direction_prob_neutral": rng.uniform(0, 0.3, n),
            "direction_prob_up": rng.uniform(0, 0.5, n),
            "ml_confidence": rng.uniform(0.4, 0.7, n),
            "calibrated_confidence": np.where(
                rng.uniform(size=n) < 0.2, np.nan, rng.uniform(0.4, 0.7, n)
            ),
        }
    )
    frame.loc[:9, "predicted_return"] = np.nan
    batch = ctrl.decide_batch(frame)
    for i in range(n):
        ctx = {k: float(frame[k].iloc[i]) for k in INPUTS if frame[k].iloc[i] == frame[k].iloc[i]}
        d = ctrl.decide(_obs(ctx))
        assert int(d.action) == int(batch["action"].iloc[i])
        assert d.reasons[0] == batch["reason"].iloc[i]
    assert (batch["action"].iloc[:10] == 0).all()
    assert set(batch["action"]) == {0, 1, 2}
    strong_up = {
        "predicted_return": 0.1,
        "return_std": 0.1,
        "direction_prob_down": 0.2,
        "direction_prob_neutral": 0.3,
        "direction_prob_up": 0.5,
        "ml_confidence": 0.9,
        "calibrated_confidence": 0.6,
    }
    assert ctrl.decide(_obs(strong_up)).action == Action.BUY_CALLS
    assert ctrl.decide(_obs({**strong_up, "calibrated_confidence": 0.5})).action == Action.HOLD
    assert (
        ctrl.decide(
            _obs(
                {
                    **strong_up,
                    "predicted_return": -0.1,
                    "direction_prob_down": 0.6,
                    "direction_prob_up": 0.1,
                }
            )
        ).action
        == Action.BUY_PUTS
    )


def test_tree_up_head_splits_the_move_mass(small_case) -> None:  # type: ignore[no-untyped-def]
    c = small_case
    cfg = TreeConfig(heads=("direction", "up"), columns=COLS, n_estimators=20)
    both = cfg.build().fit(c.features, c.targets).predict(c.features)
    alone = (
        TreeConfig(heads=("up",), columns=COLS, n_estimators=20)
        .build()
        .fit(c.features, c.targets)
        .predict(c.features)
    )
    ok = both["direction_prob_up"].notna()
    assert ok.sum() > 1000
    p = both.loc[ok]
    move = p["direction_prob_up"] + p["direction_prob_down"]
    assert np.allclose(move, 1.0 - p["direction_prob_neutral"])
    # P(up | move) of the combined output is the binary head's own probability
    assert np.allclose(p["direction_prob_up"] / move, alone.loc[ok, "up_prob"], atol=1e-9)
