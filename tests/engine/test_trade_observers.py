"""Gates and controllers that learn from closed trades see every trade, in order, once.

Everything runs through ``run_backtest``: a learning part is any gate or controller with
``observe_trade`` (:data:`~zerodte.engine.parts.TradeObserver`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from zerodte.config.root import Settings
from zerodte.engine.backtest import BacktestResult, run_backtest
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


class MeddlingGate(LearningGate):
    """Remembers each trade, then scribbles over the row it was handed."""

    def observe_trade(self, trade: dict[str, Any]) -> None:
        self.rows.append(dict(trade))
        trade["pnl"] = 1e9
        trade["exit_reason"] = "meddled"


class LearningMomentum(MomentumController):
    """The momentum rule, remembering the trades it is shown."""

    def __init__(self, settings: Settings) -> None:
        e = settings.entry
        super().__init__(e.momentum_lookback_minutes, e.momentum_threshold_pct)
        self.rows: list[dict[str, Any]] = []

    def observe_trade(self, trade: dict[str, Any]) -> None:
        self.rows.append(trade)


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(3, seed=1)


def _run(
    market: Market,
    settings: Settings,
    path: str,
    controller: LearningMomentum,
    extra_gates: list[LearningGate] | None = None,
) -> BacktestResult:
    """A backtest with the configured gates plus ``extra_gates`` after them."""
    return run_backtest(
        settings,
        market,
        controller=controller,
        path=path,  # type: ignore[arg-type]
        write=False,
        record=False,
        n_boot=50,
        quote_books=simple_books(market.frame),
        selector=AtmSelector(),
        gates=None if extra_gates is None else [*build_gates(settings), *extra_gates],
    )


def _shown(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(TRADE_COLUMNS))


def test_gates_and_controller_see_every_closed_trade_in_order(
    market: Market, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, momentum_threshold_pct=0.05)
    seen: dict[str, pd.DataFrame] = {}
    for path in PATHS:
        gate, controller = LearningGate(), LearningMomentum(settings)
        result = _run(market, settings, path, controller, [gate])
        assert len(result.trades) > 5, f"{path}: too few trades to check"
        assert all(list(row) == list(TRADE_COLUMNS) for row in gate.rows)
        assert [r["trade_id"] for r in gate.rows] == list(range(len(gate.rows)))
        pd.testing.assert_frame_equal(_shown(gate.rows), result.trades)
        pd.testing.assert_frame_equal(_shown(controller.rows), result.trades)
        seen[path] = _shown(gate.rows)
    pd.testing.assert_frame_equal(seen["vectorised"], seen["streaming"])


def test_an_observer_cannot_alter_the_record(market: Market, tmp_path: Path) -> None:
    """Each observer is handed its own copy: what one does to it reaches neither the
    stored trades nor the next observer."""
    settings = make_settings(tmp_path, momentum_threshold_pct=0.05)
    meddler, after = MeddlingGate(), LearningGate()
    controller = LearningMomentum(settings)
    result = _run(market, settings, "vectorised", controller, [meddler, after])
    assert len(result.trades) > 5
    assert "meddled" not in set(result.trades["exit_reason"])
    pd.testing.assert_frame_equal(_shown(meddler.rows), result.trades)
    pd.testing.assert_frame_equal(_shown(after.rows), result.trades)
    pd.testing.assert_frame_equal(_shown(controller.rows), result.trades)


@pytest.mark.parametrize("path", PATHS)
def test_run_backtest_shows_its_controller_the_trades(
    market: Market, tmp_path: Path, path: str
) -> None:
    settings = make_settings(tmp_path, momentum_threshold_pct=0.05)
    controller = LearningMomentum(settings)
    result = _run(market, settings, path, controller)
    assert len(controller.rows) == len(result.trades) > 5
    pd.testing.assert_frame_equal(_shown(controller.rows), result.trades)
