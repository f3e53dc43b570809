"""PSR, DSR and PBO against the papers' values, hand calculations and simulated nulls."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from zerodte.research.overfitting import (
    deflated_sharpe,
    expected_max_sharpe,
    pbo,
    probabilistic_sharpe,
    sharpe_moments,
)


def test_dsr_matches_the_papers_worked_example() -> None:
    # Bailey & López de Prado (2014), section 5: SR 2.5 annualised, 5 years of daily data,
    # 100 trials with annualised Sharpe variance 0.5, skew -3, kurtosis 10.
    r = deflated_sharpe(2.5, 1250, 100, 0.5, -3.0, 10.0, periods_per_year=250)
    assert r.sr0 == pytest.approx(0.1132, abs=1e-4)
    assert r.dsr == pytest.approx(0.9004, abs=1e-4)
    assert not r.significant
    assert r.psr > 0.999
    assert r.to_dict()["n_trials"] == 100


def test_psr_hand_calculation() -> None:
    # SR 0.1 per obs, n = 101, normal: z = 0.1 * 10 / sqrt(1 + 2/4 * 0.01)
    z = 1.0 / math.sqrt(1.005)
    expected = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    assert probabilistic_sharpe(0.1, 101) == pytest.approx(expected, rel=1e-12)
    # Negative skew and fat tails lower confidence in a positive Sharpe ratio.
    assert probabilistic_sharpe(0.1, 101, skew=-2.0, kurtosis=9.0) < expected
    assert probabilistic_sharpe(0.0, 50) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="not positive"):
        probabilistic_sharpe(2.0, 100, skew=3.0, kurtosis=3.0)


def test_expected_max_sharpe_matches_monte_carlo() -> None:
    assert expected_max_sharpe(1, 0.3) == 0.0
    rng = np.random.default_rng(0)
    mc = rng.normal(size=(4000, 100)).max(axis=1).mean()
    assert expected_max_sharpe(100, 1.0) == pytest.approx(mc, rel=0.03)
    assert expected_max_sharpe(1000, 1.0) > expected_max_sharpe(100, 1.0)


def _best_of_null(seed: int, n_trials: int = 100, n_obs: int = 250):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0, 0.01, size=(n_obs, n_trials))
    srs = rets.mean(axis=0) / rets.std(axis=0, ddof=1)
    best = int(np.argmax(srs))
    sr, skew, kurt, n = sharpe_moments(rets[:, best])
    return sr, skew, kurt, n, float(srs.var(ddof=1))


def test_best_of_many_random_strategies_is_not_significant() -> None:
    naive, deflated = 0, 0
    for seed in range(20):
        sr, skew, kurt, n, var = _best_of_null(seed)
        naive += probabilistic_sharpe(sr, n, skew, kurt) >= 0.95
        deflated += deflated_sharpe(sr, n, 100, var, skew, kurt).significant
    assert naive >= 15  # selection bias: the best of 100 nulls looks "significant" by PSR
    assert deflated <= 2  # DSR false-positive rate near its 5 % level


def test_real_edge_survives_deflation() -> None:
    rng = np.random.default_rng(1)
    rets = rng.normal(0.0, 0.01, size=(1000, 50))
    rets[:, 7] += 0.01 * 3.0 / math.sqrt(252)  # annualised Sharpe ~3
    srs = rets.mean(axis=0) / rets.std(axis=0, ddof=1)
    sr, skew, kurt, n = sharpe_moments(rets[:, 7])
    result = deflated_sharpe(sr, n, 50, float(srs.var(ddof=1)), skew, kurt)
    assert result.significant and result.dsr > 0.95


def _pbo_brute_force(m: np.ndarray, s: int) -> float:
    groups = np.array_split(np.arange(len(m)), s)
    below = []
    for combo in itertools.combinations(range(s), s // 2):
        is_rows = np.concatenate([groups[g] for g in combo])
        oos_rows = np.concatenate([groups[g] for g in range(s) if g not in combo])
        sr_is = m[is_rows].mean(0) / m[is_rows].std(0, ddof=1)
        sr_oos = m[oos_rows].mean(0) / m[oos_rows].std(0, ddof=1)
        best = int(np.argmax(sr_is))
        rank = (sr_oos < sr_oos[best]).sum() + 1
        w = rank / (m.shape[1] + 1)
        below.append(math.log(w / (1 - w)) <= 0)
    return float(np.mean(below))


def test_pbo_matches_a_direct_implementation() -> None:
    m = np.random.default_rng(2).normal(size=(103, 9))
    result = pbo(m, n_splits=6)
    assert result.n_combinations == 20
    assert result.pbo == pytest.approx(_pbo_brute_force(m, 6))


def test_pbo_null_is_near_half_and_planted_edge_is_near_zero() -> None:
    nulls = [
        pbo(np.random.default_rng(s).normal(size=(320, 20)), n_splits=8).pbo for s in range(12)
    ]
    assert 0.3 <= float(np.mean(nulls)) <= 0.7
    planted = np.random.default_rng(99).normal(size=(320, 20))
    planted[:, 4] += 0.5
    result = pbo(planted, n_splits=8)
    assert result.pbo < 0.05
    assert result.prob_oos_loss < 0.05


def test_pbo_full_cscv_size_and_input_checks() -> None:
    result = pbo(np.random.default_rng(3).normal(size=(256, 10)))
    assert result.n_combinations == 12870
    assert len(result.logits) == 12870
    with pytest.raises(ValueError, match="even"):
        pbo(np.zeros((20, 3)), n_splits=5)
    with pytest.raises(ValueError, match="N>=2"):
        pbo(np.zeros((20, 1)))
    with pytest.raises(ValueError, match="NaN"):
        pbo(np.full((20, 3), np.nan), n_splits=4)
