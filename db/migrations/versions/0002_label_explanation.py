"""labels.explanation: why each label was given (rule and pattern, or top model features)

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The view as revision 0001 made it: SQLite rebuilds the table on drop_column, so the view
# that reads it has to go first and come back after.
VIEW_SQL = """
CREATE VIEW categorized_transactions AS
SELECT t.source, t.transaction_id, t.account_id, t.description, t.amount, t.currency,
       l.category, l.confidence, l.confidence_level, l.decided_by, l.rule_id,
       l.model_version, l.variant, l.job_id, l.categorized_at, l.needs_review
FROM labels l
JOIN transactions t ON t.source = l.source AND t.transaction_id = l.transaction_id
"""


def upgrade() -> None:
    op.add_column("labels", sa.Column("explanation", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS categorized_transactions")
    with op.batch_alter_table("labels") as batch_op:
        batch_op.drop_column("explanation")
    op.execute(VIEW_SQL)
