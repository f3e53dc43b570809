"""Fixtures of the broker tests: the parametrised ``broker_factory``.

``broker_factory`` yields a callable building a :class:`BrokerHarness` for each broker
implementation; the contract suite (``contract.py``) runs against every parameter. A live
broker joins by adding a parameter whose harness drives a fake venue (an httpx fake
transport) from the same scripted snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from zerodte.broker.base import Broker, BrokerEvent
from zerodte.broker.fills import build_execution_model
from zerodte.broker.paper import PaperBroker
from zerodte.config.settings import CostsSettings
from zerodte.types import Snapshot

from .scripted_market import NO_FRICTION, bounds


@dataclass
class BrokerHarness:
    """A broker under test plus how to advance its market."""

    broker: Broker
    initial_cash: float
    fee_per_contract: float
    events: list[BrokerEvent] = field(default_factory=list)

    def poll(self, snap: Snapshot) -> list[BrokerEvent]:
        """Advance the market (and any fake venue) to ``snap`` and poll the broker."""
        events = self.broker.poll(snap)
        self.events.extend(events)
        return events


BrokerFactory = Callable[..., BrokerHarness]


def _paper(initial_cash: float = 10_000.0, costs: CostsSettings = NO_FRICTION) -> BrokerHarness:
    broker = PaperBroker(initial_cash, build_execution_model(costs), session_bounds=bounds)
    return BrokerHarness(broker, initial_cash, costs.fee_per_contract)


@pytest.fixture(params=["paper"])
def broker_factory(request: pytest.FixtureRequest) -> Iterator[BrokerFactory]:
    """Builds a fresh harness of the parametrised broker implementation."""
    factories: dict[str, BrokerFactory] = {"paper": _paper}
    yield factories[request.param]
