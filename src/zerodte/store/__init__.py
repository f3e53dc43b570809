"""SQL store of runs and trades: SQLite (WAL) by default, PostgreSQL by URL, Alembic migrations."""

from zerodte.store.engine import make_engine, migrate
from zerodte.store.runs import RunStore

__all__ = ["RunStore", "make_engine", "migrate"]
