"""Every closed trade of a backtest is assessed; nothing at t depends on anything after t."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings
from zerodte.engine.backtest import run_backtest
from zerodte.learning.assess import OUTCOME_COLUMNS, Assessment, assess_run
from zerodte.learning.labels import ARCHETYPES, LABELS
from zerodte.learning.regret import REGRET_KINDS
from zerodte.learning.run_inputs import records_from_frame
from zerodte.market.loading import load_market
from zerodte.policy.controllers.consensus_agents import AGENTS
from zerodte.policy.qthink_state import BLOCK_NAMES


@pytest.fixture(scope="module")
def run() -> tuple[Settings, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    settings = Settings()
    md = load_market(settings, days=4, seed=5, edge=1.0)
    res = run_backtest(settings, md, write=False, record=False, n_boot=50)
    assert len(res.trades) >= 10, "the scenario needs trades"
    return settings, md.frame, res.trades, res.decisions


def _assess(
    settings: Settings, frame: pd.DataFrame, trades: pd.DataFrame, dec: pd.DataFrame
) -> Assessment:
    records = records_from_frame(settings, frame, trades, dec)
    return assess_run(records, settings.entry.consensus, settings.options)


@pytest.fixture(scope="module")
def full(run: tuple[Settings, pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> Assessment:
    return _assess(*run)


def test_every_closed_trade_is_assessed(
    run: tuple[Settings, pd.DataFrame, pd.DataFrame, pd.DataFrame], full: Assessment
) -> None:
    _, _, trades, _ = run
    out = full.outcomes
    assert list(out.columns) == list(OUTCOME_COLUMNS)
    assert sorted(out["trade_id"]) == sorted(trades["trade_id"])
    assert out["label"].isin(LABELS).all()
    assert out["archetype"].isin(ARCHETYPES).all()
    assert out["time_block"].isin(BLOCK_NAMES).all()
    for kind in REGRET_KINDS:
        v = out[kind].to_numpy(np.float64)
        ok = v[~np.isnan(v)]
        assert ((ok >= 0) & (ok <= 1)).all(), kind
    # entry, exit and decay regrets are known for every trade of a modelled run
    assert out[["entry_regret", "exit_regret", "decay_regret"]].notna().all().all()
    assert (pd.to_datetime(out["known_at"]) >= pd.to_datetime(out["exit_time"])).all()
    assert len(full.agents) == len(trades) * len(AGENTS)
    pnl = out.set_index("trade_id")["pnl"]
    assert np.allclose(pnl.loc[trades["trade_id"]].to_numpy(), trades["pnl"].to_numpy())


def _equal(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-9)
    return bool(a == b)


def test_nothing_known_at_t_depends_on_data_after_t(
    run: tuple[Settings, pd.DataFrame, pd.DataFrame, pd.DataFrame], full: Assessment
) -> None:
    settings, frame, trades, dec = run
    sessions = sorted(set(pd.DatetimeIndex(frame.index).date))
    cut = pd.Timestamp(f"{sessions[2]} 12:00", tz="America/New_York")
    keep = full.outcomes[pd.to_datetime(full.outcomes["known_at"]) <= cut]
    assert len(keep) >= 5, "the cut must leave trades whose regret is known"
    cut_trades = trades[pd.to_datetime(trades["exit_time"]) < cut]
    cut_dec = dec[pd.to_datetime(dec["timestamp"]) < cut]
    truncated = _assess(settings, frame[frame.index < cut], cut_trades, cut_dec).outcomes
    got = truncated.set_index("trade_id").loc[keep["trade_id"]]
    want = keep.set_index("trade_id")
    for col in want.columns:
        for tid in want.index:
            assert _equal(got.at[tid, col], want.at[tid, col]), (col, tid)
