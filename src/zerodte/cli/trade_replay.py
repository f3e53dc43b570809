"""``zerodte trade --replay``: the live loop against the fake Tradier over replayed days.

The fake serves the chosen market data (the same the backtest of those days reads) on a
loopback uvicorn server, or ``--connect URL`` names one already running (``zerodte
fake-tradier serve``, how the crash test restarts bots against one venue). At full
acceleration the bot drives the venue's clock by waiting on it; ``--speed N`` runs the
venue N times faster than the wall instead. Sessions are traded one after the other, each
its own run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd

from zerodte.broker.journal import Journal
from zerodte.broker.tradier.fake.control import VenueTime
from zerodte.broker.tradier.fake.faults import FaultPlan
from zerodte.broker.tradier.fake.replay import FAKE_ACCOUNT, FAKE_TOKEN, replay_fake
from zerodte.broker.tradier.ratelimit import PRODUCTION_LIMITS
from zerodte.cli.trade_compose import (
    TradeOptions,
    Venue,
    _journal,
    make_parts_factory,
    session_info,
)
from zerodte.config import Settings
from zerodte.engine.live import LiveResult, LiveStatus, run_live
from zerodte.market.calendar import TradingCalendar
from zerodte.market.loading import MarketData, load_market

logger = logging.getLogger(__name__)


def replay_market(settings: Settings, options: TradeOptions) -> MarketData:
    """The days to replay (the market options, as ``zerodte backtest`` chooses them)."""
    return load_market(
        settings,
        days=options.days,
        start=options.start,
        end=options.end,
        seed=options.seed,
        edge=options.edge,
    )


def replay_sessions(
    settings: Settings,
    options: TradeOptions,
    *,
    status: Callable[[LiveStatus], None] | None = None,
    wall: Callable[[], float],
) -> list[LiveResult]:
    """Replay every session of the data; one live run per session."""
    data = options.market if options.market is not None else replay_market(settings, options)
    server = None
    if options.connect is None:
        from zerodte.broker.tradier.fake.app import LoopbackServer, create_app

        faults = FaultPlan.parse(options.faults, options.fault_seed) if options.faults else None
        fake = replay_fake(data.frame, settings, faults=faults, speed=options.speed, wall=wall)
        server = LoopbackServer(create_app(fake)).start()
        root = server.url
    else:
        root = options.connect.rstrip("/")
    control = httpx.Client(
        base_url=root,
        headers={"Authorization": f"Bearer {FAKE_TOKEN}", "Accept": "application/json"},
        timeout=settings.live.http_timeout_s,
        verify=False,  # plain HTTP on loopback
        transport=options.transport,
    )
    try:
        clock = VenueTime(control, speed=options.speed, wall=wall)
        venue = Venue(
            base_url=f"{root}/v1",
            token=FAKE_TOKEN,
            account_id=FAKE_ACCOUNT,
            limits=dict(PRODUCTION_LIMITS),
            clock=clock,
            sleep=clock.sleep,
            epoch=clock.epoch,
            stats=clock.stats,
            transport=options.transport,
        )
        journal = _journal(options, settings, "replay")
        results = []
        calendar = TradingCalendar()
        for day in dict.fromkeys(data.frame["session"]):
            open_ = calendar.session_open(day)
            wait = (open_ - pd.Timedelta(minutes=1) - clock.now()).total_seconds()
            clock.sleep(wait)  # overnight: the venue moves to the next session
            results.append(_replay_day(settings, options, venue, journal, data, day, status))
        return results
    finally:
        control.close()
        if server is not None:
            server.stop()


def _replay_day(  # noqa: PLR0917 (the parts of one replayed session)
    settings: Settings,
    options: TradeOptions,
    venue: Venue,
    journal: Journal,
    data: MarketData,
    day: Any,
    status: Callable[[LiveStatus], None] | None,
) -> LiveResult:
    info = session_info(
        settings,
        key=f"replay:{options.broker}:{data.data_hash}:{day}",
        mode=f"replay:{options.broker}",
        data_hash=data.data_hash,
        data_source=f"fake-tradier:{data.source}",
    )
    make = make_parts_factory(settings, options, venue, journal, run_id=info.run_id, status=status)
    stats = venue.stats

    def extra() -> dict[str, Any]:
        return {"faults": None if stats is None else stats()}

    return run_live(
        settings,
        make,
        journal=journal,
        info=info,
        feature_set=info.feature_set,
        run_dir=options.run_dir,
        record=options.record,
        extra=extra,
    )
