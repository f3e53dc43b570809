"""``TradierClient``: market data and one account's trading, over one ``httpx.Client``.

::

    http = http_client(base_url, token)               # headers set once; never logged
    client = TradierClient(http, account_id="VA12345678")
    client.market.quotes(["SPY", "QQQ", "VIX"])       # TradierMarketData
    client.place(form)                                # order id, or OrderOutcomeUnknown

Reads are retried with backoff; an order POST is never re-sent here: a timeout, dropped
connection or 5xx on it raises :class:`~zerodte.errors.OrderOutcomeUnknown`, and the
caller looks the order up by its tag (:meth:`TradierClient.find_by_tag`). A venue refusal
raises :class:`~zerodte.errors.OrderRejected` with a
:class:`~zerodte.broker.base.RejectReason` value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from zerodte.broker.tradier.market_data import TradierMarketData
from zerodte.broker.tradier.parse import (
    Balances,
    TradierOrder,
    TradierPosition,
    parse_balances,
    parse_order,
    parse_orders,
    parse_positions,
    text,
)
from zerodte.broker.tradier.ratelimit import RateLimiter
from zerodte.broker.tradier.session import RetryPolicy, TradierSession
from zerodte.errors import BrokerError, OrderOutcomeUnknown, OrderRejected, TransientBrokerError

logger = logging.getLogger(__name__)

SANDBOX_URL = "https://sandbox.tradier.com/v1"
PRODUCTION_URL = "https://api.tradier.com/v1"


def http_client(
    base_url: str,
    token: str,
    *,
    timeout: float = 5.0,
    transport: httpx.BaseTransport | None = None,
    event_hooks: Mapping[str, list[Any]] | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for Tradier: base URL, bearer token and ``Accept: JSON`` set once.

    ``transport`` is for tests (``httpx.MockTransport``). The token lives only in these
    headers; httpx logs requests without them. A plain ``http://`` URL (the fake on
    loopback) skips loading the CA bundle it would never use.
    """
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        timeout=timeout,
        transport=transport,
        event_hooks=dict(event_hooks or {}),
        verify=not base_url.startswith("http://"),
    )


class TradierClient:
    """Tradier's REST API for one account.

    Parameters
    ----------
    http
        See :func:`http_client`.
    account_id
        The account orders go to (``VA`` + 8 digits in the sandbox).
    limiter, retry
        Rate limiting and read retries (see :class:`TradierSession`).
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        account_id: str,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.session = TradierSession(http, limiter=limiter, retry=retry)
        self.market = TradierMarketData(self.session)
        self.account_id = account_id
        self._base = f"/accounts/{account_id}"

    # -- account -------------------------------------------------------------------------
    def balances(self) -> Balances:
        """Cash, equity and option buying power."""
        return parse_balances(self.session.get(f"{self._base}/balances"))

    def positions(self) -> list[TradierPosition]:
        """Open positions (signed quantity by symbol)."""
        return parse_positions(self.session.get(f"{self._base}/positions"))

    def orders(self) -> list[TradierOrder]:
        """Today's orders (New York day) with their tags."""
        return parse_orders(self.session.get(f"{self._base}/orders", {"includeTags": "true"}))

    def order(self, order_id: str) -> TradierOrder | None:
        """One order by id, ``None`` when the venue does not know it (Tradier: 401 text)."""
        body = self.session.send(
            "GET",
            f"{self._base}/orders/{order_id}",
            params={"includeTags": "true"},
            missing_ok=True,
        )
        if body is None or not isinstance(body.get("order"), Mapping):
            return None
        return parse_order(body["order"])

    def find_by_tag(self, tag: str) -> list[TradierOrder]:
        """Today's orders carrying ``tag`` (more than one is a duplicate)."""
        return [o for o in self.orders() if o.tag == tag]

    # -- trading -------------------------------------------------------------------------
    def preview(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Validate an order without placing it (``preview=true``); the preview record.

        Raises ``OrderRejected`` when the venue refuses it; a transient failure raises
        ``TransientBrokerError`` (nothing was placed, a preview creates nothing).
        """
        body = self.session.send("POST", f"{self._base}/orders", data={**form, "preview": "true"})
        record = body.get("order") if isinstance(body, Mapping) else None
        if not isinstance(record, Mapping):
            raise TransientBrokerError(f"Tradier preview sent no order record: {body!r}")
        if str(record.get("result", "true")).lower() == "false":
            raise OrderRejected("venue_rejected", f"preview refused: {record!r}")
        return dict(record)

    def place(self, form: Mapping[str, str]) -> str:
        """Place an order; its id. Never retried (see the module docstring)."""
        tag = form.get("tag", "?")
        try:
            body = self.session.send("POST", f"{self._base}/orders", data=dict(form))
        except TransientBrokerError as exc:
            raise OrderOutcomeUnknown(tag, str(exc)) from exc
        record = body.get("order") if isinstance(body, Mapping) else None
        order_id = text(record.get("id")) if isinstance(record, Mapping) else ""
        if not order_id:
            raise OrderOutcomeUnknown(tag, f"the reply carries no order id: {body!r}")
        return order_id

    def cancel(self, order_id: str) -> str:
        """Ask to cancel; returns ``"requested"``, or the final state the venue names
        (``"filled"``, ``"canceled"``) when it is already finalized. Poll the order for the
        verdict: the DELETE reply is not one."""
        try:
            self.session.send("DELETE", f"{self._base}/orders/{order_id}")
        except OrderRejected as exc:
            marker = "finalized state:"
            if marker in exc.detail:
                return exc.detail.split(marker, 1)[1].strip().split()[0].strip(".'\"")
            raise
        except TransientBrokerError as exc:
            raise BrokerError(
                f"cancel of order {order_id} got no answer ({exc}); poll the order"
            ) from exc
        return "requested"
