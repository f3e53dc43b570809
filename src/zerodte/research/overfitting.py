"""Overfitting statistics: probabilistic and deflated Sharpe ratio, and PBO by CSCV.

A Sharpe ratio picked as the best of many trials is biased upwards; these statistics say
how much of it survives once the number of trials is counted.

Sharpe ratios here are *per observation* (not annualised) unless ``periods_per_year`` is
given, in which case the inputs are annualised and converted (SR / sqrt(p), Var / p).

References
----------
Bailey, D. H. and López de Prado, M. (2012). The Sharpe Ratio Efficient Frontier.
    Journal of Risk 15(2). (probabilistic Sharpe ratio)
Bailey, D. H. and López de Prado, M. (2014). The Deflated Sharpe Ratio: Correcting for
    Selection Bias, Backtest Overfitting and Non-Normality. Journal of Portfolio
    Management 40(5), 94-107.
Bailey, D. H., Borwein, J., López de Prado, M. and Zhu, Q. J. (2017). The Probability of
    Backtest Overfitting. Journal of Computational Finance 20(4). (CSCV, PBO)
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True, slots=True)
class DSRResult:
    """Outcome of :func:`deflated_sharpe`.

    Attributes
    ----------
    sharpe
        Observed Sharpe ratio, per observation.
    sr0
        Expected maximum Sharpe ratio of ``n_trials`` skill-less trials (per observation):
        the benchmark the observed one must beat.
    psr
        Probabilistic Sharpe ratio against 0: P(true SR > 0).
    dsr
        Deflated Sharpe ratio, PSR against ``sr0``: P(true SR > sr0). 1 - dsr plays the role
        of a p-value for "the best of n_trials has real skill".
    significant
        ``dsr >= confidence``.
    """

    sharpe: float
    sr0: float
    psr: float
    dsr: float
    n_obs: int
    n_trials: int
    confidence: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-native dict of every field."""
        return asdict(self)


def probabilistic_sharpe(
    sharpe: float,
    n_obs: int,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    sr_benchmark: float = 0.0,
) -> float:
    """PSR: probability that the true Sharpe ratio exceeds ``sr_benchmark``.

    .. math::

        PSR = \\Phi\\left( \\frac{(\\hat{SR} - SR^*)\\sqrt{n-1}}
              {\\sqrt{1 - \\gamma_3 \\hat{SR} + \\frac{\\gamma_4 - 1}{4}\\hat{SR}^2}} \\right)

    with per-observation ``sharpe``, sample skewness ``gamma_3`` and (non-excess) kurtosis
    ``gamma_4`` (3 for a normal distribution).
    """
    if n_obs < 2:
        raise ValueError(f"PSR needs at least 2 observations; got n_obs={n_obs}")
    var = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not var > 0:
        raise ValueError(
            f"PSR variance term 1 - skew*SR + (kurt-1)/4*SR^2 = {var:.4g} is not positive "
            f"(SR={sharpe}, skew={skew}, kurtosis={kurtosis}); is kurtosis non-excess "
            "(normal = 3) and the Sharpe ratio per observation rather than annualised?"
        )
    # scipy.special, not scipy.stats: the same ndtr/ndtri that norm.cdf/norm.ppf call, without
    # importing scipy.stats (about half a second); and imported here, not at the top, since
    # every backtest imports this module (about 0.1 s) and most never call these functions
    from scipy.special import ndtr

    z = (sharpe - sr_benchmark) * math.sqrt(n_obs - 1) / math.sqrt(var)
    return float(ndtr(z))


def expected_max_sharpe(n_trials: int, trials_sharpe_var: float) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` skill-less trials (false strategy theorem).

    .. math::

        SR_0 = \\sqrt{V[\\hat{SR}_n]} \\left( (1-\\gamma) \\Phi^{-1}(1 - 1/N)
               + \\gamma \\Phi^{-1}(1 - 1/(N e)) \\right)

    with the Euler-Mascheroni constant gamma. One trial has no selection: SR_0 = 0.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1; got {n_trials}")
    if trials_sharpe_var < 0:
        raise ValueError(f"trials_sharpe_var must be >= 0; got {trials_sharpe_var}")
    if n_trials == 1:
        return 0.0
    from scipy.special import ndtri  # see probabilistic_sharpe

    z1 = ndtri(1.0 - 1.0 / n_trials)
    z2 = ndtri(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(trials_sharpe_var) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe(  # noqa: PLR0917 -- positional order of the paper's formula
    sharpe: float,
    n_obs: int,
    n_trials: int,
    trials_sharpe_var: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
    *,
    periods_per_year: float = 1.0,
    confidence: float = 0.95,
) -> DSRResult:
    """Deflated Sharpe ratio of the best of ``n_trials`` (Bailey & López de Prado 2014).

    Parameters
    ----------
    sharpe
        Observed Sharpe ratio of the selected trial.
    n_obs
        Number of return observations behind it.
    n_trials
        Number of configurations tried (independent trials; cluster correlated ones first).
    trials_sharpe_var
        Variance of the Sharpe ratios across the trials.
    skew, kurtosis
        Skewness and non-excess kurtosis (normal: 0 and 3) of the selected trial's returns.
    periods_per_year
        1 when ``sharpe`` and ``trials_sharpe_var`` are per observation; 252 when they are
        annualised from daily data (they are then divided by sqrt(252) and 252).
    confidence
        Level at which ``significant`` is set.

    Examples
    --------
    The paper's example: annualised SR 2.5 over 1250 days, 100 trials with annualised
    Sharpe variance 0.5, skew -3, kurtosis 10 gives SR0 = 0.1132 (daily) and DSR = 0.9004.
    """
    sr = sharpe / math.sqrt(periods_per_year)
    var = trials_sharpe_var / periods_per_year
    sr0 = expected_max_sharpe(n_trials, var)
    psr = probabilistic_sharpe(sr, n_obs, skew, kurtosis, 0.0)
    dsr = probabilistic_sharpe(sr, n_obs, skew, kurtosis, sr0)
    return DSRResult(
        sharpe=float(sr),
        sr0=sr0,
        psr=psr,
        dsr=dsr,
        n_obs=int(n_obs),
        n_trials=int(n_trials),
        confidence=float(confidence),
        significant=bool(dsr >= confidence),
    )


@dataclass(frozen=True)
class PBOResult:
    """Outcome of :func:`pbo`.

    Attributes
    ----------
    pbo
        Fraction of the train/test splits in which the best in-sample trial ranks at or below
        the out-of-sample median (logit <= 0).
    logits
        ``log(w / (1 - w))`` per split, ``w`` the OOS relative rank of the IS-best trial.
    oos_perf, is_perf
        Performance of the IS-best trial out of and in sample, per split (for the
        performance-degradation plot).
    prob_oos_loss
        Fraction of splits in which the IS-best trial has negative OOS performance.
    """

    pbo: float
    n_splits: int
    n_combinations: int
    logits: np.ndarray
    is_perf: np.ndarray
    oos_perf: np.ndarray
    prob_oos_loss: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-native summary (no per-split arrays)."""
        return {
            "pbo": self.pbo,
            "n_splits": self.n_splits,
            "n_combinations": self.n_combinations,
            "prob_oos_loss": self.prob_oos_loss,
            "median_logit": float(np.median(self.logits)),
        }


def _perf(sums: np.ndarray, sumsq: np.ndarray, counts: np.ndarray, metric: str) -> np.ndarray:
    """Mean or Sharpe of each (split, trial) from sums of returns and of squares."""
    mean = sums / counts
    if metric == "mean":
        return np.asarray(mean)
    var = (sumsq - counts * mean**2) / np.maximum(counts - 1, 1)
    std = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        # Zero variance with a positive mean is the best possible trial; give it +inf.
        out = np.where(std > 0, mean / np.where(std > 0, std, 1.0), np.sign(mean) * np.inf)
    return np.asarray(np.nan_to_num(out, nan=0.0))


def pbo(
    returns: np.ndarray,
    n_splits: int = 16,
    *,
    metric: Literal["sharpe", "mean"] = "sharpe",
) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    The ``T x N`` matrix of trial returns (rows in time, one column per configuration) is
    cut into ``n_splits`` contiguous groups. For each of the C(S, S/2) ways to pick half of
    the groups as in-sample (the rest out-of-sample), the trial with the best IS ``metric``
    is located in the OOS ranking; PBO is the fraction of splits where it lands at or below
    the OOS median.

    Parameters
    ----------
    returns
        Array of shape ``(T, N)``, ``N >= 2`` trials, ``T >= n_splits``, no NaN.
    n_splits
        Even number of groups S (16 gives 12 870 splits).
    metric
        ``"sharpe"`` (mean / std per observation) or ``"mean"``.
    """
    m = np.asarray(returns, dtype=float)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"pbo needs a (T, N>=2) matrix of trial returns; got shape {m.shape}")
    if n_splits < 2 or n_splits % 2:
        raise ValueError(f"n_splits must be an even number >= 2; got {n_splits}")
    if m.shape[0] < n_splits:
        raise ValueError(f"pbo needs at least n_splits={n_splits} rows; got T={m.shape[0]}")
    if np.isnan(m).any():
        raise ValueError("pbo got NaN returns; a trial that did not trade on a day made 0.0")
    groups = np.array_split(np.arange(m.shape[0]), n_splits)
    g_sum = np.stack([m[g].sum(axis=0) for g in groups])  # (S, N)
    g_sq = np.stack([(m[g] ** 2).sum(axis=0) for g in groups])
    g_n = np.array([len(g) for g in groups], dtype=float)

    combos = list(itertools.combinations(range(n_splits), n_splits // 2))
    sel = np.zeros((len(combos), n_splits))
    for i, c in enumerate(combos):
        sel[i, list(c)] = 1.0
    oos_sel = 1.0 - sel
    is_perf = _perf(sel @ g_sum, sel @ g_sq, (sel @ g_n)[:, None], metric)
    oos_perf = _perf(oos_sel @ g_sum, oos_sel @ g_sq, (oos_sel @ g_n)[:, None], metric)

    best = np.argmax(is_perf, axis=1)
    rows = np.arange(len(combos))
    chosen = oos_perf[rows, best]
    below = (oos_perf < chosen[:, None]).sum(axis=1)
    ties = (oos_perf == chosen[:, None]).sum(axis=1)
    rank = below + (ties + 1) / 2.0  # average rank, 1 = worst
    w = rank / (m.shape[1] + 1.0)
    logits = np.log(w / (1.0 - w))
    return PBOResult(
        pbo=float((logits <= 0).mean()),
        n_splits=n_splits,
        n_combinations=len(combos),
        logits=logits,
        is_perf=is_perf[rows, best],
        oos_perf=chosen,
        prob_oos_loss=float((chosen < 0).mean()),
    )


def sharpe_moments(returns: np.ndarray) -> tuple[float, float, float, int]:
    """Per-observation Sharpe (ddof=1), skewness, non-excess kurtosis and count of a sample."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 3:
        raise ValueError(f"need at least 3 returns for Sharpe moments; got {len(r)}")
    z = r - r.mean()
    m2 = float(np.mean(z**2))
    std = float(r.std(ddof=1))
    if m2 == 0.0 or std == 0.0:
        raise ValueError("returns have zero variance; the Sharpe ratio is undefined")
    return (
        float(r.mean() / std),
        float(np.mean(z**3) / m2**1.5),
        float(np.mean(z**4) / m2**2),
        len(r),
    )
