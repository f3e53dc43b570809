"""QThink journals in the SQL store: assessed trades and their agents, per run.

``record`` replaces a run's rows in one transaction (a re-assessment overwrites the old
one); the outcome columns that have no column of their own go to the ``detail`` JSON.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import pandas as pd
import sqlalchemy as sa

from zerodte.research.serialize import jsonable
from zerodte.store.engine import migrate
from zerodte.store.schema import qthink_agents, qthink_outcomes

logger = logging.getLogger(__name__)

_TIMES = ("decision_time", "entry_time", "exit_time", "known_at")


def _value(v: Any) -> Any:
    """A database value: NaN/NaT/None -> NULL, numpy scalars -> Python."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item") and not isinstance(v, pd.Timestamp):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


def _time(v: Any) -> dt.datetime | None:
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    return pd.Timestamp(v).to_pydatetime()


class SqlQThinkJournal:
    """QThink rows in the run store's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, *, migrate_schema: bool = True) -> None:
        self.engine = engine
        if migrate_schema:
            migrate(engine)

    def record(self, run_id: str, outcomes: pd.DataFrame, agents: pd.DataFrame) -> int:
        """Replace ``run_id``'s rows; returns the number of outcome rows written."""
        own = {c.name for c in qthink_outcomes.columns}
        rows = []
        for rec in outcomes.to_dict(orient="records"):
            row: dict[str, Any] = {"run_id": run_id}
            detail: dict[str, Any] = {}
            for name, value in rec.items():
                key = str(name)
                if key in _TIMES:
                    row[key] = _time(value)
                elif key == "session":
                    row[key] = None if value is None else str(value)
                elif key in own:
                    row[key] = _value(value)
                else:
                    detail[key] = _value(value)
            row["detail"] = jsonable(detail)
            rows.append(row)
        agent_rows = [
            {"run_id": run_id, **{str(k): _value(v) for k, v in rec.items()}}
            for rec in agents.to_dict(orient="records")
        ]
        with self.engine.begin() as conn:
            conn.execute(qthink_agents.delete().where(qthink_agents.c.run_id == run_id))
            conn.execute(qthink_outcomes.delete().where(qthink_outcomes.c.run_id == run_id))
            if rows:
                conn.execute(qthink_outcomes.insert(), rows)
            if agent_rows:
                conn.execute(qthink_agents.insert(), agent_rows)
        logger.info("recorded %d assessed trade(s) of run %s", len(rows), run_id)
        return len(rows)

    def outcomes(self, run_id: str | None = None) -> pd.DataFrame:
        """Assessed trades (every run when ``run_id`` is None), by run and trade id."""
        q = sa.select(qthink_outcomes)
        if run_id is not None:
            q = q.where(qthink_outcomes.c.run_id == run_id)
        q = q.order_by(qthink_outcomes.c.run_id, qthink_outcomes.c.trade_id)
        with self.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

    def agents(self, run_id: str) -> pd.DataFrame:
        """Agent rows of one run."""
        q = (
            sa.select(qthink_agents)
            .where(qthink_agents.c.run_id == run_id)
            .order_by(qthink_agents.c.trade_id, qthink_agents.c.id)
        )
        with self.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
