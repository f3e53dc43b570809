"""Reinforcement scenario table: raises, cuts, penalties, and versions in time order."""

from __future__ import annotations

import pandas as pd
import pytest

from zerodte.learning.assess import Assessment
from zerodte.learning.reinforce import reinforce
from zerodte.policy.controllers.consensus_agents import AGENTS

TZ = "America/New_York"


def one_trade(  # noqa: PLR0917 (one column per rule input)
    pnl: float,
    regret_sum: float,
    label: str,
    aligned: dict[str, float],
    block: str = "early_open",
    points: float = 0.0,
    known: str = "2024-01-10 10:00",
    trade_id: int = 0,
) -> Assessment:
    o = pd.DataFrame(
        [
            {
                "trade_id": trade_id,
                "known_at": pd.Timestamp(known, tz=TZ),
                "pnl": pnl,
                "regret_sum": regret_sum,
                "label": label,
                "time_block": block,
                "penalty_points": points,
            }
        ]
    )
    a = pd.DataFrame(
        [
            {"trade_id": trade_id, "agent": k, "aligned_score": aligned.get(k, float("nan"))}
            for k in AGENTS
        ]
    )
    return Assessment(o, a)


@pytest.mark.parametrize(
    ("pnl", "regret", "label", "aligned", "want"),
    [
        (10.0, 0.5, "good_trade", {"momentum": 1.0}, {"momentum": 1.2}),  # +20 % at full support
        (10.0, 0.5, "good_trade", {"momentum": 0.5}, {"momentum": 1.1}),  # scaled by support
        (10.0, 1.5, "lucky_win", {"momentum": 1.0}, {"momentum": 1.0}),  # a regretful win: no raise
        (-10.0, 2.0, "acceptable_loss", {"hmm": 1.0}, {"hmm": 0.7}),  # -30 % at severity 1
        (-10.0, 1.0, "acceptable_loss", {"hmm": 1.0}, {"hmm": 0.85}),  # severity 0.5
        (-10.0, 0.2, "model_failure", {"hmm": 0.5}, {"hmm": 0.85}),  # a failure is severe
        (-10.0, 3.0, "conflict_failure", {"hmm": -0.8, "flow": 1.0}, {"hmm": 1.0, "flow": 0.7}),
        (10.0, 0.1, "good_trade", {"flow": -1.0}, {"flow": 1.0}),  # opposed: unchanged
        (0.0, 0.0, "scratch", {"flow": 1.0}, {"flow": 1.0}),  # a scratch changes nothing
    ],
)
def test_weight_updates(
    pnl: float, regret: float, label: str, aligned: dict[str, float], want: dict[str, float]
) -> None:
    st = reinforce(one_trade(pnl, regret, label, aligned))
    last = st.versions[-1]
    for agent, w in want.items():
        assert last.weights[agent] == pytest.approx(w)
    untouched = set(AGENTS) - set(aligned)
    assert all(last.weights[a] == 1.0 for a in untouched)


def test_weights_stay_within_bounds_and_penalties_decay() -> None:
    st = None
    for i in range(12):
        known = f"2024-01-10 10:{i:02d}"
        a = one_trade(-10.0, 3.0, "model_failure", {"hmm": 1.0}, "chop_mid", 10.0, known, i)
        st = reinforce(a, st)
    assert st is not None
    last = st.versions[-1]
    assert last.weights["hmm"] == 0.25  # 0.7 ** 12 clipped at the floor
    # P <- 0.9 P + 10, twelve times from 0
    want = 0.0
    for _ in range(12):
        want = 0.9 * want + 10.0
    assert last.penalties["chop_mid"] == pytest.approx(want)
    assert last.penalties["early_open"] == 0.0
    assert len(st.versions) == 13 and last.trades == 12


def test_a_decision_uses_only_trades_known_before_it() -> None:
    first = one_trade(-10.0, 3.0, "model_failure", {"hmm": 1.0}, known="2024-01-10 10:00")
    second = one_trade(
        -10.0, 3.0, "model_failure", {"hmm": 1.0}, known="2024-01-10 11:00", trade_id=1
    )
    both = Assessment(
        pd.concat([second.outcomes, first.outcomes]), pd.concat([first.agents, second.agents])
    )
    st = reinforce(both)
    times = pd.DatetimeIndex(
        [pd.Timestamp(t, tz=TZ) for t in ("2024-01-10 09:59", "2024-01-10 10:00",
                                          "2024-01-10 10:01", "2024-01-10 11:01")]
    )  # fmt: skip
    hmm = st.weight_matrix(times, ["hmm"])[:, 0]
    assert hmm.tolist() == pytest.approx([1.0, 1.0, 0.7, 0.49])
