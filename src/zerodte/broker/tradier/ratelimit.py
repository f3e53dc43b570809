"""Client-side rate limiting for Tradier: a token bucket per category, fed by the venue.

Tradier counts requests per token in one-minute windows starting at the first request, per
category (``TRADIER_API.md`` §2): market data (``/markets/*``), trading (order POST, PUT,
DELETE) and the standard bucket (accounts, order reads, user). Every reply carries
``X-Ratelimit-Allowed``, ``-Used``, ``-Available`` and ``-Expiry`` (the window's reset, epoch
milliseconds in Tradier's example, seconds in some clients: decided by magnitude).

:class:`RateLimiter` keeps its own bucket per category below the limit
(``rate = limit * safety / 60`` per second, ``burst = limit * safety / 6``) and, from the
headers, stops a category when the venue says at most ``reserve`` requests are left,
until the window's expiry. Waiting uses the injected clock and sleep (a replay advances
the venue's clock instead of the wall's), and a wait longer than ``max_wait`` raises
``TransientBrokerError`` rather than stalling the loop.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zerodte.errors import TransientBrokerError

logger = logging.getLogger(__name__)

CATEGORIES = ("market", "trading", "standard")
PRODUCTION_LIMITS = {"market": 120, "trading": 60, "standard": 120}
SANDBOX_LIMITS = {"market": 60, "trading": 60, "standard": 60}


def category(method: str, path: str) -> str:
    """The rate-limit category of a request."""
    if "/markets/" in path or path.startswith("markets/"):
        return "market"
    if method.upper() in ("POST", "PUT", "DELETE") and "/orders" in path:
        return "trading"
    return "standard"


def expiry_seconds(value: str | None) -> float | None:
    """``X-Ratelimit-Expiry`` as epoch seconds (13 digits are milliseconds)."""
    if not value:
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    return x / 1000.0 if x > 1e11 else x


@dataclass
class _Bucket:
    limit: int
    rate: float
    burst: float
    tokens: float
    stamp: float | None = None
    blocked_until: float | None = None


class RateLimiter:
    """Token buckets per category, capped by what the venue's headers report.

    Parameters
    ----------
    limits
        Requests per minute by category (:data:`PRODUCTION_LIMITS`, :data:`SANDBOX_LIMITS`).
    clock
        Epoch seconds now (the venue's clock in a replay).
    sleep
        How to wait ``s`` seconds.
    safety
        Fraction of each limit the bucket allows.
    reserve
        Requests left in the venue's window at which a category stops until its expiry.
    max_wait
        Longest wait before giving up with ``TransientBrokerError``.
    """

    def __init__(
        self,
        limits: Mapping[str, int],
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        safety: float = 0.8,
        reserve: int = 2,
        max_wait: float = 65.0,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.reserve = reserve
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        for name in CATEGORIES:
            limit = int(limits.get(name, 60))
            per_min = max(limit * safety, 1.0)
            burst = max(per_min / 6.0, 1.0)
            self._buckets[name] = _Bucket(limit, per_min / 60.0, burst, burst)
        self.waited_s = 0.0
        self.waits = 0

    def acquire(self, name: str) -> None:
        """Take one token of ``name``, waiting for it if needed."""
        while True:
            with self._lock:
                wait = self._take(self._buckets[name], self._clock())
            if wait <= 0.0:
                return
            if wait > self.max_wait:
                raise TransientBrokerError(
                    f"Tradier {name} rate limit: the next request is allowed in {wait:.0f} s "
                    f"(more than {self.max_wait:.0f} s); skipping instead of stalling"
                )
            logger.info("rate limit %s: waiting %.2f s", name, wait)
            self.waits += 1
            self.waited_s += wait
            self._sleep(wait)

    def update(self, name: str, headers: Mapping[str, str]) -> None:
        """Take the venue's view of the window from a reply's ``X-Ratelimit-*`` headers."""
        available = headers.get("x-ratelimit-available")
        expiry = expiry_seconds(headers.get("x-ratelimit-expiry"))
        if available is None:
            return
        try:
            left = int(float(available))
        except ValueError:
            return
        with self._lock:
            bucket = self._buckets[name]
            bucket.tokens = min(bucket.tokens, float(max(left - self.reserve, 0)))
            if left <= self.reserve and expiry is not None:
                bucket.blocked_until = expiry

    def _take(self, bucket: _Bucket, now: float) -> float:
        """Take a token now (0) or return how long to wait for one."""
        if bucket.blocked_until is not None:
            if now < bucket.blocked_until:
                return bucket.blocked_until - now
            bucket.blocked_until = None
            bucket.tokens = bucket.burst  # a new window
        if bucket.stamp is not None and now > bucket.stamp:
            bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.stamp) * bucket.rate)
        bucket.stamp = now if bucket.stamp is None else max(bucket.stamp, now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        need = 1.0 - bucket.tokens
        return math.ceil(need / bucket.rate * 1000.0) / 1000.0
