"""Health checks: each finding, and which ones skip the whole cycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from zerodte.engine.health import (
    BrokerReachability,
    CalibrationDrift,
    ClockSkew,
    DataFreshness,
    FeatureDrift,
    FeatureReference,
    HealthMonitor,
    psi,
)
from zerodte.errors import TransientBrokerError

T = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")


class FixedClock:
    def __init__(self, now: pd.Timestamp) -> None:
        self.t = now

    def now(self) -> pd.Timestamp:
        return self.t


def test_data_freshness() -> None:
    check = DataFreshness(lambda i: i != 3, lambda: 4.0, 15.0)
    assert check.check(0) is None
    assert check.check(3) == "no option quotes for this bar"
    old = DataFreshness(lambda i: True, lambda: 40.0, 15.0)
    assert old.check(0) == "SPY quote 40 s old (limit 15 s)"


def test_broker_reachability() -> None:
    times = iter([0.0, 0.1, 0.0, 3.0])
    check = BrokerReachability(lambda: None, 2.0, timer=lambda: next(times))
    assert check.check(0) is None
    assert check.check(1) == "answered in 3.00 s (limit 2 s)"

    def down() -> None:
        raise TransientBrokerError("503")

    failing = BrokerReachability(down, 2.0)
    assert failing.check(0) == "unreachable (TransientBrokerError: 503)"


def test_clock_skew() -> None:
    check = ClockSkew(lambda: T, FixedClock(T + pd.Timedelta(seconds=9)), 5.0, every=2)
    assert check.check(1) is None  # not probed on odd cycles
    assert check.check(2) == "our clock is +9.0 s off the venue's (limit 5 s)"


def test_psi_and_feature_drift() -> None:
    rng = np.random.default_rng(0)
    ref = FeatureReference.from_normal(["f"], [0.0], [1.0])
    same = psi(ref.edges["f"], ref.expected["f"], rng.normal(0, 1, 5000))
    moved = psi(ref.edges["f"], ref.expected["f"], rng.normal(1.0, 1, 5000))
    assert same < 0.02 and moved > 0.25
    values = iter(rng.normal(2.0, 1, 200))
    drift = FeatureDrift(ref, 0.25, min_rows=60, features=lambda i: {"f": next(values)})
    results = [drift.check(i) for i in range(1, 80)]
    assert results[0] is None and results[-1] is not None and "PSI" in results[-1]
    assert drift.scope == "entries"


def test_mean_shift_when_only_moments_are_known() -> None:
    ref = FeatureReference.from_moments(["f", "flag", "const"], [0.0, 0.0, 5.0], [1.0, 1.0, 1.0])
    rows = iter([{"f": 4.0 + 0.1 * (k % 3), "flag": float(k % 2), "const": 9.0} for k in range(99)])
    drift = FeatureDrift(ref, 0.25, min_rows=60, features=lambda i: next(rows))
    result = [drift.check(i) for i in range(1, 80)][-1]
    assert result is not None and result.startswith("feature f mean 4.1 sd off (limit 3)")
    assert (
        "(1 feature(s) drifted)" in result
    )  # a flag near its mean passes; a constant is not tested


def test_calibration_drift() -> None:
    check = CalibrationDrift(window=10, max_gap=0.25)
    for k in range(10):
        check.observe_trade({"calibrated_confidence": 0.8, "pnl": 1.0 if k < 3 else -1.0})
    assert check.check(0) == (
        "last 10 trades: mean confidence 0.80, win rate 0.30 (gap limit 0.25)"
    )


def test_monitor_skips_cycle_for_data_before_entries_for_models() -> None:
    class Entries:
        name, scope = "drift", "entries"

        def check(self, i: int) -> str | None:
            return "drifted"

    monitor = HealthMonitor([Entries(), DataFreshness(lambda i: False, lambda: 0.0, 1.0)])
    skip = monitor.before(0)
    assert skip is not None and skip.scope == "cycle" and skip.reason.startswith("data:")
    only_entries = HealthMonitor([Entries()]).before(0)
    assert only_entries is not None and only_entries.scope == "entries"
    assert monitor.summary()["failures"] == {"data": 1}
