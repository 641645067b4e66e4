"""rollouts (a candidate's walk through the phases) and failed_tasks.variant (errors per variant)

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("failed_tasks", sa.Column("variant", sa.String(1), nullable=True))
    op.create_table(
        "rollouts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("candidate_version", sa.String(64), nullable=False),
        sa.Column("active_version", sa.String(64), nullable=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("phase_started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_rollouts"),
    )


def downgrade() -> None:
    op.drop_table("rollouts")
    with op.batch_alter_table("failed_tasks") as batch_op:
        batch_op.drop_column("variant")
