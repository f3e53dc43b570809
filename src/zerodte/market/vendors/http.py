"""One GET for every vendor: status codes mapped to errors by consequence, JSON checked.

* 429 and 5xx, timeouts and dropped connections: :class:`TransientDataError` (retried by
  :class:`~zerodte.market.sources.RetryingSource`); a ``Retry-After`` header (seconds) is
  kept on the error so the retry waits at least that long.
* 401/403: the key is missing or refused: :class:`DataError` naming the variable to set.
* other 4xx, or a body that is not JSON: :class:`DataError` with the vendor's message.

Keys are sent as query parameters or headers by the adapter; they are never put in an
error message (URLs are reported without their query string).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from zerodte.errors import DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import BAR_COLUMNS, empty_bars, to_canonical
from zerodte.market.sources import TransientDataError
from zerodte.market.validation import in_session

logger = logging.getLogger(__name__)


def get_json(
    client: httpx.Client,
    url: str,
    params: Mapping[str, Any] | None,
    *,
    vendor: str,
    key_env: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET ``url`` and return its JSON body (see the module docstring for the errors)."""
    where = f"{vendor} {url.split('?', 1)[0]}"
    try:
        response = client.get(url, params=dict(params or {}), headers=dict(headers or {}))
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientDataError(f"{where}: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if status == 429 or status >= 500:
        raise TransientDataError(
            f"{where}: HTTP {status} ({_message(response)})", retry_after=_retry_after(response)
        )
    if status in (401, 403):
        hint = f"; set {key_env}" if key_env else ""
        raise DataError(f"{where}: HTTP {status}, the key was refused ({_message(response)}){hint}")
    if status >= 400:
        raise DataError(f"{where}: HTTP {status} ({_message(response)})")
    try:
        return response.json()
    except ValueError as exc:
        raise DataError(f"{where}: the body is not JSON: {response.text[:120]!r}") from exc


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:120]
    if isinstance(body, Mapping):
        for key in ("error", "message", "Error Message", "fault"):
            if key in body:
                return str(body[key])[:200]
    return str(body)[:120]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def in_chunks(
    start: date, end: date, days: int, fetch: Callable[[date, date], pd.DataFrame]
) -> pd.DataFrame:
    """``fetch(first, last)`` over ``[start, end]`` in pieces of ``days`` calendar days,
    concatenated (vendors that cap the length of one answer)."""
    parts = []
    day = start
    while day <= end:
        last = min(end, day + timedelta(days=days - 1))
        parts.append(fetch(day, last))
        day = last + timedelta(days=1)
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_bars()
    return to_canonical(pd.concat(parts, ignore_index=True))


def number(value: object) -> float:
    """A vendor cell as float: ``None``, ``""``, ``"null"``, ``"NaN"`` and junk are NaN."""
    if value is None or isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower()
    if text in ("", "null", "none", "nan", "n/a", "-"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def bars_frame(
    timestamps: pd.Series,
    rows: Mapping[str, Sequence[object]],
    *,
    vendor: str,
    symbol: str,
    calendar: TradingCalendar,
    label_end: bool = False,
) -> pd.DataFrame:
    """Canonical regular-session bars from vendor columns.

    ``timestamps`` are tz-aware; ``label_end`` shifts bar-end stamps back one minute. Rows
    with a missing price (a ``null`` bar: no trade that minute) are dropped and counted,
    never filled; extended-hours bars are dropped; volume may be NaN only for an index
    (VIX), where it is stored as 0.
    """
    if len(timestamps) == 0:
        return empty_bars()
    frame = pd.DataFrame(
        {c: [number(v) for v in rows[c]] for c in ("open", "high", "low", "close")}
    )
    frame["volume"] = [number(v) for v in rows.get("volume", [None] * len(frame))]
    ts = pd.Series(pd.DatetimeIndex(timestamps).tz_convert("America/New_York"))
    if label_end:
        ts = ts - pd.Timedelta(minutes=1)
    frame.insert(0, "timestamp", ts.to_numpy())
    frame["timestamp"] = pd.DatetimeIndex(ts).as_unit("ns")
    prices = frame[["open", "high", "low", "close"]].to_numpy()
    null = ~np.isfinite(prices).all(axis=1)
    if null.any():
        logger.info("%s %s: dropped %d bar(s) with null prices", vendor, symbol, int(null.sum()))
    frame = frame.loc[~null]
    if symbol.upper() == "VIX":
        frame["volume"] = frame["volume"].fillna(0.0)
    inside = in_session(frame["timestamp"], calendar)
    frame = frame.loc[inside].drop_duplicates("timestamp", keep="first")
    return to_canonical(frame.loc[:, list(BAR_COLUMNS)].reset_index(drop=True))
