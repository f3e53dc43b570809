"""Experiments: families, the idea queue and every trial with its daily P&L.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written out (not imported from zerodte.store.schema), as every revision is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``experiment_families``, ``experiment_ideas`` and ``experiment_trials``."""
    op.create_table(
        "experiment_families",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "experiment_ideas",
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
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("param_hash", name="uq_experiment_ideas_param_hash"),
    )
    op.create_index("ix_experiment_ideas_status", "experiment_ideas", ["status", "priority"])
    op.create_table(
        "experiment_trials",
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
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("trial_key", name="uq_experiment_trials_key"),
    )
    op.create_index("ix_experiment_trials_family", "experiment_trials", ["family", "stage"])


def downgrade() -> None:
    """Drop the experiment tables."""
    op.drop_table("experiment_trials")
    op.drop_table("experiment_ideas")
    op.drop_table("experiment_families")
