"""The bars a live session's feed delivered, kept in its run directory for the assessment.

A live (paper, sandbox, live or replayed) run has no stored window to rebuild its market
from: its market is what its feed delivered. The rule is: what the session saw is kept,
nothing is fetched again later and nothing is invented.

* Every cycle's checkpoint row (:meth:`zerodte.engine.live.LiveHooks.after`) carries the
  cycle's market-frame row (:meth:`zerodte.engine.live_feed.LiveFeed.row`: SPY, QQQ and
  VIX open/high/low/close/volume and the minute of the session) under ``"bar"``, in the
  same journal transaction as the cycle's decision. A crash therefore loses no bar a
  decision was made on, and a restarted bot keeps the bars its predecessor saw (a bar
  seen twice keeps its first sighting). Bars missed while the bot was down are the ones
  its warm-up read from the venue, as its features were; a bar the venue never published
  has no cycle and no row.
* At the end of the run (:func:`zerodte.engine.live._finish`) those rows become
  ``session_bars.parquet`` (one row per bar, index ``timestamp``), written with the rest
  of the run directory (:func:`zerodte.engine.publish.publish_run`); the manifest's
  ``data_source`` is ``{"kind": "session", "file", "sha256", "bars", "first_bar",
  "last_bar", "venue"}``.
* :func:`read_session_bars` gives the market frame back, refusing a file whose SHA-256
  is not the manifest's (edited or truncated).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from zerodte.engine.feed import FEED_SYMBOLS
from zerodte.engine.state import plain
from zerodte.errors import DataError

SESSION_BARS = "session_bars.parquet"
SESSION_KIND = "session"
BAR_KEY = "bar"
NY = "America/New_York"
_FIELDS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = tuple(
    f"{sym.lower()}_{f}" for sym in FEED_SYMBOLS for f in _FIELDS
)
"""The market-frame columns a session keeps, in the frame's order."""


def bar_row(time: pd.Timestamp, values: Mapping[str, float]) -> dict[str, Any]:
    """One cycle's bar as checkpoint data: its start ``time`` and its frame ``values``."""
    return plain({"time": time, **{k: values[k] for k in (*PRICE_COLUMNS, "minute")}})


def bars_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """The session's bars from its checkpoint rows (first sighting of each bar, in time
    order); empty when the rows carry no bars (a run checkpointed by an older version)."""
    seen: dict[pd.Timestamp, Mapping[str, Any]] = {}
    for row in rows:
        bar = row.get(BAR_KEY)
        if bar is None:
            continue
        t = pd.Timestamp(bar["time"]).tz_convert(NY)
        seen.setdefault(t, bar)
    cols = [*PRICE_COLUMNS, "minute"]
    times = sorted(seen)
    data = {
        c: [math.nan if seen[t].get(c) is None else float(seen[t][c]) for t in times] for c in cols
    }
    index = pd.DatetimeIndex(times, tz=NY, name="timestamp")
    frame = pd.DataFrame(data, index=index, columns=cols, dtype="float64")
    return frame.reset_index()


def parquet_bytes(bars: pd.DataFrame) -> bytes:
    """``bars`` as the bytes of ``session_bars.parquet`` (what its hash is taken of)."""
    buf = io.BytesIO()
    bars.to_parquet(buf, index=False)
    return buf.getvalue()


def session_source(bars: pd.DataFrame, data: bytes, venue: str | dict[str, Any]) -> dict[str, Any]:
    """The manifest's ``data_source`` of a session whose bars are ``data``."""
    t = bars["timestamp"]
    return {
        "kind": SESSION_KIND,
        "file": SESSION_BARS,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bars": len(bars),
        "first_bar": None if bars.empty else t.iloc[0].isoformat(),
        "last_bar": None if bars.empty else t.iloc[-1].isoformat(),
        "venue": venue,
    }


def read_session_bars(run_dir: Path, source: Mapping[str, Any]) -> pd.DataFrame:
    """The market frame of a session run (index ``timestamp``, the kept price columns,
    ``session``, ``minute``), checked against the manifest's ``data_source``.

    A symbol whose bars are all missing (the venue sent none) gets no columns, as a
    backtest frame without it.

    Raises
    ------
    DataError
        The file is missing, or its SHA-256 or bar count is not the manifest's.
    """
    path = Path(run_dir) / str(source.get("file") or SESSION_BARS)
    if not path.is_file():
        raise DataError(
            f"{path} is missing; the session's bars are kept only there (they are never "
            "fetched again): restore the run directory from a backup"
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    want = str(source.get("sha256"))
    if digest != want:
        raise DataError(
            f"{path} has SHA-256 {digest[:12]}, the manifest records {want[:12]}: the "
            "session's bars were edited or truncated after the run; restore the file from a "
            "backup of the run directory (the bars are never fetched again)"
        )
    bars = pd.read_parquet(io.BytesIO(data))
    if len(bars) != int(source.get("bars", len(bars))):
        raise DataError(f"{path} holds {len(bars)} bars, the manifest records {source.get('bars')}")
    # nanosecond stamps, as every market frame has (Parquet may give back microseconds)
    index = pd.DatetimeIndex(bars.pop("timestamp"), name="timestamp").tz_convert(NY).as_unit("ns")
    frame = bars.set_index(index)
    for sym in FEED_SYMBOLS:
        cols = [f"{sym.lower()}_{f}" for f in _FIELDS]
        if frame[cols].isna().all().all():
            frame = frame.drop(columns=cols)
    frame["session"] = list(index.date)
    return frame[
        [*(c for c in frame.columns if c not in ("session", "minute")), "session", "minute"]
    ]
