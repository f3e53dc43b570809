"""Real option quotes laid over the ghost evaluator's vectorised modelled prices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from zerodte.engine.build import expiry_for
from zerodte.types import Right

if TYPE_CHECKING:
    from zerodte.options.real_book import RealQuotes


def overlay_frame(  # noqa: PLR0917 -- the arrays of one pricing call
    quotes: RealQuotes,
    frame: pd.DataFrame,
    pos: np.ndarray,
    strike: np.ndarray,
    right: Right,
    at: str,
    bid: np.ndarray,
    ask: np.ndarray,
    expiry_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``bid``/``ask`` of the bars ``pos`` of ``frame``, real where ``quotes`` cover them.

    The contract of each element is the run's root, ``strike``, ``right`` and the expiry
    ``expiry_days`` trading days after the bar's session (the engine's
    :func:`~zerodte.engine.build.expiry_for`).
    """
    t_ns = pd.DatetimeIndex(frame.index).as_unit("ns").asi8[pos]
    days = frame["session"].to_numpy()[pos]
    ords = np.array(
        [(d if expiry_days == 0 else expiry_for(d, expiry_days)).toordinal() for d in days],
        dtype=np.int64,
    )
    bid, ask, _ = quotes.overlay(t_ns, ords, right is Right.CALL, strike, at, bid, ask)
    return bid, ask
