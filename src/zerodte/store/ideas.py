"""``SqlIdeaQueue``: ideas for the experiments system, one row per parameter hash.

An idea is a set of dotted settings overrides (``{"exits.stop_loss_pct": 6.0}``) that
someone (a person, an agent) wants tried. The parameters are validated by the caller
against the settings schema before they reach the queue; here they are only stored. Two
submissions of the same parameters are one idea: the row is keyed by :func:`param_hash`,
and a second submission returns the first row unchanged (idempotent). Table ``ideas``
(revision 0005).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from zerodte.store.engine import migrate
from zerodte.store.schema import ideas

logger = logging.getLogger(__name__)

QUEUED = "queued"


def param_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 of the parameters as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(dict(params), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IdeaRow:
    """One queued idea."""

    id: int
    param_hash: str
    params: dict[str, Any]
    note: str | None
    source: str
    status: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``created_at`` as ISO-8601 UTC)."""
        return {
            "id": self.id,
            "param_hash": self.param_hash,
            "params": self.params,
            "note": self.note,
            "source": self.source,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


def _row(mapping: Any) -> IdeaRow:
    return IdeaRow(
        id=int(mapping["id"]),
        param_hash=str(mapping["param_hash"]),
        params=dict(mapping["params"]),
        note=mapping["note"],
        source=str(mapping["source"]),
        status=str(mapping["status"]),
        created_at=mapping["created_at"],
    )


class SqlIdeaQueue:
    """Ideas in the run store's database (SQLite or PostgreSQL).

    Parameters
    ----------
    engine
        From :func:`zerodte.store.engine.make_engine`.
    migrate_schema
        Upgrade the schema to the latest revision first.
    """

    def __init__(self, engine: sa.Engine, *, migrate_schema: bool = True) -> None:
        self.engine = engine
        if migrate_schema:
            migrate(engine)

    def submit(
        self, params: Mapping[str, Any], *, note: str | None, source: str
    ) -> tuple[IdeaRow, bool]:
        """Queue ``params`` unless an idea with the same hash exists.

        Returns
        -------
        (idea, created)
            The stored idea and whether this call created it (``False``: it was known).
        """
        key = param_hash(params)
        values = {
            "param_hash": key,
            "params": dict(params),
            "note": note,
            "source": source,
            "status": QUEUED,
        }
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert as pg_insert

                stmt: Any = pg_insert(ideas).values(**values).on_conflict_do_nothing()
            else:
                from sqlalchemy.dialects.sqlite import insert as sqlite_insert

                stmt = sqlite_insert(ideas).values(**values).on_conflict_do_nothing()
            # RETURNING gives a row only when this statement inserted one (rowcount of an
            # ON CONFLICT DO NOTHING insert is not reliable across drivers)
            created = conn.execute(stmt.returning(ideas.c.id)).first() is not None
            row = conn.execute(sa.select(ideas).where(ideas.c.param_hash == key)).mappings()
            idea = _row(row.one())
        if created:
            logger.info("queued idea %s from %s: %s", key[:12], source, dict(params))
        return idea, created

    def ideas(self, status: str | None = None, limit: int = 100) -> list[IdeaRow]:
        """Ideas, newest first, optionally only those in ``status``."""
        query = sa.select(ideas).order_by(ideas.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(ideas.c.status == status)
        with self.engine.connect() as conn:
            return [_row(m) for m in conn.execute(query).mappings()]

    def counts(self) -> dict[str, int]:
        """Number of ideas per status."""
        query = sa.select(ideas.c.status, sa.func.count()).group_by(ideas.c.status)
        with self.engine.connect() as conn:
            return {str(s): int(n) for s, n in conn.execute(query)}
