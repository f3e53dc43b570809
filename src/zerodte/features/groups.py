"""Feature groups: each computes a few related columns from a :class:`Context`.

Conventions (see docs/features.md for the full table):

* Prices are SPY unless the name says otherwise; returns are natural-log returns,
  ``momentum_*`` percent changes, distances percent of price, volatilities annualised
  percent points (the units of VIX).
* Returns, momentum, indicators and VIX changes run across the overnight gap (a 60-minute
  return at 09:45 reaches back into the previous session); session features (VWAP, opening
  range) reset at each session's first bar; realised volatility uses intraday returns only.
* A degenerate denominator (zero range, zero volume) has a stated value per feature; NaN
  inputs always give NaN outputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from zerodte.features import kernels as k
from zerodte.features.context import Context
from zerodte.types import SESSION_MINUTES

Arrays = dict[str, np.ndarray]
RETURN_WINDOWS: tuple[int, ...] = (1, 5, 15, 30, 60)
SESSION_ROWS = SESSION_MINUTES
"""Most bars a regular session has; session groups need this much history in the stream."""


@dataclass(frozen=True)
class Group:
    """A feature group: its columns with their warm-up rows, the inputs and history it needs.

    ``lookback`` is the number of rows (including the current one) a finite-window feature
    reads; recursive features need less history but carry state. ``warmup`` gives, per
    column, how many rows from the start of the data are NaN by definition.
    """

    name: str
    fn: Callable[[Context], Arrays]
    warmup: dict[str, int]
    inputs: tuple[str, ...]
    lookback: int
    optional_input: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Output columns in canonical order."""
        return tuple(self.warmup)


def _returns(ctx: Context) -> Arrays:
    lc, c, n = ctx.log_close(), ctx.col("spy_close"), ctx.n
    now = k.tail(lc, n)
    out: Arrays = {}
    for w in RETURN_WINDOWS:
        out[f"ret_{w}m"] = now - k.lag(lc, w, n)
    for w in RETURN_WINDOWS:
        out[f"momentum_{w}m"] = 100.0 * (k.tail(c, n) / k.lag(c, w, n) - 1.0)
    # Velocity, acceleration and jerk of log price on a 5-minute step: jerk is the third
    # difference L_t - 3 L_{t-5} + 3 L_{t-10} - L_{t-15}.
    l5, l10, l15 = k.lag(lc, 5, n), k.lag(lc, 10, n), k.lag(lc, 15, n)
    out["accel_5m"] = now - 2.0 * l5 + l10
    out["jerk_5m"] = now - 3.0 * l5 + 3.0 * l10 - l15
    return out


def _volatility(ctx: Context) -> Arrays:
    out: Arrays = {"rv_15m": ctx.rv(15), "rv_30m": ctx.rv(30)}
    if ctx.want("atr_14_pct"):
        tr = k.true_range(ctx.col("spy_high"), ctx.col("spy_low"), ctx.col("spy_close"), ctx.n)
        atr = k.smooth(tr, 1.0 / 14.0, ctx.group_state("volatility"), seed=14)
        out["atr_14_pct"] = 100.0 * atr / ctx.new("spy_close")
    return out


def _rsi(ctx: Context) -> np.ndarray:
    c = ctx.col("spy_close")
    diff = k.tail(c, ctx.n) - k.lag(c, 1, ctx.n)
    st = ctx.group_state("rsi")
    gain = k.smooth(
        np.where(diff > 0, diff, np.where(np.isnan(diff), diff, 0.0)),
        1 / 14,
        st.setdefault("g", {}),
        14,
    )
    loss = k.smooth(
        np.where(diff < 0, -diff, np.where(np.isnan(diff), diff, 0.0)),
        1 / 14,
        st.setdefault("l", {}),
        14,
    )
    # RSI = 100 - 100 / (1 + RS), RS = avg gain / avg loss; no losses at all gives 100 and a
    # flat market (no gains, no losses) 50.
    rsi = 100.0 - 100.0 / (1.0 + k.safe_ratio(gain, loss, np.inf))
    return np.where((gain == 0.0) & (loss == 0.0), 50.0, rsi)


def _macd(ctx: Context) -> Arrays:
    st = ctx.group_state("macd")
    c = ctx.new("spy_close")
    fast = k.smooth(c, 2.0 / 13.0, st.setdefault("fast", {}), 1)
    slow = k.smooth(c, 2.0 / 27.0, st.setdefault("slow", {}), 1)
    line = 100.0 * (fast - slow) / slow
    signal = k.smooth(line, 2.0 / 10.0, st.setdefault("signal", {}), 1)
    return {"macd_line": line, "macd_signal": signal, "macd_hist": line - signal}


def _adx(ctx: Context) -> Arrays:
    """Wilder's ADX(14) and +DI - -DI (Wilder 1978)."""
    st = ctx.group_state("adx")
    h, lo, c, n = ctx.col("spy_high"), ctx.col("spy_low"), ctx.col("spy_close"), ctx.n
    up = k.tail(h, n) - k.lag(h, 1, n)
    down = k.lag(lo, 1, n) - k.tail(lo, n)
    plus_dm = np.where((up > down) & (up > 0), up, 0.0)
    minus_dm = np.where((down > up) & (down > 0), down, 0.0)
    missing = np.isnan(up)
    plus_dm = np.where(missing, np.nan, plus_dm)
    minus_dm = np.where(missing, np.nan, minus_dm)
    tr = k.true_range(h, lo, c, n)
    s_tr = k.smooth(tr, 1 / 14, st.setdefault("tr", {}), 14)
    s_p = k.smooth(plus_dm, 1 / 14, st.setdefault("p", {}), 14)
    s_m = k.smooth(minus_dm, 1 / 14, st.setdefault("m", {}), 14)
    pdi = k.safe_ratio(100.0 * s_p, s_tr, 0.0)
    mdi = k.safe_ratio(100.0 * s_m, s_tr, 0.0)
    dx = k.safe_ratio(100.0 * np.abs(pdi - mdi), pdi + mdi, 0.0)
    adx = k.smooth(dx, 1 / 14, st.setdefault("dx", {}), 14)
    return {"adx_14": adx, "di_diff_14": pdi - mdi}


def _oscillators(ctx: Context) -> Arrays:
    out: Arrays = {"rsi_14": _rsi(ctx)}
    out.update(_macd(ctx))
    c, n = ctx.col("spy_close"), ctx.n
    mean20, sd20 = k.rolling_mean(c, 20, n), k.rolling_std(c, 20, n)
    # Position inside the 2-sigma Bollinger band: 0 at the lower band, 1 at the upper.
    out["bb_pos_20"] = k.safe_ratio(k.tail(c, n) - (mean20 - 2.0 * sd20), 4.0 * sd20, 0.5)
    m = n + 2
    hh = k.rolling_max(ctx.col("spy_high"), 14, m)
    ll = k.rolling_min(ctx.col("spy_low"), 14, m)
    stoch = k.safe_ratio(100.0 * (k.tail(c, m) - ll), hh - ll, 50.0)
    out["stoch_k_14"] = stoch[2:]
    out["stoch_d_3"] = k.rolling_mean(stoch, 3, n)
    out.update(_adx(ctx))
    return out


def _trend(ctx: Context) -> Arrays:
    c, n = ctx.col("spy_close"), ctx.n
    now = k.tail(c, n)
    out: Arrays = {}
    for w in (10, 20, 50):
        hma = k.hull(c, w, n)
        out[f"hma_{w}_dist"] = 100.0 * (now - hma) / hma
    return out


def _volume(ctx: Context) -> Arrays:
    c, v, n = ctx.col("spy_close"), ctx.col("spy_volume"), ctx.n
    m = n
    signed = np.sign(k.tail(c, m + 29) - k.lag(c, 1, m + 29)) * k.tail(v, m + 29)
    # OBV trend: net signed volume over 30 minutes as a fraction of volume traded (-1 .. 1).
    obv = k.rolling_sum(signed, 30, n)
    vol30 = k.rolling_sum(v, 30, n)
    out: Arrays = {"obv_trend_30m": k.safe_ratio(obv, vol30, 0.0)}
    # Spike: this bar's volume over the mean of the 30 bars before it (NaN if they had none).
    prev_mean = k.tail(k.rolling_mean(v[:-1], 30, n), n) if len(v) > 1 else np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["volume_spike"] = np.where(prev_mean > 0, k.tail(v, n) / prev_mean, np.nan)
        mean30 = vol30 / 30.0
        out["volume_30m_log"] = np.where(mean30 > 0, np.log(mean30), np.nan)
    return out


def _opening_range(ctx: Context, starts: np.ndarray, minutes: int) -> tuple[np.ndarray, ...]:
    """Opening-range high and low so far: bars of the session with ``minute < minutes``."""
    n, length = ctx.n, len(starts)
    h, lo, minute = ctx.col("spy_high"), ctx.col("spy_low"), ctx.col("minute")
    s = k.tail(starts, n)
    hi = np.full(n, -np.inf)
    low = np.full(n, np.inf)
    if n <= 8:
        # Stream path: one slice per row (max/min are exact, so both paths agree bitwise).
        for j in range(n):
            p = length - n + j
            stop = min(p, int(s[j]) + minutes - 1) + 1
            ok = minute[int(s[j]) : stop] < minutes
            if ok.any():
                hi[j] = h[int(s[j]) : stop][ok].max()
                low[j] = lo[int(s[j]) : stop][ok].min()
    else:
        pos = np.arange(length - n, length)
        for d in range(minutes):
            q = s + d
            qc = np.minimum(q, length - 1)
            ok = (q <= pos) & (minute[qc] < minutes)
            hi = np.where(ok, np.maximum(hi, h[qc]), hi)
            low = np.where(ok, np.minimum(low, lo[qc]), low)
    formed = np.isfinite(hi)
    return np.where(formed, hi, np.nan), np.where(formed, low, np.nan)


def _session(ctx: Context) -> Arrays:
    n = ctx.n
    starts = ctx.session_starts()
    h, lo, c, v = (ctx.col(f"spy_{f}") for f in ("high", "low", "close", "volume"))
    typical = (h + lo + c) / 3.0
    pv_x = typical * v
    pv = k.session_cumsum(pv_x, starts, n, ctx.running_sum("pv", pv_x))
    vv = k.session_cumsum(v, starts, n, ctx.running_sum("v", v))
    close = k.tail(c, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = np.where(vv > 0, pv / vv, np.nan)
    out: Arrays = {"vwap_dist": 100.0 * (close - vwap) / vwap}
    minute = ctx.new("minute")
    for w in (15, 30):
        hi, low = _opening_range(ctx, starts, w)
        out[f"or{w}_pos"] = k.safe_ratio(close - low, hi - low, 0.5)
        done = minute >= w
        brk = np.where(close > hi, 1.0, np.where(close < low, -1.0, 0.0))
        out[f"or{w}_breakout"] = np.where(np.isnan(hi), np.nan, np.where(done, brk, 0.0))
    return out


def _time(ctx: Context) -> Arrays:
    minute = ctx.new("minute")
    angle = 2.0 * np.pi * minute / SESSION_ROWS
    return {
        "minute_of_session": minute,
        "tod_sin": np.sin(angle),
        "tod_cos": np.cos(angle),
        "minutes_to_close": ctx.new("minutes_to_close"),
        "day_of_week": ctx.new("day_of_week"),
    }


def _vix(ctx: Context) -> Arrays:
    vix, n = ctx.col("vix_close"), ctx.n
    now = k.tail(vix, n)
    out: Arrays = {"vix_level": now}
    for w in (5, 15):
        out[f"vix_change_{w}m"] = now - k.lag(vix, w, n)
    if ctx.want("vix_minus_rv"):
        out["vix_minus_rv"] = now - ctx.rv(30)
    return out


def _cross(ctx: Context) -> Arrays:
    ls, lq, n = ctx.log_close(), np.log(ctx.col("qqq_close")), ctx.n
    out: Arrays = {}
    for w in (5, 15):
        rs = k.tail(ls, n) - k.lag(ls, w, n)
        rq = k.tail(lq, n) - k.lag(lq, w, n)
        agree = np.sign(rs) * np.sign(rq)
        out[f"spy_qqq_agree_{w}m"] = np.where(np.isnan(rs) | np.isnan(rq), np.nan, agree)
        out[f"spy_qqq_diff_{w}m"] = rs - rq
    return out


def _level_and_change(name: str) -> Callable[[Context], Arrays]:
    def fn(ctx: Context) -> Arrays:
        x, n = ctx.col(name), ctx.n
        now = k.tail(x, n)
        return {name: now, f"{name}_change_15m": now - k.lag(x, 15, n)}

    return fn


def _groups() -> dict[str, Group]:
    ret_w = {f"ret_{w}m": w for w in RETURN_WINDOWS}
    mom_w = {f"momentum_{w}m": w for w in RETURN_WINDOWS}
    ohlc = ("spy_open", "spy_high", "spy_low", "spy_close")
    groups = [
        Group(
            "returns",
            _returns,
            {**ret_w, **mom_w, "accel_5m": 10, "jerk_5m": 15},
            ("spy_close",),
            61,
        ),
        Group("volatility", _volatility, {"rv_15m": 15, "rv_30m": 30, "atr_14_pct": 70}, ohlc, 31),
        Group(
            "oscillators",
            _oscillators,
            {
                "rsi_14": 70,
                "macd_line": 104,
                "macd_signal": 140,
                "macd_hist": 140,
                "bb_pos_20": 19,
                "stoch_k_14": 13,
                "stoch_d_3": 15,
                "adx_14": 100,
                "di_diff_14": 70,
            },
            ohlc,
            20,
        ),
        Group(
            "trend",
            _trend,
            {"hma_10_dist": 12, "hma_20_dist": 23, "hma_50_dist": 56},
            ("spy_close",),
            56,
        ),
        Group(
            "volume",
            _volume,
            {"obv_trend_30m": 30, "volume_spike": 30, "volume_30m_log": 29},
            ("spy_close", "spy_volume"),
            60,
        ),
        Group(
            "session",
            _session,
            {"vwap_dist": 0, "or15_pos": 0, "or15_breakout": 0, "or30_pos": 0, "or30_breakout": 0},
            (*ohlc, "spy_volume"),
            SESSION_ROWS,
        ),
        Group(
            "time",
            _time,
            {
                "minute_of_session": 0,
                "tod_sin": 0,
                "tod_cos": 0,
                "minutes_to_close": 0,
                "day_of_week": 0,
            },
            (),
            1,
        ),
        Group(
            "vix",
            _vix,
            {"vix_level": 0, "vix_change_5m": 5, "vix_change_15m": 15, "vix_minus_rv": 30},
            ("vix_close", "spy_open", "spy_close"),
            31,
        ),
        Group(
            "cross",
            _cross,
            {
                "spy_qqq_agree_5m": 5,
                "spy_qqq_diff_5m": 5,
                "spy_qqq_agree_15m": 15,
                "spy_qqq_diff_15m": 15,
            },
            ("spy_close", "qqq_close"),
            16,
        ),
        Group(
            "put_call",
            _level_and_change("put_call_ratio"),
            {"put_call_ratio": 0, "put_call_ratio_change_15m": 15},
            ("put_call_ratio",),
            16,
            optional_input="put_call_ratio",
        ),
        Group(
            "sentiment",
            _level_and_change("sentiment"),
            {"sentiment": 0, "sentiment_change_15m": 15},
            ("sentiment",),
            16,
            optional_input="sentiment",
        ),
    ]
    return {g.name: g for g in groups}


GROUPS: dict[str, Group] = _groups()
"""Every feature group by name (the topology group registers itself in ``topology.py``)."""


def register_group(group: Group) -> None:
    """Add a group to :data:`GROUPS` (used by optional groups such as topology)."""
    GROUPS[group.name] = group


def group_of(column: str) -> Group:
    """The group that computes ``column``; raises ``KeyError`` naming the known columns."""
    for group in GROUPS.values():
        if column in group.warmup:
            return group
    known = sorted(c for g in GROUPS.values() for c in g.columns)
    raise KeyError(f"unknown feature column {column!r}; known columns: {known}")
