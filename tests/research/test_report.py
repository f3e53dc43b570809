"""Run reports: files, byte-identical reruns, sections with counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zerodte.research.report import write_run_report
from zerodte.research.stats import SUMMARY_KEYS, summarize

NY = "America/New_York"


@pytest.fixture
def run(make_trades):  # type: ignore[no-untyped-def]
    trades = make_trades(
        [
            {"pnl": 120.0, "entry_time": "2024-03-04 09:45", "ml_confidence": 0.93},
            {"pnl": -60.0, "entry_time": "2024-03-04 11:00", "ml_confidence": 0.55},
            {
                "pnl": 40.0,
                "entry_time": "2024-03-05 13:00",
                "ml_confidence": 0.62,
                "signal_strategy": "mean_reversion",
            },
            {"pnl": -30.0, "entry_time": "2024-03-05 15:00", "exit_reason": "eod_flatten"},
            {"pnl": 75.0, "entry_time": "2024-03-08 10:15", "ml_confidence": 1.0},
        ]
    )
    stamps = pd.date_range("2024-03-04 09:30", periods=40, freq="3h", tz=NY)
    values = 10_000.0 + np.cumsum(np.random.default_rng(0).normal(0, 20, len(stamps)))
    equity = pd.DataFrame(
        {
            "timestamp": stamps,
            "cash": values,
            "positions_value": 0.0,
            "equity": values,
            "open_positions": np.arange(len(stamps)) % 2,
        }
    )
    return trades, equity


def test_report_files_and_byte_identical_rerun(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trades, equity = run
    outs = []
    for name in ("a", "b"):
        s = summarize(trades, equity, start_equity=10_000.0, n_boot=300, seed=0)
        doc = write_run_report(
            tmp_path / name,
            trades,
            equity,
            s,
            title="rules 2024-03",
            extra={
                "run_id": "r1",
                "controller": "rules",
                "start": pd.Timestamp("2024-03-04", tz=NY),
                "cycles": np.int64(40),
                "vetoes": {"market_hours": 3},
            },
        )
        outs.append(tmp_path / name)
        assert set(doc) == set(SUMMARY_KEYS) | {"run_id", "controller", "start", "cycles", "vetoes"}
        assert doc["cycles"] == 40 and doc["start"] == "2024-03-04T00:00:00-05:00"
    for fname in ("summary.json", "ANALYSIS.md", "equity.png"):
        a, b = (outs[0] / fname).read_bytes(), (outs[1] / fname).read_bytes()
        assert a == b, fname
        assert len(a) > 100
    text = (outs[0] / "summary.json").read_text()
    assert list(json.loads(text)) == sorted(json.loads(text))  # canonical: sorted keys
    assert "NaN" not in text and "Infinity" not in text
    assert (outs[0] / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analysis_sections_and_counts(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trades, equity = run
    s = summarize(trades, equity, start_equity=10_000.0, n_boot=200)
    write_run_report(tmp_path, trades, equity, s, title="T")
    md = (tmp_path / "ANALYSIS.md").read_text()
    for heading in (
        "## Headline",
        "## By exit reason",
        "## By time of day (entry)",
        "## By day of week (entry)",
        "## By signal strategy",
        "## By ml confidence",
    ):
        assert heading in md, heading
    assert "## By calibrated confidence" not in md  # column is all null
    assert "Trades: **5**" in md
    assert "fees paid 6.50" in md and "not recorded" in md
    assert "95 % bootstrap CI [" in md
    assert "| 09:30-10:30 | 2 | 2 | 100.0% | 195.00 | 97.50 |" in md
    assert "| 10:30-12:30 | 1 | 0 | 0.0% | -60.00 | -60.00 |" in md
    assert "| 14:30-16:00 | 1 | 0 | 0.0% | -30.00 | -30.00 |" in md
    assert "| Mon | 2 |" in md and "| Tue | 2 |" in md and "| Fri | 1 |" in md
    assert "| eod_flatten | 1 | 0 |" in md and "| take_profit | 3 | 3 |" in md
    assert "| mean_reversion | 1 | 1 |" in md and "| momentum | 4 | 2 |" in md
    assert "| [0.9, 1.0] | 2 | 2 |" in md and "| missing | 1 | 0 |" in md
    assert "| [0.5, 0.6) | 1 | 0 |" in md and "| [0.6, 0.7) | 1 | 1 |" in md
    assert md.count("| **total** | 5 |") == 5


def test_extra_cannot_overwrite_a_statistic(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trades, equity = run
    s = summarize(trades, equity, start_equity=10_000.0, n_boot=50)
    with pytest.raises(ValueError, match="collide"):
        write_run_report(tmp_path, trades, equity, s, title="T", extra={"sharpe": 9.0})


def test_report_with_no_trades(make_trades, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trades = make_trades([])
    equity = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-03-04 09:30", periods=3, freq="min", tz=NY),
            "cash": 1000.0,
            "positions_value": 0.0,
            "equity": 1000.0,
            "open_positions": 0,
        }
    )
    s = summarize(trades, equity, start_equity=1000.0, n_boot=50)
    doc = write_run_report(tmp_path, trades, equity, s, title="idle")
    assert doc["trades"] == 0 and doc["sharpe"] is None
    assert "No trades" in (tmp_path / "ANALYSIS.md").read_text()
    assert (tmp_path / "equity.png").exists()


def test_time_blocks_by_wall_clock_time_of_day() -> None:
    from zerodte.research.report import _time_blocks

    stamps = [
        "2024-03-08 09:29:59.999999",  # before the open
        "2024-03-08 09:30",
        "2024-03-08 10:29:59.999999",
        "2024-03-08 10:30",  # a block's end belongs to the next block
        "2024-03-11 12:30",  # the Monday after the DST change: wall-clock time counts
        "2024-03-11 14:29:59",
        "2024-03-11 14:30",
        "2024-03-11 15:59:59.999999",
        "2024-03-11 16:00",
    ]
    times = pd.Series(pd.to_datetime(stamps, format="ISO8601").tz_localize(NY))
    assert _time_blocks(times).tolist() == [
        "outside 09:30-16:00",
        "09:30-10:30",
        "09:30-10:30",
        "10:30-12:30",
        "12:30-14:30",
        "12:30-14:30",
        "14:30-16:00",
        "14:30-16:00",
        "outside 09:30-16:00",
    ]
