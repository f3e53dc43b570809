"""The data manager: one collection service that several training machines sync from.

Server side (:mod:`zerodte.market.manager_app`, started by ``zerodte data serve``): collects
on a schedule through the router into its store (:func:`collect_once`) and serves bars and
status over HTTP behind an API key. Client side: :class:`ManagerSource`, a
:class:`~zerodte.market.sources.MarketDataSource` over that API (first in the router's
order), and :func:`sync`, which pulls the last ``days`` sessions into a local store
(``zerodte data sync --from URL --days 30``), falling back to what the local store holds
when the primary is down.

API (JSON; every route but ``/`` needs the header ``X-API-Key``):

* ``GET /v1/status``: ``{"symbols": {SYM: {first_day, last_day, trading_days, rows,
  sources, interval, feeds}}, "data_hash", "last_collect"}``;
* ``GET /v1/bars?symbol=SPY&start=YYYY-MM-DD&end=YYYY-MM-DD``: ``{"symbol", "interval",
  "feed", "sources", "bars": {"t": [Unix ns], "open": [...], ..., "volume": [...]}}``
  (columnar: one day of minutes is ~390 numbers per column);
* ``GET /``: a small HTML status page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pandas as pd

from zerodte.config.settings import HTTP_URL
from zerodte.errors import ConfigError, DataError
from zerodte.market.calendar import TradingCalendar
from zerodte.market.schema import PRICE_COLUMNS, empty_bars, to_canonical
from zerodte.market.sources import MarketDataSource
from zerodte.market.store import ParquetStore
from zerodte.market.vendors.http import get_json

logger = logging.getLogger(__name__)

KEY_HEADER = "X-API-Key"


def bars_payload(store: ParquetStore, symbol: str, start: date, end: date) -> dict[str, Any]:
    """The ``/v1/bars`` answer for ``symbol`` in ``[start, end]`` (module docstring)."""
    bars = store.load([symbol], start, end).get(symbol.upper(), empty_bars())
    prov = store.provenance().get(symbol.upper(), {"sources": [], "feeds": []})
    cols: dict[str, list[Any]] = {
        "t": bars["timestamp"].to_numpy(dtype="datetime64[ns]").astype("int64").tolist()
    }
    for col in (*PRICE_COLUMNS, "volume"):
        cols[col] = bars[col].astype(float).tolist()
    return {
        "symbol": symbol.upper(),
        "interval": store.intervals().get(symbol.upper(), "1min"),
        "feed": ",".join(prov["feeds"]) or "unknown",
        "sources": prov["sources"],
        "bars": cols,
    }


def frame_of(payload: Any, where: str) -> pd.DataFrame:
    """Canonical bars from a ``/v1/bars`` answer (DataError naming what is wrong)."""
    try:
        cols = payload["bars"]
        frame = pd.DataFrame({c: cols[c] for c in ("open", "high", "low", "close", "volume")})
        frame.insert(0, "timestamp", pd.to_datetime(cols["t"], unit="ns", utc=True))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: not a /v1/bars answer ({exc}): {str(payload)[:200]}") from exc
    return to_canonical(frame) if len(frame) else empty_bars()


class ManagerSource:
    """Bars from a data manager (``zerodte data serve``) over its HTTP API."""

    name = "manager"

    def __init__(self, http: httpx.Client, url: str, api_key: str) -> None:
        if not HTTP_URL.match(url):
            raise ConfigError(
                f"data manager URL {url!r} is not an http(s) URL; use http://host:8765 "
                "(the address `zerodte data serve` prints)"
            )
        self._http = http
        self.url = url.rstrip("/")
        self._key = api_key
        self.feed = "unknown"
        self.interval = "1min"
        self.sources: list[str] = []

    def fetch(self, symbol: str, start: date, end: date) -> pd.DataFrame:
        """Bars of ``symbol`` the manager holds for ``[start, end]``."""
        params = {"symbol": symbol.upper(), "start": start.isoformat(), "end": end.isoformat()}
        body = get_json(
            self._http,
            f"{self.url}/v1/bars",
            params,
            vendor="data manager",
            key_env="ZERODTE_DATA__MANAGER_API_KEY",
            headers={KEY_HEADER: self._key},
        )
        self.feed = str(body.get("feed", "unknown")) if isinstance(body, dict) else "unknown"
        self.interval = str(body.get("interval", "1min")) if isinstance(body, dict) else "1min"
        self.sources = list(body.get("sources", [])) if isinstance(body, dict) else []
        return frame_of(body, f"data manager {self.url}")

    def status(self) -> dict[str, Any]:
        """The manager's ``/v1/status``."""
        body = get_json(
            self._http,
            f"{self.url}/v1/status",
            None,
            vendor="data manager",
            headers={KEY_HEADER: self._key},
        )
        return dict(body) if isinstance(body, dict) else {}


@dataclass
class SyncResult:
    """What :func:`sync` did: rows written per symbol and where they came from."""

    rows: dict[str, int] = field(default_factory=dict)
    served_by: str = "manager"
    fallback: str | None = None


def sync(
    source: ManagerSource,
    store: ParquetStore,
    symbols: list[str],
    *,
    days: int,
    today: date,
    calendar: TradingCalendar | None = None,
) -> SyncResult:
    """Pull the last ``days`` sessions before ``today`` of ``symbols`` into ``store``.

    When the manager cannot be reached, nothing is written and the result says the local
    store is used as it is (``fallback``); a refusal (bad key, bad data) is an error.
    """
    cal = calendar or TradingCalendar()
    sessions = cal.sessions_until(today, days + 1)
    sessions = [d for d in sessions if d < today][-days:]
    if not sessions:
        raise DataError(f"no trading session in the {days} day(s) before {today}")
    result = SyncResult()
    frames: dict[str, tuple[pd.DataFrame, str, str]] = {}
    try:
        for sym in symbols:
            bars = source.fetch(sym, sessions[0], sessions[-1])
            frames[sym] = (bars, source.interval, source.feed)
    except DataError as exc:
        from zerodte.market.sources import TransientDataError

        if not isinstance(exc, TransientDataError):
            raise
        logger.warning("data manager %s unreachable (%s); using the local store", source.url, exc)
        result.fallback = f"local store {store.data_dir} (manager unreachable: {exc})"
        return result
    with store.transaction() as tx:
        for sym, (frame, interval, feed) in frames.items():
            if frame.empty:
                continue
            result.rows[sym] = tx.write(
                sym, frame, f"manager:{source.url}", interval=interval, feed=feed
            )
    return result


def collect_once(
    router: MarketDataSource,
    store: ParquetStore,
    symbols: list[str],
    *,
    days: int,
    today: date,
    calendar: TradingCalendar | None = None,
) -> dict[str, int]:
    """One collection round: the last ``days`` sessions before ``today`` through ``router``."""
    cal = calendar or TradingCalendar()
    sessions = [d for d in cal.sessions_until(today, days + 1) if d < today][-days:]
    if not sessions:
        return {}
    written: dict[str, int] = {}
    for sym in symbols:
        bars = router.fetch(sym, sessions[0], sessions[-1])
        served = getattr(router, "served", {}).get(sym.upper(), router.name)
        feed = str(getattr(router, "feed", "unknown"))
        written[sym] = store.write(sym, bars, f"{served}:collect", feed=feed, replace=True)
    return written
