"""Brier, ECE, reliability, Platt/isotonic calibrators, tracker and gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zerodte.config import Settings
from zerodte.models.calibration import (
    IsotonicCalibrator,
    MulticlassCalibrator,
    PlattCalibrator,
    RegimeCalibrator,
    binary_report,
    brier_score,
    expected_calibration_error,
    plot_reliability,
)
from zerodte.models.tracking import CalibrationTracker, track_run
from zerodte.policy.calibration_gate import CalibrationGate
from zerodte.policy.gates import build_gates
from zerodte.types import Action, Decision, Observation


def _miscalibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = rng.uniform(0.05, 0.95, n)
    y = (rng.uniform(size=n) < true).astype(float)
    raw = true**2  # overconfident in the low range: badly calibrated, but monotone
    return raw, y


def test_brier_and_ece_known_values() -> None:
    assert brier_score(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert brier_score(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == 0.25
    p = np.full(1000, 0.7)
    y = np.r_[np.ones(500), np.zeros(500)]
    assert expected_calibration_error(p, y) == pytest.approx(0.2)


@pytest.mark.parametrize("cls", [IsotonicCalibrator, PlattCalibrator])
def test_calibrators_reach_small_ece_held_out(cls: type) -> None:
    raw_fit, y_fit = _miscalibrated(20_000, 1)
    raw_test, y_test = _miscalibrated(20_000, 2)
    cal = cls().fit(raw_fit, y_fit)
    before = expected_calibration_error(raw_test, y_test)
    after = expected_calibration_error(cal.predict(raw_test), y_test)
    assert before > 0.1
    assert after <= (0.02 if cls is IsotonicCalibrator else 0.05)
    assert np.isnan(cal.predict(np.array([np.nan]))[0])


def test_multiclass_and_regime_calibrators() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5000, 3))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    lab = np.array([rng.choice(3, p=row) for row in p**0.5 / (p**0.5).sum(1, keepdims=True)])
    out = MulticlassCalibrator("isotonic").fit(p, lab.astype(float)).predict(p)
    assert np.allclose(out.sum(1), 1.0)
    regimes = rng.integers(0, 2, 5000)
    raw, y = _miscalibrated(5000, 3)
    y = np.where(regimes == 1, 1 - y, y)  # opposite relation in regime 1
    rc = RegimeCalibrator("isotonic").fit(raw, y, regimes)
    assert set(rc.by_regime_) == {0, 1}
    per = rc.predict(raw, regimes)
    glob = rc.global_.predict(raw)
    assert expected_calibration_error(per, y) < expected_calibration_error(glob, y)


def test_binary_report_and_plot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw, y = _miscalibrated(4000, 4)
    groups = np.repeat(np.arange(40), 100)
    rep = binary_report(
        "x", raw, IsotonicCalibrator().fit(raw, y).predict(raw), y, groups, 0.5, n_boot=200
    )
    assert rep.n == 4000 and rep.brier < rep.brier_climatology
    assert (
        rep.brier_skill_ci95[0] > 0 and rep.accuracy_ci95[0] < rep.accuracy < rep.accuracy_ci95[1]
    )
    path = plot_reliability({"x": rep}, tmp_path / "r.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def _obs(conf: float) -> Observation:
    t = pd.Timestamp("2024-01-02 10:00", tz="America/New_York")
    return Observation(0, t, t.date(), 30, 300, 470.0, 400.0, 14.0, {}, {"ml_confidence": conf})


def test_tracker_and_gate_block_low_probability_after_min_trades() -> None:
    gate = CalibrationGate(min_prob=0.42, min_trades=30)
    buy = Decision(Action.BUY_CALLS)
    rng = np.random.default_rng(0)
    for _i in range(29):
        c = rng.uniform(0.3, 0.8)
        gate.observe_trade({"ml_confidence": c, "pnl": 10.0 if c > 0.55 else -10.0})
        assert gate.check(_obs(0.31), buy) is None  # not enough trades yet
    for _ in range(40):
        c = rng.uniform(0.3, 0.8)
        gate.observe_trade({"ml_confidence": c, "pnl": 10.0 if c > 0.55 else -10.0})
    veto = gate.check(_obs(0.31), buy)
    assert veto is not None and veto.gate == "calibration"
    assert gate.check(_obs(0.78), buy) is None
    assert gate.check(_obs(0.31), Decision(Action.HOLD)) is None
    p_low, p_high = gate.calibrated(0.35), gate.calibrated(0.75)
    assert p_low is not None and p_high is not None and p_low < 0.42 < p_high


def test_gate_is_built_from_settings() -> None:
    s = Settings()
    s = s.model_copy(update={"gates": s.gates.model_copy(update={"calibration_enabled": True})})
    gates = [g for g in build_gates(s) if g.name == "calibration"]
    assert len(gates) == 1 and gates[0].tracker.min_trades == 30 and gates[0].min_prob == 0.42
    assert CalibrationTracker(5).calibrated(0.6) is None


def test_mlflow_file_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("mlflow")
    art = tmp_path / "a.txt"
    art.write_text("x")
    run = track_run(f"sqlite:///{tmp_path / 'mlflow.db'}", "t", "r", {"a": 1}, {"m": 0.5}, [art])
    assert run is not None and (tmp_path / "mlflow.db").is_file()
    assert track_run(None, "t", "r", {}, {}) is None


def test_factored_direction_calibration_recalibrates_the_sign_ratio() -> None:
    # raw P(up | move) is overconfident (q_raw = 0.5 + 2 (q - 0.5)); P(neutral) is right.
    rng = np.random.default_rng(0)
    n = 40_000
    neutral = rng.uniform(0.1, 0.6, n)
    q = rng.uniform(0.4, 0.6, n)
    q_raw = 0.5 + 2.0 * (q - 0.5)
    raw = np.column_stack([(1 - neutral) * (1 - q_raw), neutral, (1 - neutral) * q_raw])
    is_neutral = rng.random(n) < neutral
    labels = np.where(is_neutral, 1, np.where(rng.random(n) < q, 2, 0)).astype(float)
    raw[:5] = np.nan
    labels[5:8] = np.nan
    cal = MulticlassCalibrator("isotonic", factored=True).fit(raw[: n // 2], labels[: n // 2])
    out = cal.predict(raw[n // 2 :])
    assert np.isnan(cal.predict(raw[:5])).all()
    assert np.allclose(out.sum(axis=1), 1.0)
    assert (out[:, 1] < 1.0).all()  # P(neutral) below 1 keeps up / (up + down) defined
    half = slice(n // 2, None)
    move = labels[half] != 1
    ratio = out[:, 2] / (out[:, 0] + out[:, 2])
    raw_ratio = raw[half, 2] / (raw[half, 0] + raw[half, 2])
    up = (labels[half] == 2).astype(float)
    ece_cal = expected_calibration_error(ratio[move], up[move])
    ece_raw = expected_calibration_error(raw_ratio[move], up[move])
    assert ece_cal < 0.02 < ece_raw, (ece_cal, ece_raw)
    assert ece_cal < ece_raw / 2
