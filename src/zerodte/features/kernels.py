"""Causal array kernels shared by the batch and the streaming feature paths.

Every kernel works on an *extended* array ``x`` (trailing history followed by the rows being
computed) and returns values for the last ``n`` positions only. Batch computation passes
the whole history with ``n = len(x)``; the stream passes its bounded trailing buffer plus
the new bar with ``n = 1``. Because both paths evaluate the same window at the same
position with the same code, they agree to floating-point round-off, and nothing at
position ``p`` can read ``x[p + 1:]``.

Recursive smoothers (EMA, Wilder) carry their last value in a small ``state`` dict, so a
chunk of one row continues exactly where the previous chunk stopped. The recursion is the
one :func:`scipy.signal.lfilter` evaluates for ``b = [alpha], a = [1, -decay]`` (its
transposed direct form gives ``y_t = alpha x_t + decay y_{t-1}`` with the same two
roundings), evaluated in a plain loop: bit for bit the same values for finite and NaN
inputs (the stream's one-row chunks always ran this loop), without importing
``scipy.signal`` (about 0.5 s and 50 MB at the start of every process).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

NAN = float("nan")


def tail(x: np.ndarray, n: int) -> np.ndarray:
    """The last ``n`` values of ``x``, NaN-padded at the front when ``x`` is shorter."""
    if n <= len(x):
        return x[len(x) - n :]
    return np.concatenate([np.full(n - len(x), NAN), x])


def lag(x: np.ndarray, k: int, n: int) -> np.ndarray:
    """``x[p - k]`` for the last ``n`` positions ``p`` (NaN where ``p - k < 0``)."""
    if k == 0:
        return tail(x, n)
    return tail(x[:-k], n) if len(x) > k else np.full(n, NAN)


def rolling(
    x: np.ndarray, window: int, n: int, fn: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``fn`` (a reduction over axis 1 of an ``(m, window)`` array) to trailing windows.

    Output ``j`` is ``fn`` of ``x[p - window + 1 : p + 1]`` with ``p = len(x) - n + j``; it is
    NaN when the window would start before ``x[0]``.
    """
    out = np.full(n, NAN)
    length = len(x)
    first = max(length - n, window - 1)  # first position with a full window
    count = length - first
    if count <= 0:
        return out
    # A strided (count, window) view without copying; same layout in both paths.
    base = np.ascontiguousarray(x[first - window + 1 :], dtype=np.float64)
    step = base.itemsize
    windows = np.ndarray((count, window), np.float64, base, 0, (step, step))
    # In blocks of rows: ``fn`` reduces each row alone, so a block gives every row the
    # value the whole would, while its temporaries (a year of 20-bar deviations and their
    # squares: 30 MB) stay small.
    for start in range(0, count, ROLLING_BLOCK):
        stop = min(start + ROLLING_BLOCK, count)
        out[n - count + start : n - count + stop] = fn(windows[start:stop])
    return out


ROLLING_BLOCK = 8192
"""Rows of trailing windows that :func:`rolling` reduces at once."""


def rolling_sum(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Trailing sum over ``window`` values."""
    return rolling(x, window, n, lambda w: w.sum(axis=1))


def rolling_mean(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Trailing mean over ``window`` values."""
    return rolling(x, window, n, lambda w: w.sum(axis=1) / window)


def rolling_max(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Trailing maximum over ``window`` values."""
    return rolling(x, window, n, lambda w: w.max(axis=1))


def rolling_min(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Trailing minimum over ``window`` values."""
    return rolling(x, window, n, lambda w: w.min(axis=1))


def rolling_std(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Trailing population standard deviation (two-pass, so no cancellation)."""

    def _std(w: np.ndarray) -> np.ndarray:
        dev = w - w.sum(axis=1, keepdims=True) / window
        return np.sqrt((dev * dev).sum(axis=1) / window)

    return rolling(x, window, n, _std)


def wma(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Linearly weighted moving average, weights ``1 .. window`` (newest heaviest)."""
    weights = np.arange(1, window + 1, dtype=np.float64)
    weights /= weights.sum()
    return rolling(x, window, n, lambda w: w @ weights)


def hull(x: np.ndarray, window: int, n: int) -> np.ndarray:
    """Hull moving average ``WMA(2 WMA(x, w/2) - WMA(x, w), floor(sqrt(w)))``.

    Reference: A. Hull (2005), "Hull Moving Average". Needs ``w + floor(sqrt(w)) - 1`` values.
    """
    root = int(np.sqrt(window))
    m = n + root - 1
    raw = 2.0 * wma(x, window // 2, m) - wma(x, window, m)
    return wma(raw, root, n)


def session_starts(sid: np.ndarray) -> np.ndarray:
    """For every position, the position of the first row of its session within ``sid``."""
    idx = np.arange(len(sid))
    change = np.empty(len(sid), dtype=bool)
    if len(sid):
        change[0] = True
        change[1:] = sid[1:] != sid[:-1]
    return np.maximum.accumulate(np.where(change, idx, 0))


def session_cumsum(
    x: np.ndarray, starts: np.ndarray, n: int, cs: np.ndarray | None = None
) -> np.ndarray:
    """Sum of ``x`` from the start of each row's session through the row (last ``n`` rows).

    ``cs`` is the running sum of ``x`` to subtract from (default ``np.cumsum(x)``); a batch
    computed in pieces passes the sum continued from the rows before its buffer
    (:func:`running_sum`), so each piece gives the values of the whole.
    """
    if cs is None:
        cs = np.cumsum(x)
    before = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0.0)
    return tail(cs - before, n)


def running_sum(x: np.ndarray, before: float) -> np.ndarray:
    """``np.cumsum`` of ``x`` continued from ``before``, the running sum of the rows before.

    A cumulative sum adds one value at a time, so the sum of a whole history at row ``p``
    is the sum continued from row ``p - 1``'s bit for bit; ``before = 0.0`` gives
    ``np.cumsum(x)`` itself.
    """
    if before == 0.0:
        return np.cumsum(x)
    return np.cumsum(np.concatenate(([before], np.asarray(x, dtype=np.float64))))[1:]


def smooth(x: np.ndarray, alpha: float, state: dict[str, Any], seed: int) -> np.ndarray:
    """Exponential smoother ``y_t = y_{t-1} + alpha (x_t - y_{t-1})`` continued from ``state``.

    The first value is the mean of the first ``seed`` finite inputs (``seed=1``: the first
    input, as ``pandas.ewm(adjust=False)``; ``seed=n`` with ``alpha=1/n``: Wilder's
    smoothing as in Wilder (1978), *New Concepts in Technical Trading Systems*). Outputs are
    NaN until seeded. ``x`` holds only the rows being computed (not the history).
    """
    out = np.full(len(x), NAN)
    i = 0
    if "y" not in state:
        acc = state.setdefault("acc", 0.0)
        cnt = state.setdefault("cnt", 0)
        while i < len(x):
            v = float(x[i])
            i += 1
            if np.isfinite(v):
                acc += v
                cnt += 1
                if cnt == seed:
                    state["y"] = acc / seed
                    out[i - 1] = state["y"]
                    break
        state["acc"], state["cnt"] = acc, cnt
    if "y" in state and i < len(x):
        decay = 1.0 - alpha
        y_prev = state["y"]
        values = np.asarray(x[i:], dtype=np.float64).tolist()
        for j, v in enumerate(values):
            y_prev = alpha * v + decay * y_prev
            values[j] = y_prev
        out[i:] = values
        state["y"] = y_prev
    return out


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """``max(h - l, |h - c_prev|, |l - c_prev|)`` (NaN without a previous close)."""
    h, lo, prev = tail(high, n), tail(low, n), lag(close, 1, n)
    return np.maximum(h - lo, np.maximum(np.abs(h - prev), np.abs(lo - prev)))


def safe_ratio(num: np.ndarray, den: np.ndarray, when_zero: float) -> np.ndarray:
    """``num / den`` with a stated value where ``den == 0`` (NaN inputs stay NaN)."""
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, when_zero)
    np.divide(num, den, out=out, where=den != 0.0)
    return out
