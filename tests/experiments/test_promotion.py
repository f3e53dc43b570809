"""The promotion rule counts every trial of the family: noise never promotes, whatever the
best in-sample figure; real skill does; the windows never overlap."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerodte.errors import ConfigError, DataError
from zerodte.experiments.family import FamilyConfig, parse_assignment, windows
from zerodte.experiments.promotion import (
    decision,
    family_dsrs,
    family_report,
    family_stats,
    pbo_splits,
)
from zerodte.store.experiments import TrialRow

CASH = 50_000.0
DAYS = 60


def _row(i: int, daily: np.ndarray, trades: int = 40, stage: str = "quick") -> TrialRow:
    return TrialRow(
        trial_key=f"idea:{i}:{stage}",
        family="f",
        stage=stage,
        param_hash=f"h{i}",
        params={"i": i},
        first_session=dt.date(2024, 1, 2),
        last_session=dt.date(2024, 3, 28),
        data_hash="d",
        daily_pnl=tuple(float(x) for x in daily),
        trades=trades,
        pnl=float(daily.sum()),
    )


def _noise_family(n: int, seed: int = 1) -> list[TrialRow]:
    rng = np.random.default_rng(seed)
    return [_row(i, rng.normal(0.0, 200.0, DAYS)) for i in range(n)]


def test_an_edge_zero_family_promotes_nothing_whatever_its_best_in_sample_figure() -> None:
    cfg = FamilyConfig(name="f", min_trades=10)
    for seed in range(1, 6):
        trials = _noise_family(200, seed)
        sharpes = [np.mean(t.daily_pnl) / np.std(t.daily_pnl, ddof=1) for t in trials]
        best = int(np.argmax(sharpes))
        assert sharpes[best] * np.sqrt(252) > 3.0  # the best looks great in sample
        status, result = decision(trials[best].trial_key, trials, cfg, CASH, "quick")
        assert status == "rejected" and result["n_trials"] == 200
        assert result["dsr"] < cfg.dsr_min


def test_every_trials_dsr_at_once_equals_each_trials_own() -> None:
    """``family_dsrs`` (one matrix for the whole family, what the dashboard reads) gives each
    trial exactly the DSR, SR0 and trial count that ``family_stats`` gives it alone."""
    trials = [*_noise_family(12, seed=3), _row(99, np.zeros(DAYS), trades=0)]
    every = family_dsrs(trials, CASH, also_tried=5)
    assert list(every) == [t.trial_key for t in trials]
    for t in trials:
        one = family_stats(t.trial_key, trials, CASH, 10, also_tried=5)
        got = every[t.trial_key]
        assert (got["dsr"], got["sr0"], got["n_trials"]) == (one.dsr, one.sr0, one.n_trials)
        assert got["sharpe_daily"] == one.sharpe and tuple(got["reasons"]) == one.reasons
    assert every["idea:99:quick"]["dsr"] is None


def test_a_growing_edge_zero_family_counts_every_trial_so_far() -> None:
    cfg = FamilyConfig(name="f", min_trades=10)
    trials = _noise_family(25, seed=7)
    decided = [
        decision(t.trial_key, trials[: k + 1], cfg, CASH, "quick") for k, t in enumerate(trials)
    ]
    assert all(status == "rejected" for status, _ in decided)
    assert [r["n_trials"] for _, r in decided] == list(range(1, 26))


def test_real_skill_is_promoted_among_noise() -> None:
    cfg = FamilyConfig(name="f", min_trades=10)
    trials = _noise_family(20)
    rng = np.random.default_rng(99)
    skilled = _row(99, rng.normal(150.0, 200.0, DAYS))
    status, result = decision(skilled.trial_key, [*trials, skilled], cfg, CASH, "quick")
    assert status == "passed_quick", result["failures"]
    assert result["n_trials"] == 21 and result["pbo"] <= cfg.pbo_max


def test_the_family_report_counts_every_trial() -> None:
    cfg = FamilyConfig(name="f")
    trials = _noise_family(12)
    report = family_report(trials, cfg, CASH)
    assert report["n_trials"] == 12 and report["best"]["n_trials"] == 12
    assert 0.0 <= report["pbo"] <= 1.0


def test_few_trades_or_a_single_trial_never_promote() -> None:
    cfg = FamilyConfig(name="f", min_trades=10)
    rng = np.random.default_rng(3)
    strong = _row(1, rng.normal(300.0, 100.0, DAYS))
    status, result = decision(strong.trial_key, [strong], cfg, CASH, "quick")
    assert status == "rejected"
    assert any("PBO needs at least 2" in f for f in result["failures"])
    thin = _row(2, rng.normal(300.0, 100.0, DAYS), trades=3)
    status, result = decision(thin.trial_key, [strong, thin], cfg, CASH, "quick")
    assert status == "rejected" and any("min_trades" in f for f in result["failures"])


def test_trials_on_other_days_are_not_mixed() -> None:
    a = _row(1, np.ones(DAYS))
    b = TrialRow(**{**_row(2, np.ones(DAYS)).__dict__, "first_session": dt.date(2024, 1, 3)})
    with pytest.raises(DataError, match="same days"):
        family_stats(a.trial_key, [a, b], CASH, 1)


def test_pbo_blocks_are_whole_days() -> None:
    assert pbo_splits(13) == 12
    assert pbo_splits(60) == 16
    assert pbo_splits(5) == 4


@given(
    n=st.integers(min_value=10, max_value=80),
    quick=st.integers(min_value=3, max_value=20),
    gap=st.integers(min_value=0, max_value=5),
    val=st.integers(min_value=3, max_value=30),
)
def test_quick_and_validation_windows_never_overlap(n: int, quick: int, gap: int, val: int) -> None:
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(n)]
    cfg = FamilyConfig(quick_days=quick, gap_days=gap, validation_days=val)
    if quick + gap + val > n:
        with pytest.raises(DataError, match="needs"):
            windows(days, cfg)
        return
    w = windows(days, cfg)
    assert len(w.quick) == quick and len(w.validation) == val
    assert max(w.quick) < min(w.validation)
    assert not set(w.quick) & set(w.validation)


def test_set_values_parse_as_toml_literals() -> None:
    assert parse_assignment("exits.stop_loss_pct=12") == ("exits.stop_loss_pct", 12)
    assert parse_assignment("gates.skip_monday=true") == ("gates.skip_monday", True)
    assert parse_assignment("entry.controller=random") == ("entry.controller", "random")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("nonsense")
