"""Shared fixtures of the Q-scorer tests: a small synthetic market and a fake pricer."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from zerodte.market.schema import market_frame
from zerodte.market.synthetic import generate_market
from zerodte.types import Right


class FakePricer:
    """Black-Scholes with sigma = VIX / 100 and a 2 % + 1 cent spread (test double)."""

    def price(  # noqa: PLR0917
        self,
        spot: np.ndarray,
        strike: np.ndarray,
        is_call: np.ndarray | bool,
        minutes_to_expiry: np.ndarray,
        vix: np.ndarray,
        minutes_to_close: np.ndarray | None = None,
    ) -> Mapping[str, np.ndarray]:
        s = np.asarray(spot, float)
        k = np.asarray(strike, float)
        t = np.maximum(np.asarray(minutes_to_expiry, float), 1.0) / (390.0 * 252.0)
        sig = np.asarray(vix, float) / 100.0
        d1 = (np.log(s / k) + 0.5 * sig**2 * t) / (sig * np.sqrt(t))
        d2 = d1 - sig * np.sqrt(t)
        call = s * ndtr(d1) - k * ndtr(d2)
        put = call - s + k
        mid = np.where(np.asarray(is_call), call, put)
        half = 0.01 * mid + 0.005
        return {"bid": np.maximum(mid - half, 0.0), "ask": mid + half, "mid": mid}


def fake_selector(spot: np.ndarray, right: Right, vix: np.ndarray, mte: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(spot, float))


@pytest.fixture(scope="session")
def small_frame() -> pd.DataFrame:
    bars = generate_market(date(2024, 3, 4), 3, seed=3, edge=1.0)
    return market_frame(bars)


def toy_dataset(n: int = 3000, n_feat: int = 4, seed: int = 0, horizon: int = 15):
    """A dataset whose call reward rises and put reward falls with feature 0."""
    from zerodte.qscorer.dataset import DatasetReport, QDataset

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_feat))
    ts = pd.date_range("2024-01-02 09:30", periods=n, freq="1min", tz="America/New_York")
    cols = [f"f{i}" for i in range(n_feat)]
    fr = pd.DataFrame(x, columns=cols)
    fr["timestamp"] = ts
    fr["session"] = ts.date
    fr["target_call"] = 20 * x[:, 0] - 5 + rng.normal(0, 10, n)
    fr["target_put"] = -20 * x[:, 0] - 5 + rng.normal(0, 10, n)
    fr["label_end"] = ts + pd.Timedelta(minutes=horizon)
    for c, v in (("action", 0), ("executed_action", 0)):
        fr[c] = v
    fr["prob_hold"], fr["prob_call"], fr["prob_put"] = 0.9, 0.05, 0.05
    fr["reward"] = 0.0
    return QDataset(fr, tuple(cols), "toy-schema", horizon, DatasetReport(horizon, n, n, n, 0))


@pytest.fixture(scope="session")
def toy_model(tmp_path_factory: pytest.TempPathFactory):
    """A small trained model saved in a directory: (model_dir, TrainResult)."""
    from zerodte.config.settings import QScorerSettings
    from zerodte.qscorer.artifacts import save_model
    from zerodte.qscorer.train import train_q_scorer

    q = QScorerSettings(model="mlp", epochs=10, ensemble_size=3, hidden=(16, 16), batch_size=64)
    res = train_q_scorer(toy_dataset(), q)
    d = tmp_path_factory.mktemp("model")
    save_model(d, res.model, {"feature_set": "toy"})
    return d, res


def toy_structured_settings():  # type: ignore[no-untyped-def]
    """Settings of a small structured model on :func:`toy_dataset` (``f0`` moves, ``f1``..)."""
    from zerodte.config.settings import QScorerSettings

    return QScorerSettings(
        model="structured",
        cost_columns=("f1", "f2", "f3"),
        direction_terms=("f0", "f0*f1"),
        ensemble_size=3,
        cost_trees=20,
        cost_min_leaf=50.0,
    )


@pytest.fixture(scope="session")
def toy_structured_model(tmp_path_factory: pytest.TempPathFactory):
    """A small structured model (``Q = s ± d``) on the toy data: (model_dir, TrainResult)."""
    from zerodte.qscorer.artifacts import save_model
    from zerodte.qscorer.train import train_q_scorer

    res = train_q_scorer(toy_dataset(), toy_structured_settings())
    d = tmp_path_factory.mktemp("structured_model")
    save_model(d, res.model, {"feature_set": "toy"})
    return d, res
