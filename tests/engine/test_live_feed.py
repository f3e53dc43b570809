"""LiveFeed on the fake Tradier: the bars and quotes a backtest would see; missing bars
reported, not invented; stale quotes measured; a restart resumes at the bar just closed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import islice

import httpx
import pandas as pd
import pytest

from zerodte.broker.tradier.client import TradierClient, http_client
from zerodte.broker.tradier.fake.clock import VenueClock
from zerodte.broker.tradier.fake.control import VenueTime
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.broker.tradier.fake.replay import FAKE_ACCOUNT, FAKE_TOKEN, replay_fake
from zerodte.broker.tradier.fake.server import FakeTradier, mock_transport
from zerodte.broker.tradier.session import RetryPolicy
from zerodte.config import Settings
from zerodte.engine.alignment import Alignment, classify
from zerodte.engine.build import modelled_quote_books
from zerodte.engine.feed import HistoricalFeed
from zerodte.engine.live_feed import LiveFeed
from zerodte.errors import ConfigError
from zerodte.market.loading import MarketData, load_market
from zerodte.types import OptionContract, Right

from .live_helpers import replay_settings


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> MarketData:
    return load_market(replay_settings(tmp_path_factory.mktemp("m")), days=1, seed=7)


def _feed(market: MarketData, faults: FaultPlan | None = None) -> tuple[LiveFeed, FakeTradier]:
    settings = Settings()
    fake = replay_fake(market.frame, settings, faults=faults)
    transport = mock_transport(fake)
    headers = {"Authorization": f"Bearer {FAKE_TOKEN}", "Accept": "application/json"}
    control = httpx.Client(base_url="http://fake", headers=headers, transport=transport)
    clock = VenueTime(control)
    http = http_client("http://fake/v1", FAKE_TOKEN, transport=transport)
    client = TradierClient(http, account_id=FAKE_ACCOUNT, retry=RetryPolicy(sleep=clock.sleep))
    live = settings.live.model_copy(update={"bar_settle_s": 0.0, "bar_timeout_s": 5.0})
    feed = LiveFeed(
        client.market, clock=clock, sleep=clock.sleep, options=settings.options, live=live
    )
    return feed, fake


def _cycles(feed: LiveFeed, n: int) -> list[int]:
    assert feed.open_session() is not None
    feed.warm_up()
    it: Iterator[int] = feed.cycles()
    return list(islice(it, n))


def test_bars_rows_and_quotes_are_the_backtests(market: MarketData) -> None:
    feed, _ = _feed(market)
    cycles = _cycles(feed, 40)
    assert cycles == list(range(40))
    hist = HistoricalFeed(market.frame, modelled_quote_books(Settings(), market.frame))
    for i in (0, 17, 39):
        assert feed.row(i) == pytest.approx(hist.row(i), nan_ok=True)
        assert feed.columns.minutes_to_close[i] == hist.columns.minutes_to_close[i]
        assert feed.columns.first_of_session[i] == hist.columns.first_of_session[i]
    snap, ref = feed.snapshot(39), hist.snapshot(39)
    strike = round(ref.bars["SPY"].close)
    contract = OptionContract("SPY", snap.session, Right.CALL, float(strike))
    live_q, bt_q = snap.quotes.quote(contract), ref.quotes.quote(contract)
    assert live_q is not None and bt_q is not None
    assert (live_q.bid, live_q.ask) == (bt_q.bid, bt_q.ask)
    assert live_q.iv == pytest.approx(bt_q.iv, rel=0.05)  # ours, from the mid
    assert math.isfinite(live_q.delta) and 0.0 < live_q.delta < 1.0
    assert feed.columns.data_lag_s[39] == 0.0  # stepped clock: the close exactly
    assert classify(0.0, Settings().alignment) == (Alignment.EXACT, 1.0)


def test_a_missing_bar_gets_no_cycle_and_is_reported(
    market: MarketData, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed, fake = _feed(market)
    assert fake.market is not None
    gap = fake.market.starts[10]
    real = fake.market.timesales

    def without_gap(symbol: str, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp):  # type: ignore[no-untyped-def]
        rows = real(symbol, start, end, now)
        return [
            r
            for r in rows
            if not (symbol == "SPY" and r["time"] == gap.strftime("%Y-%m-%dT%H:%M:%S"))
        ]

    monkeypatch.setattr(fake.market, "timesales", without_gap)
    _cycles(feed, 20)
    assert gap not in feed.columns.times
    assert feed.health.missing_bars == [str(gap)]
    assert feed.columns.times[10] == gap + pd.Timedelta(minutes=1)


def test_stale_quotes_are_measured_not_hidden(market: MarketData) -> None:
    feed, _ = _feed(market, FaultPlan({"stale_quote": 1.0}))
    _cycles(feed, 12)
    lag = feed.columns.data_lag_s[11]
    assert lag == pytest.approx(180.0)  # three bars old
    state, conf = classify(lag, Settings().alignment)
    assert state is Alignment.PRIOR and conf == pytest.approx(0.5 ** (180 / 300))
    assert feed.health.last_quote_age_s == pytest.approx(180.0)


def test_a_restart_resumes_at_the_bar_just_closed(market: MarketData) -> None:
    first, _ = _feed(market)
    _cycles(first, 30)  # the venue is now at the close of bar 29
    first.close()
    feed, _ = _feed(market)
    feed.market = first.market
    feed.clock = first.clock
    feed.sleep = first.sleep
    assert feed.open_session() is not None
    assert feed.warm_up() == 30
    feed.resume = 25  # the checkpoint was at bar 24: 25..28 closed while the bot was down
    got = list(islice(feed.cycles(), 6))
    assert got == [25, 26, 27, 28, 29, 30]
    assert [feed.is_missed(i) for i in got] == [True, True, True, True, False, False]
    assert feed.has_quotes(29) and not feed.has_quotes(27)
    assert feed.health.missed_cycles == 4


def test_a_running_venue_clock_needs_a_finite_positive_speed() -> None:
    """``--speed nan`` (or 0, or -1) is a ConfigError before any server starts, never a
    NaN timedelta inside the venue that answers 500."""
    start = pd.Timestamp("2024-01-02 09:30", tz="America/New_York")
    for speed in (math.nan, math.inf, 0.0, -1.0):
        with pytest.raises(
            ConfigError, match=f"finite speed > 0 and a wall clock, got speed {speed}"
        ):
            VenueClock(start, speed, wall=lambda: 0.0)
    assert VenueClock(start, 60.0, wall=lambda: 0.0).speed == 60.0
