"""The must-holds of the engine: parity, accounting, determinism, no look-ahead."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerodte.engine.engine import SETTLED_REASON
from zerodte.errors import ConfigError
from zerodte.types import OptionContract, Right

from .helpers import Market, backtest, make_market, make_settings, simple_books

TRADE_KEYS = [
    "entry_time",
    "exit_time",
    "symbol",
    "qty",
    "entry_price",
    "exit_price",
    "pnl",
    "fees",
    "exit_reason",
    "max_gain_pct",
    "max_drawdown_pct",
    "spy_price",
    "momentum_5m",
    "signal_reasoning",
]


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(3, seed=1)


def test_batch_and_stream_make_the_same_decisions_and_trades(
    market: Market, tmp_path: Path
) -> None:
    for controller, extra in (
        ("momentum", {"momentum_threshold_pct": 0.05}),
        ("random", {"random_p_call": 0.03, "random_p_put": 0.03}),
    ):
        s = make_settings(tmp_path, controller=controller, **extra)
        a = backtest(s, market, path="vectorised")
        b = backtest(s, market, path="streaming")
        assert len(a.trades) > 5, f"{controller}: too few trades to compare"
        pd.testing.assert_frame_equal(a.decisions, b.decisions)
        pd.testing.assert_frame_equal(a.trades[TRADE_KEYS], b.trades[TRADE_KEYS])
        pd.testing.assert_frame_equal(a.equity, b.equity)
        assert a.summary == b.summary


def _check_accounting(result, market: Market, initial: float) -> None:  # type: ignore[no-untyped-def]
    trades, equity = result.trades, result.equity
    eq = equity["equity"].to_numpy()
    assert np.allclose(eq, equity["cash"] + equity["positions_value"])
    # flat at the end: the trades explain the whole change in equity
    assert equity["open_positions"].iloc[-1] == 0
    assert math.isclose(trades["pnl"].sum() if len(trades) else 0.0, eq[-1] - initial, abs_tol=1e-6)
    for _, t in trades.iterrows():
        expect = (t.exit_price - t.entry_price) * 100 * t.qty - t.fees
        assert math.isclose(t.pnl, expect, abs_tol=1e-9)
    # positions value = qty x 100 x close bid of every open contract, recomputed here
    books = simple_books(market.frame)
    times = pd.DatetimeIndex(market.frame.index)
    expected = np.zeros(len(equity))
    best_bid: dict[int, float] = {}
    for k, t in trades.iterrows():
        contract = OptionContract("SPY", t.expiry, Right(t.right), t.strike)
        open_ = np.flatnonzero((times >= t.entry_time) & (times < t.exit_time))
        for i in open_:
            q = books(int(i)).quote(contract, "close")
            q_open = books(int(i)).quote(contract, "open")
            expected[i] += t.qty * 100 * q.bid
            best_bid[k] = max(best_bid.get(k, 0.0), q.bid, q_open.bid)
        if t.exit_reason != SETTLED_REASON:
            j = int(np.searchsorted(times, t.exit_time))
            if j < len(times):
                best_bid[k] = max(best_bid.get(k, 0.0), books(j).quote(contract, "open").bid)
            else:  # end of data: sold at the last close quote
                best_bid[k] = max(
                    best_bid.get(k, 0.0), books(len(times) - 1).quote(contract, "close").bid
                )
    last_rows = equity.index[:-1]  # the final row is rewritten after the end-of-data sale
    assert np.allclose(equity["positions_value"].to_numpy()[last_rows], expected[last_rows])
    for k, t in trades.iterrows():
        if t.exit_reason != SETTLED_REASON:
            assert t.exit_price <= best_bid[k] + 1e-12, "a trade earned more than the bids"


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), cut=st.integers(200, 780))
def test_accounting_on_random_markets(seed: int, cut: int, tmp_path: Path) -> None:
    m = make_market(2, seed=seed)
    m = Market(m.frame.iloc[:cut], m.data_hash)
    s = make_settings(
        tmp_path, controller="random", random_p_call=0.05, random_p_put=0.05, random_seed=seed
    )
    r = backtest(s, m)
    _check_accounting(r, m, s.broker.initial_cash)


def test_no_look_ahead(market: Market, tmp_path: Path) -> None:
    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    full = backtest(s, market)
    n = len(market.frame)
    for k in (150, 400, n // 2 + 17, n - 300):
        cut = Market(market.frame.iloc[: k + 1], market.data_hash)
        part = backtest(s, cut)
        cols = ["action", "prob_hold", "prob_call", "prob_put", "executed_action", "vetoes"]
        pd.testing.assert_frame_equal(part.decisions[cols], full.decisions[cols].iloc[: k + 1])
        t_k = market.frame.index[k]
        entered = ["entry_time", "symbol", "qty", "entry_price", "spy_price"]
        a = full.trades.loc[full.trades.entry_time <= t_k, entered].reset_index(drop=True)
        b = part.trades.loc[part.trades.entry_time <= t_k, entered].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)


def test_rerun_writes_byte_identical_summary(market: Market, tmp_path: Path) -> None:
    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    a = backtest(s, market, write=True, run_dir=tmp_path / "a", created_at=pd.Timestamp.now())
    b = backtest(s, market, write=True, run_dir=tmp_path / "b")
    assert (tmp_path / "a" / "summary.json").read_bytes() == (
        tmp_path / "b" / "summary.json"
    ).read_bytes()
    assert a.run_id == b.run_id
    for name in (
        "manifest.json",
        "trades.parquet",
        "equity.parquet",
        "decisions.parquet",
        "ANALYSIS.md",
        "equity.png",
    ):
        assert (tmp_path / "a" / name).exists(), name
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["data_hash"] == market.data_hash and manifest["controller"] == "momentum"
    assert manifest["config"]["broker"]["tradier_token"] is None


def test_store_row(market: Market, tmp_path: Path) -> None:
    from zerodte.store import RunStore, make_engine

    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    r = backtest(s, market, write=True, record=True, run_dir=tmp_path / "run")
    store = RunStore(make_engine(s.store))
    row = store.get_run(r.run_id)
    assert row is not None and row["summary"]["trades"] == r.summary["trades"]
    assert len(store.trades(r.run_id)) == len(r.trades)


@pytest.mark.parametrize(
    ("section", "update", "match"),
    [
        ("exits", {"stop_loss_pct": -1.0}, "stop_loss_pct"),
        ("exits", {"trailing_stop_pct": 5.0, "trailing_activation_pct": 4.0}, "trailing"),
    ],
)
def test_bad_configuration_is_refused(
    market: Market, tmp_path: Path, section: str, update: dict[str, float], match: str
) -> None:
    s = make_settings(tmp_path)
    bad = s.model_copy(update={section: getattr(s, section).model_copy(update=update)})
    with pytest.raises(ConfigError, match=match):
        backtest(bad, market)


def test_q_scorer_batch_and_stream_agree_with_confidence_and_context(
    market: Market, tmp_path: Path
) -> None:
    """The vectorised path hands gates and trade rows the whole decision, as live does."""
    from zerodte.features import get_feature_set
    from zerodte.qscorer.artifacts import load_model, save_model
    from zerodte.qscorer.controller import QScorerController
    from zerodte.qscorer.model import QScorerModel

    fs = get_feature_set("minimal")
    cols = tuple(fs.columns)
    rng = np.random.default_rng(0)
    layers = (
        (rng.normal(0, 0.5, (3, len(cols), 8)), rng.normal(0, 0.1, (3, 8))),
        (rng.normal(0, 0.5, (3, 8, 2)), rng.normal(0, 0.1, (3, 2))),
    )
    model = QScorerModel(
        layers, cols, fs.schema_hash, np.zeros(len(cols)), np.ones(len(cols)), 5.0,
        np.zeros(2), 1.0, 15,
    )  # fmt: skip
    save_model(tmp_path / "m", model, {"feature_set": "minimal"})
    loaded = load_model(tmp_path / "m")
    s = make_settings(tmp_path, controller="q_scorer")
    results = [
        backtest(
            s,
            market,
            path=path,
            feature_set="minimal",
            controller=QScorerController(loaded, q_min_conf=0.9),
        )
        for path in ("vectorised", "streaming")
    ]
    a, b = results
    assert len(a.trades) > 5
    pd.testing.assert_frame_equal(a.decisions, b.decisions)
    assert a.decisions["confidence"].notna().any()
    assert (a.decisions["controller_vetoes"] != "").any()
    for col in ("q_call", "q_put", "q_hold"):
        assert a.trades[col].notna().all(), f"{col} is null on backtest trade rows"
        pd.testing.assert_series_equal(a.trades[col], b.trades[col])
