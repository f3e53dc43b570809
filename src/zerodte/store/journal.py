"""``SqlJournal``: the order journal in SQL (SQLite with fsync, or the PostgreSQL store).

Implements :class:`zerodte.broker.journal.Journal`. Every call is one transaction that is
durable when it returns: on SQLite the journal's connections run in WAL mode with
``synchronous=FULL`` (each commit is fsynced, so a ``kill -9`` right after a write loses
nothing); PostgreSQL commits are durable by default. Tables ``journal_*`` (revision 0002).

::

    journal = SqlJournal(journal_engine(settings.store, path=Path("runs/journal.db")))
    broker = JournalingBroker(inner, journal, run_id)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event

from zerodte.broker.journal import (
    Checkpoint,
    JournalEvent,
    JournalOrder,
    decode_order,
    encode_order,
)
from zerodte.config.settings import StoreSettings
from zerodte.store.engine import make_engine, migrate
from zerodte.store.schema import (
    journal_checkpoints,
    journal_cycles,
    journal_events,
    journal_meta,
    journal_orders,
)

logger = logging.getLogger(__name__)


def _full_sync(dbapi_conn: Any, _record: Any) -> None:
    """Every commit fsynced: a journal write must survive the process being killed."""
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def journal_engine(settings: StoreSettings, path: Path | None = None) -> sa.Engine:
    """The journal's database: the PostgreSQL store when ``settings.url`` is set, else a
    SQLite file at ``path`` (default ``settings.path``) in WAL mode with full fsync."""
    if settings.url:
        return make_engine(settings)
    sqlite = StoreSettings(path=path or settings.path, echo=settings.echo)
    engine = make_engine(sqlite)
    event.listen(engine, "connect", _full_sync)
    return engine


def _upsert(conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: list[str]) -> None:
    """Insert ``values`` or update the row with the same ``keys`` (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(**values)
        update = {k: stmt.excluded[k] for k in values if k not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update))
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    lite = sqlite_insert(table).values(**values)
    update = {k: lite.excluded[k] for k in values if k not in keys}
    conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=update))


class SqlJournal:
    """A :class:`~zerodte.broker.journal.Journal` in the store's database.

    Parameters
    ----------
    engine
        :func:`journal_engine` (migrated to the head revision here).
    """

    def __init__(self, engine: sa.Engine, migrate_schema: bool = True) -> None:
        self.engine = engine
        if migrate_schema:
            migrate(engine)

    def write_order(self, run_id: str, order: JournalOrder) -> None:
        """Insert or replace the order with ``order.tag``."""
        values = {
            "run_id": run_id,
            "tag": order.tag,
            "state": order.state.value,
            "data": encode_order(order),
            "updated_at": pd.Timestamp.now(tz="UTC"),
        }
        with self.engine.begin() as conn:
            _upsert(conn, journal_orders, values, ["run_id", "tag"])

    def orders(self, run_id: str) -> list[JournalOrder]:
        """Every order of the run, in the order first written."""
        t = journal_orders
        query = sa.select(t.c.tag, t.c.data).where(t.c.run_id == run_id).order_by(t.c.id)
        with self.engine.connect() as conn:
            return [decode_order(tag, data) for tag, data in conn.execute(query)]

    def append_event(self, run_id: str, tag: str, kind: str, data: dict[str, Any]) -> int:
        """Append an event; returns its sequence number."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(journal_events).values(run_id=run_id, tag=tag, kind=kind, data=data)
            )
            key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    def events(self, run_id: str, after: int = 0) -> list[JournalEvent]:
        """Events with ``seq > after``, in order."""
        t = journal_events
        query = (
            sa.select(t.c.seq, t.c.tag, t.c.kind, t.c.data)
            .where(t.c.run_id == run_id, t.c.seq > after)
            .order_by(t.c.seq)
        )
        with self.engine.connect() as conn:
            return [
                JournalEvent(int(s), tag, kind, data) for s, tag, kind, data in conn.execute(query)
            ]

    def set_meta(self, run_id: str, key: str, value: Any) -> None:
        """Store one JSON value about the run."""
        with self.engine.begin() as conn:
            _upsert(
                conn,
                journal_meta,
                {"run_id": run_id, "key": key, "value": value},
                ["run_id", "key"],
            )

    def meta(self, run_id: str) -> dict[str, Any]:
        """Everything stored with :meth:`set_meta`."""
        t = journal_meta
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.key, t.c.value).where(t.c.run_id == run_id))
            return {k: v for k, v in rows}

    def save_cycle(
        self,
        run_id: str,
        *,
        cycle: int,
        bar_time: pd.Timestamp,
        events_seen: int,
        state: dict[str, Any],
        row: dict[str, Any],
    ) -> None:
        """Store the cycle row and the checkpoint after it, in one transaction."""
        with self.engine.begin() as conn:
            _upsert(
                conn,
                journal_cycles,
                {"run_id": run_id, "cycle": cycle, "row": row},
                ["run_id", "cycle"],
            )
            _upsert(
                conn,
                journal_checkpoints,
                {
                    "run_id": run_id,
                    "cycle": cycle,
                    "bar_time": bar_time,
                    "events_seen": events_seen,
                    "state": state,
                },
                ["run_id"],
            )

    def checkpoint(self, run_id: str) -> Checkpoint | None:
        """The latest checkpoint with every saved cycle row, or ``None``."""
        cp, cy = journal_checkpoints, journal_cycles
        with self.engine.connect() as conn:
            head = conn.execute(sa.select(cp).where(cp.c.run_id == run_id)).mappings().first()
            if head is None:
                return None
            rows = conn.execute(
                sa.select(cy.c.row)
                .where(cy.c.run_id == run_id, cy.c.cycle <= head["cycle"])
                .order_by(cy.c.cycle)
            ).scalars()
            return Checkpoint(
                cycle=int(head["cycle"]),
                bar_time=pd.Timestamp(head["bar_time"]).tz_convert("America/New_York"),
                events_seen=int(head["events_seen"]),
                state=dict(head["state"]),
                rows=[dict(r) for r in rows],
            )
