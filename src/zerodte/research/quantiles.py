"""Student-t and normal quantiles at 97.5 %, read from a table shipped with the package.

Every backtest summary's per-trade interval takes the small-sample factor of
:func:`zerodte.research.bootstrap.small_sample_factor`, which needs ``t_{G-1}(0.975)`` and
``z(0.975)``. Computing them needs ``scipy.special``, whose import (about 0.13 s: SciPy's
array-API layer imports ``numpy.f2py`` and ``numpy.testing``) is a tenth of a short
backtest. The table ``t975.txt`` holds ``scipy.special.stdtrit(df, 0.975)`` for df = 1 ..
:data:`MAX_DF` and ``scipy.special.ndtri(0.975)`` as exact float reprs, written by
:func:`table_text`, so a value read from it is the float SciPy returns
(tests/research/test_quantiles.py checks the file against SciPy). Other levels and larger
df are computed by SciPy.
"""

from __future__ import annotations

import functools
from pathlib import Path

MAX_DF = 2600
"""The table's largest df: ten years of sessions (a per-trade interval's clusters - 1)."""
LEVEL = 0.975
TABLE = Path(__file__).with_name("t975.txt")


def table_text() -> str:
    """The table's content, computed with SciPy (what ``t975.txt`` must equal)."""
    from scipy.special import ndtri, stdtrit

    lines = [
        f"# scipy.special at {LEVEL}: 'z' = ndtri, then df and stdtrit(df); written by "
        "zerodte.research.quantiles.table_text",
        f"z {float(ndtri(LEVEL))!r}",
    ]
    lines += [f"{df} {float(stdtrit(float(df), LEVEL))!r}" for df in range(1, MAX_DF + 1)]
    return "\n".join(lines) + "\n"


@functools.cache
def _table() -> tuple[float, tuple[float, ...]]:
    z = float("nan")
    t: list[float] = []
    for line in TABLE.read_text().splitlines():
        if line.startswith("#"):
            continue
        key, value = line.split()
        if key == "z":
            z = float(value)
        else:
            if int(key) != len(t) + 1:
                raise ValueError(f"{TABLE}: df {key} out of order (expected {len(t) + 1})")
            t.append(float(value))
    return z, tuple(t)


def normal_quantile(q: float) -> float:
    """``z(q)``, the standard normal quantile (``scipy.special.ndtri``)."""
    if q == LEVEL:
        return _table()[0]
    from scipy.special import ndtri

    return float(ndtri(q))


def t_quantile(df: float, q: float) -> float:
    """``t_df(q)``, Student's t quantile (``scipy.special.stdtrit``)."""
    if q == LEVEL and float(df).is_integer() and 1 <= df <= MAX_DF:
        return _table()[1][int(df) - 1]
    from scipy.special import stdtrit

    return float(stdtrit(df, q))
