"""What a run's pages show, computed from its trade rows: P&L curve, drawdown, breakdowns,
calibration reliability, the Q-scorer's Q distribution and regime tables.

Inputs are the JSON-ready rows of :class:`zerodte.store.views.RunViews`; outputs are plain
lists and dicts for templates and the API. A group is always shown with its trade count, so
a large mean over two trades reads as what it is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

NY = ZoneInfo("America/New_York")

COLUMNS = (
    "pnl",
    "fees",
    "entry_time",
    "right",
    "exit_reason",
    "signal_strategy",
    "calibrated_confidence",
    "ml_confidence",
    "q_call",
    "q_put",
    "hmm_trend",
    "hmm_volatility",
    "vix_level",
)
"""Trade columns the functions here read (a page fetches only these for its analytics)."""


def pnl_curve(points: Iterable[tuple[int, dt.datetime, float]]) -> list[dict[str, Any]]:
    """Cumulative P&L and drawdown after every trade, in exit order.

    ``drawdown_k = cum_k - max(0, cum_1..cum_k)`` (dollars, <= 0): the fall from the best
    cumulative P&L so far, starting from the run's start (0).
    """
    out: list[dict[str, Any]] = []
    cum = 0.0
    peak = 0.0
    for trade_id, exit_time, pnl in points:
        cum += pnl
        peak = max(peak, cum)
        aware = exit_time if exit_time.tzinfo is not None else exit_time.replace(tzinfo=dt.UTC)
        out.append(
            {
                "trade_id": trade_id,
                "exit_time": aware.astimezone(NY).isoformat(),
                "pnl": pnl,
                "cum_pnl": cum,
                "drawdown": cum - peak,
            }
        )
    return out


def _number(value: Any) -> float | None:
    if value is None:
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _group(rows: Sequence[dict[str, Any]], key: Callable[[dict[str, Any]], str | None]) -> list:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        k = key(row)
        groups.setdefault("(none)" if k is None else k, []).append(row)
    out = []
    for name, members in groups.items():
        pnl = np.array([float(r["pnl"]) for r in members])
        out.append(
            {
                "group": name,
                "trades": len(members),
                "pnl": float(pnl.sum()),
                "per_trade": float(pnl.mean()),
                "win_rate": float((pnl > 0).mean()),
                "fees": float(sum(float(r.get("fees") or 0.0) for r in members)),
            }
        )
    return sorted(out, key=lambda g: (-g["trades"], g["group"]))


def breakdown(rows: Sequence[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Trades, P&L, per-trade P&L, win rate and fees per value of ``column``."""
    return _group(rows, lambda r: None if r.get(column) is None else str(r[column]))


def _bucket(edges: Sequence[float], labels: Sequence[str]) -> Callable[[Any], str | None]:
    def of(value: Any) -> str | None:
        x = _number(value)
        if x is None:
            return None
        return labels[int(np.searchsorted(edges, x, side="right"))]

    return of


VIX_BUCKETS = _bucket([15.0, 20.0, 25.0], ["VIX < 15", "15-20", "20-25", "VIX >= 25"])
TREND_BUCKETS = _bucket([1 / 3, 2 / 3], ["down (< 0.33)", "neutral", "up (> 0.67)"])
VOL_BUCKETS = _bucket([1 / 3, 2 / 3], ["calm (< 0.33)", "normal", "volatile (> 0.67)"])


def _time_block(row: dict[str, Any]) -> str | None:
    entry = row.get("entry_time")
    if entry is None:
        return None
    t = dt.datetime.fromisoformat(entry).astimezone(NY).time()
    for end, label in ((dt.time(10, 30), "09:30-10:30"), (dt.time(12, 0), "10:30-12:00")):
        if t < end:
            return label
    return "12:00-14:00" if t < dt.time(14, 0) else "14:00-16:00"


def regime_tables(rows: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """P&L by HMM trend and volatility state, VIX level and time of day at entry."""
    return {
        "hmm_trend": _group(rows, lambda r: TREND_BUCKETS(r.get("hmm_trend"))),
        "hmm_volatility": _group(rows, lambda r: VOL_BUCKETS(r.get("hmm_volatility"))),
        "vix_level": _group(rows, lambda r: VIX_BUCKETS(r.get("vix_level"))),
        "time_of_day": _group(rows, _time_block),
    }


def calibration(rows: Sequence[dict[str, Any]], bins: int = 10) -> dict[str, Any]:
    """Reliability of the entry's confidence: predicted vs realised win rate per bin.

    Uses ``calibrated_confidence`` where recorded, else ``ml_confidence``. A bin lists its
    trade count, mean predicted probability and the share of winning trades.
    """
    for column in ("calibrated_confidence", "ml_confidence"):
        pairs = [
            (p, float(r["pnl"]) > 0)
            for r in rows
            if (p := _number(r.get(column))) is not None and 0.0 <= p <= 1.0
        ]
        if pairs:
            break
    else:
        return {"column": None, "trades": 0, "bins": []}
    probs = np.array([p for p, _ in pairs])
    wins = np.array([w for _, w in pairs], dtype=float)
    index = np.minimum((probs * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            out.append(
                {
                    "low": b / bins,
                    "high": (b + 1) / bins,
                    "trades": int(mask.sum()),
                    "predicted": float(probs[mask].mean()),
                    "realized": float(wins[mask].mean()),
                }
            )
    return {"column": column, "trades": len(pairs), "bins": out}


def q_distribution(rows: Sequence[dict[str, Any]], bins: int = 20) -> dict[str, Any]:
    """Histogram of the Q-value of the action taken, and realised P&L per Q quintile."""
    pairs = []
    for r in rows:
        right = str(r.get("right") or "").upper()[:1]
        value = _number(r.get("q_call") if right == "C" else r.get("q_put"))
        if value is not None:
            pairs.append((value, float(r["pnl"])))
    if not pairs:
        return {"trades": 0, "histogram": [], "quintiles": []}
    q = np.array([p[0] for p in pairs])
    pnl = np.array([p[1] for p in pairs])
    counts, edges = np.histogram(q, bins=bins)
    histogram = [
        {"low": float(lo), "high": float(hi), "trades": int(n)}
        for lo, hi, n in zip(edges[:-1], edges[1:], counts, strict=True)
    ]
    order = np.argsort(q, kind="stable")
    quintiles = []
    for k, part in enumerate(np.array_split(order, min(5, len(order)))):
        quintiles.append(
            {
                "quintile": k + 1,
                "trades": len(part),
                "mean_q": float(q[part].mean()),
                "mean_pnl": float(pnl[part].mean()),
            }
        )
    return {"trades": len(pairs), "histogram": histogram, "quintiles": quintiles}
