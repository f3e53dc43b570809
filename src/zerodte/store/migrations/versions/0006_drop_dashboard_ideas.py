"""The agent API queues ideas in the experiments system's queue (``experiment_ideas``,
revision 0004); the dashboard's own ``ideas`` table of revision 0005 is dropped.

Revision ID: 0006
Revises: 0005
Create Date: 2025-03-08

An ``ideas`` table that still holds rows is not dropped: the upgrade stops with the count
and how to move them (``zerodte experiments add --family NAME --set KEY=VALUE`` for each,
then ``DELETE FROM ideas``), so that no submitted idea is lost.

Written out (not imported from zerodte.store.schema), as every revision is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from zerodte.errors import ConfigError

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Drop ``ideas`` when it is empty; refuse (nothing changed) when it is not."""
    conn = op.get_bind()
    held = conn.execute(sa.text("SELECT COUNT(*) FROM ideas")).scalar_one()
    if held:
        raise ConfigError(
            f"store revision 0006: table 'ideas' still holds {held} idea(s) submitted through "
            "the dashboard; ideas now live in the experiments queue. Queue each one in its "
            "family (zerodte experiments add --family NAME --set KEY=VALUE ...; the old rows: "
            "SELECT params, note FROM ideas), then DELETE FROM ideas and run the command again"
        )
    op.drop_table("ideas")


def downgrade() -> None:
    """Recreate an empty ``ideas``."""
    op.create_table(
        "ideas",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("param_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
