"""Trades: position tag and legs (two-leg straddles), prediction timeframe, exit HMM trend.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the four nullable trade columns."""
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("position_tag", sa.String(128), nullable=True))
        batch.add_column(sa.Column("legs", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("prediction_timeframe", sa.Float(), nullable=True))
        batch.add_column(sa.Column("exit_hmm_trend", sa.Float(), nullable=True))


def downgrade() -> None:
    """Drop the four columns."""
    with op.batch_alter_table("trades") as batch:
        for name in ("exit_hmm_trend", "prediction_timeframe", "legs", "position_tag"):
            batch.drop_column(name)
