"""1,000 injected faults survived by the live loop, within the venue's rate limits.

The replay runs in process (``httpx.MockTransport`` to the fake): timeouts and dropped
connections are raised as httpx would raise them, with no waiting, so a thousand faults
take seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zerodte.broker.tradier.fake.faults import FAULT_KINDS, FaultPlan
from zerodte.broker.tradier.fake.replay import replay_fake
from zerodte.broker.tradier.fake.server import mock_transport
from zerodte.cli.trade_compose import TradeOptions, run_trade
from zerodte.market.loading import load_market

from .live_helpers import replay_settings

pytestmark = pytest.mark.slow
FAULTS = 1000
RATE = 0.045
ORDER_RATE = 0.3  # order faults get a chance per order only: a few dozen a day
ORDER_KINDS = (
    "order_error_before_commit",
    "order_error_after_commit",
    "order_drop_after_commit",
    "reject",
    "partial_fill",
    "delayed_fill",
    "avg_price_race",
    "envelope",
)


def test_a_thousand_faults_survived_within_the_rate_limits(tmp_path: Path) -> None:
    base = replay_settings(tmp_path)
    # Many orders of two contracts, so that order faults get their chances and fills can
    # come in parts.
    entry = base.entry.model_copy(update={"contracts": 2, "momentum_threshold_pct": 0.05})
    gates = base.gates.model_copy(update={"max_trades_per_day": 60, "cooldown_minutes": 0.0})
    # At these rates (hundreds of times a real venue's) an order's POST and its one resend
    # both fail now and then: each such order makes the bot reconcile in process.
    live = base.live.model_copy(update={"restart_limit": 200})
    settings = base.model_copy(update={"entry": entry, "gates": gates, "live": live})
    market = load_market(settings, days=2, seed=3)
    rates = {k: ORDER_RATE if k in ORDER_KINDS else RATE for k in FAULT_KINDS}
    plan = FaultPlan(rates, seed=5)
    fake = replay_fake(market.frame, settings, faults=plan)
    options = TradeOptions(
        replay=True,
        broker="fake-tradier",
        connect="http://fake.tradier",
        transport=mock_transport(fake),
        market=market,
        record=False,
    )
    results = run_trade(settings, options)  # an unhandled exception fails the test here
    stats = fake.stats()
    assert stats["faults_total"] >= FAULTS, stats["faults"]
    assert set(stats["faults"]) == set(FAULT_KINDS), f"not every kind: {stats['faults']}"
    assert stats["over_limit"] == {}, "the client exceeded a rate limit"
    assert stats["duplicate_tags"] == 0
    for result in results:
        s = result.summary
        assert s["cycles"] > 0 and s["orders"]["unresolved"] == 0
        assert all(r["problems"] == 0 for r in s["reconciliations"])
    assert sum(r.summary["trades"] for r in results) > 0
    restarts = sum(r.restarts for r in results)
    print(f"faults {stats['faults_total']} {stats['faults']}, in-process recoveries {restarts}")
