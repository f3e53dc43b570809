"""Null market (no edge after friction), the CLI commands, clock and feed basics."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.engine.clock import SimulatedClock, WallClock
from zerodte.engine.feed import HistoricalFeed
from zerodte.errors import DataError

from .helpers import make_market, make_settings, simple_books


@pytest.mark.slow
@pytest.mark.parametrize(
    ("controller", "entry"),
    [
        ("random", {"random_p_call": 0.02, "random_p_put": 0.02, "random_seed": 3}),
        ("momentum", {"momentum_threshold_pct": 0.05}),
    ],
)
def test_null_market_shows_no_edge(
    controller: str, entry: dict[str, float], tmp_path: Path
) -> None:
    """On a martingale market (edge 0) with friction the per-trade CI must not clear zero."""
    market = make_market(60, seed=21, edge=0.0)
    s = make_settings(tmp_path, controller=controller, **entry)
    from zerodte.engine.backtest import run_backtest

    r = run_backtest(s, market, write=False, record=False, n_boot=500)
    assert r.summary["trades"] >= 100, r.summary["trades"]
    low, _high = r.summary["per_trade_pnl_ci95"]
    assert low <= 0.0, f"{controller} shows an edge on a null market: CI {low, _high}"


def test_clock_and_feed_basics() -> None:
    clock = SimulatedClock()
    with pytest.raises(DataError):
        clock.now()
    m = make_market(2, seed=2)
    feed = HistoricalFeed(m.frame, simple_books(m.frame), clock)
    it = feed.cycles()
    next(it)
    assert clock.now() == m.frame.index[0] + pd.Timedelta(minutes=1)
    c = feed.columns
    assert c.minutes_since_open[0] == 1.0 and c.minutes_to_close[0] == 389.0
    assert c.minutes_to_close[389] == 0.0 and c.last_of_session[389] and c.first_of_session[390]
    snap = feed.snapshot(5)
    assert snap.bars["SPY"].close == m.frame["spy_close"].iloc[5]
    assert WallClock().now().tzinfo is not None
    with pytest.raises(DataError, match="increase"):
        HistoricalFeed(m.frame.iloc[::-1], simple_books(m.frame))


def test_half_day_minutes_to_close() -> None:
    from datetime import date

    from zerodte.market.schema import market_frame
    from zerodte.market.synthetic import generate_market

    frame = market_frame(generate_market(date(2024, 11, 29), 1, 3, 1.0))  # closes 13:00
    feed = HistoricalFeed(frame, simple_books(frame))
    assert len(frame) == 210 and feed.columns.minutes_to_close[-1] == 0.0


def test_cli_backtest_and_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the settings of make_settings, given as the user would (the environment)
    monkeypatch.setenv("ZERODTE_ENGINE__RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ZERODTE_STORE__PATH", str(tmp_path / "runs" / "zerodte.db"))
    monkeypatch.setenv("ZERODTE_DATA__DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = runner.invoke(
        app, ["backtest", "--days", "2", "--seed", "5", "--run-dir", str(tmp_path / "r"), "--json"]
    )
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["controller"] == "momentum" and (tmp_path / "r" / "summary.json").exists()
    listed = runner.invoke(app, ["runs", "list", "--json"])
    assert listed.exit_code == 0 and summary["run_id"] in listed.output
    shown = runner.invoke(app, ["runs", "show", summary["run_id"]])
    assert shown.exit_code == 0 and summary["run_id"] in shown.output
    bad = runner.invoke(app, ["backtest", "--controller", "randm", "--days", "2"])
    assert bad.exit_code == 2 and "did you mean 'random'" in bad.output.lower()
    missing = runner.invoke(app, ["runs", "show", "nope", "--json"])
    assert missing.exit_code == 1 and missing.stdout == ""  # --json output stays JSON or empty
    assert "no run 'nope' in the store" in missing.stderr


def test_default_wiring_with_modelled_quotes(tmp_path: Path) -> None:
    """run_backtest with the options package's quotes and contract selection (no fakes)."""
    from zerodte.engine.backtest import run_backtest

    m = make_market(3, seed=4)
    s = make_settings(tmp_path, momentum_threshold_pct=0.05)
    a = run_backtest(s, m, write=False, record=False, n_boot=100)
    b = run_backtest(s, m, write=False, record=False, n_boot=100, path="streaming")
    assert a.summary["trades"] > 0
    assert a.summary == b.summary
    t = a.trades.iloc[0]
    assert t.symbol.startswith("SPY") and t.delta == t.delta and 0 < abs(t.delta) < 1
    assert t.momentum_5m is not None and t.entry_controller == "momentum"
