"""Run statistics on hand-computed logs, JSON safety, and an empyrical cross-check."""

from __future__ import annotations

import json
import math

import empyrical
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerodte.errors import DataError
from zerodte.research.stats import (
    SUMMARY_KEYS,
    daily_pnl,
    daily_returns,
    max_drawdown,
    paired_bootstrap_diff,
    sharpe_ratio,
    sortino_ratio,
    summarize,
)

NY = "America/New_York"


def equity_frame(stamps: list[str], values: list[float], open_pos: list[int]) -> pd.DataFrame:
    ts = pd.to_datetime(stamps).tz_localize(NY)
    return pd.DataFrame(
        {
            "timestamp": ts,
            "cash": values,
            "positions_value": 0.0,
            "equity": values,
            "open_positions": open_pos,
        }
    )


@pytest.fixture
def known(make_trades):  # type: ignore[no-untyped-def]
    trades = make_trades(
        [
            {"pnl": 100.0, "entry_time": "2024-03-04 09:45", "hold_minutes": 10},
            {"pnl": -50.0, "entry_time": "2024-03-04 11:00", "hold_minutes": 20},
            {"pnl": 200.0, "entry_time": "2024-03-05 13:00", "hold_minutes": 30},
            {"pnl": -25.0, "entry_time": "2024-03-05 15:00", "hold_minutes": 40},
            {"pnl": 25.0, "entry_time": "2024-03-06 10:00", "hold_minutes": 50},
        ]
    )
    equity = equity_frame(
        [
            "2024-03-04 09:30",
            "2024-03-04 12:00",
            "2024-03-04 15:59",
            "2024-03-05 10:00",
            "2024-03-05 15:59",
            "2024-03-06 15:59",
        ],
        [10000.0, 10100.0, 10050.0, 10300.0, 10200.0, 10250.0],
        [0, 1, 1, 0, 1, 0],
    )
    return trades, equity


def test_hand_computed_summary(known) -> None:  # type: ignore[no-untyped-def]
    trades, equity = known
    s = summarize(trades, equity, start_equity=10_000.0, n_boot=500, seed=1)
    assert tuple(sorted(s)) == SUMMARY_KEYS
    assert s["trades"] == 5 and s["wins"] == 3 and s["losses"] == 2
    assert s["win_rate"] == pytest.approx(0.6)
    assert s["pnl"] == pytest.approx(250.0)
    assert s["pnl_pct"] == pytest.approx(2.5)
    assert s["per_trade_pnl"] == pytest.approx(50.0)
    assert s["gross_profit"] == pytest.approx(325.0) and s["gross_loss"] == pytest.approx(75.0)
    assert s["profit_factor"] == pytest.approx(325 / 75)
    assert s["avg_win"] == pytest.approx(325 / 3) and s["avg_loss"] == pytest.approx(-37.5)
    # curve 10000 | 10000 10100 10050 10300 10200 10250: worst fall 10300 -> 10200
    assert s["max_drawdown"] == pytest.approx(100.0)
    assert s["max_drawdown_pct"] == pytest.approx(100 / 10300 * 100)
    assert s["pnl_to_dd"] == pytest.approx(2.5)
    assert s["fees_paid"] == pytest.approx(5 * 1.3)
    assert s["spread_cost"] is None
    assert s["avg_hold_minutes"] == pytest.approx(30.0)
    assert s["exposure"] == pytest.approx(0.5)
    assert s["exit_reasons"] == {"stop_loss": 2, "take_profit": 3}
    assert s["days"] == 3
    assert s["final_equity"] == 10250.0 and s["start_equity"] == 10000.0
    r = np.array([10050 / 10000 - 1, 10200 / 10050 - 1, 10250 / 10200 - 1])
    assert s["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))
    assert s["sortino"] is None  # no down day: downside deviation is 0
    lo, hi = s["per_trade_pnl_ci95"]
    assert -50.0 <= lo < 50.0 < hi <= 200.0
    assert s["sharpe_ci95"] is not None and s["sharpe_ci95"][0] <= s["sharpe_ci95"][1]


def test_spread_cost_summed_when_present(known) -> None:  # type: ignore[no-untyped-def]
    trades, equity = known
    trades = trades.assign(spread_cost=[2.0, 3.0, 4.0, 5.0, 6.0])
    s = summarize(trades, equity, start_equity=10_000.0, n_boot=100)
    assert s["spread_cost"] == pytest.approx(20.0)


def test_empty_run_is_all_none_not_zero(make_trades) -> None:  # type: ignore[no-untyped-def]
    trades = make_trades([]).iloc[0:0]
    s = summarize(trades, equity_frame([], [], []), start_equity=5000.0)
    assert s["trades"] == 0 and s["pnl"] == 0.0
    for key in ("win_rate", "per_trade_pnl", "profit_factor", "sharpe", "sortino", "exposure"):
        assert s[key] is None, key
    assert s["per_trade_pnl_ci95"] is None and s["final_equity"] is None
    json.dumps(s, allow_nan=False)


def test_nan_pnl_is_rejected(known) -> None:  # type: ignore[no-untyped-def]
    trades, equity = known
    trades.loc[2, "pnl"] = np.nan
    with pytest.raises(DataError, match="NaN pnl"):
        summarize(trades, equity, start_equity=10_000.0)


def test_summary_is_deterministic_given_seed(known, make_trades) -> None:  # type: ignore[no-untyped-def]
    trades, equity = known
    a = summarize(trades, equity, start_equity=10_000.0, seed=3)
    b = summarize(trades, equity, start_equity=10_000.0, seed=3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    # Three sessions give the session bootstrap too few distinct replicas to show the
    # seed; twelve sessions of varied P&L do.
    days = pd.bdate_range("2024-03-04", periods=12)
    many = make_trades(
        [
            {"pnl": float(p), "entry_time": f"{d:%Y-%m-%d} 10:00"}
            for d, p in zip(days, [40, -25, 10, 90, -60, 5, 30, -15, 70, -40, 20, 0], strict=True)
        ]
    )
    eq = equity_frame([f"{d:%Y-%m-%d} 15:59" for d in days], [10_000.0] * 12, [0] * 12)
    c3 = summarize(many, eq, start_equity=10_000.0, seed=3)["per_trade_pnl_ci95"]
    c4 = summarize(many, eq, start_equity=10_000.0, seed=4)["per_trade_pnl_ci95"]
    assert c3 != c4


# make_trades is a pure factory, safe to share across hypothesis examples.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pnls=st.lists(st.floats(-500, 500, allow_nan=False).map(lambda x: round(x, 2)), max_size=12),
    moves=st.lists(st.floats(-300, 300, allow_nan=False), min_size=0, max_size=15),
)
def test_summary_is_always_json_safe(make_trades, pnls: list[float], moves: list[float]) -> None:  # type: ignore[no-untyped-def]
    trades = make_trades([{"pnl": p} for p in pnls])
    stamps = pd.date_range("2024-03-04 10:00", periods=len(moves), freq="D", tz=NY)
    equity = pd.DataFrame(
        {
            "timestamp": stamps,
            "cash": 0.0,
            "positions_value": 0.0,
            "equity": 10_000.0 + np.cumsum(moves) if moves else [],
            "open_positions": 0,
        }
    )
    s = summarize(trades, equity, start_equity=10_000.0, n_boot=50)
    assert tuple(sorted(s)) == SUMMARY_KEYS
    text = json.dumps(s, allow_nan=False)  # raises on NaN/inf
    assert json.loads(text) == s
    if not any(p < 0 for p in pnls):
        assert s["profit_factor"] is None


def test_empyrical_cross_check() -> None:
    rng = np.random.default_rng(7)
    r = rng.normal(0.0008, 0.012, 300)
    curve = 25_000.0 * np.cumprod(1 + r)
    stamps = pd.date_range("2023-01-02 15:59", periods=len(r), freq="D", tz=NY)
    equity = pd.DataFrame(
        {"timestamp": stamps, "cash": curve, "positions_value": 0.0, "equity": curve}
    ).assign(open_positions=0)
    ours = daily_returns(equity, 25_000.0).to_numpy()
    np.testing.assert_allclose(ours, r, rtol=1e-9, atol=1e-12)
    s = summarize(
        pd.DataFrame(columns=["pnl", "fees", "exit_reason", "hold_minutes"]),
        equity,
        start_equity=25_000.0,
        n_boot=200,
    )
    assert s["sharpe"] == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-9)
    assert sharpe_ratio(r) == pytest.approx(empyrical.sharpe_ratio(r), rel=1e-9)
    # Same downside-deviation convention as empyrical: RMS of min(r, 0) over all days.
    assert s["sortino"] == pytest.approx(empyrical.sortino_ratio(r), rel=1e-9)
    assert sortino_ratio(r) == pytest.approx(empyrical.sortino_ratio(r), rel=1e-9)
    # empyrical reports drawdown as a negative fraction of the peak.
    assert s["max_drawdown_pct"] == pytest.approx(-empyrical.max_drawdown(r) * 100, rel=1e-9)


def test_max_drawdown_known_curve() -> None:
    dollars, pct = max_drawdown([100.0, 120.0, 90.0, 130.0, 125.0, 60.0, 70.0])
    assert dollars == pytest.approx(70.0)
    assert pct == pytest.approx(70 / 130 * 100)
    assert max_drawdown([1.0, 2.0, 3.0]) == (0.0, 0.0)


def test_daily_pnl_fills_idle_days_with_zero(make_trades) -> None:  # type: ignore[no-untyped-def]
    trades = make_trades(
        [
            {"pnl": 10.0, "entry_time": "2024-03-04 10:00"},
            {"pnl": 5.0, "entry_time": "2024-03-04 11:00"},
            {"pnl": -3.0, "entry_time": "2024-03-06 10:00"},
        ]
    )
    days = [pd.Timestamp(d).date() for d in ("2024-03-04", "2024-03-05", "2024-03-06")]
    s = daily_pnl(trades, days)
    assert s.tolist() == [15.0, 0.0, -3.0]
    with pytest.raises(ValueError, match="outside the given sessions"):
        daily_pnl(trades, days[:2])


def test_paired_bootstrap_diff() -> None:
    days = pd.Index(pd.date_range("2024-01-02", periods=60, freq="B").date)
    rng = np.random.default_rng(0)
    b = pd.Series(rng.normal(0, 100, len(days)), index=days)
    a = b + 10.0
    diff, ci = paired_bootstrap_diff(a, b, n_boot=300, seed=1)
    assert diff == pytest.approx(10.0)
    assert ci == pytest.approx((10.0, 10.0))  # pairing removes the shared market noise
    # Unpaired noise of the same size would give a wide interval; pairing is what matters.
    c = pd.Series(rng.normal(0, 100, len(days)), index=days) + 10.0
    _, ci_unpaired = paired_bootstrap_diff(c, b, n_boot=300, seed=1)
    assert ci_unpaired is not None and ci_unpaired[1] - ci_unpaired[0] > 50


def test_paired_diff_missing_days_are_zero() -> None:
    d1, d2, d3 = (pd.Timestamp(x).date() for x in ("2024-01-02", "2024-01-03", "2024-01-04"))
    a = pd.Series([10.0, 20.0], index=[d1, d2])
    b = pd.Series([5.0], index=[d3])
    diff, _ = paired_bootstrap_diff(a, b, n_boot=100)
    assert diff == pytest.approx((10 + 20 - 5) / 3)
    diff4, _ = paired_bootstrap_diff(a, b, sessions=[d1, d2, d3, pd.Timestamp("2024-01-05").date()])
    assert diff4 == pytest.approx((10 + 20 - 5) / 4)
    with pytest.raises(ValueError, match="outside the sessions"):
        paired_bootstrap_diff(a, b, sessions=[d1, d2])


def test_per_trade_interval_resamples_session_blocks(make_trades) -> None:  # type: ignore[no-untyped-def]
    """Trades sharing a session's shock are not independent: the interval must say so.

    20 sessions of 20 trades each, P&L = session effect (sd 10) + trade noise (sd 1). The
    i.i.d. standard error of the mean is about sqrt(101 / 400) = 0.5; resampling sessions it
    is about 10 / sqrt(20) = 2.2, so a correct interval is about four times wider.
    """
    rng = np.random.default_rng(4)
    days = pd.bdate_range("2024-03-04", periods=20)
    rows = []
    for d in days:
        effect = rng.normal(0, 10)
        for k in range(20):
            stamp = (d + pd.Timedelta(hours=10, minutes=k)).strftime("%Y-%m-%d %H:%M")
            rows.append({"pnl": effect + rng.normal(0, 1), "entry_time": stamp})
    trades = make_trades(rows)
    equity = equity_frame(
        [(d + pd.Timedelta(hours=15, minutes=59)).strftime("%Y-%m-%d %H:%M") for d in days],
        [10_000.0] * len(days),
        [0] * len(days),
    )
    s = summarize(trades, equity, start_equity=10_000.0, n_boot=2000, seed=1)
    lo, hi = s["per_trade_pnl_ci95"]
    assert s["per_trade_pnl_ci_method"] == "session_block"
    iid = 2 * 1.96 * trades["pnl"].std(ddof=1) / math.sqrt(len(trades))
    assert hi - lo > 2.5 * iid, (lo, hi, iid)
    assert lo < trades["pnl"].mean() < hi
