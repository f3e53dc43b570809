"""Scenario tables: labels, penalty points, time blocks and setup archetypes."""

from __future__ import annotations

import pandas as pd
import pytest

from zerodte.learning.labels import ARCHETYPES, LABELS, archetype, label, penalty_points
from zerodte.learning.regret import REGRET_KINDS
from zerodte.policy.qthink_state import time_blocks

from .scenarios import path_of

NAN = float("nan")


def regrets(**kw: float) -> dict[str, float]:
    out = dict.fromkeys(REGRET_KINDS, 0.0)
    out.update({f"{k}_regret": v for k, v in kw.items()})
    return out


LABEL_CASES = [
    (regrets(entry=0.9, exit=0.8, decay=0.4), -10.0, False, "model_failure"),
    (regrets(entry=0.9, exit=0.8, decay=0.4), 10.0, False, "model_failure"),  # even a win
    (regrets(entry=0.5, exit=0.5, decay=1.0), -10.0, False, "decay_loss"),  # 2.0 is not > 2
    (regrets(entry=0.6, exit=0.5), -10.0, True, "conflict_failure"),
    (regrets(entry=0.6, exit=0.3), -10.0, True, "acceptable_loss"),  # confused, R = 0.9
    (regrets(entry=0.6, exit=0.5), 10.0, True, "lucky_win"),  # confusion on a win
    (regrets(trap_entry=0.5), -10.0, False, "trap_loss"),
    (regrets(decay=0.6), -10.0, False, "decay_loss"),
    (regrets(late_exit=0.7), -10.0, False, "late_exit_loss"),
    (regrets(pin=0.5), -10.0, False, "pin_loss"),
    (regrets(timing=0.9), -10.0, False, "timing_loss"),
    (regrets(trap_entry=0.6, decay=0.9), -10.0, False, "trap_loss"),  # first rule wins
    (regrets(entry=0.2, exit=0.3), 10.0, False, "good_trade"),
    (regrets(entry=0.6, exit=0.4), 10.0, False, "lucky_win"),  # R = 1.0
    (regrets(), 0.0, False, "scratch"),
    (regrets(entry=0.4), -10.0, False, "acceptable_loss"),
    ({**regrets(), "decay_regret": NAN, "trap_entry_regret": NAN}, -1.0, False, "acceptable_loss"),
]


@pytest.mark.parametrize(("r", "pnl", "confused", "want"), LABEL_CASES)
def test_labels(r: dict[str, float], pnl: float, confused: bool, want: str) -> None:
    assert label(r, pnl, confused) == want


def test_every_label_has_a_scenario() -> None:
    assert {c[3] for c in LABEL_CASES} == set(LABELS)


@pytest.mark.parametrize(
    ("r", "lab", "want"),
    [
        (regrets(entry=0.5, exit=0.5), "acceptable_loss", 0.0),
        (regrets(entry=1.0, exit=0.5, decay=0.5, pin=0.6), "model_failure", 10.0),  # R = 2.6
        (regrets(entry=1.0, exit=0.5, decay=0.5, pin=0.5), "model_failure", 0.0),  # R = 2.5
        (regrets(exit=0.8, late_exit=0.8), "late_exit_loss", 15.0),
        (regrets(exit=0.75, late_exit=0.75), "late_exit_loss", 0.0),  # 1.5 is not > 1.5
        (regrets(entry=0.6, exit=0.5), "conflict_failure", 20.0),
        (regrets(entry=1.0, exit=0.9, late_exit=0.9), "conflict_failure", 45.0),  # all three
        ({**regrets(exit=0.9), "late_exit_regret": NAN}, "acceptable_loss", 0.0),
    ],
)
def test_penalty_points(r: dict[str, float], lab: str, want: float) -> None:
    assert penalty_points(r, lab) == want


@pytest.mark.parametrize(
    ("clock", "want"),
    [
        ("09:29", "outside"),
        ("09:30", "early_open"),
        ("10:29", "early_open"),
        ("10:30", "chop_mid"),
        ("12:29", "chop_mid"),
        ("12:30", "setup_mid"),
        ("14:29", "setup_mid"),
        ("14:30", "decay_close"),
        ("15:59", "decay_close"),
        ("16:00", "outside"),
    ],
)
def test_time_blocks(clock: str, want: str) -> None:
    ts = pd.DatetimeIndex([pd.Timestamp(f"2024-03-04 {clock}", tz="America/New_York")])
    assert time_blocks(ts)[0] == want


def test_time_blocks_read_new_york_time() -> None:
    utc = pd.DatetimeIndex([pd.Timestamp("2024-03-04 15:45", tz="UTC")])  # 10:45 in New York
    assert time_blocks(utc)[0] == "chop_mid"
    with pytest.raises(ValueError, match="tz-aware"):
        time_blocks(pd.DatetimeIndex([pd.Timestamp("2024-03-04 10:00")]))


RAMP = [100.0 + 0.05 * i for i in range(40)]
FLAT = [100.0] * 40
# a put breakout (new 30-bar low) three bars before t0, then back up
DIP = [100.0] * 36 + [99.0, 99.5, 99.8, 100.1] + [100.2]


ARCH_CASES = [
    ([*FLAT, 100.0], 40, 1.0, 0.0, 0.0, 50.0, 100.1, NAN, "gamma_flip"),  # within 0.2
    ([*FLAT, 100.0], 40, 1.0, 0.0, 0.0, 50.0, 100.3, 101.0, "pin_fade"),  # toward the pin
    ([*FLAT, 100.0], 40, -1.0, 0.0, 0.0, 50.0, NAN, 101.0, "unclassified"),  # away from it
    (DIP, 40, 1.0, 0.0, 0.0, 50.0, NAN, NAN, "trap_avoidance"),
    ([*RAMP, 102.0], 40, 1.0, 0.2, 0.1, 60.0, NAN, NAN, "momentum_break"),
    ([*RAMP, 102.0], 40, 1.0, -0.2, 0.1, 60.0, NAN, NAN, "unclassified"),  # no momentum
    ([*RAMP, 101.0], 40, -1.0, 0.1, 0.2, 50.0, NAN, NAN, "trap_avoidance"),  # top failed
    ([*FLAT, 100.0], 40, -1.0, 0.1, 0.2, 50.0, NAN, NAN, "fade_reversal"),  # against m15
    ([*FLAT, 100.0], 40, 1.0, 0.0, 0.0, 25.0, NAN, NAN, "fade_reversal"),  # oversold call
    ([*FLAT, 100.0], 40, -1.0, 0.0, 0.0, 75.0, NAN, NAN, "fade_reversal"),  # overbought put
    ([*FLAT, 100.0], 40, 1.0, 0.0, NAN, NAN, NAN, NAN, "unclassified"),  # unknown inputs
]


@pytest.mark.parametrize(
    ("closes", "pos", "d", "m5", "m15", "rsi", "flip", "mp", "want"), ARCH_CASES
)
def test_archetypes(  # noqa: PLR0917 (one column per rule input)
    closes: list[float],
    pos: int,
    d: float,
    m5: float,
    m15: float,
    rsi: float,
    flip: float,
    mp: float,
    want: str,
) -> None:
    assert archetype(path_of(closes), pos, d, m5, m15, rsi, flip, mp) == want


def test_every_archetype_has_a_scenario() -> None:
    assert {c[-1] for c in ARCH_CASES} == set(ARCHETYPES)
