"""A row-wise controller decided a piece of sessions at a time gives the whole frame's run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from zerodte.engine import sources
from zerodte.engine.sources import PieceDecisions
from zerodte.errors import ConfigError
from zerodte.policy.controllers.momentum import MomentumController
from zerodte.types import Action

from .helpers import backtest, make_market, make_settings


class WholeFrameMomentum(MomentumController):
    """The same rule, decided over the whole frame at once."""

    batch_rows_independent = False


@pytest.mark.parametrize("sessions", [1, 2])
def test_pieces_give_the_records_of_the_whole_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sessions: int
) -> None:
    market = make_market(days=5, seed=3)
    settings = make_settings(tmp_path, controller="momentum", momentum_threshold_pct=0.05)
    whole = backtest(settings, market, controller=WholeFrameMomentum(5, 0.05))
    monkeypatch.setattr(sources, "SESSIONS_PER_PIECE", sessions)
    pieces = backtest(settings, market, controller=MomentumController(5, 0.05))
    assert len(whole.trades) > 0
    pd.testing.assert_frame_equal(pieces.decisions, whole.decisions)
    pd.testing.assert_frame_equal(pieces.trades, whole.trades)
    pd.testing.assert_frame_equal(pieces.equity, whole.equity)
    assert pieces.summary == whole.summary


def test_pieces_are_decided_in_order() -> None:
    market = make_market(days=3, seed=3)
    ctrl = MomentumController(5, 0.05)

    class Cols:
        def prime_times(self, cycles: object) -> None:
            pass

    source = PieceDecisions(
        market.frame,
        "default",
        ctrl.decide_batch,
        controller=ctrl,
        columns=Cols(),  # type: ignore[arg-type]
        sessions_per_piece=1,
    )

    class Rec:
        def set_batch_decisions(self, decided: pd.DataFrame, start: int = 0) -> None:
            pass

    source.prepare(Rec())  # type: ignore[arg-type]
    last = len(market.frame) - 1
    assert source.action(last, lambda: None) in {int(a) for a in Action}  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="in order"):
        source.features(0)
