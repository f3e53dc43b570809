"""Multi-horizon predictions: one bundle per horizon, joined causally on both paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings, with_overrides
from zerodte.engine.backtest import market_context, run_backtest
from zerodte.errors import ConfigError
from zerodte.models import fit_walk_forward, walk_forward_splits
from zerodte.models.horizons import horizon_predictions, load_horizon_bundles
from zerodte.models.targets import make_targets
from zerodte.models.trees import TreeConfig

from .conftest import TREE_COLUMNS, make_case
from .conftest import MarketData as Data

DAYS = 8
HORIZONS = (15, 30)
COLS = TREE_COLUMNS


@pytest.fixture(scope="module")
def horizon_bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Data, list[Path]]:
    c = make_case(DAYS, 1.0, seed=3)
    root = tmp_path_factory.mktemp("horizons")
    paths = []
    for h in HORIZONS:
        splits = walk_forward_splits(
            c.frame.index, n_splits=1, train_days=4, calib_days=1, embargo_minutes=h, final=True
        )
        cfg = TreeConfig(heads=("direction",), columns=COLS, n_estimators=15, min_child_weight=20)
        bundle = fit_walk_forward(
            "trees",
            cfg,
            c.features,
            make_targets(c.frame, h, 0.05, (0.1,), (h,)),
            splits,
            feature_set=c.feature_set,
            horizon_minutes=h,
            embargo_minutes=h,
            calibration_method="platt",
        )
        paths.append(bundle.save(root / f"{h}m"))
    return Data(c.frame, "synthetic-8-3"), paths


def _settings(tmp: Path, paths: list[Path], controller: str = "consensus") -> Settings:
    return with_overrides(
        Settings(),
        {
            "entry.controller": controller,
            "models.horizon_bundles": paths,
            "models.regime_context": True,
            "models.hmm_train_days": 5,
            "models.hmm_refit_days": 2,
            "engine.runs_dir": tmp / "runs",
            "store.path": tmp / "runs" / "z.db",
        },
    )


def test_horizon_columns_are_causal_and_start_after_training(horizon_bundles) -> None:  # type: ignore[no-untyped-def]
    data, paths = horizon_bundles
    bundles = load_horizon_bundles(paths)
    full = horizon_predictions(bundles, data.frame)
    assert list(full.columns) == [
        f"direction_prob_{s}_{h}m" for h in HORIZONS for s in ("up", "down")
    ]
    for (_, b), h in zip(bundles, HORIZONS, strict=True):
        col = full[f"direction_prob_up_{h}m"]
        first = col.first_valid_index()
        assert first is not None and first >= b.segments[0].valid_from
        assert first > pd.Timestamp(b.segments[0].train_end)  # trained before it is used
    cut = data.frame.index[len(data.frame) * 3 // 4]
    part = horizon_predictions(bundles, data.frame.loc[:cut])
    pd.testing.assert_frame_equal(part, full.loc[:cut])  # no look-ahead


def test_consensus_sees_every_horizon_on_both_paths(horizon_bundles, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, paths = horizon_bundles
    s = _settings(tmp_path, paths)
    ctx = market_context(s, data.frame)
    assert ctx is not None
    assert [m["horizon_minutes"] for m in ctx.manifest["horizon_bundles"]] == [15, 30]
    assert {"hmm_trend", "direction_prob_up_30m"} <= set(ctx.values.columns)
    runs = {
        p: run_backtest(s, data, path=p, write=False, record=False, n_boot=50)
        for p in ("vectorised", "streaming")
    }
    a, b = (runs[p].decisions for p in ("vectorised", "streaming"))
    assert runs["vectorised"].summary["trades"] == runs["streaming"].summary["trades"]
    np.testing.assert_array_equal(a["action"].to_numpy(), b["action"].to_numpy())
    np.testing.assert_array_equal(a["vetoes"].to_numpy(), b["vetoes"].to_numpy())
    assert a["direction_prob_up_30m"].notna().sum() > 0
    known = (a["direction_prob_up_15m"].notna() & a["direction_prob_up_30m"].notna()).to_numpy()
    assert known.any()
    # where every horizon is known the first signal is decided on all of them
    assert not a.loc[known, "vetoes"].astype(str).str.contains("no_prediction").any()


def test_two_bundles_of_one_horizon_are_refused(horizon_bundles, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data, paths = horizon_bundles
    with pytest.raises(ConfigError, match="both predict 15 minutes"):
        market_context(_settings(tmp_path, [paths[0], paths[0]]), data.frame)
