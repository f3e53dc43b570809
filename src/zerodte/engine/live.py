"""``run_live``: the same engine on the live feed, crash-safe, ending in the backtest's summary.

One live run is one session of one controller on one account (its run id is the same
after a restart). An attempt of the run:

1. reconciles the order journal with the broker by tag before anything trades
   (:meth:`~zerodte.broker.journal.JournalingBroker.recover`), and rebuilds the broker's
   books from the journal;
2. asks the venue which session is on and warms the feed up on its closed bars;
3. restores the engine, the recorder and the learning gates from the last checkpoint
   (a fresh run starts from the session's first bar; bars that closed while the bot was
   not running are recorded as missed, never traded late);
4. runs :class:`~zerodte.engine.engine.Engine` with the settings' gates, exits, sizing and
   contract selection (:func:`~zerodte.engine.build.build_engine`, as a backtest), the
   streaming decision path, the alignment tracker and, around every cycle, the health
   checks, the hooks of the composition root (the Q-scorer's model watcher) and a
   checkpoint (engine state, the cycle's records and its bar, in one journal
   transaction; the bars become the run's ``session_bars.parquet``).

A ``BrokerError`` (an order outcome that could not be resolved, a venue in an unknown
state) or a ``TransientBrokerError`` that escapes the loop ends the attempt; the next one
reconciles and resumes from the checkpoint, exactly as a restarted process does, at most
``live.restart_limit`` times. The finished run goes through
:func:`~zerodte.engine.finish.finish_run`, so its summary has the backtest's keys, plus
orders, reconciliations, health, feed and alignment figures and the shadow's slippage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from zerodte.broker.base import Broker
from zerodte.broker.journal import Journal, JournalingBroker
from zerodte.broker.reconcile import JournalState
from zerodte.broker.shadow import ShadowedBroker
from zerodte.broker.tradier.broker import TradierBroker
from zerodte.config.root import Settings
from zerodte.engine.alignment import AlignmentTracker
from zerodte.engine.build import build_engine
from zerodte.engine.engine import Engine, EngineRun
from zerodte.engine.finish import FinishedRun, RunInfo, finish_run
from zerodte.engine.health import HealthMonitor
from zerodte.engine.live_feed import LiveFeed
from zerodte.engine.parts import Skip
from zerodte.engine.recorder import Recorder
from zerodte.engine.session_bars import (
    BAR_KEY,
    SESSION_BARS,
    bar_row,
    bars_frame,
    parquet_bytes,
    session_source,
)
from zerodte.engine.sources import StreamDecisions
from zerodte.engine.state import cycle_row, restore_row, trade_from_dict, trade_to_dict
from zerodte.errors import BrokerError, DataError, TransientBrokerError
from zerodte.features import FeatureStream
from zerodte.policy.base import EntryController

logger = logging.getLogger(__name__)


@dataclass
class LiveStatus:
    """One line of the live status: where the run is after a cycle."""

    cycle: int
    bar: str
    equity: float
    cash: float
    open_positions: int
    orders: int
    alignment: str
    vetoes: str


@dataclass
class LiveParts:
    """What one attempt of a live run is made of (built afresh for every attempt)."""

    feed: LiveFeed
    broker: JournalingBroker
    controller: EntryController
    shadow: ShadowedBroker | None = None
    health: HealthMonitor | None = None
    before_cycle: Sequence[Callable[[], object]] = ()
    status: Callable[[LiveStatus], None] | None = None
    close: Callable[[], None] = lambda: None
    model_version: Callable[[], str | None] = lambda: None

    @property
    def engine_broker(self) -> Broker:
        """What the engine trades through (the journaled broker, shadowed or not)."""
        return self.shadow if self.shadow is not None else self.broker


@dataclass
class LiveResult:
    """A finished live run."""

    finished: FinishedRun
    restarts: int
    journal_orders: dict[str, int] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary (the backtest's keys plus the live ones)."""
        return self.finished.summary


class LiveHooks:
    """Around every cycle: missed bars, composition hooks, health, checkpoint, status."""

    def __init__(
        self,
        parts: LiveParts,
        journal: Journal,
        run_id: str,
        recorder: Recorder,
        tracker: AlignmentTracker,
    ) -> None:
        self.parts = parts
        self.journal = journal
        self.run_id = run_id
        self.recorder = recorder
        self.tracker = tracker
        self.engine: Engine | None = None

    def before(self, i: int) -> Skip | None:
        """Missed bars are skipped; then the composition hooks and the health checks."""
        if self.parts.feed.is_missed(i):
            return Skip("cycle", "the bot was not running when this bar closed", gate="missed")
        for hook in self.parts.before_cycle:
            hook()
        return None if self.parts.health is None else self.parts.health.before(i)

    def after(self, i: int) -> None:
        """Fail fast on stale data, checkpoint, report the status."""
        self.tracker.check(i + 1)
        assert self.engine is not None
        rec = self.recorder
        state = {
            "engine": self.engine.state(),
            "trades": [trade_to_dict(t) for t in rec.trades],
            "shadow": [] if self.parts.shadow is None else self.parts.shadow.pairs,
        }
        row = cycle_row(rec, i, rec.veto_pairs.get(i, []))
        # what a monitor shows of the cycle (restore_row reads only the record fields)
        row["status"] = {
            "alignment": self.tracker.state(i)[0].value,
            "health": None if self.parts.health is None else self.parts.health.summary(),
            "controller": self.parts.controller.name,
            "model_version": self.parts.model_version(),
        }
        feed = self.parts.feed
        # the bar the cycle was decided on, kept with its decision (engine/session_bars.py)
        row[BAR_KEY] = bar_row(feed.columns.times[i], feed.row(i))
        self.journal.save_cycle(
            self.run_id,
            cycle=i,
            bar_time=feed.columns.times[i],
            events_seen=self.parts.broker.events_seen,
            state=state,
            row=row,
        )
        if self.parts.status is not None:
            account = self.engine.broker.account()
            self.parts.status(
                LiveStatus(
                    cycle=i,
                    bar=feed.columns.times[i].strftime("%H:%M"),
                    equity=account.equity,
                    cash=account.cash,
                    open_positions=len(self.engine.book.open),
                    orders=len(self.parts.broker.journaled()),
                    alignment=self.tracker.state(i)[0].value,
                    vetoes=rec.vetoes.get(i, ""),
                )
            )

    def observe_trade(self, row: dict[str, Any]) -> None:
        """Closed trades for the model-health checks that learn from them."""
        health = self.parts.health
        if health is None:
            return
        for check in health.checks:
            observe = getattr(check, "observe_trade", None)
            if observe is not None:
                observe(row)


@dataclass
class _Attempt:
    run: EngineRun
    recorder: Recorder
    tracker: AlignmentTracker
    parts: LiveParts


def _attempt(
    settings: Settings, parts: LiveParts, journal: Journal, run_id: str, feature_set: str
) -> _Attempt:
    feed = parts.feed
    session = feed.open_session()
    if session is None:
        raise DataError("the market is closed today (venue clock and calendar); nothing to trade")
    checkpoint = journal.checkpoint(run_id)
    # A venue account's cash is the venue's; a paper account starts at broker.initial_cash.
    venue_cash = isinstance(parts.broker.inner, TradierBroker)
    parts.broker.recover(
        events_seen=0 if checkpoint is None else checkpoint.events_seen,
        initial_cash=None if venue_cash else settings.broker.initial_cash,
    )
    if parts.shadow is not None:
        _restore_shadow(parts, journal, run_id)
    feed.warm_up()
    grid = feed.calendar.session_minutes(session.day)
    recorder = Recorder(grid, [session.day] * len(grid))
    source = StreamDecisions(parts.controller, FeatureStream(feature_set), feed)
    if parts.health is not None:
        parts.health.bind_features(source.features)
    tracker = AlignmentTracker(settings.alignment, feed.columns.data_lag_s)
    hooks = LiveHooks(parts, journal, run_id, recorder, tracker)
    engine = build_engine(
        settings,
        feed=feed,
        broker=parts.engine_broker,
        recorder=recorder,
        controller_name=parts.controller.name,
        run_id=run_id,
        hooks=hooks,
        alignment=tracker,
    )
    hooks.engine = engine
    resume = 0
    if checkpoint is not None:
        times = feed.columns.times
        if checkpoint.bar_time not in times:
            raise DataError(
                f"the checkpoint's bar {checkpoint.bar_time} is not among the venue's bars of "
                f"{session.day}; the venue's history changed, reconcile the run by hand"
            )
        resume = int(np.flatnonzero(times == checkpoint.bar_time)[0]) + 1
        for row in checkpoint.rows:
            restore_row(recorder, row)
        recorder.trades = [trade_from_dict(t) for t in checkpoint.state["trades"]]
        engine.restore(checkpoint.state["engine"], recorder.trades)
        if parts.shadow is not None:
            parts.shadow.pairs = list(checkpoint.state.get("shadow", []))
        logger.info("resuming run %s after bar %s (cycle %d)", run_id, checkpoint.bar_time, resume)
    for j in range(resume):
        source.features(j)  # the feature stream catches up on the bars already traded
    feed.resume = resume
    run = engine.run(source)
    return _Attempt(run, recorder, tracker, parts)


def _restore_shadow(parts: LiveParts, journal: Journal, run_id: str) -> None:
    """The shadow starts from the live fills, so its later fills pair with the live ones."""
    assert parts.shadow is not None
    fills = [
        (e.decode(), e.decode().time.date())  # type: ignore[union-attr]
        for e in journal.events(run_id)
        if e.kind == "fill"
    ]
    cash = journal.meta(run_id).get("initial_cash", 0.0)
    parts.shadow.shadow.restore(float(cash), fills, [])  # type: ignore[arg-type]


def run_live(
    settings: Settings,
    make_parts: Callable[[], LiveParts],
    *,
    journal: Journal,
    info: RunInfo,
    feature_set: str = "default",
    run_dir: Path | None = None,
    write: bool = True,
    record: bool = True,
    extra: Callable[[], dict[str, Any]] | None = None,
) -> LiveResult:
    """Trade one session live (module docstring) and finish it like a backtest.

    Parameters
    ----------
    settings
        Effective settings.
    make_parts
        Builds the feed, journaled broker, controller and hooks of one attempt.
    journal
        The run's order journal and checkpoints.
    info
        Run id, controller, mode and data identity for the manifest.
    feature_set
        Features the controller reads.
    run_dir, write, record
        As :func:`~zerodte.engine.finish.finish_run`.
    extra
        More summary keys at the end (the fake venue's counters in a replay).
    """
    restarts = 0
    while True:
        parts = make_parts()
        try:
            attempt = _attempt(settings, parts, journal, info.run_id, feature_set)
            break
        except (BrokerError, TransientBrokerError) as exc:
            restarts += 1
            if restarts > settings.live.restart_limit:
                raise BrokerError(
                    f"live run {info.run_id} stopped after {restarts - 1} recoveries: {exc}; "
                    "check the broker, then start the bot again (it resumes from its journal)"
                ) from exc
            logger.warning("live run %s: %s; reconciling before trading again", info.run_id, exc)
        finally:
            parts.close()
    return _finish(
        settings,
        attempt,
        journal,
        info,
        restarts=restarts,
        run_dir=run_dir,
        write=write,
        record=record,
        extra=extra,
    )


def _finish(
    settings: Settings,
    attempt: _Attempt,
    journal: Journal,
    info: RunInfo,
    *,
    restarts: int,
    run_dir: Path | None,
    write: bool,
    record: bool,
    extra: Callable[[], dict[str, Any]] | None,
) -> LiveResult:
    parts, recorder, run = attempt.parts, attempt.recorder, attempt.run
    columns = parts.feed.columns
    recorder.times = columns.times
    recorder.sessions = np.asarray(columns.sessions, dtype=object)
    states: dict[str, int] = {}
    for order in journal.orders(info.run_id):
        states[order.state.value] = states.get(order.state.value, 0) + 1
    unresolved = sum(states.get(s.value, 0) for s in (JournalState.INTENT, JournalState.UNKNOWN))
    summary_extra: dict[str, Any] = {
        "alignment": attempt.tracker.summary(run.cycles),
        "orders": {"journaled": sum(states.values()), "by_state": states, "unresolved": unresolved},
        "reconciliations": parts.broker.reconciliations,
        "restarts": restarts,
        "feed": parts.feed.health.summary(),
        "health": None if parts.health is None else parts.health.summary(),
        "shadow": None if parts.shadow is None else parts.shadow.report(),
    }
    if extra is not None:
        summary_extra.update(extra())
    files: dict[str, bytes] = {}
    checkpoint = journal.checkpoint(info.run_id)
    bars = bars_frame([] if checkpoint is None else checkpoint.rows)
    if not bars.empty:
        files[SESSION_BARS] = parquet_bytes(bars)
        info = replace(
            info, data_source=session_source(bars, files[SESSION_BARS], info.data_source)
        )
    finished = finish_run(
        settings,
        run,
        columns,
        info,
        execution=_execution(parts.broker),
        extra_summary=summary_extra,
        extra_files=files,
        run_dir=run_dir,
        write=write,
        record=record,
    )
    return LiveResult(finished, restarts, states)


def _execution(broker: JournalingBroker) -> dict[str, str]:
    execution = getattr(broker.inner, "execution", None)
    describe = getattr(execution, "describe", None)
    return dict(describe()) if describe is not None else {"fills": "venue"}
