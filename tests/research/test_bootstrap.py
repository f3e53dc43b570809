"""Bootstrap intervals: coverage, determinism, and the stationary bootstrap's blocks."""

from __future__ import annotations

import numpy as np
import pytest

from zerodte.research.bootstrap import bootstrap_ci, bootstrap_indices


def test_ci_of_zero_mean_sample_covers_zero_most_of_the_time() -> None:
    rng = np.random.default_rng(11)
    hits = 0
    trials = 200
    for i in range(trials):
        ci = bootstrap_ci(rng.normal(0.0, 1.0, 60), "mean", n_boot=400, seed=i)
        assert ci is not None
        hits += ci[0] <= 0.0 <= ci[1]
    # Nominal 95 %; the percentile bootstrap undercovers slightly at n=60.
    assert 0.88 <= hits / trials <= 0.99


def test_deterministic_and_seed_dependent() -> None:
    x = np.random.default_rng(0).normal(size=40)
    assert bootstrap_ci(x, n_boot=300, seed=5) == bootstrap_ci(x, n_boot=300, seed=5)
    assert bootstrap_ci(x, n_boot=300, seed=5) != bootstrap_ci(x, n_boot=300, seed=6)


def test_undefined_cases_are_none_or_errors() -> None:
    assert bootstrap_ci([1.0], n_boot=100) is None
    assert bootstrap_ci([2.0, 2.0, 2.0], "sharpe", n_boot=100) is None  # zero variance
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([1.0, np.nan], n_boot=10)
    with pytest.raises(ValueError, match="unknown bootstrap statistic"):
        bootstrap_ci([1.0, 2.0], "mode", n_boot=10)  # type: ignore[arg-type]


def test_callable_stat_matches_named_stat() -> None:
    x = np.random.default_rng(1).normal(size=30)
    assert bootstrap_ci(x, np.median, n_boot=200, seed=2) == pytest.approx(
        bootstrap_ci(x, "median", n_boot=200, seed=2)
    )


def test_stationary_blocks_have_the_requested_mean_length() -> None:
    idx = bootstrap_indices(500, 200, np.random.default_rng(3), block=8.0)
    continues = (np.diff(idx, axis=1) % 500) == 1
    # A block continues with probability 1 - 1/8 (plus chance continuations of new blocks).
    assert continues.mean() == pytest.approx(1 - 1 / 8, abs=0.01)
    iid = bootstrap_indices(500, 200, np.random.default_rng(3))
    assert ((np.diff(iid, axis=1) % 500) == 1).mean() < 0.01


def test_stationary_interval_is_wider_on_autocorrelated_data() -> None:
    rng = np.random.default_rng(4)
    e = rng.normal(size=400)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = 0.8 * x[t - 1] + e[t]  # AR(1): the i.i.d. bootstrap understates the spread
    lo_i, hi_i = bootstrap_ci(x, n_boot=1000, seed=0) or (0.0, 0.0)
    lo_s, hi_s = bootstrap_ci(x, n_boot=1000, seed=0, block=20.0) or (0.0, 0.0)
    assert hi_s - lo_s > 1.8 * (hi_i - lo_i)


def test_few_sessions_widen_the_interval_and_one_gives_none() -> None:
    """A handful of trading sessions are a handful of draws: t(G-1) and G/(G-1) apply."""
    import numpy as np
    import pytest

    from zerodte.research.bootstrap import session_bootstrap_ci, small_sample_factor

    pnl = np.array([30.0, 0, 0, -10.0, 0, 25.0, 0, 0])
    n = np.array([2.0, 0, 0, 1.0, 0, 3.0, 0, 0])

    def stat(s: dict) -> np.ndarray:  # type: ignore[type-arg]
        return s["p"] / s["n"]

    raw = session_bootstrap_ci({"p": pnl, "n": n}, stat, n_boot=2000, seed=1)
    fixed = session_bootstrap_ci({"p": pnl, "n": n}, stat, n_boot=2000, seed=1, clusters=3)
    assert raw is not None and fixed is not None
    est = pnl.sum() / n.sum()
    f = small_sample_factor(3)
    assert f == pytest.approx(np.sqrt(1.5) * 4.3027 / 1.96, rel=1e-3)
    assert fixed[0] == pytest.approx(est - f * (est - raw[0]))
    assert fixed[1] == pytest.approx(est + f * (raw[1] - est))
    assert small_sample_factor(100) == pytest.approx(1.02, abs=0.01)
    assert session_bootstrap_ci({"p": pnl, "n": n}, stat, clusters=1) is None


def test_given_indices_are_the_seeds_draws() -> None:
    """Passing seeded_indices gives the interval the seed gives; a wrong shape is refused."""
    from zerodte.research.bootstrap import seeded_indices, session_bootstrap_ci

    x = np.random.default_rng(5).normal(0.001, 0.01, 252)
    block = 252 ** (1 / 3)
    idx = seeded_indices(252, 500, 4, block)
    assert np.array_equal(idx, bootstrap_indices(252, 500, np.random.default_rng(4), block=block))
    kw = {"n_boot": 500, "seed": 4, "block": block}
    assert bootstrap_ci(x, "sharpe", **kw, indices=idx) == bootstrap_ci(x, "sharpe", **kw)
    sums = {"pnl": x, "n": np.ones(252)}

    def ratio(s: dict[str, np.ndarray]) -> np.ndarray:
        return s["pnl"] / s["n"]

    assert session_bootstrap_ci(sums, ratio, **kw, indices=idx) == session_bootstrap_ci(
        sums, ratio, **kw
    )
    with pytest.raises(ValueError, match="shape"):
        bootstrap_ci(x[:100], "sharpe", **kw, indices=idx)


def _whole_matrix(n: int, n_boot: int, seed: int, block: float) -> np.ndarray:
    """The stationary bootstrap's matrix drawn at once (the definition, no blocks)."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(n_boot, n))
    new_block = rng.random((n_boot, n)) < 1.0 / block
    new_block[:, 0] = True
    col = np.arange(n)
    last = np.maximum.accumulate(np.where(new_block, col, 0), axis=1)
    return (np.take_along_axis(starts, last, axis=1) + col - last) % n


@pytest.mark.parametrize("n_boot", [1, 255, 256, 257, 2000])
def test_replicas_drawn_by_blocks_equal_the_whole_matrix(n_boot: int) -> None:
    # the indices and every interval are computed a block of replicas at a time (memory);
    # the numbers are those of the whole matrix drawn at once
    n, seed, block = 61, 4, 3.9
    got = bootstrap_indices(n, n_boot, np.random.default_rng(seed), block=block)
    want = _whole_matrix(n, n_boot, seed, block)
    assert got.dtype == want.dtype and np.array_equal(got, want)
    x = np.random.default_rng(1).normal(size=n)
    if n_boot >= 2:
        lo, hi = np.quantile(x[want].mean(axis=1), [0.025, 0.975])
        assert bootstrap_ci(x, "mean", n_boot=n_boot, seed=seed, block=block) == (lo, hi)
