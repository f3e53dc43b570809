"""Fixtures of the broker tests: the parametrised ``broker_factory``.

``broker_factory`` yields a callable building a :class:`BrokerHarness` for each broker
implementation; the contract suite (``contract.py``) runs against every parameter:

* ``paper``: the paper broker;
* ``tradier``: the Tradier broker talking HTTP (through ``httpx.MockTransport``) to the fake
  Tradier, whose venue is driven by the same scripted snapshots before each poll.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pandas as pd
import pytest

from zerodte.broker.base import Broker, BrokerEvent
from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import PaperBroker
from zerodte.broker.tradier.broker import TradierBroker
from zerodte.broker.tradier.client import TradierClient, http_client
from zerodte.broker.tradier.fake.clock import VenueClock
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.broker.tradier.fake.server import FakeTradier, mock_transport
from zerodte.broker.tradier.fake.venue import FakeVenue
from zerodte.broker.tradier.session import RetryPolicy
from zerodte.config.settings import CostsSettings
from zerodte.types import Snapshot

from .scripted_market import NO_FRICTION, SESSION, TZ, bounds

TOKEN = "contract-suite-token"
ACCOUNT = "VA00000001"


@dataclass
class BrokerHarness:
    """A broker under test plus how to advance its market."""

    broker: Broker
    initial_cash: float
    fee_per_contract: float
    events: list[BrokerEvent] = field(default_factory=list)
    venue: FakeTradier | None = None
    reopen: Callable[[], Broker] | None = None
    """A new broker object on the same account (a restarted process)."""

    def poll(self, snap: Snapshot) -> list[BrokerEvent]:
        """Advance the market (and any fake venue) to ``snap`` and poll the broker."""
        if self.venue is not None:
            self.venue.push(snap)
        events = self.broker.poll(snap)
        self.events.extend(events)
        return events


BrokerFactory = Callable[..., BrokerHarness]


def _paper(initial_cash: float = 10_000.0, costs: CostsSettings = NO_FRICTION) -> BrokerHarness:
    def make() -> PaperBroker:
        return PaperBroker(initial_cash, build_execution_model(costs), session_bounds=bounds)

    return BrokerHarness(make(), initial_cash, costs.fee_per_contract, reopen=make)


def fake_tradier(
    initial_cash: float = 10_000.0,
    costs: CostsSettings = NO_FRICTION,
    faults: FaultPlan | None = None,
) -> tuple[TradierBroker, FakeTradier]:
    """A Tradier broker and the fake it talks to in process (scripted snapshots)."""
    execution = build_execution_model(costs)
    venue = FakeVenue(initial_cash, execution, session_bounds=bounds, faults=faults)
    venue.quote_at = lambda c: None if venue.snapshot is None else venue.snapshot.quotes.quote(c)
    fake = FakeTradier(
        venue, VenueClock(pd.Timestamp(f"{SESSION} 09:00", tz=TZ)), token=TOKEN, faults=faults
    )
    http = http_client("http://fake.tradier/v1", TOKEN, transport=mock_transport(fake))
    client = TradierClient(http, account_id=ACCOUNT, retry=RetryPolicy(sleep=lambda s: None))
    broker = TradierBroker(client, execution, session_bounds=bounds, sleep=lambda s: None)
    return broker, fake


def _tradier(initial_cash: float = 10_000.0, costs: CostsSettings = NO_FRICTION) -> BrokerHarness:
    broker, fake = fake_tradier(initial_cash, costs)

    def reopen() -> TradierBroker:
        return TradierBroker(
            broker.client, broker.execution, session_bounds=bounds, sleep=lambda s: None
        )

    return BrokerHarness(broker, initial_cash, costs.fee_per_contract, venue=fake, reopen=reopen)


@pytest.fixture(params=["paper", "tradier"])
def broker_factory(request: pytest.FixtureRequest) -> Iterator[BrokerFactory]:
    """Builds a fresh harness of the parametrised broker implementation."""
    factories: dict[str, BrokerFactory] = {"paper": _paper, "tradier": _tradier}
    yield factories[request.param]
