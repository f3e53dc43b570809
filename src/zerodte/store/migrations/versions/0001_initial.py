"""Initial schema: runs and trades.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

The column list is written out (not imported from zerodte.store.schema) so this revision
keeps describing the schema as it was created, whatever later revisions change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``runs`` and ``trades``."""
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(128), primary_key=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("controller", sa.String(128), nullable=True),
        sa.Column("mode", sa.String(32), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("config_hash", sa.String(128), nullable=True),
        sa.Column("data_hash", sa.String(128), nullable=True),
        sa.Column("code_version", sa.String(128), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("run_dir", sa.String(1024), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
    )
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.String(128),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("trade_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(128), nullable=True),
        sa.Column("session", sa.Date(), nullable=False),
        sa.Column("entry_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.String(128), nullable=False),
        sa.Column("underlying", sa.String(128), nullable=True),
        sa.Column("right", sa.String(128), nullable=False),
        sa.Column("strike", sa.Float(), nullable=True),
        sa.Column("expiry", sa.Date(), nullable=True),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("entry_price", sa.Float(), nullable=False),
        sa.Column("exit_price", sa.Float(), nullable=False),
        sa.Column("fees", sa.Float(), nullable=False),
        sa.Column("pnl", sa.Float(), nullable=False),
        sa.Column("pnl_pct", sa.Float(), nullable=True),
        sa.Column("exit_reason", sa.String(128), nullable=True),
        sa.Column("hold_minutes", sa.Float(), nullable=True),
        sa.Column("max_gain_pct", sa.Float(), nullable=True),
        sa.Column("max_drawdown_pct", sa.Float(), nullable=True),
        sa.Column("spy_price", sa.Float(), nullable=True),
        sa.Column("vix_level", sa.Float(), nullable=True),
        sa.Column("exit_spy_price", sa.Float(), nullable=True),
        sa.Column("exit_vix_level", sa.Float(), nullable=True),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("iv", sa.Float(), nullable=True),
        sa.Column("entry_controller", sa.String(128), nullable=True),
        sa.Column("signal_strategy", sa.String(128), nullable=True),
        sa.Column("signal_reasoning", sa.Text(), nullable=True),
        sa.Column("momentum_5m", sa.Float(), nullable=True),
        sa.Column("momentum_15m", sa.Float(), nullable=True),
        sa.Column("volume_spike", sa.Float(), nullable=True),
        sa.Column("predicted_return", sa.Float(), nullable=True),
        sa.Column("direction_prob_down", sa.Float(), nullable=True),
        sa.Column("direction_prob_neutral", sa.Float(), nullable=True),
        sa.Column("direction_prob_up", sa.Float(), nullable=True),
        sa.Column("hmm_trend", sa.Float(), nullable=True),
        sa.Column("hmm_volatility", sa.Float(), nullable=True),
        sa.Column("hmm_liquidity", sa.Float(), nullable=True),
        sa.Column("hmm_confidence", sa.Float(), nullable=True),
        sa.Column("ml_confidence", sa.Float(), nullable=True),
        sa.Column("calibrated_confidence", sa.Float(), nullable=True),
        sa.Column("q_hold", sa.Float(), nullable=True),
        sa.Column("q_call", sa.Float(), nullable=True),
        sa.Column("q_put", sa.Float(), nullable=True),
        sa.UniqueConstraint("run_id", "trade_id", name="uq_trades_run_trade"),
    )
    op.create_index("ix_trades_run_id", "trades", ["run_id"])
    op.create_index("ix_trades_session", "trades", ["session"])
    op.create_index("ix_trades_entry_controller", "trades", ["entry_controller"])


def downgrade() -> None:
    """Drop ``trades`` and ``runs``."""
    op.drop_index("ix_trades_entry_controller", table_name="trades")
    op.drop_index("ix_trades_session", table_name="trades")
    op.drop_index("ix_trades_run_id", table_name="trades")
    op.drop_table("trades")
    op.drop_table("runs")
