"""The fake venue's clock: stepped by its client, or running faster than the wall.

* ``speed=None`` (full acceleration): time moves only when advanced. A replaying bot
  advances it whenever it waits (for the next bar, a backoff, a rate-limit window), so a
  day replays as fast as the bot can go and a bot that is down stops the market with it.
* ``speed=N``: time runs ``N`` times faster than the injected wall clock, from ``start``;
  advancing still jumps ahead.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import pandas as pd

from zerodte.errors import ConfigError


class VenueClock:
    """The venue's time (tz-aware New York).

    Parameters
    ----------
    start
        Venue time at creation.
    speed
        ``None`` for a stepped clock, else venue seconds per wall second.
    wall
        Wall-clock seconds (e.g. ``time.monotonic``); needed with ``speed``.
    """

    def __init__(
        self,
        start: pd.Timestamp,
        speed: float | None = None,
        wall: Callable[[], float] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ConfigError(f"venue clock start {start!r} must be tz-aware")
        if speed is not None and not (math.isfinite(speed) and speed > 0 and wall is not None):
            raise ConfigError(
                f"a running venue clock needs a finite speed > 0 and a wall clock, got speed "
                f"{speed}; use --speed 60 for a minute a second, or leave it unset"
            )
        self.speed = speed
        self._wall = wall
        self._base = start.tz_convert("America/New_York")
        self._wall0 = wall() if wall is not None else 0.0
        self._lock = threading.Lock()

    def now(self) -> pd.Timestamp:
        """The venue's current time."""
        with self._lock:
            if self.speed is None or self._wall is None:
                return self._base
            elapsed = (self._wall() - self._wall0) * self.speed
            return self._base + pd.Timedelta(seconds=elapsed)

    def advance_to(self, time: pd.Timestamp) -> pd.Timestamp:
        """Jump to ``time`` (never backwards); returns the new time."""
        current = self.now()
        if time <= current:
            return current
        with self._lock:
            self._base = self._base + (time - current)
        return self.now()
