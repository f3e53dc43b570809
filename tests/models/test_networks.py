"""Gaussian predictor and PatchTST: heads trained, confidence not inverted, causal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from zerodte.models.encoders import TransformerEncoder
from zerodte.models.gaussian import GaussianConfig
from zerodte.models.patchtst import PatchTSTConfig, ohlcv_channels

from .conftest import MarketCase


def _toy(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Signal strength varies with |x0|: the direction call is right more often there."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    r = 0.8 * np.tanh(2 * x[:, 0]) + rng.normal(scale=0.5, size=n)
    idx = pd.date_range("2024-01-02 09:30", periods=n, freq="min", tz="America/New_York")
    X = pd.DataFrame(x, columns=list("abcd"), index=idx)
    direction = np.where(r > 0.2, 2.0, np.where(r < -0.2, 0.0, 1.0))
    return X, pd.DataFrame({"fwd_ret": r, "direction": direction}, index=idx)


@pytest.fixture(scope="module")
def toy_model():  # type: ignore[no-untyped-def]
    X, y = _toy(6000, 0)
    cfg = GaussianConfig(
        sequence_length=4,
        hidden=16,
        encoder_hidden=8,
        rbf_centers=8,
        epochs=6,
        batch_size=256,
        learning_rate=3e-3,
        mc_samples=4,
    )
    return cfg.build().fit(X, y)


def test_confidence_head_is_trained_and_not_inverted(toy_model) -> None:  # type: ignore[no-untyped-def]
    hist = [h["confidence"] for h in toy_model.history_]
    assert hist[-1] < hist[0] - 0.02  # the BCE term exists and decreases
    X, y = _toy(6000, 1)  # out of sample
    p = toy_model.predict(X)
    call_up = p["direction_prob_up"] >= p["direction_prob_down"]
    fwd = y["fwd_ret"].to_numpy()
    right = np.where(call_up, fwd > 0, fwd < 0).astype(float)
    ok = p["ml_confidence"].notna().to_numpy()
    q = pd.qcut(p["ml_confidence"][ok], 5, labels=False).to_numpy()
    hits = [right[ok][q == i].mean() for i in range(5)]
    assert hits[-1] > hits[0] + 0.1, hits
    assert np.corrcoef(p["ml_confidence"][ok], right[ok])[0, 1] > 0.1
    assert (p["return_std"][ok] > 0).all()
    assert np.allclose(
        p[["direction_prob_down", "direction_prob_neutral", "direction_prob_up"]][ok].sum(axis=1), 1
    )


def test_predictions_do_not_change_when_the_future_is_removed(toy_model) -> None:  # type: ignore[no-untyped-def]
    X, _ = _toy(600, 2)
    full = toy_model.predict(X)
    part = toy_model.predict(X.iloc[:300])
    pd.testing.assert_frame_equal(full.iloc[:300], part, rtol=1e-5, atol=1e-6)
    assert full.iloc[:3].isna().all().all()  # no full window yet: no prediction
    assert toy_model.embed(X.iloc[:50]).shape == (50, 16)


@pytest.mark.parametrize(
    ("encoder", "uncertainty"),
    [
        ("tcn", "variational"),
        ("lstm", "mc_dropout"),
        ("transformer", "mc_dropout"),
        ("mamba", "mc_dropout"),
    ],
)
def test_every_encoder_trains_and_predicts(
    small_case: MarketCase, encoder: str, uncertainty: str
) -> None:
    X, y = small_case.features.iloc[:1500], small_case.targets.iloc[:1500]
    cfg = GaussianConfig(
        sequence_length=16,
        hidden=16,
        encoder_hidden=8,
        rbf_centers=8,
        epochs=1,
        encoder=encoder,
        uncertainty=uncertainty,
        mc_samples=2,
    )
    model = cfg.build().fit(X, y)
    p = model.predict(X.iloc[-300:])
    assert p.iloc[-100:].notna().all().all()
    part = model.predict(X.iloc[-300:-100])
    pd.testing.assert_frame_equal(p.iloc[:200], part, rtol=1e-5, atol=1e-6)


def test_patchtst_on_raw_ohlcv(small_case: MarketCase) -> None:
    raw = ohlcv_channels(small_case.frame).iloc[:1500]
    cfg = PatchTSTConfig(sequence_length=20, patch=5, stride=5, epochs=1, mc_samples=2)
    model = cfg.build().fit(raw, small_case.targets.iloc[:1500])
    p = model.predict(raw.iloc[-200:])
    assert p.iloc[-50:].notna().all().all() and (p["return_std"].dropna() > 0).all()


def test_transformer_last_position_matches_the_full_stack() -> None:
    torch.manual_seed(0)
    enc = TransformerEncoder(5, 16, 20).eval()
    x = torch.randn(64, 20, 5)
    with torch.inference_mode():
        h = enc.inp(x) + enc.pos
        full = enc.enc(h, mask=enc.mask, is_causal=True)[:, -1]
        fast = enc(x)
        short = enc(x[:, -12:])  # shorter windows use the last positions and the mask's corner
        h12 = enc.inp(x[:, -12:]) + enc.pos[:, -12:]
        full12 = enc.enc(h12, mask=enc.mask[-12:, -12:], is_causal=True)[:, -1]
    assert torch.allclose(fast, full, atol=1e-5)
    assert torch.allclose(short, full12, atol=1e-5)
