"""Small hand-made paths and trades for the learning scenario tables."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from zerodte.learning.path import MarketPath
from zerodte.learning.regret import TradeFacts

START = pd.Timestamp("2024-03-04 09:30", tz="America/New_York")


def path_of(closes: list[float], start: pd.Timestamp = START, volume: float = 1000.0) -> MarketPath:
    """A one-session path with the given closes (high = low = close)."""
    idx = pd.date_range(start, periods=len(closes), freq="1min")
    c = np.asarray(closes, np.float64)
    frame = pd.DataFrame(
        {
            "spy_close": c,
            "spy_high": c,
            "spy_low": c,
            "spy_volume": np.full(len(c), volume),
            "vix_close": np.full(len(c), 15.0),
        },
        index=idx,
    )
    return MarketPath.from_frame(frame)


BASE = TradeFacts(
    direction=1.0,
    premium=100.0,
    pnl_per_contract=-20.0,
    gross_pct=-18.7,
    max_gain_pct=0.0,
    delta=0.5,
    decision_pos=40,
    exit_pos=50,
    entry_spot=100.0,
    exit_spot=100.0,
    alignment=1.0,
    block="early_open",
    decay_dollars=0.0,
    max_pain=float("nan"),
    pin_strike=float("nan"),
    net_gex=float("nan"),
)


def facts(**kw: object) -> TradeFacts:
    """:data:`BASE` with fields replaced."""
    return replace(BASE, **kw)  # type: ignore[arg-type]
