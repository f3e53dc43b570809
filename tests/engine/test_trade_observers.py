"""Gates and controllers that learn from closed trades see every trade, in order, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from zerodte.broker.paper import PaperBroker
from zerodte.config.root import Settings
from zerodte.engine.backtest import run_backtest
from zerodte.engine.build import build_engine
from zerodte.engine.clock import SimulatedClock
from zerodte.engine.feed import HistoricalFeed
from zerodte.engine.recorder import Recorder
from zerodte.engine.sources import BatchDecisions, StreamDecisions
from zerodte.features import FeatureStream, compute_features
from zerodte.policy.base import Gate
from zerodte.policy.controllers.momentum import MomentumController
from zerodte.policy.gates import build_gates
from zerodte.records import TRADE_COLUMNS
from zerodte.types import Decision, Observation, Veto

from .helpers import AtmSelector, Market, make_market, make_settings, simple_books

PATHS = ("vectorised", "streaming")


class LearningGate:
    """Lets every entry through and remembers the trades it is shown."""

    name = "learning"

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        return None

    def observe_trade(self, trade: dict[str, Any]) -> None:
        self.rows.append(trade)


class LearningMomentum(MomentumController):
    """The momentum rule, remembering the trades it is shown."""

    def __init__(self, settings: Settings) -> None:
        e = settings.entry
        super().__init__(e.momentum_lookback_minutes, e.momentum_threshold_pct)
        self.rows: list[dict[str, Any]] = []

    def observe_trade(self, trade: dict[str, Any]) -> None:
        self.rows.append(trade)


class NonLearningGate:
    """A gate without ``observe_trade`` that counts how often the engine looks for it."""

    name = "plain"

    def __init__(self) -> None:
        self.lookups = 0

    def check(self, observation: Observation, decision: Decision) -> Veto | None:
        return None

    def __getattr__(self, name: str) -> Any:
        if name == "observe_trade":
            self.lookups += 1
        raise AttributeError(name)


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(3, seed=1)


def _engine_run(
    market: Market, settings: Settings, path: str, extra_gate: Gate
) -> tuple[Recorder, LearningMomentum]:
    """The composition of ``run_backtest`` with one more gate after the configured ones."""
    frame = market.frame
    feed = HistoricalFeed(frame, simple_books(frame), SimulatedClock())
    recorder = Recorder(feed.columns.times, feed.columns.sessions)
    controller = LearningMomentum(settings)
    source: BatchDecisions | StreamDecisions
    if path == "vectorised":
        features = compute_features(frame, "default")
        new = [c for c in features.columns if c not in frame.columns]
        decisions = controller.decide_batch(pd.concat([frame, features[new]], axis=1))
        source = BatchDecisions(decisions, features, controller=controller)
    else:
        source = StreamDecisions(controller, FeatureStream("default"), feed)
    engine = build_engine(
        settings,
        feed=feed,
        broker=PaperBroker.from_settings(settings),
        recorder=recorder,
        controller_name=controller.name,
        selector=AtmSelector(),
        gates=[*build_gates(settings), extra_gate],
        run_id="observers-test",
    )
    engine.run(source)
    return recorder, controller


def test_gates_and_controller_see_every_closed_trade_in_order(
    market: Market, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, momentum_threshold_pct=0.05)
    seen: dict[str, list[dict[str, Any]]] = {}
    for path in PATHS:
        gate = LearningGate()
        recorder, controller = _engine_run(market, settings, path, gate)
        assert len(recorder.trades) > 5, f"{path}: too few trades to check"
        assert gate.rows == recorder.trades, path
        assert controller.rows == recorder.trades, path
        assert all(list(row) == list(TRADE_COLUMNS) for row in gate.rows)
        assert [r["trade_id"] for r in gate.rows] == list(range(len(gate.rows)))
        # each observer gets its own copy of the record
        assert gate.rows[0] is not recorder.trades[0]
        assert gate.rows[0] is not controller.rows[0]
        seen[path] = gate.rows
    pd.testing.assert_frame_equal(pd.DataFrame(seen["vectorised"]), pd.DataFrame(seen["streaming"]))


@pytest.mark.parametrize("path", PATHS)
def test_run_backtest_shows_its_controller_the_trades(
    market: Market, tmp_path: Path, path: str
) -> None:
    settings = make_settings(tmp_path, momentum_threshold_pct=0.05)
    controller = LearningMomentum(settings)
    result = run_backtest(
        settings,
        market,
        controller=controller,
        path=path,  # type: ignore[arg-type]
        write=False,
        record=False,
        n_boot=50,
        quote_books=simple_books(market.frame),
        selector=AtmSelector(),
    )
    assert len(controller.rows) == len(result.trades) > 5
    shown = pd.DataFrame(controller.rows, columns=list(TRADE_COLUMNS))
    pd.testing.assert_frame_equal(shown, result.trades)


def test_gates_without_the_hook_cost_one_lookup_per_run(market: Market, tmp_path: Path) -> None:
    """The hook is resolved once per run, not per trade or cycle (the loop stays as fast)."""
    settings = make_settings(tmp_path, momentum_threshold_pct=0.05)
    gate = NonLearningGate()
    recorder, _ = _engine_run(market, settings, "vectorised", gate)
    assert len(recorder.trades) > 5
    assert gate.lookups == 1
