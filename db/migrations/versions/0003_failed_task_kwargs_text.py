"""failed_tasks.kwargs: JSON as ASCII text, so any task's arguments are kept exactly (NaN included)

PostgreSQL's json type refuses NaN and Infinity, which a hostile message may carry; such a failure
could not be recorded. The text holds JSON as Python writes it (``db.models.ExactJSON``).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("failed_tasks") as batch_op:
        batch_op.alter_column("kwargs", type_=sa.Text(), existing_type=sa.JSON(),
                              postgresql_using="kwargs::text")


def downgrade() -> None:
    with op.batch_alter_table("failed_tasks") as batch_op:
        batch_op.alter_column("kwargs", type_=sa.JSON(), existing_type=sa.Text(),
                              postgresql_using="kwargs::json")
