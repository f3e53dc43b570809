"""Order-flow features: the session's 30-minute move in units of volatility, relative volume.

An intraday trend or range regime shows in two places a price chart alone hides: how far the
session has moved lately *relative to its own noise*, and whether volume runs above or below
what is normal *for this minute of the day* (volume has a strong U-shape, so raw volume mostly
measures the clock).

* ``z30``: the session-anchored 30-minute log return (from the close 30 bars ago in the same
  session, or from the session's open before minute 30) over ``sqrt(30 v)``, where ``v`` is
  an EWMA (span 120, seeded with the mean of the first 10 values) of squared intraday
  one-minute log returns. Unitless; about N(0, 1) in a martingale.
* ``relvol_{5,15,40}m``: an EWMA (span 5, 15, 40 minutes; restarted each session, seeded with
  the session's first value) of ``log1p(volume) - norm(minute)``, where ``norm`` is the mean
  ``log1p(volume)`` at the same minute of the session over the previous 20 sessions (at least
  5 of them; NaN until then). Positive: busier than usual for the time of day.
* ``z30_x_relvol_{5,15,40}m``: the products (a move on heavy volume continues more often than
  the same move on light volume; trees find the interaction faster when it is given).

Warm-up: ``z30`` needs 10 bars; the relative-volume columns need 5 sessions of history
(5 x 390 rows by definition, fewer valid rows are never reported). The time-of-day norm is
recomputed once per session from a ring of the last 20 sessions, so the batch and the stream
read the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zerodte.errors import DataError
from zerodte.features import kernels as k
from zerodte.features.context import Context
from zerodte.features.groups import SESSION_ROWS, Arrays, Group, register_group

SPANS: tuple[int, ...] = (5, 15, 40)
NORM_SESSIONS = 20
MIN_NORM_SESSIONS = 5
Z_WINDOW = 30
Z_VOL_SPAN = 120
Z_VOL_SEED = 10
COLUMNS: tuple[str, ...] = (
    "z30",
    *(f"relvol_{s}m" for s in SPANS),
    *(f"z30_x_relvol_{s}m" for s in SPANS),
)


def _z30(ctx: Context) -> np.ndarray:
    n = ctx.n
    lc = ctx.log_close()
    starts = ctx.session_starts()
    pos = np.arange(len(lc) - n, len(lc))
    first = starts[pos]
    back = pos - Z_WINDOW
    anchor = np.where(back >= first, lc[np.maximum(back, 0)], np.log(ctx.col("spy_open")[first]))
    r30 = lc[pos] - anchor
    r1 = k.tail(ctx.intraday_r1(), n)
    v = k.smooth(r1 * r1, 2.0 / (Z_VOL_SPAN + 1), ctx.group_state("flow_z"), Z_VOL_SEED)
    return k.safe_ratio(r30, np.sqrt(Z_WINDOW * v), 0.0)


def _new_session(st: dict[str, Any], sid: float) -> None:
    """Close the previous session into the ring and recompute the time-of-day norm."""
    if "ring" not in st:
        st["ring"] = np.full((NORM_SESSIONS, SESSION_ROWS), np.nan)
        st["slot"] = 0
    if "today" in st:
        st["ring"][st["slot"]] = st["today"]
        st["slot"] = (st["slot"] + 1) % NORM_SESSIONS
    ring = st["ring"]
    count = np.isfinite(ring).sum(axis=0)
    total = np.where(np.isfinite(ring), ring, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        st["norm"] = np.where(count >= MIN_NORM_SESSIONS, total / count, np.nan)
    st["today"] = np.full(SESSION_ROWS, np.nan)
    st["sid"] = sid
    st["ewma"] = {span: {} for span in SPANS}


def _relative_volume(ctx: Context) -> Arrays:
    st = ctx.group_state("flow_volume")
    sid, minute = ctx.new("sid"), ctx.new("minute")
    outside = (minute < 0) | (minute >= SESSION_ROWS)
    if outside.any():
        bad = minute[outside][0]
        raise DataError(
            f"minute of session {bad} is outside 0..{SESSION_ROWS - 1}; relative-volume "
            "features support regular-hours bars only"
        )
    lv = np.log1p(ctx.new("spy_volume"))
    out = {f"relvol_{s}m": np.full(ctx.n, np.nan) for s in SPANS}
    cuts = np.flatnonzero(sid[1:] != sid[:-1]) + 1
    for a, b in zip((0, *cuts), (*cuts, len(sid)), strict=True):
        if st.get("sid") != sid[a]:
            _new_session(st, float(sid[a]))
        m = minute[a:b].astype(np.int64)
        rel = lv[a:b] - st["norm"][m]
        st["today"][m] = lv[a:b]
        for span in SPANS:
            ew = k.smooth(rel, 2.0 / (span + 1), st["ewma"][span], 1)
            out[f"relvol_{span}m"][a:b] = ew
    return out


def _flow(ctx: Context) -> Arrays:
    out = {"z30": _z30(ctx)}
    out.update(_relative_volume(ctx))
    for span in SPANS:
        out[f"z30_x_relvol_{span}m"] = out["z30"] * out[f"relvol_{span}m"]
    return out


_VOLUME_WARMUP = MIN_NORM_SESSIONS * SESSION_ROWS
register_group(
    Group(
        "flow",
        _flow,
        {
            "z30": Z_VOL_SEED - 1,
            **{f"relvol_{s}m": _VOLUME_WARMUP for s in SPANS},
            **{f"z30_x_relvol_{s}m": _VOLUME_WARMUP for s in SPANS},
        },
        ("spy_open", "spy_close", "spy_volume"),
        SESSION_ROWS,
    )
)
