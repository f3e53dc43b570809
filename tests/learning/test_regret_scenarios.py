"""Scenario tables: every regret kind on hand-made paths with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from zerodte.learning.regret import (
    REGRET_KINDS,
    RegretConfig,
    decay_regret,
    efficiency_ratio,
    entry_regret,
    exit_regret,
    late_exit_regret,
    pin_regret,
    regret_scores,
    timing_regret,
    trap_entry_regret,
)

from .scenarios import facts, path_of

CFG = RegretConfig()
NAN = float("nan")


def _same(got: float, want: float) -> bool:
    return (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize(
    ("ghosts", "at", "premium", "want"),
    [
        ([10.0, 20.0, 30.0], 0, 100.0, 0.20),  # best entry 2 bars later paid $20 more
        ([10.0, 20.0, 30.0], 2, 100.0, 0.0),  # entered at the best bar
        ([-50.0, 90.0, 0.0], 0, 100.0, 1.0),  # $140 better than the premium: clipped
        ([NAN, 20.0, 30.0], 0, 100.0, NAN),  # no ghost at the decision: unknown, not 0
        ([10.0, NAN, 15.0], 0, 100.0, 0.05),  # a missing neighbour is skipped
        ([10.0, 20.0], 0, 0.0, NAN),  # no premium
    ],
)
def test_entry_regret(ghosts: list[float], at: int, premium: float, want: float) -> None:
    assert _same(entry_regret(np.array(ghosts), at, premium), want)


def _exit_path(after: list[float]) -> list[float]:
    return [100.0] * 51 + after + [after[-1]] * 20


@pytest.mark.parametrize(
    ("after", "direction", "max_gain", "gross", "want"),
    [
        ([100.4] * 15, 1.0, 0.0, -10.0, 0.2),  # missed: 0.5 * 100 * 0.4 / 100
        ([102.0] * 15, 1.0, 0.0, -10.0, 1.0),  # missed continuation beyond a premium
        ([99.0] * 15, 1.0, 0.0, -10.0, 0.1),  # fell after the exit: only the overstay 0.1
        ([99.6] * 15, -1.0, 0.0, -10.0, 0.2),  # a put misses a further fall
        ([100.0] * 15, 1.0, 30.0, -10.0, 0.4),  # overstay: gave back 40 % of the premium
        ([100.2] * 15, 1.0, 30.0, -10.0, 0.4),  # the larger of missed (0.1) and overstay
        ([100.0] * 14 + [103.0], 1.0, 0.0, 0.0, 1.0),  # minute 15 after the exit counts
    ],
)
def test_exit_regret(
    after: list[float], direction: float, max_gain: float, gross: float, want: float
) -> None:
    p = path_of(_exit_path(after))
    f = facts(direction=direction, max_gain_pct=max_gain, gross_pct=gross, exit_pos=50)
    assert _same(exit_regret(p, f, CFG), want)


def test_exit_regret_stops_at_minute_fifteen() -> None:
    p = path_of(_exit_path([100.0] * 15 + [110.0]))
    assert exit_regret(p, facts(exit_pos=50, gross_pct=0.0), CFG) == 0.0


ZIGZAG = [100.0 + (0.1 if i % 2 else 0.0) for i in range(60)]
TREND = [100.0 + 0.01 * i for i in range(60)]


@pytest.mark.parametrize(
    ("closes", "pnl", "alignment", "block", "want"),
    [
        (TREND, 5.0, 0.0, "chop_mid", 0.0),  # a win has no timing regret
        (TREND, -5.0, 0.3, "early_open", 0.5),  # (0.6 - 0.3) / 0.6
        (TREND, -5.0, 0.6, "early_open", 0.0),  # at the alignment floor
        (TREND, -5.0, 1.0, "chop_mid", 0.0),  # mid-day but trending: ER = 1
        (ZIGZAG, -5.0, 1.0, "chop_mid", 1.0),  # chop ending where it began: ER = 0
        (ZIGZAG, -5.0, 1.0, "setup_mid", 0.0),  # the same chop outside chop_mid
        (ZIGZAG, -5.0, 0.0, "chop_mid", 1.0),  # the larger term
    ],
)
def test_timing_regret(
    closes: list[float], pnl: float, alignment: float, block: str, want: float
) -> None:
    p = path_of(closes)
    f = facts(pnl_per_contract=pnl, alignment=alignment, block=block, decision_pos=40)
    assert _same(timing_regret(p, f, CFG), want)


def test_efficiency_ratio_needs_five_bars() -> None:
    p = path_of(TREND)
    assert math.isnan(efficiency_ratio(p, 3, 30))
    assert efficiency_ratio(p, 40, 30) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("pnl", "decay", "want"),
    [
        (-20.0, 10.0, 0.5),  # theta was half the loss
        (-20.0, 40.0, 1.0),  # theta alone exceeds the loss
        (-20.0, -5.0, 0.0),  # no decay (priced gain): nothing to blame
        (15.0, 10.0, 0.0),  # a win
        (-20.0, NAN, NAN),  # not priced: unknown
    ],
)
def test_decay_regret(pnl: float, decay: float, want: float) -> None:
    assert _same(decay_regret(facts(pnl_per_contract=pnl, decay_dollars=decay)), want)


@pytest.mark.parametrize(
    ("pnl", "max_pain", "pin", "gex", "want"),
    [
        (-20.0, NAN, NAN, NAN, NAN),  # no open interest
        (20.0, 100.0, NAN, NAN, 0.0),  # a win
        (-20.0, 100.0, NAN, NAN, 1.0),  # entered on max pain
        (-20.0, 100.1, NAN, NAN, 0.5),  # 0.1 away, band 0.2 % of 100 = 0.2
        (-20.0, 101.0, NAN, NAN, 0.0),  # beyond the band
        (-20.0, 105.0, 100.05, 1e9, 0.75),  # long dealer gamma: the pin strike counts
        (-20.0, 105.0, 100.05, -1e9, 0.0),  # short dealer gamma: no pin
    ],
)
def test_pin_regret(pnl: float, max_pain: float, pin: float, gex: float, want: float) -> None:
    f = facts(pnl_per_contract=pnl, max_pain=max_pain, pin_strike=pin, net_gex=gex)
    assert _same(pin_regret(f, CFG, 100.0), want)


RAMP = [100.0 + 0.05 * i for i in range(40)]  # the 30 bars before t0 span 1.45


@pytest.mark.parametrize(
    ("closes", "direction", "want"),
    [
        (RAMP + [102.0] + [101.0] * 5 + [101.0] * 10, 1.0, 1.0 / 1.45),  # broke out, fell 1
        (RAMP + [102.0] + [102.5] * 15, 1.0, 0.0),  # broke out and held
        (RAMP + [101.0] + [100.0] * 15, 1.0, 0.0),  # no new high: not a breakout
        (RAMP + [102.0] + [102.0] * 5 + [90.0] * 10, 1.0, 0.0),  # reversed after N = 5
        (RAMP + [102.0] + [100.0] * 15, -1.0, 0.0),  # a put at the high is no breakout
        (RAMP + [102.0] + [99.0] * 15, 1.0, 1.0),  # reversal beyond the range: clipped
    ],
)
def test_trap_entry_regret(closes: list[float], direction: float, want: float) -> None:
    p = path_of(closes)
    f = facts(direction=direction, decision_pos=40)
    assert _same(trap_entry_regret(p, f, CFG), want)


def test_trap_entry_regret_needs_a_history() -> None:
    assert math.isnan(trap_entry_regret(path_of(RAMP), facts(decision_pos=2), CFG))


def test_late_exit_regret_vwap_magnet() -> None:
    # Constant volume: VWAP is the running mean of the closes (high = low = close).
    closes = [100.0] * 40 + [101.0] + [100.5] * 9 + [100.0] * 10
    p = path_of(closes)
    v0, vx = float(np.mean(closes[:41])), float(np.mean(closes[:51]))
    assert p.vwap[40] == pytest.approx(v0)
    f = facts(entry_spot=101.0, exit_spot=100.5, decision_pos=40, exit_pos=50)
    want = (abs(101.0 - v0) - abs(100.5 - vx)) / abs(101.0 - v0)
    assert late_exit_regret(p, f, CFG) == pytest.approx(want)
    # the magnet on the favourable side (a put above VWAP falls toward it) is no regret
    assert (
        late_exit_regret(
            p,
            facts(direction=-1.0, entry_spot=101.0, exit_spot=100.5, decision_pos=40, exit_pos=50),
            CFG,
        )
        == 0.0
    )
    assert late_exit_regret(p, facts(pnl_per_contract=5.0, decision_pos=40), CFG) == 0.0


@pytest.mark.parametrize(("exit_pos", "want"), [(30, 0.5), (15, 0.0), (44, 29 / 30), (5, 0.0)])
def test_late_exit_regret_expiry_crush(exit_pos: int, want: float) -> None:
    # from 15:15, bar k has 45 - k minutes to the 16:00 close; M = 30
    start = pd.Timestamp("2024-03-04 15:15", tz="America/New_York")
    p = path_of([100.0] * 45, start=start)
    f = facts(decision_pos=0, exit_pos=exit_pos, entry_spot=100.0, exit_spot=100.0)
    assert float(p.minutes_to_close[exit_pos]) == 45 - exit_pos
    assert _same(late_exit_regret(p, f, CFG), want)


def test_every_regret_is_in_the_unit_interval_or_unknown() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        closes = (100 + np.cumsum(rng.normal(0, 0.2, 90))).tolist()
        p = path_of(closes)
        f = facts(
            direction=float(rng.choice([-1.0, 1.0])),
            pnl_per_contract=float(rng.normal(0, 30)),
            max_gain_pct=float(rng.uniform(0, 80)),
            gross_pct=float(rng.normal(0, 30)),
            alignment=float(rng.uniform(0, 1)),
            block=str(rng.choice(["chop_mid", "early_open"])),
            decay_dollars=float(rng.uniform(-5, 40)),
            max_pain=float(closes[40] + rng.normal(0, 0.3)),
            decision_pos=40,
            exit_pos=int(rng.integers(41, 80)),
        )
        r = regret_scores(p, f, rng.normal(0, 50, 21), 10, CFG)
        assert set(r) == set(REGRET_KINDS)
        for v in r.values():
            assert math.isnan(v) or 0.0 <= v <= 1.0
