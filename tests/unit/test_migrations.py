"""Migrations: they build the contract's view, and they step down and up again cleanly."""

from sqlalchemy import create_engine, inspect, text

from db.migrate import downgrade, upgrade

CONTRACT_COLUMNS = [
    "source", "transaction_id", "account_id", "description", "amount", "currency", "category", "confidence",
    "confidence_level", "decided_by", "rule_id", "model_version", "variant", "job_id", "categorized_at",
]
TABLES = {"jobs", "task_metrics", "rejected_transactions", "failed_tasks", "model_versions", "experiments",
          "transactions", "labels", "corrections", "merchant_memory", "label_history", "retrain_runs", "leases",
          "rollout_events", "rollouts"}


def test_view_has_the_contract_columns_in_order_and_migrations_reverse(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        columns = [row[0] for row in connection.execute(text("SELECT * FROM categorized_transactions")).cursor
                   .description]
    assert columns[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert columns[len(CONTRACT_COLUMNS):] == ["needs_review", "correction_id"]
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert "merchant_cache_hits" in {column["name"] for column in inspect(engine).get_columns("task_metrics")}
    downgrade(url, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    upgrade(url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
