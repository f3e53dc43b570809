"""A straddle through the whole engine: two legs, one position, accounting identities."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from zerodte.config import Settings, with_overrides
from zerodte.engine.backtest import run_backtest
from zerodte.market.loading import load_market
from zerodte.types import Action, Decision, Observation


class StraddleAt:
    """Buys one straddle at the given minute of each session, holds otherwise."""

    name = "straddle_test"

    def __init__(self, minute: float) -> None:
        self.minute = minute

    def decide(self, observation: Observation) -> Decision:
        go = observation.minutes_since_open == self.minute
        a = Action.BUY_STRADDLE if go else Action.HOLD
        probs = (0.0, 0.0, 0.0, 1.0) if go else (1.0, 0.0, 0.0, 0.0)
        return Decision(
            a, scores=(0.0,) * 4, probs=probs, context={"strategy": "VOLATILITY_EXPANSION"}
        )


@pytest.mark.parametrize(
    "exits", [{}, {"exits.stop_loss_pct": 60.0, "exits.take_profit_pct": 80.0}]
)
def test_straddle_legs_exit_together_and_add_up(tmp_path: Path, exits: dict[str, float]) -> None:
    s = with_overrides(Settings(), {"engine.runs_dir": tmp_path, **exits})
    md = load_market(s, days=3, seed=5, edge=1.0)
    r = run_backtest(
        s, md, controller=StraddleAt(60.0), path="streaming", write=False, record=False, n_boot=50
    )
    t = r.trades
    assert len(t) == 6 and set(t["legs"]) == {2}
    for _tag, legs in t.groupby("position_tag"):
        assert sorted(legs["right"]) == ["C", "P"]
        assert legs["strike"].nunique() == 1 and legs["exit_time"].nunique() == 1
        assert legs["exit_reason"].nunique() == 1  # one exit decision for the position
        assert (legs["signal_strategy"] == "VOLATILITY_EXPANSION").all()
    pnl = (t["exit_price"] - t["entry_price"]) * 100 * t["qty"] - t["fees"]
    assert pnl.to_numpy() == pytest.approx(t["pnl"].to_numpy())
    final = float(r.equity["equity"].iloc[-1])
    assert final - s.broker.initial_cash == pytest.approx(float(t["pnl"].sum()), abs=1e-6)
    assert "prob_straddle" in r.decisions.columns
    assert (
        r.decisions[["prob_hold", "prob_call", "prob_put", "prob_straddle"]].sum(axis=1).eq(1).all()
    )
    assert pd.api.types.is_integer_dtype(r.decisions["action"])
