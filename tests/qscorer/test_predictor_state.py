"""The predictor's outputs and embedding in the Q state: causal, and the same in both paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import load_settings, with_overrides
from zerodte.market.loading import load_market
from zerodte.qscorer.compare import slice_market

SMALL = {
    "models.epochs": 1,
    "models.hidden": 8,
    "models.sequence_length": 20,
    "qscorer.cost_trees": 20,
    "qscorer.ensemble_size": 2,
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A Gaussian bundle on sessions 0-11, a Q model with its embedding on 12-27."""
    from zerodte.models.training import train_bundle
    from zerodte.qscorer.pipeline import generate_dataset
    from zerodte.qscorer.train import train_q_scorer

    root = tmp_path_factory.mktemp("pred")
    s = with_overrides(load_settings(preset="q_scorer", env={}, dotenv=None), SMALL)
    md = load_market(s, days=34, seed=5, edge=1.0)
    days = list(md.sessions)
    train_bundle(s, slice_market(md, days[:12]), "predictor", 1, "flow", root / "bundle")
    s = with_overrides(
        s,
        {
            "models.predictor_bundle": str(root / "bundle"),
            "qscorer.predictor_outputs": True,
            "qscorer.predictor_embedding": True,
        },
    )
    dsr = generate_dataset(s, slice_market(md, days[12:28]), None)
    res = train_q_scorer(dsr.dataset, s.qscorer)
    return s, md, days, dsr.dataset, res


def test_the_state_holds_the_predictor_columns_and_is_causal(trained) -> None:  # type: ignore[no-untyped-def]
    from zerodte.qscorer.pipeline import predictor_state

    s, md, days, ds, res = trained
    assert any(c.startswith("emb_") for c in ds.feature_columns)
    assert "direction_prob_up" in ds.feature_columns
    assert ds.extra["predictor"]["model_sha256"]
    assert any(t.startswith("emb_") for t in res.model.term_names)
    window = slice_market(md, days[12:20])
    full, _ = predictor_state(s, window.frame)
    cut = window.frame.index[len(window.frame) // 2]
    part, _ = predictor_state(s, window.frame.loc[:cut])
    assert full is not None and part is not None
    pd.testing.assert_frame_equal(full.loc[:cut], part)  # deleting the future changes nothing
    assert full.notna().any().all()


def test_batch_and_streaming_decide_alike_with_the_embedding(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from zerodte.engine.backtest import run_backtest
    from zerodte.qscorer.artifacts import load_model, save_model
    from zerodte.qscorer.controller import QScorerController

    s, md, days, ds, res = trained
    meta = {"feature_set": s.qscorer.feature_set, "predictor": ds.extra["predictor"]}
    save_model(tmp_path / "m", res.model, meta)
    loaded = load_model(tmp_path / "m")
    oos = slice_market(md, days[28:])
    runs = [
        run_backtest(
            s,
            oos,
            controller=QScorerController(loaded, q_threshold=-1e9),
            write=False,
            record=False,
            path=path,
            feature_set=s.qscorer.feature_set,
            n_boot=50,
        )
        for path in ("vectorised", "streaming")
    ]
    a, b = (r.decisions for r in runs)
    assert (a["action"] != 0).any()
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(runs[0].trades["q_call"].to_numpy(), runs[1].trades["q_call"].to_numpy())
