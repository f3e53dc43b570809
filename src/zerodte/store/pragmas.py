"""The settings every connection to a SQLite store gets (read without SQLAlchemy).

WAL lets dashboards read while a backtest writes; SQLite leaves foreign keys off unless
asked on every connection; a busy timeout makes concurrent writers wait, not fail. The
busy timeout comes first: switching a new file to WAL needs a lock that another process
opening the same database at the same moment may hold. Used by
:func:`zerodte.store.engine.make_engine` and :mod:`zerodte.store.sqlite_rows`.
"""

from __future__ import annotations

SQLITE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA busy_timeout=10000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
)
