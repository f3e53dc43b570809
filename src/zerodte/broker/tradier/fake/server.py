"""The fake Tradier's request handling: one ``handle(request)`` for every transport.

Per request, in order: bearer auth (401 fault JSON), the account in the path (401
``Unauthorized Account`` text), ``Accept: application/json`` (else an XML body), the
rate-limit window of the request's category (``X-Ratelimit-*`` on every reply; a 429
``Quota Violation`` when a client really exceeds it, counted in ``over_limit``), injected
faults (:mod:`.faults`), then the route. Replies follow Tradier's shapes and quirks: one
item as a bare object, none as ``"null"``, epoch-ms quote dates, ``Z`` order dates.

:func:`mock_transport` serves it in process through ``httpx.MockTransport``;
:mod:`.app` serves the same routes with FastAPI on loopback. Two routes under ``/fake``
are not Tradier's: ``GET /fake/state`` (venue time and counters) and ``POST
/fake/advance`` (move the venue clock; how a replay waits).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pandas as pd

from zerodte.broker.tradier.fake.clock import VenueClock
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.broker.tradier.fake.market import FrameMarket
from zerodte.broker.tradier.fake.venue import FakeVenue, Refusal, VenueOrder
from zerodte.broker.tradier.ratelimit import PRODUCTION_LIMITS, category
from zerodte.types import Snapshot

logger = logging.getLogger(__name__)

ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "/v1/markets/quotes", "quotes"),
    ("POST", "/v1/markets/quotes", "quotes"),
    ("GET", "/v1/markets/options/chains", "chain"),
    ("GET", "/v1/markets/options/expirations", "expirations"),
    ("GET", "/v1/markets/timesales", "timesales"),
    ("GET", "/v1/markets/clock", "clock"),
    ("GET", "/v1/markets/calendar", "calendar"),
    ("GET", "/v1/user/profile", "profile"),
    ("GET", "/v1/accounts/{account}/balances", "balances"),
    ("GET", "/v1/accounts/{account}/positions", "positions"),
    ("GET", "/v1/accounts/{account}/orders", "orders"),
    ("POST", "/v1/accounts/{account}/orders", "place"),
    ("GET", "/v1/accounts/{account}/orders/{order_id}", "order"),
    ("DELETE", "/v1/accounts/{account}/orders/{order_id}", "cancel"),
    ("GET", "/fake/state", "state"),
    ("POST", "/fake/advance", "advance"),
)
"""``(method, path template, handler)`` of every route the fake serves."""

_PATTERNS = [
    (m, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", t) + "$"), h) for m, t, h in ROUTES
]
INVALID_TOKEN = {
    "fault": {
        "faultstring": "Invalid Access Token",
        "detail": {"errorcode": "keymanagement.service.invalid_access_token"},
    }
}
BACKEND_500 = "An error occurred while communicating with the backend."


@dataclass
class Reply:
    """What a route answers: JSON ``body`` or plain ``text``, or a transport ``fault``."""

    status: int = 200
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # "timeout" | "drop": no (complete) reply reaches the client


class _Windows:
    """Tradier's one-minute rate windows per category, starting at the first request."""

    def __init__(self, limits: Mapping[str, int]) -> None:
        self.allowed = dict(limits)
        self._start: dict[str, pd.Timestamp] = {}
        self._used: Counter[str] = Counter()
        self.over: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def hit(self, bucket: str, now: pd.Timestamp) -> tuple[dict[str, str], bool]:
        start = self._start.get(bucket)
        if start is None or now >= start + pd.Timedelta(minutes=1):
            start = self._start[bucket] = now
            self._used[bucket] = 0
        self._used[bucket] += 1
        used, allowed = self._used[bucket], self.allowed.get(bucket, 120)
        self.peak[bucket] = max(self.peak[bucket], used)
        expiry = start + pd.Timedelta(minutes=1)
        headers = {
            "X-Ratelimit-Allowed": str(allowed),
            "X-Ratelimit-Used": str(used),
            "X-Ratelimit-Available": str(max(allowed - used, 0)),
            "X-Ratelimit-Expiry": str(int(expiry.value // 1_000_000)),
        }
        over = used > allowed
        if over:
            self.over[bucket] += 1
        return headers, over


class FakeTradier:
    """The fake Tradier: venue, market, clock, limits and faults behind one ``handle``.

    Parameters
    ----------
    venue
        The account and its matching.
    clock
        The venue's clock.
    market
        Market data of a replayed frame; ``None`` when snapshots are pushed instead
        (:meth:`push`, the broker contract suite).
    token, account_id
        The only accepted bearer token and account number.
    limits
        Requests per minute per category.
    faults
        What to inject and how often.
    latency_seconds
        When a bar's open quote becomes the fill price of orders sent before it (the
        backtest's latency).
    stale_bars
        How old the quotes of a ``stale_quote`` fault are.
    """

    def __init__(
        self,
        venue: FakeVenue,
        clock: VenueClock,
        *,
        market: FrameMarket | None = None,
        token: str,
        account_id: str = "VA00000001",
        limits: Mapping[str, int] = PRODUCTION_LIMITS,
        faults: FaultPlan | None = None,
        latency_seconds: float = 1.0,
        stale_bars: int = 3,
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.market = market
        self.token = token
        self.account_id = account_id
        self.faults = faults or FaultPlan()
        venue.faults = self.faults
        self.latency = pd.Timedelta(seconds=latency_seconds)
        self.stale_bars = stale_bars
        self.windows = _Windows(limits)
        self.requests: Counter[str] = Counter()
        self.lost_replies = 0
        self._fed = 0
        self._ended: set[date] = set()
        self._lock = threading.RLock()
        if market is not None and venue.quote_at is None:
            venue.quote_at = lambda c: market.option_quote(c, self.clock.now())

    # -- the market moves ----------------------------------------------------------------
    def sync(self) -> None:
        """Feed the venue every bar opened by now and end every session closed by now."""
        market = self.market
        if market is None:
            return
        now = self.clock.now()
        due = market.opened(now, self.latency)
        while self._fed < due:
            self.venue.feed(market.snapshot(self._fed))
            self._fed += 1
        for day in dict.fromkeys(market.sessions[: self._fed]):
            if day not in self._ended and now >= market.session_close(day):
                self.venue.end_session(day)
                self._ended.add(day)

    def push(self, snapshot: Snapshot) -> None:
        """Scripted market: bar ``snapshot`` opens; the clock moves to its close."""
        with self._lock:
            self.venue.feed(snapshot)
            self.clock.advance_to(snapshot.time + pd.Timedelta(minutes=1))

    def advance_to(self, time: pd.Timestamp) -> pd.Timestamp:
        """Move the venue clock to ``time`` (never back) and let the market catch up."""
        with self._lock:
            now = self.clock.advance_to(time)
            self.sync()
            return now

    def stats(self) -> dict[str, Any]:
        """Counters: requests, faults injected, rate windows, orders, lost replies."""
        tags = Counter(o.tag for o in self.venue.orders.values())
        return {
            "now": self.clock.now().isoformat(),
            "requests": sum(self.requests.values()),
            "by_route": dict(sorted(self.requests.items())),
            "faults": dict(sorted(self.faults.injected.items())),
            "faults_total": self.faults.total,
            "over_limit": dict(self.windows.over),
            "peak_per_window": dict(self.windows.peak),
            "limits": dict(self.windows.allowed),
            "orders": len(self.venue.orders),
            "lost_replies": self.lost_replies,
            "duplicate_tags": sum(1 for n in tags.values() if n > 1),
        }

    # -- requests ------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        form: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> Reply:
        """Answer one request (see the module docstring)."""
        with self._lock:
            self.sync()
            return self._handle(method.upper(), path, dict(query), dict(form), headers)

    def _handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        form: dict[str, str],
        headers: Mapping[str, str],
    ) -> Reply:
        route = next(
            (
                (h, m.groupdict())
                for verb, pat, h in _PATTERNS
                if verb == method
                for m in [pat.match(path)]
                if m
            ),
            None,
        )
        if route is None:
            return Reply(404, text=f"no route {method} {path}")
        name, params = route
        self.requests[name] += 1
        if headers.get("authorization") != f"Bearer {self.token}":
            return Reply(401, body=INVALID_TOKEN)
        if "account" in params and params["account"] != self.account_id:
            return Reply(401, text=f"Unauthorized Account: {params['account']}")
        if "application/json" not in headers.get("accept", ""):
            return Reply(200, text="<response><error>JSON only; send Accept</error></response>")
        if name in ("state", "advance"):
            return getattr(self, f"_r_{name}")(query, form, params)
        now = self.clock.now()
        limit_headers, over = self.windows.hit(category(method, path), now)
        if over:
            return Reply(
                429,
                text=f"Quota Violation {limit_headers['X-Ratelimit-Expiry']}",
                headers=limit_headers,
            )
        injected = self._injected(name, method)
        if injected is not None:
            injected.headers.update(limit_headers)
            return injected
        try:
            reply = getattr(self, f"_r_{name}")(query, form, params)
        except Refusal as exc:
            if exc.status == 200:
                reply = Reply(200, body={"errors": {"error": exc.message}})
            else:
                reply = Reply(exc.status, text=exc.message)
        reply.headers.update(limit_headers)
        return reply

    def _injected(self, name: str, method: str) -> Reply | None:
        f = self.faults
        if f.draw("server_error"):
            if f.choice(2):
                return Reply(502, text="<html><body>502 Bad Gateway</body></html>")
            return Reply(500, body={"fault": {"faultstring": "Datastore Error"}})
        if f.draw("rate_limited"):
            return Reply(429, text="Quota Violation")
        if f.draw("timeout"):
            return Reply(fault="timeout")
        if f.draw("drop"):
            return Reply(fault="drop")
        if method == "GET" and f.draw("not_json"):
            return Reply(200, text="<html>maintenance</html>")
        return None

    # -- envelopes -----------------------------------------------------------------------
    def _many(self, plural: str, singular: str, items: list[Any], empty: Any = "null") -> Any:
        """``{plural: {singular: X}}`` with Tradier's one-or-many and empty shapes."""
        if not items:
            if self.faults.draw("envelope"):
                return {plural: ("null", None, {})[self.faults.choice(3)]}
            return {plural: empty}
        return {plural: {singular: items[0] if len(items) == 1 else items}}

    # -- market routes -------------------------------------------------------------------
    def _need_market(self) -> FrameMarket:
        if self.market is None:
            raise Refusal(400, "this fake serves no market data (scripted snapshots)")
        return self.market

    def _lag(self) -> int:
        return self.stale_bars if self.faults.draw("stale_quote") else 0

    def _r_quotes(self, query: dict[str, str], form: dict[str, str], _: Any) -> Reply:
        market = self._need_market()
        symbols = (query.get("symbols") or form.get("symbols") or "").split(",")
        rows, unmatched = market.quote_rows(
            [s for s in symbols if s], self.clock.now(), self._lag()
        )
        quotes: dict[str, Any] = {}
        if rows:
            quotes["quote"] = rows[0] if len(rows) == 1 else rows
        if unmatched:
            quotes["unmatched_symbols"] = {
                "symbol": unmatched[0] if len(unmatched) == 1 else unmatched
            }
        return Reply(body={"quotes": quotes})

    def _r_chain(self, query: dict[str, str], _: Any, __: Any) -> Reply:
        market = self._need_market()
        expiry = date.fromisoformat(query["expiration"])
        greeks = query.get("greeks", "false") == "true"
        rows = market.chain_rows(expiry, self.clock.now(), greeks=greeks, lag=self._lag())
        return Reply(body=self._many("options", "option", rows, empty=None))

    def _r_expirations(self, _: Any, __: Any, ___: Any) -> Reply:
        dates = self._need_market().expirations(self.clock.now())
        return Reply(body=self._many("expirations", "date", dates, empty=None))

    def _r_timesales(self, query: dict[str, str], _: Any, __: Any) -> Reply:
        market = self._need_market()
        tz = "America/New_York"
        start = pd.Timestamp(query["start"]).tz_localize(tz)
        end = pd.Timestamp(query["end"]).tz_localize(tz)
        rows = market.timesales(query["symbol"], start, end, self.clock.now())
        return Reply(body=self._many("series", "data", rows, empty=None))

    def _r_clock(self, _: Any, __: Any, ___: Any) -> Reply:
        return Reply(body={"clock": self._need_market().clock(self.clock.now())})

    def _r_calendar(self, query: dict[str, str], _: Any, __: Any) -> Reply:
        month, year = int(query["month"]), int(query["year"])
        days = self._need_market().calendar_days(month, year)
        return Reply(body={"calendar": {"month": month, "year": year, "days": {"day": days}}})

    # -- account routes ------------------------------------------------------------------
    def _r_profile(self, _: Any, __: Any, ___: Any) -> Reply:
        account = {
            "account_number": self.account_id,
            "type": "margin",
            "option_level": 2,
            "status": "active",
            "day_trader": False,
        }
        return Reply(body={"profile": {"id": "id-fake", "name": "zerodte", "account": account}})

    def _r_balances(self, _: Any, __: Any, ___: Any) -> Reply:
        return Reply(body={"balances": self.venue.balances(self.account_id)})

    def _r_positions(self, _: Any, __: Any, ___: Any) -> Reply:
        return Reply(body=self._many("positions", "position", self.venue.positions()))

    def _r_orders(self, query: dict[str, str], _: Any, __: Any) -> Reply:
        records = [self._record(o, query) for o in self.venue.day_orders(self.clock.now().date())]
        return Reply(body=self._many("orders", "order", records))

    def _r_order(self, query: dict[str, str], _: Any, params: dict[str, str]) -> Reply:
        order = self._lookup(params["order_id"])
        if order is None:
            return Reply(401, text=f"Unauthorized Account: {self.account_id}")
        return Reply(body={"order": self._record(order, query)})

    def _record(self, order: VenueOrder, query: dict[str, str]) -> dict[str, Any]:
        rec = order.record()
        if query.get("includeTags") != "true":
            rec.pop("tag", None)
        return rec

    def _lookup(self, raw: str) -> VenueOrder | None:
        try:
            return self.venue.orders.get(int(raw))
        except ValueError:
            return None

    def _r_place(self, _: Any, form: dict[str, str], __: Any) -> Reply:
        order = self.venue.check(form)
        if form.get("preview") == "true":
            return Reply(body={"order": self.venue.preview(order)})
        f = self.faults
        if f.draw("order_error_before_commit"):
            return Reply(500, text=BACKEND_500)
        if f.draw("reject"):
            raise Refusal(200, "Backoffice rejected override of the order.")
        market_open = True
        if self.market is not None:
            market_open = self.market.clock(self.clock.now())["state"] == "open"
        placed = self.venue.place(order, self.clock.now(), market_open)
        if f.draw("order_error_after_commit"):
            self.lost_replies += 1
            return Reply(500, text=BACKEND_500)
        if f.draw("order_drop_after_commit"):
            self.lost_replies += 1
            return Reply(fault="drop")
        return Reply(body={"order": {"id": placed.id, "status": "ok", "partner_id": "fake"}})

    def _r_cancel(self, _: Any, __: Any, params: dict[str, str]) -> Reply:
        order = self._lookup(params["order_id"])
        if order is None:
            return Reply(401, text=f"Unauthorized Account: {self.account_id}")
        self.venue.cancel(order.id)
        return Reply(body={"order": {"id": order.id, "status": "ok"}})

    # -- control routes (not Tradier's) --------------------------------------------------
    def _r_state(self, _: Any, __: Any, ___: Any) -> Reply:
        return Reply(body=self.stats())

    def _r_advance(self, _: Any, form: dict[str, str], __: Any) -> Reply:
        if "until" in form:
            target = pd.Timestamp(form["until"])
        else:
            target = self.clock.now() + pd.Timedelta(seconds=float(form.get("seconds", "0")))
        now = self.advance_to(target)
        return Reply(body={"now": now.isoformat()})


def request_form(request: httpx.Request) -> dict[str, str]:
    """The form fields of a request body (``application/x-www-form-urlencoded``)."""
    if not request.content:
        return {}
    return dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))


def mock_transport(
    fake: FakeTradier, on_request: Callable[[httpx.Request], None] | None = None
) -> httpx.MockTransport:
    """``httpx.MockTransport`` answering from ``fake`` in process (timeouts and dropped
    connections are raised as the httpx exceptions a real network would give)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if on_request is not None:
            on_request(request)
        reply = fake.handle(
            request.method,
            request.url.path,
            dict(request.url.params),
            request_form(request),
            request.headers,
        )
        if reply.fault == "timeout":
            raise httpx.ReadTimeout("fake Tradier: no reply before the timeout", request=request)
        if reply.fault == "drop":
            raise httpx.RemoteProtocolError("fake Tradier: connection dropped", request=request)
        if reply.text is not None:
            return httpx.Response(reply.status, text=reply.text, headers=reply.headers)
        return httpx.Response(reply.status, json=reply.body, headers=reply.headers)

    return httpx.MockTransport(handler)
