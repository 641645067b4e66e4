"""experiments.candidate_percent as a float: a share such as 12.5% (the seed's API sends floats)

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch_op:
        batch_op.alter_column("candidate_percent", type_=sa.Float(), existing_type=sa.Integer(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("experiments") as batch_op:
        batch_op.alter_column("candidate_percent", type_=sa.Integer(), existing_type=sa.Float(),
                              existing_nullable=False, postgresql_using="round(candidate_percent)::integer")
