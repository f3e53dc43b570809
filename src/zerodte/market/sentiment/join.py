"""Sentiment columns on the minute grid, each **as of** what was known at the decision.

A decision at minute bar ``t`` is taken at its close ``d = t + 1 min``; a stored row is
usable when ``known_at <= d``. Columns (present only when the series is stored **and**
its fetched days cover the frame, else absent, never zero or NaN-filled):

* ``fear_greed``: the latest Fear & Greed reading (0-100), from this session or the
  previous one (a daily reading is known at its day's close, so a session sees the
  previous close until a reading of its own arrives); never older.
* ``news_sentiment``, ``news_articles``: mean score and count of the scored articles
  published in the trailing window ``(d - window, d]`` (default 24 hours); NaN when no
  article fell in it (unknown, not neutral).
* ``put_call_ratio``, ``put_call_ratio_oi``: the latest chain snapshot's ratios, from this
  session or the previous one.
* ``sentiment``: the one score the feature group ``sentiment`` (and the PPO state) reads,
  in [-1, 1]: ``news_sentiment`` or ``(fear_greed - 50) / 50``, chosen by
  ``data.sentiment_source`` (``auto``: news when joined, else Fear & Greed). Which one it is
  goes into ``data_source.sentiment.column``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

import numpy as np
import pandas as pd

from zerodte.market.calendar import TradingCalendar
from zerodte.market.sentiment.store import MARKET, SentimentStore, StoredSeries

logger = logging.getLogger(__name__)

ONE_MINUTE_NS = 60 * 10**9
NEWS_WINDOW_MINUTES = 1440
CHOICES = ("auto", "polygon-news", "fear-greed", "none")


def _ordinals(days: np.ndarray, sessions: np.ndarray) -> np.ndarray:
    """Session ordinal of each day (a non-session day counts as the session before it)."""
    return np.searchsorted(sessions, days, side="right") - 1


def _asof(
    rows: pd.DataFrame,
    columns: Sequence[str],
    decision_ns: np.ndarray,
    frame_ord: np.ndarray,
    sessions: np.ndarray,
) -> dict[str, np.ndarray]:
    """Latest row known at each decision, from the same or the previous session."""
    known = rows["known_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    idx = np.searchsorted(known, decision_ns, side="right") - 1
    local = pd.DatetimeIndex(rows["known_at"]).tz_convert("America/New_York").tz_localize(None)
    row_days = local.to_numpy(dtype="datetime64[D]")
    row_ord = _ordinals(row_days, sessions)
    ok = idx >= 0
    safe = np.where(ok, idx, 0)
    ok &= frame_ord - row_ord[safe] <= 1
    return {c: np.where(ok, rows[c].to_numpy(dtype=np.float64)[safe], np.nan) for c in columns}


def _window(
    rows: pd.DataFrame, decision_ns: np.ndarray, window_minutes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean score and count of articles with ``d - window < known_at <= d``."""
    known = rows["known_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    cum = np.concatenate([[0.0], np.cumsum(rows["score"].to_numpy(dtype=np.float64))])
    hi = np.searchsorted(known, decision_ns, side="right")
    lo = np.searchsorted(known, decision_ns - window_minutes * ONE_MINUTE_NS, side="right")
    count = (hi - lo).astype(np.float64)
    total = cum[hi] - cum[lo]
    mean = np.divide(total, count, out=np.full(len(count), np.nan), where=count > 0)
    return mean, count


def join_series(
    times: pd.DatetimeIndex,
    stored: Mapping[str, StoredSeries],
    *,
    choice: str = "auto",
    window_minutes: int = NEWS_WINDOW_MINUTES,
    calendar: TradingCalendar | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """``(columns, description)`` for the bar starts ``times`` (module docstring).

    ``stored`` maps ``fear-greed``, ``polygon-news`` and ``put-call`` to their stored rows
    (any may be missing).
    """
    if choice not in CHOICES:
        raise ValueError(f"sentiment source {choice!r}; choose from {CHOICES}")
    described: dict[str, object] = {}
    columns: dict[str, np.ndarray] = {}
    if len(times) == 0 or not stored:
        return columns, described
    cal = calendar or TradingCalendar()
    ny = pd.DatetimeIndex(times).tz_convert("America/New_York")
    first, last = ny[0].date(), ny[-1].date()
    sessions = np.array(cal.sessions(first - timedelta(days=20), last), dtype="datetime64[D]")
    frame_ord = _ordinals(ny.tz_localize(None).to_numpy(dtype="datetime64[D]"), sessions)
    decision_ns = ny.as_unit("ns").asi8 + ONE_MINUTE_NS
    prev = pd.Timestamp(sessions[max(0, int(frame_ord[0]) - 1)]).date()
    news_from = (ny[0] + pd.Timedelta(minutes=1 - window_minutes)).date()
    needs = {
        "fear-greed": (prev, last),
        "polygon-news": (news_from, last),
        "put-call": (first, last),
    }
    for name, got in stored.items():
        lo, hi = needs[name]
        info: dict[str, object] = {
            "sources": list(got.sources),
            "rows": len(got.rows),
            "coverage": [[a.isoformat(), b.isoformat()] for a, b in got.coverage],
        }
        described[name] = info
        if got.rows.empty or not got.covers(lo, hi):
            info["joined"] = False
            info["reason"] = (
                f"the fetched days do not cover {lo} .. {hi}; fetch them "
                f"(`zerodte data fetch --source {name} --start {lo} --end {hi}`)"
            )
            logger.warning("%s not joined: %s", name, info["reason"])
            continue
        info["joined"] = True
        if name == "fear-greed":
            columns["fear_greed"] = _asof(got.rows, ["value"], decision_ns, frame_ord, sessions)[
                "value"
            ]
        elif name == "polygon-news":
            mean, count = _window(got.rows, decision_ns, window_minutes)
            columns["news_sentiment"], columns["news_articles"] = mean, count
            info["window_minutes"] = window_minutes
        else:
            got_pc = _asof(got.rows, ["ratio", "ratio_oi"], decision_ns, frame_ord, sessions)
            columns["put_call_ratio"] = got_pc["ratio"]
            columns["put_call_ratio_oi"] = got_pc["ratio_oi"]
    picked = _pick(choice, columns)
    if picked == "polygon-news":
        columns["sentiment"] = columns["news_sentiment"].copy()
    elif picked == "fear-greed":
        columns["sentiment"] = (columns["fear_greed"] - 50.0) / 50.0
    described["column"] = picked
    return columns, described


def _pick(choice: str, columns: Mapping[str, np.ndarray]) -> str | None:
    news, fg = "news_sentiment" in columns, "fear_greed" in columns
    if choice == "auto":
        return "polygon-news" if news else "fear-greed" if fg else None
    if choice == "polygon-news" and news:
        return choice
    if choice == "fear-greed" and fg:
        return choice
    if choice != "none":
        logger.warning("data.sentiment_source=%s is not joined: no sentiment column", choice)
    return None


def sentiment_columns(
    data_dir: object,
    times: pd.DatetimeIndex,
    *,
    symbol: str = "SPY",
    choice: str = "auto",
    window_minutes: int = NEWS_WINDOW_MINUTES,
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """:func:`join_series` over what the data directory's sentiment store holds."""
    store = SentimentStore(data_dir)  # type: ignore[arg-type]
    stored: dict[str, StoredSeries] = {}
    for name, sym in (("fear-greed", MARKET), ("polygon-news", symbol), ("put-call", symbol)):
        got = store.load(name, sym)
        if got is not None:
            stored[name] = got
    return join_series(times, stored, choice=choice, window_minutes=window_minutes)
