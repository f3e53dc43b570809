"""The replaying bot's side of the fake: the venue's time, and how to wait on it.

:class:`VenueTime` is both the bot's :class:`~zerodte.engine.clock.Clock` and its ``sleep``
during a replay. At full acceleration (a stepped venue clock) waiting *is* advancing the
venue's clock (``POST /fake/advance``): the market moves exactly as far as the bot waited,
and not at all while the bot is down. With a running venue clock (``speed``) the bot
sleeps ``seconds / speed`` of wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd

from zerodte.errors import BrokerError


class VenueTime:
    """The fake venue's clock seen from the bot.

    Parameters
    ----------
    http
        An ``httpx.Client`` with the fake's base URL root (``http://127.0.0.1:PORT``) and
        the bearer token.
    speed
        ``None`` for the stepped clock, else venue seconds per wall second.
    wall, wall_sleep
        Wall-clock seconds and wall sleep (injected by the composition root).
    """

    def __init__(
        self,
        http: httpx.Client,
        speed: float | None = None,
        wall: Callable[[], float] = time.monotonic,
        wall_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.speed = speed
        self._wall = wall
        self._wall_sleep = wall_sleep
        self._lock = threading.Lock()
        self._base = self._fetch_now()
        self._wall0 = wall()

    def _post(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        try:
            response = self.http.post(path, data=data)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BrokerError(f"fake Tradier control {path} failed: {exc}") from exc
        body: dict[str, Any] = response.json()
        return body

    def _fetch_now(self) -> pd.Timestamp:
        try:
            response = self.http.get("/fake/state")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise BrokerError(f"fake Tradier is not reachable: {exc}") from exc
        return pd.Timestamp(response.json()["now"]).tz_convert("America/New_York")

    def now(self) -> pd.Timestamp:
        """The venue's time."""
        with self._lock:
            if self.speed is None:
                return self._base
            elapsed = (self._wall() - self._wall0) * self.speed
            return self._base + pd.Timedelta(seconds=elapsed)

    def epoch(self) -> float:
        """The venue's time in epoch seconds (rate-limit windows)."""
        return self.now().value / 1e9

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of venue time."""
        if seconds <= 0:
            return
        if self.speed is not None:
            self._wall_sleep(seconds / self.speed)
            return
        with self._lock:
            target = self._base + pd.Timedelta(seconds=seconds)
        body = self._post("/fake/advance", {"until": target.isoformat()})
        with self._lock:
            self._base = max(self._base, pd.Timestamp(body["now"]).tz_convert("America/New_York"))

    def stats(self) -> dict[str, Any]:
        """The fake's counters (``GET /fake/state``)."""
        response = self.http.get("/fake/state")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body
