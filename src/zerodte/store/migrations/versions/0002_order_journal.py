"""The order journal of live runs: orders, events, run metadata, cycles, checkpoints.

Revision ID: 0002
Revises: 0001
Create Date: 2025-02-01

Written out (not imported from zerodte.store.schema), as every revision is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the ``journal_*`` tables."""
    op.create_table(
        "journal_orders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("run_id", "tag", name="uq_journal_orders_run_tag"),
    )
    op.create_table(
        "journal_events",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_journal_events_run_id", "journal_events", ["run_id"])
    op.create_table(
        "journal_meta",
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=True),
    )
    op.create_table(
        "journal_cycles",
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("cycle", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("row", sa.JSON(), nullable=False),
    )
    op.create_table(
        "journal_checkpoints",
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("bar_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("events_seen", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    """Drop the ``journal_*`` tables."""
    for name in (
        "journal_checkpoints",
        "journal_cycles",
        "journal_meta",
        "journal_events",
        "journal_orders",
    ):
        op.drop_table(name)
