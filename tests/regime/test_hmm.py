"""The 3x3x3 regime HMM: ordering, filtered probabilities, streaming, walk-forward, I/O."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from zerodte.config.settings import ModelsSettings
from zerodte.errors import DataError, ModelError
from zerodte.regime import OUTPUT_COLUMNS, RegimeConfig, RegimeModel, walk_forward_regime
from zerodte.regime.hmm import log_emissions, observations

CFG = RegimeConfig(train_days=5, refit_days=3, n_iter=30)


@pytest.fixture(scope="module")
def model(regime_features: pd.DataFrame) -> RegimeModel:
    return RegimeModel(CFG).fit(regime_features.iloc[: 5 * 390])


def test_states_are_ordered_by_mean(model: RegimeModel) -> None:
    means = model.params_.means[:, :, 0]
    assert (np.diff(means, axis=1) > 0).all(), means
    np.testing.assert_allclose(model.params_.transmat.sum(axis=2), 1.0)
    np.testing.assert_allclose(model.params_.init.sum(axis=1), 1.0)


def test_refit_is_deterministic(regime_features: pd.DataFrame, model: RegimeModel) -> None:
    again = RegimeModel(CFG).fit(regime_features.iloc[: 5 * 390])
    np.testing.assert_array_equal(again.params_.means, model.params_.means)


def test_filtered_probabilities_are_distributions(regime_features, model) -> None:
    out = model.filter(regime_features)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert out.notna().all().all()  # warm-up rows are prediction-only steps, not NaN
    p = out[[c for c in out.columns if "_p" in c]].to_numpy().reshape(len(out), 3, 3)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    for col in ("hmm_trend", "hmm_volatility", "hmm_liquidity", "hmm_confidence"):
        assert out[col].between(0.0, 1.0).all(), col
    assert (out["hmm_confidence"] >= 1 / 3 - 1e-12).all()
    np.testing.assert_allclose(out["hmm_trend"], (p[:, 0, 1] + 2 * p[:, 0, 2]) / 2, atol=1e-12)
    # the volatility axis is informative on this market: not stuck at one state
    assert out["hmm_volatility"].std() > 0.05


def _reference_forward(model: RegimeModel, obs: np.ndarray) -> np.ndarray:
    """Plain probability-space forward algorithm with per-step normalisation (Rabiner 1989)."""
    params = model.params_
    emis = np.exp(
        log_emissions(params, obs) - log_emissions(params, obs).max(axis=2, keepdims=True)
    )
    out = np.empty_like(emis)
    alpha = params.init * emis[0]
    out[0] = alpha / alpha.sum(axis=1, keepdims=True)
    for t in range(1, len(obs)):
        alpha = np.einsum("ai,aij->aj", out[t - 1], params.transmat) * emis[t]
        out[t] = alpha / alpha.sum(axis=1, keepdims=True)
    return out


def test_filter_matches_reference_forward_and_is_not_smoothed(regime_features, model) -> None:
    obs = observations(regime_features)
    ours = np.exp(model.filter_log(obs))
    np.testing.assert_allclose(ours, _reference_forward(model, obs), atol=1e-9)
    # hmmlearn's predict_proba is the smoothed posterior: it must differ from ours.
    from hmmlearn.hmm import GaussianHMM

    hmm = GaussianHMM(3, "diag")
    hmm.startprob_, hmm.transmat_ = model.params_.init[1], model.params_.transmat[1]
    hmm.means_, hmm.covars_ = model.params_.means[1], model.params_.variances[1]
    x = obs[200:, 1, :]
    smoothed = hmm.predict_proba(x)
    assert np.abs(smoothed - np.exp(model.filter_log(obs[200:]))[:, 1]).max() > 1e-3


def test_filter_log_is_normalised_in_log_space(regime_features, model) -> None:
    lp = model.filter_log(observations(regime_features))
    np.testing.assert_allclose(logsumexp(lp, axis=2), 0.0, atol=1e-12)


def test_stream_equals_batch(regime_features, model) -> None:
    batch = model.filter(regime_features.iloc[:800])
    stream = model.stream()
    rows = regime_features.iloc[:800].to_dict("records")
    got = pd.DataFrame([stream.update(r) for r in rows], index=batch.index)
    np.testing.assert_allclose(got.to_numpy(), batch.to_numpy(), rtol=1e-12, atol=1e-14)


@pytest.fixture(scope="module")
def walk(regime_features: pd.DataFrame) -> pd.DataFrame:
    return walk_forward_regime(regime_features, config=CFG)


def test_walk_forward_starts_after_training_window(regime_features, walk) -> None:
    days = regime_features.index.normalize()
    first_five = days < days.unique()[5]
    assert walk.loc[first_five, list(OUTPUT_COLUMNS)].isna().all().all()
    assert walk.loc[~first_five, list(OUTPUT_COLUMNS)].notna().all().all()
    assert walk["hmm_fit_session"].dropna().nunique() == 2  # refits at sessions 5 and 8


@pytest.mark.parametrize("cut", [5 * 390 + 10, 8 * 390 - 1, 8 * 390 + 100])
def test_walk_forward_does_not_look_ahead(regime_features, walk, cut: int) -> None:
    part = walk_forward_regime(regime_features.iloc[: cut + 1], config=CFG)
    np.testing.assert_allclose(
        part.iloc[: cut + 1].to_numpy(), walk.iloc[: cut + 1].to_numpy(), rtol=1e-12,
        equal_nan=True,
    )  # fmt: skip


def test_walk_forward_equals_stream_with_model_switches(regime_features, walk) -> None:
    days = regime_features.index.normalize().unique()
    seg1 = regime_features.index.normalize() < days[8]
    m1 = RegimeModel(CFG).fit(regime_features[regime_features.index.normalize() < days[5]])
    m2 = RegimeModel(CFG).fit(
        regime_features[(regime_features.index.normalize() >= days[3]) & seg1]
    )
    stream = m1.stream()
    rows = []
    for ts, row in regime_features.iloc[5 * 390 :].iterrows():
        if ts.normalize() == days[8] and stream.model is m1:
            stream.switch(m2)
        rows.append(stream.update(row.to_dict()))
    got = pd.DataFrame(rows, index=regime_features.index[5 * 390 :])
    np.testing.assert_allclose(
        got.to_numpy(), walk.iloc[5 * 390 :][list(OUTPUT_COLUMNS)].to_numpy(), atol=1e-12
    )


def test_save_load_roundtrip(tmp_path: Path, regime_features, model) -> None:
    path = model.save(tmp_path / "regime.json")
    loaded = RegimeModel.load(path)
    assert loaded.config == model.config
    pd.testing.assert_frame_equal(loaded.filter(regime_features), model.filter(regime_features))
    text = path.read_text().replace('"schema_hash": "', '"schema_hash": "0')
    path.write_text(text)
    with pytest.raises(ModelError, match="refit"):
        RegimeModel.load(path)


def test_config_from_settings_and_errors(regime_features) -> None:
    model = RegimeModel(ModelsSettings(hmm_train_days=7, hmm_refit_days=2, seed=4))
    assert (model.config.train_days, model.config.refit_days) == (7, 2)
    assert model.config.random_state == 4
    with pytest.raises(ModelError, match="not fitted"):
        model.filter(regime_features)
    with pytest.raises(DataError, match="complete rows"):
        RegimeModel(CFG).fit(regime_features.iloc[:100])
    with pytest.raises(DataError, match="ret_15m"):
        RegimeModel(CFG).fit(regime_features.drop(columns=["ret_15m"]))
