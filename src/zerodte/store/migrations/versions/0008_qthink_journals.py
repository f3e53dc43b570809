"""QThink journals: assessed trades (regrets, label, archetype) and their agents.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Written out (not imported from zerodte.store.schema), as every revision is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_REGRETS = (
    "entry_regret",
    "exit_regret",
    "timing_regret",
    "decay_regret",
    "pin_regret",
    "trap_entry_regret",
    "late_exit_regret",
)


def upgrade() -> None:
    """Create ``qthink_outcomes`` and ``qthink_agents``."""
    op.create_table(
        "qthink_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), nullable=False),
        sa.Column("session", sa.String(10), nullable=True),
        sa.Column("decision_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("known_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("time_block", sa.String(32), nullable=True),
        sa.Column("label", sa.String(32), nullable=True),
        sa.Column("archetype", sa.String(32), nullable=True),
        sa.Column("pnl", sa.Float(), nullable=True),
        *(sa.Column(name, sa.Float(), nullable=True) for name in _REGRETS),
        sa.Column("regret_sum", sa.Float(), nullable=True),
        sa.Column("penalty_points", sa.Float(), nullable=True),
        sa.Column("agent_alignment", sa.Float(), nullable=True),
        sa.Column("mesh_confusion", sa.Boolean(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.UniqueConstraint("run_id", "trade_id", name="uq_qthink_outcomes_run_trade"),
    )
    op.create_index("ix_qthink_outcomes_run_id", "qthink_outcomes", ["run_id"])
    op.create_table(
        "qthink_agents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(128), nullable=False),
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
    op.create_index("ix_qthink_agents_run_id", "qthink_agents", ["run_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_qthink_agents_run_id", table_name="qthink_agents")
    op.drop_table("qthink_agents")
    op.drop_index("ix_qthink_outcomes_run_id", table_name="qthink_outcomes")
    op.drop_table("qthink_outcomes")
