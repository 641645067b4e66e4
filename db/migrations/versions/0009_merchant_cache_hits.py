"""task_metrics.merchant_cache_hits: the share of cache hits the merchant layer answered

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A server default, so rows written by workers of the previous release (during a deploy) count 0.
    op.add_column("task_metrics", sa.Column("merchant_cache_hits", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("task_metrics") as batch_op:
        batch_op.drop_column("merchant_cache_hits")
