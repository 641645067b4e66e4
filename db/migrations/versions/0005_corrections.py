"""corrections, merchant memory, label history, retraining runs, leases; the view gains correction_id

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.func.now()

# Frozen copies of the view before and after this revision: later revisions replace it, never edit these.
VIEW_0001 = """
CREATE VIEW categorized_transactions AS
SELECT t.source, t.transaction_id, t.account_id, t.description, t.amount, t.currency,
       l.category, l.confidence, l.confidence_level, l.decided_by, l.rule_id,
       l.model_version, l.variant, l.job_id, l.categorized_at, l.needs_review
FROM labels l
JOIN transactions t ON t.source = l.source AND t.transaction_id = l.transaction_id
"""
VIEW_0005 = """
CREATE VIEW categorized_transactions AS
SELECT t.source, t.transaction_id, t.account_id, t.description, t.amount, t.currency,
       l.category, l.confidence, l.confidence_level, l.decided_by, l.rule_id,
       l.model_version, l.variant, l.job_id, l.categorized_at, l.needs_review, l.correction_id
FROM labels l
JOIN transactions t ON t.source = l.source AND t.transaction_id = l.transaction_id
"""


def upgrade() -> None:
    op.execute("DROP VIEW IF EXISTS categorized_transactions")
    op.add_column("labels", sa.Column("merchant_key", sa.String(128), nullable=True))
    op.add_column("labels", sa.Column("correction_id", sa.BigInteger(), nullable=True))
    op.add_column("task_metrics", sa.Column("memory_hits", sa.Integer(), nullable=False, server_default="0"))
    op.execute(VIEW_0005)
    op.create_table(
        "corrections",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("new_category", sa.Boolean(), nullable=False),
        sa.Column("merchant_key", sa.String(128), nullable=False),
        sa.Column("direction", sa.Integer(), nullable=False),
        sa.Column("previous_category", sa.String(128), nullable=False),
        sa.Column("previous_decided_by", sa.String(16), nullable=False),
        sa.Column("previous_rule_id", sa.String(128), nullable=True),
        sa.Column("previous_confidence", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("variant", sa.String(1), nullable=False),
        sa.Column("reviewer", sa.String(128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_corrections"),
    )
    op.create_index("ix_corrections_created_at", "corrections", ["created_at"])
    op.create_index("ix_corrections_source_transaction", "corrections", ["source", "transaction_id"])
    op.create_table(
        "merchant_memory",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("merchant_key", sa.String(128), nullable=False),
        sa.Column("direction", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("correction_id", sa.BigInteger(), nullable=False),
        sa.Column("streak", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("source", "merchant_key", "direction", name="pk_merchant_memory"),
    )
    op.create_table(
        "memory_generations",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_memory_generations"),
    )
    op.create_table(
        "label_history",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(128), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("decided_by", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(128), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=True),
        sa.Column("variant", sa.String(1), nullable=False),
        sa.Column("correction_id", sa.BigInteger(), nullable=True),
        sa.Column("categorized_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("replaced_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_label_history"),
    )
    op.create_index("ix_label_history_source_transaction", "label_history", ["source", "transaction_id"])
    op.create_table(
        "retrain_runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("base_version", sa.String(64), nullable=True),
        sa.Column("candidate_version", sa.String(64), nullable=True),
        sa.Column("last_correction_id", sa.BigInteger(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_retrain_runs"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("retrain_runs")
    op.drop_index("ix_label_history_source_transaction", table_name="label_history")
    op.drop_table("label_history")
    op.drop_table("memory_generations")
    op.drop_table("merchant_memory")
    op.drop_index("ix_corrections_source_transaction", table_name="corrections")
    op.drop_index("ix_corrections_created_at", table_name="corrections")
    op.drop_table("corrections")
    op.execute("DROP VIEW IF EXISTS categorized_transactions")
    with op.batch_alter_table("task_metrics") as batch_op:
        batch_op.drop_column("memory_hits")
    with op.batch_alter_table("labels") as batch_op:
        batch_op.drop_column("correction_id")
        batch_op.drop_column("merchant_key")
    op.execute(VIEW_0001)
