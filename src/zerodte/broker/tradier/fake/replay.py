"""A fake Tradier replaying a market frame: what ``zerodte trade --replay`` trades against.

The venue fills with the backtest's friction (``costs``, ``options.tick``) and serves the
backtest's modelled quotes, so a replayed live day can be compared with the backtest of
the same day; its clock starts a minute before the first session's open.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from zerodte.broker.fills import build_execution_model
from zerodte.broker.tradier.fake.clock import VenueClock
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.broker.tradier.fake.market import FrameMarket
from zerodte.broker.tradier.fake.server import FakeTradier
from zerodte.broker.tradier.fake.venue import FakeVenue
from zerodte.broker.tradier.ratelimit import PRODUCTION_LIMITS
from zerodte.config.root import Settings

FAKE_ACCOUNT = "VA00000001"
FAKE_TOKEN = "fake-tradier-token"
"""The fake's credentials: not secrets, the fake accepts nothing else."""


def replay_fake(
    frame: pd.DataFrame,
    settings: Settings,
    *,
    faults: FaultPlan | None = None,
    speed: float | None = None,
    wall: Callable[[], float] | None = None,
    token: str = FAKE_TOKEN,
    account_id: str = FAKE_ACCOUNT,
) -> FakeTradier:
    """A fake Tradier over ``frame`` with the settings' friction and cash.

    ``speed=None`` steps the clock (full acceleration); ``speed=N`` runs it ``N`` times
    faster than ``wall``.
    """
    market = FrameMarket(frame, settings.options, chain_width=settings.live.chain_width)
    first = market.sessions[0]
    start = market.calendar.session_open(first) - pd.Timedelta(minutes=1)
    execution = build_execution_model(settings.costs, tick=settings.options.tick)
    venue = FakeVenue(settings.broker.initial_cash, execution, faults=faults)
    return FakeTradier(
        venue,
        VenueClock(start, speed=speed, wall=wall),
        market=market,
        token=token,
        account_id=account_id,
        limits=PRODUCTION_LIMITS,
        faults=faults,
        latency_seconds=settings.costs.latency_seconds,
    )
