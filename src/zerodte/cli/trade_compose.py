"""Composition of ``zerodte trade``: the only place where paper, sandbox, live and replay
are told apart. Nothing here prints (``trade_cmds`` does).

=============================  ===================================  ==========================
options                        broker                               market data, clock
=============================  ===================================  ==========================
(default) ``--paper``          PaperBroker (the backtest's fills)   Tradier sandbox, wall
``--broker tradier-sandbox``   TradierBroker, sandbox account       Tradier sandbox, wall
``--live --broker tradier``    TradierBroker, production account    Tradier production, wall
``--replay``                   TradierBroker on the fake Tradier    the fake, its clock
=============================  ===================================  ==========================

Live needs three deliberate switches: ``--live``, the go-live flag file
(``live.go_live_flag``) and the live token in the environment
(``ZERODTE_BROKER__TRADIER_LIVE_TOKEN``); anything less is refused with what is missing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from zerodte.broker.fills import build_execution_model
from zerodte.broker.journal import Journal, JournalingBroker, MemoryJournal
from zerodte.broker.paper import PaperBroker
from zerodte.broker.shadow import ShadowedBroker
from zerodte.broker.tags import TagFactory
from zerodte.broker.tradier.broker import TradierBroker
from zerodte.broker.tradier.client import PRODUCTION_URL, TradierClient, http_client
from zerodte.broker.tradier.ratelimit import PRODUCTION_LIMITS, SANDBOX_LIMITS, RateLimiter
from zerodte.broker.tradier.session import RetryPolicy
from zerodte.config import Settings, with_overrides
from zerodte.config.manifest import settings_hash
from zerodte.engine.clock import Clock, WallClock
from zerodte.engine.finish import RunInfo
from zerodte.engine.health import (
    CalibrationDrift,
    FeatureDrift,
    FeatureReference,
    HealthCheck,
    HealthMonitor,
    default_checks,
)
from zerodte.engine.live import LiveParts, LiveResult, LiveStatus, run_live
from zerodte.engine.live_feed import LiveFeed
from zerodte.engine.rundir import code_version, make_run_id
from zerodte.errors import ConfigError
from zerodte.market.loading import MarketData
from zerodte.policy.base import EntryController
from zerodte.policy.controllers import build_controller

logger = logging.getLogger(__name__)

BROKERS = ("paper", "tradier-sandbox", "tradier", "fake-tradier")


@dataclass(frozen=True)
class TradeOptions:
    """What ``zerodte trade`` was asked for."""

    live: bool = False
    broker: str = "paper"
    controller: str | None = None
    model_dir: Path | None = None
    replay: bool = False
    days: int | None = None
    start: date | None = None
    end: date | None = None
    seed: int | None = None
    edge: float | None = None
    speed: float | None = None
    connect: str | None = None
    journal: Path | None = None
    faults: str = ""
    fault_seed: int = 0
    run_dir: Path | None = None
    record: bool = True
    on_request: Callable[[httpx.Request], None] | None = field(default=None, compare=False)
    on_response: Callable[[httpx.Response], None] | None = field(default=None, compare=False)
    """httpx event hooks of the bot's Tradier client (latency measurements)."""
    market: MarketData | None = field(default=None, compare=False)
    """Market data already loaded for the replay (else chosen by the market options)."""
    transport: httpx.BaseTransport | None = field(default=None, compare=False)
    """How to reach ``connect`` in process (``fake.server.mock_transport``), for tests."""


def live_switch_problems(options: TradeOptions, settings: Settings) -> list[str]:
    """Which of the three live switches are missing (empty: all three are set)."""
    problems = []
    if not options.live:
        problems.append("the --live flag was not given")
    flag = settings.live.go_live_flag
    if not flag.exists():
        problems.append(f"the go-live flag file {flag} does not exist (create it deliberately)")
    if settings.broker.tradier_live_token is None:
        problems.append("no live token in the environment (set ZERODTE_BROKER__TRADIER_LIVE_TOKEN)")
    return problems


def choose_mode(options: TradeOptions, settings: Settings) -> str:
    """``paper``, ``sandbox``, ``live`` or ``replay``; refuses what is not deliberate."""
    if options.broker not in BROKERS:
        raise ConfigError(f"--broker {options.broker!r}: use one of {', '.join(BROKERS)}")
    if options.live or options.broker == "tradier":
        problems = live_switch_problems(options, settings)
        if options.replay:
            problems.append("--replay never trades live; drop --live")
        if options.broker != "tradier":
            problems.append(f"live trading goes through --broker tradier, not {options.broker}")
        if settings.broker.tradier_live_account_id is None:
            problems.append("no live account (set broker.tradier_live_account_id)")
        if problems:
            raise ConfigError("live trading refused: " + "; ".join(problems))
        return "live"
    if options.replay or options.broker == "fake-tradier":
        if not options.replay:
            raise ConfigError("--broker fake-tradier trades a replay; add --replay")
        return "replay"
    if options.broker == "tradier-sandbox":
        return "sandbox"
    return "paper"


def run_settings(settings: Settings, options: TradeOptions, mode: str) -> Settings:
    """The run's settings: controller and model directory from the options; a replay waits
    for each bar exactly to its close (the fake publishes it there). Validated like a
    settings file (:func:`zerodte.config.with_overrides`), naming the option."""
    if options.controller is not None:
        settings = with_overrides(
            settings, {"entry.controller": options.controller}, "--controller"
        )
    if options.model_dir is not None:
        settings = with_overrides(settings, {"qscorer.model_dir": options.model_dir}, "--model-dir")
    if mode == "replay":
        # The fake publishes a bar at its close; its clock is not the wall's, so the wall
        # latency of a loaded machine says nothing about the venue.
        replay = {"live.bar_settle_s": 0.0, "live.max_quote_age_s": 90.0}
        replay["live.max_broker_latency_s"] = 60.0
        settings = with_overrides(settings, replay, "--replay")
    return settings


@dataclass
class Venue:
    """Where the bot connects: base URL, token, account, limits, clock and waiting."""

    base_url: str
    token: str
    account_id: str
    limits: dict[str, int]
    clock: Clock
    sleep: Callable[[float], None]
    epoch: Callable[[], float]
    stats: Callable[[], dict[str, Any]] | None = None
    transport: httpx.BaseTransport | None = None


def feature_set_of(controller: EntryController, settings: Settings) -> str:
    """The features the controller reads (the Q-scorer's own set, else the default)."""
    return settings.qscorer.feature_set if controller.name == "q_scorer" else "default"


def live_run_id(settings: Settings, controller: str, key: str) -> str:
    """The run id of one live session: the same after a restart of the same session."""
    return make_run_id(settings_hash(settings), key, controller, settings.engine.seed)


def session_info(
    settings: Settings, *, key: str, mode: str, data_hash: str, data_source: str
) -> RunInfo:
    """The manifest identity of one live (or replayed) session; ``key`` names the session."""
    controller = settings.entry.controller
    return RunInfo(
        run_id=live_run_id(settings, controller, key),
        controller=controller,
        mode=mode,
        data_hash=data_hash,
        data_source=data_source,
        code_version=code_version(),
        created_at=WallClock().now(),
        feature_set=settings.qscorer.feature_set if controller == "q_scorer" else "default",
        title=mode.split(":", 1)[0],
    )


class _ModelHooks:
    """The Q-scorer's hot reload, built when the controller is the Q-scorer."""

    def __init__(self, controller: EntryController, settings: Settings, clock: Clock) -> None:
        self.watcher = None
        self.reference: FeatureReference | None = None
        if controller.name != "q_scorer":
            return
        from zerodte.qscorer.controller import QScorerController
        from zerodte.qscorer.watcher import ModelWatcher

        assert isinstance(controller, QScorerController)
        controller.model_dir = None  # the watcher reloads, not decide()
        model = controller.loaded.model
        self.watcher = ModelWatcher(
            settings.qscorer.model_dir, controller, settings.qscorer.reload_sec, clock.now
        )
        # Intraday-shaped features (time of day, the opening range) are not stationary
        # within a session: a part of one day is not comparable to whole training days.
        from zerodte.features.groups import GROUPS

        skip = {*GROUPS["time"].columns, *GROUPS["session"].columns}
        kept = [
            (c, m, s)
            for c, m, s in zip(model.feature_columns, model.x_mean, model.x_std, strict=True)
            if c not in skip
        ]
        self.reference = FeatureReference.from_moments(
            [c for c, _, _ in kept], [m for _, m, _ in kept], [s for _, _, s in kept]
        )

    def version(self) -> str | None:
        """The Q-scorer model in use (its ``.pt`` hash, 12 hex), None for other controllers."""
        if self.watcher is None:
            return None
        return self.watcher.controller.loaded.sha256[:12]


def make_parts_factory(
    settings: Settings,
    options: TradeOptions,
    venue: Venue,
    journal: Journal,
    *,
    run_id: str,
    status: Callable[[LiveStatus], None] | None,
) -> Callable[[], LiveParts]:
    """Builds the parts of one attempt of the run (afresh after each recovery)."""
    execution = build_execution_model(settings.costs, tick=settings.options.tick)
    tags = TagFactory(settings.broker.client_tag_prefix, run_id)
    hooks: dict[str, list[Any]] = {}
    if options.on_request is not None:
        hooks["request"] = [options.on_request]
    if options.on_response is not None:
        hooks["response"] = [options.on_response]

    def make() -> LiveParts:
        http = http_client(
            venue.base_url,
            venue.token,
            timeout=settings.live.http_timeout_s,
            event_hooks=hooks,
            transport=venue.transport,
        )
        limiter = RateLimiter(venue.limits, clock=venue.epoch, sleep=venue.sleep)
        client = TradierClient(
            http, account_id=venue.account_id, limiter=limiter, retry=RetryPolicy(sleep=venue.sleep)
        )
        feed = LiveFeed(
            client.market,
            clock=venue.clock,
            sleep=venue.sleep,
            options=settings.options,
            live=settings.live,
        )
        inner: PaperBroker | TradierBroker
        if options.broker == "paper":
            inner = PaperBroker.from_settings(settings)
        else:
            inner = TradierBroker(
                client, execution, preview=settings.live.preview_orders, sleep=venue.sleep
            )
        broker = JournalingBroker(inner, journal, run_id, tag_prefix=f"{tags.prefix}-{tags.key}-")
        shadow = None
        if isinstance(inner, TradierBroker):
            shadow = ShadowedBroker(broker, PaperBroker.from_settings(settings))
        controller = build_controller(settings)
        model = _ModelHooks(controller, settings, venue.clock)
        checks: list[HealthCheck] = default_checks(
            settings.live,
            has_quotes=feed.has_quotes,
            quote_age=lambda: feed.health.last_quote_age_s,
            probe=client.market.clock,
            venue_time=lambda: client.market.clock().time,
            clock=venue.clock,
        )
        if model.reference is not None:
            live = settings.live
            checks.append(
                FeatureDrift(
                    model.reference, live.psi_max, live.psi_min_rows, max_smd=live.drift_smd_max
                )
            )
        checks.append(
            CalibrationDrift(settings.live.calibration_window, settings.live.calibration_max_gap)
        )

        def close() -> None:
            feed.close()
            http.close()

        return LiveParts(
            feed=feed,
            broker=broker,
            controller=controller,
            shadow=shadow,
            health=HealthMonitor(checks),
            before_cycle=[model.watcher.check] if model.watcher is not None else [],
            status=status,
            close=close,
            model_version=model.version,
        )

    return make


def _journal(options: TradeOptions, settings: Settings, mode: str) -> Journal:
    """A durable SQL journal; a replay without ``--journal`` journals in memory."""
    if mode == "replay" and options.journal is None:
        return MemoryJournal()
    from zerodte.store.journal import SqlJournal, journal_engine

    path = options.journal or settings.live.journal_path
    return SqlJournal(journal_engine(settings.store, path=path))


def run_trade(
    settings: Settings,
    options: TradeOptions,
    *,
    status: Callable[[LiveStatus], None] | None = None,
    wall: Callable[[], float] = time.monotonic,
) -> list[LiveResult]:
    """Trade (or replay) per the options; one result per session."""
    mode = choose_mode(options, settings)
    settings = run_settings(settings, options, mode)
    if mode == "replay":
        from zerodte.cli.trade_replay import replay_sessions

        return replay_sessions(settings, options, status=status, wall=wall)
    venue = _real_venue(settings, mode)
    key = f"{mode}:{venue.account_id}:{venue.clock.now().date()}"
    info = session_info(
        settings,
        key=key,
        mode=f"{mode}:{options.broker}",
        data_hash=key,
        data_source="tradier" if mode == "live" else "tradier-sandbox",
    )
    journal = _journal(options, settings, mode)
    make = make_parts_factory(settings, options, venue, journal, run_id=info.run_id, status=status)
    result = run_live(
        settings,
        make,
        journal=journal,
        info=info,
        feature_set=info.feature_set,
        run_dir=options.run_dir,
        record=options.record,
    )
    return [result]


def _real_venue(settings: Settings, mode: str) -> Venue:
    """Tradier itself: the sandbox (paper and sandbox modes) or production (live)."""
    b = settings.broker
    if mode == "live":
        assert b.tradier_live_token is not None and b.tradier_live_account_id is not None
        token, account, url, limits = (
            b.tradier_live_token.get_secret_value(),
            b.tradier_live_account_id,
            b.tradier_live_url or PRODUCTION_URL,
            PRODUCTION_LIMITS,
        )
    else:
        if b.tradier_token is None or b.tradier_account_id is None:
            raise ConfigError(
                f"{mode} trading reads Tradier sandbox market data: set TRADIER_TOKEN and "
                "TRADIER_ACCOUNT_ID (broker.tradier_token, broker.tradier_account_id), or "
                "replay a day with --replay"
            )
        token, account, url, limits = (
            b.tradier_token.get_secret_value(),
            b.tradier_account_id,
            b.tradier_base_url,
            SANDBOX_LIMITS,
        )
    clock = WallClock()
    return Venue(
        base_url=url,
        token=token,
        account_id=account,
        limits=dict(limits),
        clock=clock,
        sleep=time.sleep,
        epoch=time.time,
    )


@contextmanager
def quiet_http_logs() -> Iterator[None]:
    """httpx logs every request at INFO; a live run makes thousands."""
    log = logging.getLogger("httpx")
    level = log.level
    log.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        log.setLevel(level)
