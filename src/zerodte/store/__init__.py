"""SQL store of runs and trades: SQLite (WAL) by default, PostgreSQL by URL, Alembic migrations.

The names below are imported on first use: :mod:`zerodte.store.sqlite_rows` records a run
in a current SQLite store without importing SQLAlchemy (about 0.1 s of a backtest), and
importing it must not import the rest of the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zerodte.store.engine import make_engine, migrate
    from zerodte.store.runs import RunStore

__all__ = ["RunStore", "make_engine", "migrate"]


def __getattr__(name: str) -> Any:
    if name in ("make_engine", "migrate"):
        from zerodte.store import engine

        return getattr(engine, name)
    if name == "RunStore":
        from zerodte.store.runs import RunStore

        return RunStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
