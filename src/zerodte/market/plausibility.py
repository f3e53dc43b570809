"""Checks that catch bars which are well-formed but cannot be real, each with a stated rule.

* **Non-finite or absurd values.** ``inf`` is refused in every field; a price above
  :data:`MAX_PRICE` or a volume above :data:`MAX_VOLUME` is refused as implausible (no
  US-listed stock, ETF or index trades above 10 million a share, and SPY's busiest
  minute is near 10 million shares; ``1e308`` would turn into ``inf`` in the first sum).
* **Single-bar jumps.** Within a session, a bar whose open, high, low or close is more than
  a factor of :data:`MAX_BAR_JUMP` away from the previous bar's close, or whose high (low)
  is more than that factor above (below) its own open and close, is refused. The largest
  one-minute move in the real SPY, QQQ and VIX files of this project is 1.9 % (VIX) and the
  market-wide circuit breaker halts trading at a 7 % fall, so a factor of 2 is never a real
  minute for these symbols; it is what a decimal slip (x10, x100, x0.1) looks like. Isolated
  spikes can be dropped with ``--repair drop-spikes`` (reported); the first bar of a session
  is not compared with the previous session's close (overnight gaps are real).
* **Open and close swapped.** A bar opens where the previous one closed (the median gap of
  ``open_t - close_{t-1}`` is a cent or less on the real files, zero in the synthetic
  market), while ``close_t - open_{t-1}`` spans two bars of movement. When, over at least
  :data:`SWAP_MIN_PAIRS` consecutive in-session pairs, the median of
  ``|open_t - close_{t-1}|`` exceeds :data:`SWAP_RATIO` times the median of
  ``|close_t - open_{t-1}|``, the columns are flagged as swapped. A series whose opens are
  not tied to the previous close (VIX's medians are equal) is never flagged.
* **float32 prices.** A price column whose every value equals its own float32 rounding and
  at least one of which is off a 0.0001 grid came through 32-bit floats (``512.34`` stored
  as ``512.3400268554688``); it is refused. Prices that float32 holds exactly (cents
  grids such as 512.25) are not flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zerodte.market.problems import Problem, rows_of
from zerodte.market.schema import PRICE_COLUMNS

MAX_PRICE = 1e7
MAX_VOLUME = 1e11
MAX_BAR_JUMP = 2.0
SWAP_RATIO = 2.0
SWAP_MIN_PAIRS = 100


def check_values(frame: pd.DataFrame, source: str) -> list[Problem]:
    """Infinite values anywhere, prices above MAX_PRICE, volumes above MAX_VOLUME."""
    out: list[Problem] = []
    for col in (*PRICE_COLUMNS, "volume"):
        v = frame[col].to_numpy(dtype=np.float64)
        bad = np.flatnonzero(np.isinf(v))
        for pos, row in zip(bad, rows_of(frame, bad), strict=True):
            out.append(
                Problem(
                    source,
                    row,
                    col,
                    "non-finite value",
                    repr(float(v[pos])),
                    "fix the cell or drop the row with --repair drop-bad-prices",
                )
            )
        limit = MAX_VOLUME if col == "volume" else MAX_PRICE
        with np.errstate(invalid="ignore"):
            big = np.flatnonzero(np.isfinite(v) & (np.abs(v) > limit))
        kind = "implausible volume" if col == "volume" else "implausible price"
        for pos, row in zip(big, rows_of(frame, big), strict=True):
            out.append(
                Problem(
                    source,
                    row,
                    col,
                    f"{kind} (above {limit:.0e})",
                    repr(float(v[pos])),
                    "check the units and the column mapping, or --repair drop-bad-prices",
                )
            )
    return out


def _step_and_inner(frame: pd.DataFrame, sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bar: the factor to the previous bar's close (NaN at a session's first bar), and
    the factor of its high (low) over the larger (smaller) of its open and close."""
    prev = frame["close"].to_numpy(dtype=np.float64)
    prev = np.concatenate([[np.nan], prev[:-1]])
    same = np.concatenate([[False], sessions[1:] == sessions[:-1]])
    prev[~same] = np.nan
    p = {c: frame[c].to_numpy(dtype=np.float64) for c in PRICE_COLUMNS}
    step = np.full(len(frame), np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for col in PRICE_COLUMNS:
            r = np.maximum(p[col] / prev, prev / p[col])
            step = np.fmax(step, np.where((p[col] > 0) & (prev > 0), r, np.nan))
        body_hi = np.maximum(p["open"], p["close"])
        body_lo = np.minimum(p["open"], p["close"])
        inner = np.maximum(p["high"] / body_hi, body_lo / p["low"])
    inner = np.where((body_lo > 0) & (p["low"] > 0), inner, np.nan)
    return step, inner


def jump_ratios(frame: pd.DataFrame, sessions: np.ndarray) -> np.ndarray:
    """Per bar, the largest factor between its prices and the previous bar's close, or
    between its high (low) and the larger (smaller) of its own open and close.

    The first bar of a session is compared with itself only (overnight gaps are real).
    """
    step, inner = _step_and_inner(frame, sessions)
    return np.fmax(step, inner)


def check_jumps(frame: pd.DataFrame, source: str, sessions: np.ndarray) -> list[Problem]:
    """Bars more than MAX_BAR_JUMP away from the previous bar's close (same session)."""
    ratios = jump_ratios(frame, sessions)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(ratios > MAX_BAR_JUMP)
    out = []
    close = frame["close"].to_numpy(dtype=np.float64)
    for pos, row in zip(bad, rows_of(frame, bad), strict=True):
        prices = ", ".join(f"{c} {float(frame[c].iloc[pos]):.6g}" for c in PRICE_COLUMNS)
        out.append(
            Problem(
                source,
                row,
                "close",
                f"price jump above x{MAX_BAR_JUMP:g} in one bar",
                f"previous close {close[pos - 1]:.6g} -> {prices} (x{ratios[pos]:.3g})",
                "a decimal slip or a bad print; fix the file or drop isolated spikes with "
                "--repair drop-spikes",
            )
        )
    return out


def spike_mask(frame: pd.DataFrame, sessions: np.ndarray) -> np.ndarray:
    """Bars that are single bad prints: safe to drop.

    A bar is one when its own high or low is more than MAX_BAR_JUMP from its open and
    close, or when it jumps away from the previous close and the next bar jumps back (at
    a session's first bar: the next bar jumps and the one after it does not; at its last
    bar: it jumps).
    """
    step, inner = _step_and_inner(frame, sessions)
    with np.errstate(invalid="ignore"):
        away = step > MAX_BAR_JUMP
        bad_inside = inner > MAX_BAR_JUMP
    nxt = np.concatenate([away[1:], [False]])
    after = np.concatenate([away[2:], [False, False]])
    first = np.concatenate([[True], sessions[1:] != sessions[:-1]])
    last = np.concatenate([sessions[1:] != sessions[:-1], [True]])
    return bad_inside | (away & (nxt | last)) | (first & nxt & ~after)


def check_swap(frame: pd.DataFrame, source: str, sessions: np.ndarray) -> list[Problem]:
    """Open and close columns that look swapped (see the module docstring)."""
    o = frame["open"].to_numpy(dtype=np.float64)
    c = frame["close"].to_numpy(dtype=np.float64)
    same = sessions[1:] == sessions[:-1]
    if int(same.sum()) < SWAP_MIN_PAIRS:
        return []
    as_given = float(np.nanmedian(np.abs(o[1:] - c[:-1])[same]))
    swapped = float(np.nanmedian(np.abs(c[1:] - o[:-1])[same]))
    if not as_given > SWAP_RATIO * swapped:
        return []
    return [
        Problem(
            source,
            None,
            "open",
            "open and close look swapped",
            f"median |open - previous close| {as_given:.4g} vs |close - previous open| "
            f"{swapped:.4g}",
            "bars open where the previous bar closed; check the header or map the columns "
            "with --map open=close,close=open",
        )
    ]


def check_float32(frame: pd.DataFrame, source: str) -> list[Problem]:
    """Price columns that went through 32-bit floats (see the module docstring)."""
    out = []
    for col in PRICE_COLUMNS:
        v = frame[col].to_numpy(dtype=np.float64)
        v = v[np.isfinite(v)]
        if len(v) == 0:
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            f32 = v.astype(np.float32).astype(np.float64) == v
            off_grid = np.abs(v - np.round(v, 4)) > 1e-9
        if f32.all() and off_grid.any():
            example = v[np.flatnonzero(off_grid)[0]]
            out.append(
                Problem(
                    source,
                    None,
                    col,
                    "float32 precision",
                    f"{example!r} (= {np.float32(example)!s} as float32)",
                    "export prices as float64 (or rounded to the cent); float32 keeps about 7 "
                    "digits",
                )
            )
    return out
