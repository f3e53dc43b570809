"""The shipped quantile table is SciPy's values, and the factor is unchanged by it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtri, stdtrit

from zerodte.research import quantiles
from zerodte.research.bootstrap import small_sample_factor


def test_the_shipped_table_is_what_scipy_computes() -> None:
    assert quantiles.TABLE.read_text() == quantiles.table_text()


@pytest.mark.parametrize("df", [1, 2, 12, 251, quantiles.MAX_DF, quantiles.MAX_DF + 1, 7.5])
@pytest.mark.parametrize("q", [0.975, 0.99, 0.9875])
def test_quantiles_equal_scipy_in_and_out_of_the_table(df: float, q: float) -> None:
    assert quantiles.t_quantile(df, q) == float(stdtrit(df, q))
    assert quantiles.normal_quantile(q) == float(ndtri(q))


@pytest.mark.parametrize("clusters", [2, 13, 252, 5000])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_small_sample_factor_is_scipy_arithmetic(clusters: int, alpha: float) -> None:
    g, q = float(clusters), 1 - alpha / 2
    want = float(np.sqrt(g / (g - 1.0)) * stdtrit(g - 1.0, q) / ndtri(q))
    assert small_sample_factor(clusters, alpha) == want  # the same float, bit for bit


def test_a_damaged_table_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "t975.txt"
    bad.write_text("z 1.96\n1 12.7\n3 3.18\n")
    monkeypatch.setattr(quantiles, "TABLE", bad)
    quantiles._table.cache_clear()
    try:
        with pytest.raises(ValueError, match="df 3 out of order"):
            quantiles.t_quantile(1, 0.975)
    finally:
        quantiles._table.cache_clear()
