"""Runs the broker contract suite against every ``broker_factory`` parameter."""

from __future__ import annotations

from .contract import BrokerContract


class TestBrokerContract(BrokerContract):
    """Every broker implementation (parametrised by ``broker_factory``)."""
