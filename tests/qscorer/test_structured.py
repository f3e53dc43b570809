"""The structured Q-model Q = s ± d: fit, parity of decide and decide_batch, artifacts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from policy.controller_contract import check_batch_equals_decide
from zerodte.config.settings import QScorerSettings
from zerodte.errors import ModelError
from zerodte.qscorer.artifacts import load_model, save_model
from zerodte.qscorer.controller import QScorerController
from zerodte.qscorer.dataset import DatasetReport, QDataset
from zerodte.qscorer.structured import StructuredQModel, parse_terms
from zerodte.qscorer.train import train_q_scorer

from .test_controller import _obs

COLS = ("move", "ctx", "vol", "clock")
Q = QScorerSettings(
    model="structured",
    cost_columns=("vol", "clock"),
    direction_terms=("move", "move*ctx"),
    ensemble_size=3,
    cost_trees=40,
    cost_min_leaf=50.0,
    direction_ridge=0.01,
)


def dataset(n: int = 6000, seed: int = 0) -> QDataset:
    """Calls pay 30 * move * ctx, puts the opposite; both cost vol (a symmetric part)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    x[:, 1] = rng.random(n) < 0.5  # ctx: the regime in which the move continues
    d = 30 * x[:, 0] * x[:, 1]
    s = -5 - 3 * np.abs(x[:, 2])
    noise = rng.normal(0, 20, n)
    ts = pd.date_range("2024-01-02 09:30", periods=n, freq="1min", tz="America/New_York")
    fr = pd.DataFrame(x, columns=list(COLS))
    fr["timestamp"], fr["session"] = ts, (np.arange(n) // 300)
    fr["target_call"] = s + d + noise + rng.normal(0, 5, n)
    fr["target_put"] = s - d - noise + rng.normal(0, 5, n)  # the move's noise flips sign
    fr["label_end"] = ts + pd.Timedelta(minutes=15)
    fr["action"] = fr["executed_action"] = 0
    fr["prob_hold"], fr["prob_call"], fr["prob_put"], fr["reward"] = 0.9, 0.05, 0.05, 0.0
    return QDataset(fr, COLS, "toy-structured", 15, DatasetReport(15, n, n, n, 0))


@pytest.fixture(scope="module")
def trained():  # type: ignore[no-untyped-def]
    return train_q_scorer(dataset(), Q)


def test_learns_the_symmetric_and_the_directional_part(trained) -> None:  # type: ignore[no-untyped-def]
    m = trained.model
    assert isinstance(m, StructuredQModel) and m.members == 3
    probe = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0]])
    mean = m.predict(probe).mean
    assert mean[0, 0] - mean[0, 1] == pytest.approx(60.0, abs=8.0)  # 2 d = 2 * 30
    assert abs(mean[1, 0] - mean[1, 1]) < 8.0  # no context: no direction
    assert mean[2, 1] > mean[2, 0]  # a fall in the regime favours the put
    assert (mean[:, 0] + mean[:, 1]).mean() / 2 == pytest.approx(-5.0, abs=3.0)
    # the validation figures come from the model fitted without the validation window
    assert trained.report_model is not None and trained.report_model is not m
    assert trained.metrics["refit"]["rows"] > trained.metrics["train_rows"]


def test_decide_equals_decide_batch_and_survives_save_load(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    save_model(tmp_path, trained.model, {"feature_set": "toy"})
    loaded = load_model(tmp_path)
    x = dataset(700, seed=5).frame
    frame = x.loc[:, list(COLS)].set_index(x["timestamp"])
    frame.iloc[3, 2] = np.nan
    np.testing.assert_array_equal(
        loaded.model.predict(frame.to_numpy()[:50]).mean,
        trained.model.predict(frame.to_numpy()[:50]).mean,
    )
    ctl = QScorerController(loaded, q_threshold=2.0, q_min_conf=0.6)
    table = check_batch_equals_decide(
        ctl, frame, lambda i: _obs(frame.iloc[i].to_numpy(), COLS, frame.index[i])
    )
    assert {int(table.decision(i).action) for i in range(len(frame))} == {0, 1, 2}


def test_invalid_models_are_refused(trained) -> None:  # type: ignore[no-untyped-def]
    m = trained.model
    with pytest.raises(ModelError, match="terms"):
        StructuredQModel(
            **{**_fields(m), "d_coef": np.zeros((3, 5))},
        )
    with pytest.raises(ModelError, match="non-finite"):
        StructuredQModel(**{**_fields(m), "d_mean": np.full(2, np.nan)})
    with pytest.raises(ModelError, match="outside the state features"):
        parse_terms(["move*nope"], COLS)


def _fields(m: StructuredQModel) -> dict:  # type: ignore[type-arg]
    return {
        k: getattr(m, k)
        for k in (
            "feature_columns", "schema_hash", "cost_index", "terms", "term_names", "d_mean",
            "d_std", "d_coef", "d_intercept", "boosters", "offset", "lcb_z", "horizon",
        )
    }  # fmt: skip


def test_training_is_deterministic() -> None:
    a = train_q_scorer(dataset(3000), Q).model
    b = train_q_scorer(dataset(3000), Q).model
    x = dataset(200, seed=9).features()
    np.testing.assert_array_equal(a.predict(x).mean, b.predict(x).mean)


def test_a_model_is_refused_with_another_predictor_bundle(trained, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from zerodte.config import Settings, with_overrides
    from zerodte.qscorer.controller import check_predictor

    for name, sha in (("a", "aaaa1111"), ("b", "bbbb2222")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "bundle.json").write_text(json.dumps({"model_sha256": sha}))
    meta = {"predictor": {"path": str(tmp_path / "a"), "model_sha256": "aaaa1111",
                          "columns": ["predicted_return"]}}  # fmt: skip
    save_model(tmp_path / "q", trained.model, meta)
    loaded = load_model(tmp_path / "q")
    with pytest.raises(ModelError, match=r"set models\.predictor_bundle"):
        check_predictor(loaded, Settings())
    other = with_overrides(Settings(), {"models.predictor_bundle": str(tmp_path / "b")})
    with pytest.raises(ModelError, match="bbbb2222"):
        check_predictor(loaded, other)
    same = with_overrides(Settings(), {"models.predictor_bundle": str(tmp_path / "a")})
    check_predictor(loaded, same)  # its own bundle: accepted
