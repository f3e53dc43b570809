"""Trades: the half spread paid (spread_cost) and whether each side filled on a real quote.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the three nullable trade columns."""
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("spread_cost", sa.Float(), nullable=True))
        batch.add_column(sa.Column("entry_quote", sa.String(128), nullable=True))
        batch.add_column(sa.Column("exit_quote", sa.String(128), nullable=True))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("trades") as batch:
        for name in ("exit_quote", "entry_quote", "spread_cost"):
            batch.drop_column(name)
