"""Scenario table: scripted minute bids -> expected exit reason, minute and fill price.

Entry is at 1.00 (ask; bid 0.98) unless stated; ``held`` is ``minutes_held`` when the rule
fired; the fill is the NEXT minute's open bid (the previous close unless a gap is scripted).
Settings are the defaults (stop -8 %, take profit +12 %, trailing 4 %/2 points, max hold 45,
expiry guard 30 min, loss cap $500, stop min hold 1 min) unless overridden.
"""

from __future__ import annotations

import pytest

from zerodte.config.settings import CostsSettings
from zerodte.types import ExitReason as R

from .scenario import WEEKLY, Exit, Scenario, run

PARTIAL = {"use_partial_take_profit": True, "use_trailing_stop": False}

SCENARIOS = [
    Scenario("take_profit_default_12pct", 1.00, [1.00, 1.05, 1.12], [(R.TAKE_PROFIT, 3, 1.12)]),
    Scenario(
        "take_profit_fills_at_next_open",
        1.00,
        [1.00, 1.05, 1.13],
        [(R.TAKE_PROFIT, 3, 1.09)],
        opens={4: 1.09},
    ),
    Scenario("stop_loss_default_8pct", 1.00, [0.97, 0.95, 0.919], [(R.STOP_LOSS, 3, 0.919)]),
    Scenario("stop_not_at_minus_7", 1.00, [0.95, 0.93, 0.93, 0.915], [(R.STOP_LOSS, 4, 0.915)]),
    Scenario("stop_waits_for_min_hold", 1.00, [0.90, 0.90], [(R.STOP_LOSS, 2, 0.90)]),
    Scenario(
        "stop_min_hold_3",
        1.00,
        [0.90, 0.90, 0.90, 0.89],
        [(R.STOP_LOSS, 4, 0.89)],
        overrides={"stop_loss_min_hold_minutes": 3},
    ),
    Scenario(
        "stop_min_hold_0_fires_at_first_mark",
        1.00,
        [0.90],
        [(R.STOP_LOSS, 1, 0.90)],
        overrides={"stop_loss_min_hold_minutes": 0},
    ),
    Scenario(
        "gap_through_stop_fills_at_gapped_bid",
        1.00,
        [0.97, 0.93, 0.91],
        [(R.STOP_LOSS, 3, 0.60)],
        opens={4: 0.60},
    ),
    Scenario(
        "loss_cap_has_no_min_hold",
        1.00,
        [0.90],
        [(R.LOSS_CAP, 1, 0.90)],
        overrides={"max_loss_per_trade": 5.0},
    ),
    Scenario(
        "loss_cap_beats_stop",
        1.00,
        [0.99, 0.90],
        [(R.LOSS_CAP, 2, 0.90)],
        overrides={"max_loss_per_trade": 5.0},
    ),
    Scenario(
        "loss_cap_counts_all_contracts",
        1.00,
        [0.99, 0.97],  # 10 x $3 + $6.50 fees = $36.50 >= $30, only -3 %
        [(R.LOSS_CAP, 2, 0.97)],
        overrides={"max_loss_per_trade": 30.0},
        qty=10,
    ),
    Scenario(
        "trailing_stop_default_4_2",
        1.00,
        [1.02, 1.06, 1.045, 1.035],
        [(R.TRAILING_STOP, 4, 1.035)],
    ),
    Scenario(
        "trailing_not_armed_below_activation",
        1.00,
        [1.035, 1.00, 0.99, 0.99, 0.99, 0.99],
        [(R.MAX_HOLD, 6, 0.99)],
        overrides={"max_hold_minutes": 6},
    ),
    Scenario("stop_beats_trailing", 1.00, [1.05, 0.90], [(R.STOP_LOSS, 2, 0.90)]),
    Scenario(
        "trailing_off",
        1.00,
        [1.06, 1.01, 1.00],
        [(R.MAX_HOLD, 3, 1.00)],
        overrides={"use_trailing_stop": False, "max_hold_minutes": 3},
    ),
    Scenario("max_hold_default_45", 1.00, [1.00] * 50, [(R.MAX_HOLD, 45, 1.00)]),
    Scenario(
        "partial_then_runner",
        1.00,
        [1.05, 1.10, 1.15, 1.20, 1.17, 1.15],
        [(R.PARTIAL_TAKE_PROFIT, 2, 1.10), (R.RUNNER_TRAIL, 6, 1.15)],
        overrides=PARTIAL,
        qty=4,
    ),
    Scenario(
        "partial_single_contract_becomes_runner",
        1.00,
        [1.05, 1.10, 1.12, 1.07],
        [(R.RUNNER_TRAIL, 4, 1.07)],
        overrides=PARTIAL,
    ),
    Scenario(
        "runner_still_stopped_by_stop_loss_order",
        1.00,
        [1.10, 0.90],
        [(R.PARTIAL_TAKE_PROFIT, 1, 1.10), (R.STOP_LOSS, 2, 0.90)],
        overrides=PARTIAL,
        qty=2,
    ),
    Scenario(
        "expiry_guard_30_min_before_close",
        1.00,
        [1.00] * 20,
        [(R.EXPIRY_GUARD, 9, 1.00)],  # decision bar 15:29 closes 15:30; fill 15:30 open
        start="15:20",
    ),
    Scenario(
        "eod_flatten_non_expiring",
        1.00,
        [1.00] * 20,
        [(R.EOD_FLATTEN, 8, 1.00)],  # decision bar 15:58 closes 15:59; fill 15:59 open
        start="15:50",
        contract=WEEKLY,
    ),
    Scenario(
        "default_slippage_on_exit",
        1.00,
        [1.00, 1.20],
        [(R.TAKE_PROFIT, 2, 1.20 - 0.1 * 0.10)],
        spread=0.10,
        costs=CostsSettings(),
    ),
]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_exit_scenario(sc: Scenario) -> None:
    exits, broker = run(sc)
    got = [(e.reason, e.held, round(e.price, 10)) for e in exits]
    want = [(r, float(h), round(p, 10)) for r, h, p in sc.expected]
    assert got == want
    assert broker.positions() == (), "every scenario must end flat"
    assert sum(e.qty for e in exits) == sc.qty


def test_partial_sells_half_and_keeps_the_runner() -> None:
    sc = next(s for s in SCENARIOS if s.name == "partial_then_runner")
    exits, broker = run(sc)
    assert [e.qty for e in exits] == [2, 2]
    trades = broker.closed_trades()
    assert [t.qty for t in trades] == [2, 2]
    assert trades[0].pnl == pytest.approx(0.10 * 200 - 4 * 0.65)


def test_exit_price_never_better_than_the_bid_path() -> None:
    for sc in SCENARIOS:
        exits, _ = run(sc)
        best = max([*sc.bids, *sc.opens.values()])
        assert all(e.price <= best + 1e-12 for e in exits), sc.name


def test_gap_scenario_exits_below_the_stop_level() -> None:
    sc = next(s for s in SCENARIOS if s.name == "gap_through_stop_fills_at_gapped_bid")
    (exit_,) = run(sc)[0]
    assert exit_ == Exit(R.STOP_LOSS, 3.0, 0.60, 1)
    assert exit_.price < 1.00 * (1 - 0.08)
