"""On an edge-0 market the QThink loop must not create significance.

The configuration is fixed in advance, as in ``tests/rl/test_compare.py``'s null-market
test: synthetic seed 5, edge 0, 30 sessions, a 10-session HMM window; weights learned on
the first 15 sessions and evaluated on the last 15, the contrarian consensus. It is read
as one of a family of two markets, so that the family-wise intervals are checked too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zerodte.config import Settings
from zerodte.learning.effect import EffectSetup, measure_effect

SETUP = EffectSetup(
    seed=5, edge=0.0, days=30, learn_sessions=15, hmm_train_days=10, n_boot=300, family=2
)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("effect")
    settings = Settings(store={"path": tmp / "runs.db"}, engine={"runs_dir": tmp / "runs"})
    return measure_effect(settings, SETUP, tmp / "states")


def test_the_comparison_is_not_vacuous(result: dict[str, Any]) -> None:
    assert result["learn_trades_assessed"] >= 30
    assert result["plain"]["trades"] >= 30 and result["qthink"]["trades"] >= 10
    assert result["state_versions"] == result["learn_trades_assessed"] + 1
    assert result["weights"] != dict.fromkeys(result["weights"], 1.0)  # it learned something
    assert result["eval_window"][0] > result["learn_window"][1]


def test_qthink_reports_no_edge_on_a_null_market(result: dict[str, Any]) -> None:
    ci = result["qthink"]["per_trade_ci95"]
    assert ci is not None and ci[0] <= 0.0, result["qthink"]


def test_qthink_does_not_differ_significantly_on_a_null_market(result: dict[str, Any]) -> None:
    ci = result["diff_per_trade_ci95"]
    assert ci is not None and ci[0] <= 0.0 <= ci[1], (result["diff_per_trade_pnl"], ci)


def test_the_familywise_verdict_holds_the_95_percent_intervals(result: dict[str, Any]) -> None:
    assert result["family"] == 2 and result["familywise_alpha"] == 0.05
    for ci95, fw in (
        (result["diff_per_trade_ci95"], result["diff_per_trade_ci_familywise"]),
        (result["qthink"]["per_trade_ci95"], result["qthink_per_trade_ci_familywise"]),
    ):
        assert fw[0] <= ci95[0] and fw[1] >= ci95[1], (ci95, fw)
        assert fw[1] - fw[0] > ci95[1] - ci95[0]  # a wider level, not the same interval
    assert result["significant_familywise"] is False


def test_a_family_holds_at_least_one_market(tmp_path: Path) -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="family=0"):
        measure_effect(Settings(), replace(SETUP, family=0), tmp_path)


def test_the_friction_split_adds_up(result: dict[str, Any]) -> None:
    # per trade: P&L = P&L before friction - (fees + half-spreads paid at entry and exit)
    for side in ("plain", "qthink"):
        s = result[side]
        assert s["per_trade_friction"] is not None and s["per_trade_friction"] > 0, s
        assert (
            s["per_trade_spread_cost"] > 0 and s["per_trade_friction"] > s["per_trade_spread_cost"]
        )
        assert s["per_trade_before_friction"] - s["per_trade_friction"] == pytest.approx(
            s["per_trade_pnl"]
        )


def test_the_direction_and_premium_split_adds_up(result: dict[str, Any]) -> None:
    # per trade: mid-to-mid = P&L before friction + slippage = direction part + premium part
    for side in ("plain", "qthink"):
        s = result[side]
        assert s["per_trade_slippage"] > 0, s
        assert s["per_trade_mid_to_mid"] == pytest.approx(
            s["per_trade_before_friction"] + s["per_trade_slippage"]
        )
        assert s["per_trade_delta_part"] + s["per_trade_premium_part"] == pytest.approx(
            s["per_trade_mid_to_mid"]
        )
        for part in ("delta_part", "premium_part"):
            lo, hi = s[f"per_trade_{part}_ci95"]
            assert lo <= s[f"per_trade_{part}"] <= hi, (side, part)
    # the paired differences of the two parts add up to that of the mid-to-mid P&L (the
    # P&L with friction and slippage given back)
    split = result["diff_per_trade_delta_part"] + result["diff_per_trade_premium_part"]
    assert split == pytest.approx(result["diff_per_trade_mid_to_mid"], abs=1e-9)
    for part in ("mid_to_mid", "delta_part", "premium_part"):
        lo, hi = result[f"diff_per_trade_{part}_ci95"]
        assert lo <= result[f"diff_per_trade_{part}"] <= hi, part
