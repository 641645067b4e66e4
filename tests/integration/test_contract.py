"""The public contract end to end: a process that knows only celery submits; Postgres has the answer."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import func, select, text

from db.engine import session_scope
from db.models import Job, RejectedTransaction, TaskMetric
from pipeline.generate import Generator
from tests.integration.conftest import wait_for_job, wait_until_idle

CLIENT = Path(__file__).with_name("ingest_client.py")


def _rows_with_50_bad(seed: int) -> list[dict]:
    rows = Generator(seed).rows(4_990, id_prefix=f"c{seed}-")
    for row in rows:
        row.pop("category"), row.pop("merchant")
    bad: list[dict] = []
    for i in range(10):
        base = {"id": f"bad-{i}", "description": "COFFEE", "amount": "-3.00"}
        bad += [
            {k: v for k, v in {**base, "id": f"nodesc-{i}"}.items() if k != "description"},
            {**base, "id": f"abc-{i}", "amount": "abc"},
            {**base, "id": f"long-{i}", "description": "X" * 10_240},
            {**base, "id": f"wrongtype-{i}", "description": ["not", "a", "string"]},
        ]
    repeats = [{**rows[i], "description": "REPEATED ID"} for i in range(10)]
    # 4,990 good + 40 bad + 10 repeats of earlier ids = 5,040 rows; 4,950 good ones to label.
    good = rows[:4_950]
    mixed = good[:2_000] + bad + good[2_000:] + repeats
    return mixed


def _send(broker_url: str, job_id: str, rows: list[dict], tmp_path: Path) -> dict:
    path = tmp_path / f"{job_id}.json"
    path.write_text(json.dumps(rows))
    out = subprocess.run([sys.executable, str(CLIENT), broker_url, job_id, str(path)], check=True,
                         capture_output=True, text=True, cwd=tmp_path)
    return json.loads(out.stdout)


def _counts(url: str, job_id: str) -> dict:
    with session_scope(url) as s:
        view = s.execute(text("SELECT count(*), count(DISTINCT transaction_id) FROM categorized_transactions"
                              " WHERE job_id = :j"), {"j": job_id}).one()
        metrics = s.execute(select(func.count(), func.sum(TaskMetric.rows), func.sum(TaskMetric.labels_written),
                                   func.sum(TaskMetric.unique_rows),
                                   func.sum(TaskMetric.cache_hits + TaskMetric.rule_hits + TaskMetric.model_hits))
                            .where(TaskMetric.job_id == job_id)).one()
        reasons = s.execute(select(RejectedTransaction.reason, func.count()).where(
            RejectedTransaction.job_id == job_id).group_by(RejectedTransaction.reason)).all()
        job = s.get(Job, job_id)
        return {"view_rows": view[0], "distinct": view[1], "tasks": metrics[0], "metric_rows": metrics[1],
                "written": metrics[2], "unique": metrics[3], "decided": metrics[4], "reasons": dict(reasons),
                "job": (job.status, job.received, job.accepted, job.rejected, job.labeled, job.chunks_done,
                        job.chunks_total)}


def test_celery_only_client_gets_every_good_row_labeled_and_every_bad_row_explained(
        worker, producer, stack_settings, tmp_path):
    job_id = f"contract-{uuid.uuid4().hex[:8]}"
    rows = _rows_with_50_bad(seed=11)
    assert len(rows) == 5_000
    sent = _send(stack_settings.effective_broker_url, job_id, rows, tmp_path)
    assert sent == {"sent": 5_000, "our_modules": []}

    wait_for_job(stack_settings.effective_database_url, job_id, expected_received=5_000)
    wait_until_idle(producer, stack_settings.effective_broker_url)
    first = _counts(stack_settings.effective_database_url, job_id)
    assert first["view_rows"] == first["distinct"] == 4_950
    assert sum(first["reasons"].values()) == 50
    assert first["reasons"]["description:missing"] == 10
    assert first["reasons"]["amount:invalid"] == 10
    assert first["reasons"]["description:too_long"] == 10
    assert first["reasons"]["description:wrong_type"] == 10
    assert first["reasons"].get("id:duplicate", 0) + first["reasons"].get("id:already_received", 0) == 10
    assert first["metric_rows"] == first["written"] == 4_950
    assert first["decided"] == first["unique"]
    status, received, accepted, rejected, labeled, done, total = first["job"]
    assert (status, received, accepted, rejected, labeled) == ("finished", 5_000, 4_950, 50, 4_950)
    assert done == total == first["tasks"]

    _send(stack_settings.effective_broker_url, job_id, rows, tmp_path)
    wait_until_idle(producer, stack_settings.effective_broker_url)
    assert _counts(stack_settings.effective_database_url, job_id) == first
