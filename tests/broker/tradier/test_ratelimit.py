"""The client's token buckets: below the limit, stopped by the venue's headers."""

from __future__ import annotations

import pytest

from zerodte.broker.tradier.ratelimit import RateLimiter, category, expiry_seconds
from zerodte.errors import TransientBrokerError


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_732_303_500.0  # a real epoch: Expiry units are told by magnitude
        self.slept: list[float] = []

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def _limiter(t: FakeTime, **kw: float) -> RateLimiter:
    return RateLimiter(
        {"market": 60, "trading": 60, "standard": 60}, clock=lambda: t.now, sleep=t.sleep, **kw
    )


def test_categories() -> None:
    assert category("GET", "/markets/quotes") == "market"
    assert category("POST", "/accounts/VA1/orders") == "trading"
    assert category("DELETE", "/accounts/VA1/orders/9") == "trading"
    assert category("GET", "/accounts/VA1/orders") == "standard"


def test_expiry_units_by_magnitude() -> None:
    assert expiry_seconds("1732303560000") == 1732303560.0
    assert expiry_seconds("1732303560") == 1732303560.0
    assert expiry_seconds(None) is None


def test_burst_then_the_rate() -> None:
    t = FakeTime()
    limiter = _limiter(t)  # 60/min at 80 %: 0.8 per second, bursts of 8
    for _ in range(8):
        limiter.acquire("market")
    assert t.slept == []
    limiter.acquire("market")
    assert t.slept == [pytest.approx(1.25)]
    # 48 requests a minute at most, whatever the caller does
    start = t.now
    for _ in range(48):
        limiter.acquire("market")
    assert t.now - start >= 48 / 0.8 - 1e-6


def test_venue_headers_stop_a_category_until_the_window_ends() -> None:
    t = FakeTime()
    limiter = _limiter(t)
    expiry_ms = int((t.now + 30.0) * 1000)
    limiter.update("standard", {"x-ratelimit-available": "1", "x-ratelimit-expiry": str(expiry_ms)})
    limiter.acquire("standard")
    assert t.slept == [pytest.approx(30.0)]
    limiter.acquire("market")  # other categories are not stopped
    assert len(t.slept) == 1


def test_a_long_wait_raises_instead_of_stalling() -> None:
    t = FakeTime()
    limiter = _limiter(t, max_wait=5.0)
    limiter.update(
        "trading",
        {"x-ratelimit-available": "0", "x-ratelimit-expiry": str(int((t.now + 50) * 1000))},
    )
    with pytest.raises(TransientBrokerError, match="rate limit"):
        limiter.acquire("trading")
