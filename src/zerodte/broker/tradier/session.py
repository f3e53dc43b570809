"""One request to Tradier: rate limit, send, classify the reply, retry what is safe.

Replies are classified once, here (``TRADIER_API.md`` §3):

=================================================  ======================================
reply                                              raises
=================================================  ======================================
timeout, dropped connection, 429, 5xx, non-JSON    ``TransientBrokerError`` (retried for
                                                   reads; an order POST gets
                                                   ``OrderOutcomeUnknown`` instead)
401 fault JSON (bad or expired token)              ``ConfigError`` (the token is wrong)
401 ``Unauthorized Account`` text                  ``ConfigError``, or ``None`` for an order
                                                   lookup (Tradier's answer to an unknown id)
400 text, 200 with ``errors``                      ``OrderRejected(reason, text)`` for
                                                   trading, ``BrokerError`` otherwise
=================================================  ======================================

Reads (GET) are retried with exponential backoff (tenacity); an order POST, PUT or DELETE
never is: the caller reconciles by tag. The token is only ever in the ``httpx.Client``'s
headers, never in a message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from zerodte.broker.base import RejectReason
from zerodte.broker.tradier.parse import errors_of
from zerodte.broker.tradier.ratelimit import RateLimiter, category
from zerodte.errors import BrokerError, ConfigError, OrderRejected, TransientBrokerError

logger = logging.getLogger(__name__)

_REASONS: tuple[tuple[str, RejectReason], ...] = (
    ("buyingpower", RejectReason.INSUFFICIENT_CASH),
    ("buying power", RejectReason.INSUFFICIENT_CASH),
    ("insufficient", RejectReason.INSUFFICIENT_CASH),
    ("no price", RejectReason.NO_QUOTE),
    ("no market", RejectReason.NO_QUOTE),
    ("quantity", RejectReason.INVALID_QUANTITY),
    ("tag", RejectReason.INVALID_TAG),
    ("price", RejectReason.INVALID_LIMIT_PRICE),
    ("market closed", RejectReason.MARKET_CLOSED),
    ("market is closed", RejectReason.MARKET_CLOSED),
    ("duration", RejectReason.MARKET_CLOSED),
    ("position", RejectReason.INSUFFICIENT_POSITION),
)


def reject_reason(message: str) -> str:
    """The :class:`RejectReason` value of a Tradier refusal text or error code."""
    low = message.lower()
    for needle, reason in _REASONS:
        if needle in low:
            return reason.value
    return RejectReason.VENUE_REJECTED.value


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of reads: at most ``attempts`` tries, waits ``base * 2**k`` up to ``cap``."""

    attempts: int = 4
    base: float = 0.25
    cap: float = 4.0
    sleep: Callable[[float], None] = time.sleep


@dataclass
class CallStats:
    """Requests, failures and the latency of the last reply (health checks read it)."""

    requests: int = 0
    transient: int = 0
    last_latency_s: float | None = None
    latencies: dict[str, float] = field(default_factory=dict)


class TradierSession:
    """Sends requests through an ``httpx.Client`` (base URL and auth headers set on it).

    Parameters
    ----------
    http
        ``httpx.Client`` with ``base_url`` (``.../v1``), ``Authorization: Bearer`` and
        ``Accept: application/json`` (see :func:`zerodte.broker.tradier.client.http_client`).
        Tests inject ``httpx.MockTransport`` or point it at the fake server.
    limiter
        Rate limiting (``None``: none).
    retry
        Retries of reads.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.http = http
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.stats = CallStats()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET ``path`` (retried on transient errors); the parsed JSON body."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransientBrokerError),
            stop=stop_after_attempt(max(1, self.retry.attempts)),
            wait=wait_exponential(multiplier=self.retry.base, max=self.retry.cap),
            before_sleep=before_sleep_log(logger, logging.INFO),
            sleep=self.retry.sleep,
            reraise=True,
        )
        return retrying(self.send, "GET", path, params=params)

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """One request, classified (module docstring); ``None`` for a missing order when
        ``missing_ok``."""
        kind = category(method, path)
        if self.limiter is not None:
            self.limiter.acquire(kind)
        self.stats.requests += 1
        start = time.perf_counter()
        try:
            response = self.http.request(method, path, params=params, data=data)
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            self.stats.transient += 1
            raise TransientBrokerError(
                f"Tradier {method} {path}: {type(exc).__name__} ({exc}); the request may be "
                "retried (reads) or must be reconciled (orders)"
            ) from exc
        latency = time.perf_counter() - start
        self.stats.last_latency_s = latency
        self.stats.latencies[kind] = latency
        if self.limiter is not None:
            self.limiter.update(kind, response.headers)
        return self._classify(method, path, kind, response, missing_ok)

    def _classify(
        self, method: str, path: str, kind: str, response: httpx.Response, missing_ok: bool
    ) -> Any:
        status = response.status_code
        body_text = response.text[:300]
        where = f"Tradier {method} {path}"
        if status == 429 or status >= 500:
            self.stats.transient += 1
            raise TransientBrokerError(f"{where}: HTTP {status} {body_text!r}")
        if status == 401:
            body = _json(response)
            if isinstance(body, Mapping) and "fault" in body:
                fault = body["fault"]
                message = fault.get("faultstring", "") if isinstance(fault, Mapping) else ""
                raise ConfigError(
                    f"{where}: Tradier refused the access token ({message}); set a valid "
                    "broker.tradier_token (TRADIER_TOKEN) for this environment"
                )
            if missing_ok:
                return None
            raise ConfigError(
                f"{where}: {body_text!r}; broker.tradier_account_id is not an account of "
                "this token (sandbox and production have separate accounts)"
            )
        if status >= 400:
            if kind == "trading":
                raise OrderRejected(reject_reason(body_text), f"{where}: HTTP {status} {body_text}")
            if missing_ok and status == 404:
                return None
            raise BrokerError(f"{where}: HTTP {status} {body_text!r}")
        body = _json(response)
        if body is _NOT_JSON:
            self.stats.transient += 1
            raise TransientBrokerError(
                f"{where}: HTTP {status} with a non-JSON body {body_text!r} (Accept header "
                "missing, or a gateway page); retry"
            )
        errors = errors_of(body)
        if errors:
            detail = "; ".join(errors)
            if kind == "trading" or "/orders" in path:
                raise OrderRejected(reject_reason(detail), f"{where}: {detail}")
            raise BrokerError(f"{where}: {detail}")
        return body


_NOT_JSON = object()


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return _NOT_JSON
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _NOT_JSON
