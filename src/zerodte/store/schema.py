"""SQL schema of the run store: ``runs`` and their ``trades``.

Times are stored in UTC (``timestamptz`` on PostgreSQL, naive UTC text on SQLite, which has
no time-zone type) and come back tz-aware; callers convert to America/New_York. Every trade
column of ``zerodte.records.TRADE_COLUMNS`` has a column here; context columns are nullable
and a missing value is NULL, never 0.

The Alembic migrations in ``zerodte/store/migrations`` create this schema; a test checks
that the migrated database and this metadata agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from zerodte.records import REGRET_COLUMNS, TRADE_COLUMNS
from zerodte.store.columns import (
    DATE_COLUMNS,
    INT_COLUMNS,
    REQUIRED_TRADE_COLUMNS,
    RUN_COLUMNS,  # noqa: F401 (re-exported with the tables)
    STRING_COLUMNS,
    TEXT_COLUMNS,
    TIME_COLUMNS,
)

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A tz-aware datetime stored as UTC; naive values are rejected at the door."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Convert an aware datetime to UTC (naive UTC on dialects without time zones)."""
        if value is None or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(
                f"store times must be tz-aware datetimes; got {value!r}. Localize to "
                "America/New_York before recording."
            )
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if isinstance(value, str):  # SQLite server defaults (CURRENT_TIMESTAMP) are text
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def trade_column_type(name: str) -> sa.types.TypeEngine[Any]:
    """SQL type of a trade column (floats unless in a set of :mod:`zerodte.store.columns`)."""
    if name in INT_COLUMNS:
        return sa.Integer()
    if name in DATE_COLUMNS:
        return sa.Date()
    if name in TIME_COLUMNS:
        return UTCDateTime()
    if name in STRING_COLUMNS:
        return sa.String(128)
    if name in TEXT_COLUMNS:
        return sa.Text()
    return sa.Float()


runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    sa.Column("controller", sa.String(128), nullable=True),
    sa.Column("mode", sa.String(32), nullable=True),
    sa.Column("start", UTCDateTime(), nullable=True),
    sa.Column("end", UTCDateTime(), nullable=True),
    sa.Column("seed", sa.BigInteger(), nullable=True),
    sa.Column("config_hash", sa.String(128), nullable=True),
    sa.Column("data_hash", sa.String(128), nullable=True),
    sa.Column("code_version", sa.String(128), nullable=True),
    sa.Column("summary", sa.JSON(), nullable=True),
    sa.Column("run_dir", sa.String(1024), nullable=True),
    sa.Column("meta", sa.JSON(), nullable=True),
)

trades = sa.Table(
    "trades",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column(
        "run_id",
        sa.String(128),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    *(
        sa.Column(name, trade_column_type(name), nullable=name not in REQUIRED_TRADE_COLUMNS)
        for name in TRADE_COLUMNS
    ),
    sa.UniqueConstraint("run_id", "trade_id", name="uq_trades_run_trade"),
    sa.Index("ix_trades_session", "session"),
    sa.Index("ix_trades_entry_controller", "entry_controller"),
)

# -- the order journal of live runs (zerodte.store.journal) ------------------------------

journal_orders = sa.Table(
    "journal_orders",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(128), nullable=False),
    sa.Column("tag", sa.String(255), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("run_id", "tag", name="uq_journal_orders_run_tag"),
)
journal_events = sa.Table(
    "journal_events",
    metadata,
    sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(128), nullable=False, index=True),
    sa.Column("tag", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("data", sa.JSON(), nullable=False),
)
journal_meta = sa.Table(
    "journal_meta",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON(), nullable=True),
)
journal_cycles = sa.Table(
    "journal_cycles",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("cycle", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("row", sa.JSON(), nullable=False),
)
journal_checkpoints = sa.Table(
    "journal_checkpoints",
    metadata,
    sa.Column("run_id", sa.String(128), primary_key=True),
    sa.Column("cycle", sa.Integer(), nullable=False),
    sa.Column("bar_time", UTCDateTime(), nullable=False),
    sa.Column("events_seen", sa.Integer(), nullable=False),
    sa.Column("state", sa.JSON(), nullable=False),
)

# -- experiments: families, the idea queue and every trial (zerodte.store.experiments) ---

experiment_families = sa.Table(
    "experiment_families",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("config", sa.JSON(), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
)
experiment_ideas = sa.Table(
    "experiment_ideas",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("param_hash", sa.String(64), nullable=False),
    sa.Column(
        "family",
        sa.String(128),
        sa.ForeignKey("experiment_families.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("hypothesis", sa.Text(), nullable=True),
    sa.Column("overrides", sa.JSON(), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("provenance", sa.JSON(), nullable=True),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("stage", sa.String(16), nullable=True),
    sa.Column("claim_token", sa.String(64), nullable=True),
    sa.Column("claimed_by", sa.String(128), nullable=True),
    sa.Column("claimed_at", UTCDateTime(), nullable=True),
    sa.Column("heartbeat_at", UTCDateTime(), nullable=True),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("result", sa.JSON(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("param_hash", name="uq_experiment_ideas_param_hash"),
    sa.Index("ix_experiment_ideas_status", "status", "priority"),
)
experiment_trials = sa.Table(
    "experiment_trials",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("trial_key", sa.String(255), nullable=False),
    sa.Column(
        "family",
        sa.String(128),
        sa.ForeignKey("experiment_families.name", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "idea_id",
        sa.Integer(),
        sa.ForeignKey("experiment_ideas.id", ondelete="CASCADE"),
        nullable=True,
    ),
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("param_hash", sa.String(64), nullable=False),
    sa.Column("params", sa.JSON(), nullable=False),
    sa.Column("first_session", sa.Date(), nullable=False),
    sa.Column("last_session", sa.Date(), nullable=False),
    sa.Column("data_hash", sa.String(128), nullable=False),
    sa.Column("daily_pnl", sa.JSON(), nullable=False),
    sa.Column("trades", sa.Integer(), nullable=False),
    sa.Column("pnl", sa.Float(), nullable=False),
    sa.Column("worker", sa.String(128), nullable=True),
    sa.Column("run_dir", sa.String(1024), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("trial_key", name="uq_experiment_trials_key"),
    sa.Index("ix_experiment_trials_family", "family", "stage"),
)

# -- QThink journals: one row per assessed trade, one per trade and agent (zerodte.learning)

qthink_outcomes = sa.Table(
    "qthink_outcomes",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(128), nullable=False, index=True),
    sa.Column("trade_id", sa.BigInteger(), nullable=False),
    sa.Column("session", sa.String(10), nullable=True),
    sa.Column("decision_time", UTCDateTime(), nullable=True),
    sa.Column("entry_time", UTCDateTime(), nullable=True),
    sa.Column("exit_time", UTCDateTime(), nullable=True),
    sa.Column("known_at", UTCDateTime(), nullable=True),
    sa.Column("time_block", sa.String(32), nullable=True),
    sa.Column("label", sa.String(32), nullable=True),
    sa.Column("archetype", sa.String(32), nullable=True),
    sa.Column("pnl", sa.Float(), nullable=True),
    *(sa.Column(name, sa.Float(), nullable=True) for name in REGRET_COLUMNS),
    sa.Column("regret_sum", sa.Float(), nullable=True),
    sa.Column("penalty_points", sa.Float(), nullable=True),
    sa.Column("agent_alignment", sa.Float(), nullable=True),
    sa.Column("mesh_confusion", sa.Boolean(), nullable=True),
    sa.Column("detail", sa.JSON(), nullable=True),
    sa.UniqueConstraint("run_id", "trade_id", name="uq_qthink_outcomes_run_trade"),
)

qthink_agents = sa.Table(
    "qthink_agents",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(128), nullable=False, index=True),
    sa.Column("trade_id", sa.BigInteger(), nullable=False),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("aligned_score", sa.Float(), nullable=True),
    sa.Column("weight", sa.Float(), nullable=True),
    sa.Column("polarity", sa.Float(), nullable=True),
    sa.Column("involved", sa.Boolean(), nullable=False),
    sa.Column("conflict", sa.Boolean(), nullable=False),
    sa.Column("outcome_aligned", sa.Boolean(), nullable=False),
    sa.UniqueConstraint("run_id", "trade_id", "agent", name="uq_qthink_agents_run_trade_agent"),
)
