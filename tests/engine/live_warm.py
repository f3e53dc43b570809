"""Imported once by the crash test's forkserver: zerodte's modules and its code-level caches
(the NYSE calendar, the migration scripts) are loaded before any bot process is forked, as
on a machine where a restarted bot does not wait for its imports. No bot state is here:
every bot process rebuilds its state from the journal and the venue."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import h11  # noqa: F401 (httpx imports these at a process's first request)
import httpcore  # noqa: F401
from tests.engine import live_helpers

from zerodte.cli import trade_replay  # noqa: F401
from zerodte.config.settings import StoreSettings
from zerodte.market.calendar import TradingCalendar
from zerodte.policy.controllers import build_controller
from zerodte.store.journal import SqlJournal, journal_engine

TradingCalendar().session_close(date(2024, 1, 2))
build_controller(live_helpers.replay_settings(Path(tempfile.gettempdir())))
with tempfile.TemporaryDirectory() as _d:
    SqlJournal(journal_engine(StoreSettings(), path=Path(_d) / "warm.db")).engine.dispose()
