"""A VIX stand-in from SPY alone, used only when asked (``data.vix_proxy``, ``--vix-proxy``).

Definition, at minute bar ``t`` (known at its close, so causal)::

    proxy_t = VIX_PER_RV * 100 * std(r_{t-389} .. r_t) * sqrt(252 * 390)

where ``r`` are SPY one-minute log returns *within* a session (the overnight return is left
out) over the trailing 390 bars, crossing into the previous session; at least 30 returns
are needed, so the first half hour of the data has no proxy (NaN: nothing is priced then).

``VIX_PER_RV`` = 1.9 is the median ratio of the VIX open to this realised vol at 10:00 on
the real data of ``../shared/data/real``: 1.91 on 38 days of Polygon SPY minutes
(2024-02-20 .. 2024-04-12) and 1.91 on 756 days of IB 5-minute bars (2018-2020, the same
formula on 78 five-minute bars; log-correlation with VIX 0.84). The proxy follows the level
of VIX, not its jumps: it is a realised quantity, and VIX is the market's forward-looking
price. Results on it are marked ``vix=proxy`` in every summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zerodte.types import SESSION_MINUTES

VIX_PER_RV = 1.9
WINDOW = SESSION_MINUTES
MIN_RETURNS = 30


def vix_proxy(frame: pd.DataFrame) -> np.ndarray:
    """The proxy for every row of a market frame (``spy_close`` and ``session`` columns)."""
    close = frame["spy_close"].to_numpy(dtype=np.float64)
    if len(close) == 0:
        return np.empty(0)
    returns = np.empty_like(close)
    returns[0] = np.nan
    returns[1:] = np.diff(np.log(close))
    session = frame["session"].to_numpy()
    returns[1:][session[1:] != session[:-1]] = np.nan  # no overnight return
    rv = pd.Series(returns).rolling(WINDOW, min_periods=MIN_RETURNS).std().to_numpy()
    return VIX_PER_RV * 100.0 * rv * np.sqrt(252.0 * WINDOW)
