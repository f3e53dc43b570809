"""Topological features: persistent homology of a delay embedding of recent prices.

For every bar, the last ``WINDOW`` log closes (in basis points, minus their mean) are
delay-embedded in ``R^DIM`` (``z_i = (x_i, x_{i+1}, x_{i+2})``) and the Vietoris–Rips
persistence diagrams ``H0`` and ``H1`` of that point cloud are computed with ``ripser``.

* ``tda_h{0,1}_entropy``: persistent entropy ``-sum p_i log p_i`` with ``p_i = l_i / sum l``
  over the finite lifetimes ``l_i`` (0 for an empty diagram). Reference: Chintakunta et al.
  (2015), "An entropy-based persistence barcode", *Pattern Recognition* 48.
* ``tda_h{0,1}_amplitude``: the largest finite lifetime (bottleneck distance to the empty
  diagram, times two), in basis points.
* ``tda_loop_trend_ratio``: ``L1 / (L1 + |trend|)`` with ``L1`` the total ``H1`` persistence
  and ``trend`` the net move over the window in basis points; 0 = pure trend, 1 = loops
  without net progress (0 when both are zero). In the spirit of Gidea & Katz (2018),
  "Topological data analysis of financial time series", *Physica A* 491.

This group is slow (one ``ripser`` call per bar; distance matrices are built vectorised per
chunk) and is computed only for the ``topology`` feature set.
"""

from __future__ import annotations

import numpy as np

from zerodte.features.context import Context
from zerodte.features.groups import Arrays, Group, register_group

WINDOW = 30
DIM = 3
COLUMNS: tuple[str, ...] = (
    "tda_h0_entropy",
    "tda_h0_amplitude",
    "tda_h1_entropy",
    "tda_h1_amplitude",
    "tda_loop_trend_ratio",
)
_CHUNK = 2048


def _entropy_amplitude(diagram: np.ndarray) -> tuple[float, float, float]:
    """Entropy, amplitude and total persistence of the finite bars of one diagram."""
    life = diagram[:, 1] - diagram[:, 0] if len(diagram) else np.empty(0)
    life = life[np.isfinite(life) & (life > 0)]
    total = float(life.sum())
    if total <= 0.0:
        return 0.0, 0.0, 0.0
    p = life / total
    return float(-(p * np.log(p)).sum()), float(life.max()), total


def _window_features(dist: np.ndarray, trend: float) -> tuple[float, ...]:
    from ripser import ripser

    dgms = ripser(dist, maxdim=1, distance_matrix=True)["dgms"]
    e0, a0, _ = _entropy_amplitude(dgms[0])
    e1, a1, t1 = _entropy_amplitude(dgms[1])
    denom = t1 + abs(trend)
    ratio = t1 / denom if denom > 0 else 0.0
    return e0, a0, e1, a1, ratio


def _topology(ctx: Context) -> Arrays:
    n = ctx.n
    lc = ctx.log_close()
    out = np.full((n, len(COLUMNS)), np.nan)
    length = len(lc)
    first = max(length - n, WINDOW - 1)
    m_pts = WINDOW - DIM + 1
    for c0 in range(first, length, _CHUNK):
        c1 = min(c0 + _CHUNK, length)
        if c1 - c0 == 1:
            wins = lc[c0 - WINDOW + 1 : c0 + 1].reshape(1, WINDOW)
        else:
            wins = np.lib.stride_tricks.sliding_window_view(lc[c0 - WINDOW + 1 : c1], WINDOW)
        x = 1e4 * (wins - wins.mean(axis=1, keepdims=True))
        cloud = np.stack([x[:, j : j + m_pts] for j in range(DIM)], axis=2)
        diff = cloud[:, :, None, :] - cloud[:, None, :, :]
        dist = np.sqrt((diff * diff).sum(axis=3))
        trend = x[:, -1] - x[:, 0]
        for i in range(c1 - c0):
            row = c0 + i - (length - n)
            if not np.isfinite(dist[i]).all():
                continue  # NaN prices in the window: the features stay NaN
            out[row] = _window_features(dist[i], float(trend[i]))
    return {name: out[:, j] for j, name in enumerate(COLUMNS)}


register_group(
    Group(
        "topology",
        _topology,
        {name: WINDOW - 1 for name in COLUMNS},
        ("spy_close",),
        WINDOW,
    )
)
