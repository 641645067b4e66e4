"""rollout_events: rollout decisions with their figures, and every manual change with who made it

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("rollout_id", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("candidate_percent", sa.Float(), nullable=True),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollout_events"),
    )
    op.create_index("ix_rollout_events_rollout_id", "rollout_events", ["rollout_id"])
    op.create_index("ix_rollout_events_at", "rollout_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_rollout_events_at", table_name="rollout_events")
    op.drop_index("ix_rollout_events_rollout_id", table_name="rollout_events")
    op.drop_table("rollout_events")
