"""The run page's computations on small hand-made trade rows."""

from __future__ import annotations

import datetime as dt

import pytest

from zerodte.dashboard.analytics import (
    breakdown,
    calibration,
    pnl_curve,
    q_distribution,
    regime_tables,
)

UTC = dt.UTC


def _row(pnl: float, **extra: object) -> dict[str, object]:
    return {"pnl": pnl, "fees": 1.3, "entry_time": "2024-01-02T09:45:00-05:00", **extra}


def test_pnl_curve_and_drawdown() -> None:
    t = dt.datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
    points = [(1, t, 10.0), (2, t, -30.0), (3, t, 5.0), (4, t, 40.0)]
    curve = pnl_curve(points)
    assert [p["cum_pnl"] for p in curve] == [10.0, -20.0, -15.0, 25.0]
    assert [p["drawdown"] for p in curve] == [0.0, -30.0, -25.0, 0.0]
    assert curve[0]["exit_time"] == "2024-01-02T10:00:00-05:00"
    # a first loss is a drawdown from the start (0), not from the first trade
    assert pnl_curve([(1, t, -5.0)])[0]["drawdown"] == -5.0


def test_breakdown_counts_every_group() -> None:
    rows = [
        _row(10, exit_reason="take_profit"),
        _row(-4, exit_reason="stop_loss"),
        _row(-6, exit_reason="stop_loss"),
        _row(1, exit_reason=None),
    ]
    groups = {g["group"]: g for g in breakdown(rows, "exit_reason")}
    assert groups["stop_loss"]["trades"] == 2 and groups["stop_loss"]["pnl"] == -10
    assert groups["stop_loss"]["win_rate"] == 0.0 and groups["take_profit"]["per_trade"] == 10
    assert groups["(none)"]["trades"] == 1
    assert sum(g["trades"] for g in groups.values()) == 4


def test_calibration_bins_predicted_against_realised() -> None:
    rows = [
        _row(5, calibrated_confidence=0.82),
        _row(-5, calibrated_confidence=0.88),
        _row(5, calibrated_confidence=0.15),
        _row(3, calibrated_confidence=None),
    ]
    cal = calibration(rows)
    assert cal["column"] == "calibrated_confidence" and cal["trades"] == 3
    by_low = {b["low"]: b for b in cal["bins"]}
    assert by_low[0.8]["trades"] == 2 and by_low[0.8]["realized"] == 0.5
    assert by_low[0.8]["predicted"] == pytest.approx(0.85)
    assert by_low[0.1]["realized"] == 1.0
    assert calibration([_row(1)]) == {"column": None, "trades": 0, "bins": []}


def test_q_distribution_uses_the_q_of_the_action_taken() -> None:
    rows = [_row(float(k), right="C", q_call=float(k), q_put=-99.0) for k in range(10)]
    rows += [_row(-1.0, right="P", q_call=99.0, q_put=-2.0)]
    q = q_distribution(rows, bins=4)
    assert q["trades"] == 11 and sum(h["trades"] for h in q["histogram"]) == 11
    assert q["histogram"][0]["low"] == -2.0 and q["histogram"][-1]["high"] == 9.0
    assert [k["trades"] for k in q["quintiles"]] == [3, 2, 2, 2, 2]
    assert q["quintiles"][0]["mean_q"] < q["quintiles"][-1]["mean_q"]
    assert q_distribution([_row(1.0, right="C")])["trades"] == 0


def test_regime_tables_bucket_the_entry_state() -> None:
    rows = [
        _row(1, hmm_trend=0.9, hmm_volatility=0.1, vix_level=12.0),
        _row(
            -1,
            hmm_trend=0.1,
            hmm_volatility=0.9,
            vix_level=27.0,
            entry_time="2024-01-02T15:10:00-05:00",
        ),
    ]
    tables = regime_tables(rows)
    assert {g["group"] for g in tables["hmm_trend"]} == {"up (> 0.67)", "down (< 0.33)"}
    assert {g["group"] for g in tables["vix_level"]} == {"VIX < 15", "VIX >= 25"}
    assert {g["group"] for g in tables["time_of_day"]} == {"09:30-10:30", "14:00-16:00"}
