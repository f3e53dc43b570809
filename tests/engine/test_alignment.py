"""Data alignment: the classes, iv_conf in decisions, the gate, fail-fast, summaries."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from zerodte.config.settings import AlignmentSettings
from zerodte.engine.alignment import Alignment, AlignmentGate, AlignmentTracker, classify
from zerodte.engine.engine import IV_CONF
from zerodte.errors import DataError
from zerodte.types import Action, Decision, Observation

S = AlignmentSettings()


@pytest.mark.parametrize(
    ("lag", "state", "conf"),
    [
        (0.0, Alignment.EXACT, 1.0),
        (60.0, Alignment.EXACT, 1.0),
        (120.0, Alignment.PRIOR, 0.5 ** (120 / 300)),
        (300.0, Alignment.PRIOR, 0.5),
        (420.0, Alignment.STALE, 0.5 ** (420 / 300)),
        (600.0, Alignment.STALE, 0.25),
        (601.0, Alignment.NONE, 0.0),
        (math.nan, Alignment.NONE, 0.0),
    ],
)
def test_classify(lag: float, state: Alignment, conf: float) -> None:
    got_state, got_conf = classify(lag, S)
    assert got_state is state and got_conf == pytest.approx(conf)


def test_fail_fast_and_summary() -> None:
    lags = [0.0] * 60 + [420.0] * 30
    tracker = AlignmentTracker(S, lags)
    tracker.check(60)  # nothing stale yet
    tracker.check(85)  # 25 of 85 stale: 29 %
    with pytest.raises(DataError, match="fail-fast: 30 of 90 cycles"):
        tracker.check(90)  # 33 %
    summary = tracker.summary(90)
    assert (summary["exact"], summary["stale"], summary["none"]) == (60, 30, 0)
    assert summary["stale_pct"] == pytest.approx(100 / 3)
    assert summary["max_lag_s"] == 420.0
    assert tracker.context(0) == {} and tracker.context(70)[IV_CONF] < 0.5


def test_summary_counts_cycles_past_the_lags_as_exact() -> None:
    # no lags (every cycle sees its own bar) and lags shorter than the run
    assert AlignmentTracker(S, []).summary(5) == {
        "exact": 5, "prior": 0, "stale": 0, "none": 0, "cycles": 5, "stale_pct": 0.0,
        "mean_iv_conf": 1.0, "max_lag_s": None,
    }  # fmt: skip
    summary = AlignmentTracker(S, [float("nan"), 420.0]).summary(4)
    assert (summary["exact"], summary["stale"], summary["none"]) == (2, 1, 1)
    assert summary["mean_iv_conf"] == pytest.approx((0.0 + classify(420.0, S)[1] + 2.0) / 4)
    assert summary["max_lag_s"] == 420.0


def test_gate_vetoes_stale_and_missing_data() -> None:
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")

    def obs(context: dict[str, float]) -> Observation:
        return Observation(0, t, t.date(), 30, 330, 470, 400, 15, {}, context)

    gate, buy = AlignmentGate(), Decision(Action.BUY_CALLS)
    assert gate.check(obs({}), buy) is None
    assert gate.check(obs({IV_CONF: 0.7}), buy) is None
    stale = gate.check(obs({IV_CONF: 0.3}), buy)
    assert stale is not None and "stale data" in stale.reason
    none = gate.check(obs({IV_CONF: 0.0}), buy)
    assert none is not None and none.reason == "no data"
