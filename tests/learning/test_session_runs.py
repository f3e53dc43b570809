"""QThink on live sessions: a replayed session keeps the bars its feed delivered, every
closed trade is assessed from them, and the regrets are the backtest's for the same trades.

The sessions run the real composition of ``zerodte trade --replay`` against the fake
Tradier (loopback server): once with the Tradier broker, once with the paper broker.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from zerodte.cli.main import app
from zerodte.cli.trade_compose import TradeOptions, run_trade
from zerodte.config import Settings
from zerodte.config.settings import EngineSettings, StoreSettings
from zerodte.engine.backtest import run_backtest
from zerodte.engine.session_bars import SESSION_BARS, read_session_bars
from zerodte.errors import DataError
from zerodte.learning.assess import Assessment, assess_run
from zerodte.learning.labels import ARCHETYPES, LABELS
from zerodte.learning.loop import assess_run_dir
from zerodte.learning.regret import REGRET_KINDS
from zerodte.learning.run_inputs import load_run, records_from_frame
from zerodte.market.loading import MarketData, load_market

pytestmark = pytest.mark.slow
DAYS, SEED = 1, 7
runner = CliRunner()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="module")
def settings(root: Path) -> Settings:
    return Settings(
        engine=EngineSettings(runs_dir=root / "runs"),
        store=StoreSettings(path=root / "runs" / "zerodte.db"),
    )


@pytest.fixture(scope="module")
def market(settings: Settings) -> MarketData:
    return load_market(settings, days=DAYS, seed=SEED)


def _session(settings: Settings, market: MarketData, broker: str, run_dir: Path) -> Path:
    options = TradeOptions(
        replay=True,
        broker=broker,
        days=DAYS,
        seed=SEED,
        market=market,
        record=False,
        run_dir=run_dir,
    )
    (result,) = run_trade(settings, options)
    assert result.finished.run_dir == run_dir
    return run_dir


@pytest.fixture(scope="module")
def venue_run(root: Path, settings: Settings, market: MarketData) -> Path:
    """A replayed session through the Tradier broker on the fake venue."""
    return _session(settings, market, "fake-tradier", root / "venue")


@pytest.fixture(scope="module")
def paper_run(root: Path, settings: Settings, market: MarketData) -> Path:
    """The same session through the paper broker (the fake venue's feed)."""
    return _session(settings, market, "paper", root / "paper")


@pytest.fixture(scope="module")
def backtest_run(root: Path, settings: Settings, market: MarketData) -> Path:
    out = root / "backtest"
    run_backtest(settings, market, path="streaming", run_dir=out, record=False, n_boot=50)
    return out


def _manifest(run_dir: Path) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((run_dir / "manifest.json").read_text())
    return manifest


def test_a_session_keeps_the_bars_its_feed_delivered(venue_run: Path, market: MarketData) -> None:
    src = _manifest(venue_run)["data_source"]
    assert isinstance(src, dict) and src["kind"] == "session"
    path = venue_run / SESSION_BARS
    assert src["file"] == SESSION_BARS
    assert src["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert str(src["venue"]).startswith("fake-tradier:")
    frame = read_session_bars(venue_run, src)
    want = market.frame
    assert src["bars"] == len(frame) == len(want) == _manifest(venue_run)["cycles"]
    assert frame.index.equals(want.index)
    assert list(frame.columns) == list(want.columns)
    assert frame["session"].tolist() == want["session"].tolist()
    cols = [c for c in want.columns if c != "session"]
    np.testing.assert_allclose(
        frame[cols].to_numpy(np.float64), want[cols].to_numpy(np.float64), rtol=0, atol=1e-9
    )


@pytest.mark.parametrize("which", ["venue_run", "paper_run"])
def test_every_closed_trade_of_a_session_is_assessed(
    which: str, request: pytest.FixtureRequest
) -> None:
    run_dir: Path = request.getfixturevalue(which)
    trades = pd.read_parquet(run_dir / "trades.parquet")
    assert len(trades) > 5, "the session should trade"
    a, res = assess_run_dir(run_dir)
    out = a.outcomes
    assert sorted(out["trade_id"]) == sorted(trades["trade_id"])
    assert res["summary"]["trades"] == len(trades)
    assert out["label"].isin(LABELS).all() and out["archetype"].isin(ARCHETYPES).all()
    for kind in REGRET_KINDS:
        v = out[kind].to_numpy(np.float64)
        ok = v[~np.isnan(v)]
        assert ((ok >= 0) & (ok <= 1)).all(), kind
    assert out[["entry_regret", "exit_regret", "decay_regret"]].notna().all().all()
    # one session: no prior day, so no open interest, so no pin regret (NaN, never 0)
    assert out["pin_regret"].isna().all()
    for name in ("qthink_outcomes.parquet", "qthink_agents.parquet", "sync_log.jsonl"):
        assert (run_dir / name).exists(), name
    assert len(pd.read_parquet(run_dir / "qthink_outcomes.parquet")) == len(trades)


_KEY = ["entry_time", "right", "exit_time"]


def _outcomes(a: Assessment) -> pd.DataFrame:
    return a.outcomes.sort_values(_KEY).reset_index(drop=True)


def _assert_same_regrets(a: pd.DataFrame, b: pd.DataFrame, kinds: tuple[str, ...]) -> None:
    for kind in kinds:
        x, y = a[kind].to_numpy(np.float64), b[kind].to_numpy(np.float64)
        assert (np.isnan(x) == np.isnan(y)).all(), kind
        np.testing.assert_allclose(x[~np.isnan(x)], y[~np.isnan(y)], rtol=1e-9, atol=1e-12)


def test_session_regrets_equal_the_backtests(venue_run: Path, backtest_run: Path) -> None:
    live, bt = _outcomes(assess_run_dir(venue_run)[0]), _outcomes(assess_run_dir(backtest_run)[0])
    assert live["entry_time"].tolist() == bt["entry_time"].tolist()
    assert live["exit_time"].tolist() == bt["exit_time"].tolist()
    for col in ("label", "archetype", "time_block", "penalty_points"):
        assert live[col].tolist() == bt[col].tolist(), col
    np.testing.assert_allclose(live["pnl"], bt["pnl"], rtol=0, atol=1e-9)
    _assert_same_regrets(live, bt, tuple(k for k in REGRET_KINDS if k != "exit_regret"))
    # The missed-move term of the exit regret reads the trade's recorded delta: live, the
    # IV is implied from the mid of the venue's quotes (on the tick grid), in the backtest
    # it is the option model's own; the deltas differ by < 1e-4 and so does the regret.
    gap = (live["exit_regret"] - bt["exit_regret"]).abs().max()
    assert gap < 1e-4, gap


def test_with_the_backtests_deltas_every_regret_is_the_backtests(
    venue_run: Path, backtest_run: Path
) -> None:
    loaded, bt_loaded = load_run(venue_run), load_run(backtest_run)
    trades = loaded.records.trades.copy()
    bt_delta = bt_loaded.records.trades.set_index("entry_time")["delta"]
    trades["delta"] = bt_delta.loc[trades["entry_time"]].to_numpy()
    s = loaded.settings
    live = assess_run(replace(loaded.records, trades=trades), s.entry.consensus, s.options)
    bt = assess_run(bt_loaded.records, s.entry.consensus, s.options)
    _assert_same_regrets(_outcomes(live), _outcomes(bt), (*REGRET_KINDS, "regret_sum"))


def test_a_missing_ghost_window_stays_nan(venue_run: Path) -> None:
    loaded = load_run(venue_run)
    trades = loaded.records.trades
    first = pd.Timestamp(trades["entry_time"].min())
    cut = loaded.frame.loc[: first + pd.Timedelta(minutes=3)]
    early = trades[pd.to_datetime(trades["entry_time"]) == first]
    s = loaded.settings
    records = records_from_frame(s, cut, early, loaded.records.decisions)
    row = assess_run(records, s.entry.consensus, s.options).outcomes.iloc[0]
    assert math.isnan(row["entry_regret"]), "no ghost 15 minutes after the last bar: unknown"


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    return out


def test_a_truncated_bar_file_is_refused(venue_run: Path, tmp_path: Path) -> None:
    run_dir = _copy(venue_run, tmp_path)
    path = run_dir / SESSION_BARS
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=SESSION_BARS):
        assess_run_dir(run_dir)


def test_an_edited_bar_file_is_refused(venue_run: Path, tmp_path: Path) -> None:
    run_dir = _copy(venue_run, tmp_path)
    path = run_dir / SESSION_BARS
    bars = pd.read_parquet(path)
    bars.loc[10, "spy_close"] += 0.01
    bars.to_parquet(path, index=False)
    with pytest.raises(DataError, match="edited or truncated"):
        assess_run_dir(run_dir)
    path.unlink()
    with pytest.raises(DataError, match="missing"):
        assess_run_dir(run_dir)


def test_learn_regret_on_a_session(
    paper_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _copy(paper_run, tmp_path)
    monkeypatch.setenv("ZERODTE_STORE__PATH", str(tmp_path / "cli.db"))
    res = runner.invoke(app, ["learn", "regret", "--run", str(run_dir), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["data_source"]["kind"] == "session"
    assert out["summary"]["trades"] == len(pd.read_parquet(run_dir / "trades.parquet"))
    assert out["stored_rows"] == out["summary"]["trades"]
    (run_dir / SESSION_BARS).write_bytes(b"")
    res = runner.invoke(app, ["learn", "regret", "--run", str(run_dir)])
    assert res.exit_code == 2 and SESSION_BARS in res.output
