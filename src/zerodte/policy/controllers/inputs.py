"""One way to read a controller's inputs in both paths, so ``decide`` and ``decide_batch``
see the same numbers.

A name is looked up in the observation's context (regime, predictor outputs), then its
features, then the market values (``spy``, ``qqq``, ``vix``); in a frame, in its columns
(the market frame joined with features and context), with ``spy``/``qqq``/``vix`` read from
``spy_close``/``qqq_close``/``vix_close``. What is absent is NaN; controllers decide what an
unknown input means (usually: hold).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from zerodte.types import Observation

_MARKET = {"spy": "spy_close", "qqq": "qqq_close", "vix": "vix_close"}


def observation_values(observation: Observation, names: Sequence[str]) -> dict[str, np.ndarray]:
    """``name -> (1,)`` array from one observation (NaN when absent)."""
    out: dict[str, np.ndarray] = {}
    ctx, feats = observation.context, observation.features
    for name in names:
        if name in _MARKET:
            value = float(getattr(observation, name))
        elif name in ctx:
            value = float(ctx[name])
        elif name in feats:
            value = float(feats[name])
        else:
            value = np.nan
        out[name] = np.array([value], np.float64)
    return out


def frame_values(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, np.ndarray]:
    """``name -> (n,)`` array from a frame's columns (NaN when absent)."""
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    for name in names:
        col = _MARKET.get(name, name)
        if col in frame.columns:
            out[name] = frame[col].to_numpy(np.float64)
        else:
            out[name] = np.full(n, np.nan)
    return out


def bar_keys(frame: pd.DataFrame) -> np.ndarray:
    """Nanosecond timestamps of the rows (the key of a controller's hash draws)."""
    return np.asarray(pd.DatetimeIndex(frame.index).as_unit("ns").asi8, np.int64)


def observation_key(observation: Observation) -> np.ndarray:
    """The observation's bar time as a ``(1,)`` nanosecond key."""
    return np.array([pd.Timestamp(observation.time).value], np.int64)


_FLOAT_MAX = float(np.finfo(np.float64).max)


def nan_to_zero(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` of a float64 array (NaN -> 0, +-inf -> +-max), without its
    per-call Python overhead: the decision hot path calls it a dozen times per decision."""
    out = np.where(np.isnan(x), 0.0, x)
    if not np.isfinite(out).all():
        out = np.clip(out, -_FLOAT_MAX, _FLOAT_MAX)
    return out


def sign0(x: np.ndarray) -> np.ndarray:
    """``np.sign(np.nan_to_num(x))``: the sign, 0 where ``x`` is NaN."""
    s = np.sign(np.asarray(x, np.float64))
    s[np.isnan(s)] = 0.0
    return s
