"""TradierClient over a fake transport: every error shape gets the exception named by its
consequence; reads are retried, order POSTs never are; the token never leaks."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from zerodte.broker.tradier.client import TradierClient, http_client
from zerodte.broker.tradier.session import RetryPolicy, reject_reason
from zerodte.errors import (
    BrokerError,
    ConfigError,
    OrderOutcomeUnknown,
    OrderRejected,
    TransientBrokerError,
)

TOKEN = "tok-secret-123"
Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, attempts: int = 3) -> tuple[TradierClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = http_client("http://t/v1", TOKEN, transport=httpx.MockTransport(record))
    retry = RetryPolicy(attempts=attempts, sleep=lambda s: None)
    return TradierClient(http, account_id="VA12345678", retry=retry), seen


def test_requests_carry_auth_accept_and_form_bodies() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"order": {"id": 7, "status": "ok"}})

    client, seen = _client(handler)
    assert client.place({"class": "option", "tag": "z-1", "quantity": "1"}) == "7"
    (req,) = seen
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["accept"] == "application/json"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.content == b"class=option&tag=z-1&quantity=1"
    assert req.url.path == "/v1/accounts/VA12345678/orders"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, json={"fault": {"faultstring": "Datastore Error"}}),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(429, text="Quota Violation"),
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, content=b""),
    ],
)
def test_transient_reads_are_retried(response: httpx.Response) -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            return response
        return httpx.Response(
            200, json={"clock": {"date": "2024-11-22", "state": "open", "timestamp": 1732303512}}
        )

    client, _ = _client(handler)
    assert client.market.clock().state == "open"
    assert len(calls) == 3


def test_retries_give_up_with_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no route", request=request)

    client, seen = _client(handler, attempts=3)
    with pytest.raises(TransientBrokerError, match="ConnectTimeout"):
        client.positions()
    assert len(seen) == 3


@pytest.mark.parametrize(
    "failure",
    [
        lambda r: httpx.Response(
            500, text="An error occurred while communicating with the backend."
        ),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("slow", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.RemoteProtocolError("dropped", request=r)),
    ],
)
def test_order_post_without_answer_is_unknown_and_never_retried(failure: Handler) -> None:
    client, seen = _client(failure)
    with pytest.raises(OrderOutcomeUnknown, match="z-9") as err:
        client.place({"tag": "z-9"})
    assert isinstance(err.value, BrokerError)
    assert len(seen) == 1  # sent once; the caller reconciles by tag


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (
            httpx.Response(200, json={"errors": {"error": "DayTradingBuyingPowerExceeded"}}),
            "insufficient_cash",
        ),
        (
            httpx.Response(
                200, json={"errors": {"error": ["Backoffice rejected override of the order.", "x"]}}
            ),
            "venue_rejected",
        ),
        (
            httpx.Response(400, text="Invalid parameter, tag: contains invalid characters."),
            "invalid_tag",
        ),
        (
            httpx.Response(200, json={"errors": {"error": "IncorrectOrderQuantity"}}),
            "invalid_quantity",
        ),
    ],
)
def test_refusals_are_order_rejected(response: httpx.Response, reason: str) -> None:
    client, _ = _client(lambda r: response)
    with pytest.raises(OrderRejected) as err:
        client.place({"tag": "z-1"})
    assert err.value.reason == reason


def test_bad_token_is_a_config_error_without_the_token() -> None:
    fault = {
        "fault": {
            "faultstring": "Invalid Access Token",
            "detail": {"errorcode": "keymanagement.service.invalid_access_token"},
        }
    }
    client, seen = _client(lambda r: httpx.Response(401, json=fault))
    with pytest.raises(ConfigError, match="Invalid Access Token") as err:
        client.balances()
    assert TOKEN not in str(err.value)
    assert len(seen) == 1  # not retried


def test_unknown_order_is_none_and_wrong_account_a_config_error() -> None:
    client, _ = _client(lambda r: httpx.Response(401, text="Unauthorized Account: VA12345678"))
    assert client.order("999") is None
    with pytest.raises(ConfigError, match="not an account of this token"):
        client.orders()


def test_cancel_of_a_finalized_order_names_its_state() -> None:
    client, _ = _client(
        lambda r: httpx.Response(400, text="order already in finalized state: filled")
    )
    assert client.cancel("8812345") == "filled"
    ok, _ = _client(lambda r: httpx.Response(200, json={"order": {"id": 1, "status": "ok"}}))
    assert ok.cancel("1") == "requested"


def test_find_by_tag_reads_tags() -> None:
    body = {
        "orders": {
            "order": [
                {"id": 1, "tag": "a", "status": "open"},
                {"id": 2, "tag": "b", "status": "open"},
            ]
        }
    }
    client, seen = _client(lambda r: httpx.Response(200, json=body))
    assert [o.id for o in client.find_by_tag("b")] == ["2"]
    assert seen[0].url.params["includeTags"] == "true"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("There is no price.", "no_quote"),
        ("Invalid parameter, duration: pre market no longer available", "market_closed"),
        ("something new", "venue_rejected"),
    ],
)
def test_reject_reason(text: str, reason: str) -> None:
    assert reject_reason(text) == reason
