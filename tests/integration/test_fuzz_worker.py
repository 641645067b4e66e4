"""Hostile messages through the broker to the live worker (hypothesis): every row of a list payload
is labeled or rejected with a reason, stored verbatim; anything else ends in ``failed_tasks``;
the worker never crashes.
"""

from __future__ import annotations

import time
import uuid

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from db.engine import session_scope
from db.models import FailedTask, RejectedTransaction
from pipeline.schema import validate_batch
from tests.integration.conftest import wait_for_job
from tests.unit.test_fuzz_inputs import REASON, good_rows, json_rows, json_scalars, json_values, nasty_text, weighted

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SQL_ROWS = [{"id": "x'; DROP TABLE labels; --", "description": "Robert'); DROP TABLE transactions;--", "amount": "1"},
            {"id": "\\N", "description": "\" OR 1=1 -- \\t %s {0} \u202eRTL \u200b", "amount": -3.5},
            {"id": "dup", "description": "a", "amount": 1}, {"id": "dup", "description": "b", "amount": 2}]


@FUZZ
@given(rows=st.lists(weighted((good_rows, 2), (json_rows, 1)), max_size=10))
@example(rows=SQL_ROWS)
@example(rows=[{"id": f"big-{i}", "description": "coffee", "amount": 1} for i in range(1_001)])  # over the limit
@example(rows=[])
def test_every_row_sent_to_the_worker_is_labeled_or_rejected_verbatim(worker, producer, stack_settings, rows):
    url = stack_settings.effective_database_url
    job_id, source = f"fuzz-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex[:12]
    producer.send_task("manna.submit_batch", kwargs={"job_id": job_id, "transactions": rows, "source": source},
                       queue="ingest")
    job = wait_for_job(url, job_id, expected_received=len(rows), timeout=60)

    expected = validate_batch(rows, stack_settings)  # what the worker must have decided, row by row
    assert (job["received"], job["accepted"], job["rejected"]) == (len(rows), len(expected.accepted),
                                                                   len(expected.rejected))
    assert job["labeled"] == job["accepted"]
    with session_scope(url) as session:
        labeled = dict(session.execute(text(
            "SELECT transaction_id, description FROM categorized_transactions WHERE job_id = :j"), {"j": job_id}).all())
        reasons = session.execute(select(RejectedTransaction.row_index, RejectedTransaction.reason)
                                  .where(RejectedTransaction.job_id == job_id)).all()
    assert {t.id: t.description for t in expected.accepted} == labeled
    assert sorted(reasons) == sorted((r.row_index, r.reason) for r in expected.rejected)
    assert all(REASON.match(reason) for _, reason in reasons)
    assert worker.process.poll() is None


@FUZZ
@given(payload=st.one_of(json_scalars, st.dictionaries(nasty_text, json_values, max_size=3)))
def test_a_payload_that_is_not_a_list_ends_in_failed_tasks_once(worker, producer, stack_settings, payload):
    task_id = f"fuzz-bad-{uuid.uuid4().hex[:10]}"
    producer.send_task("manna.submit_batch", kwargs={"job_id": task_id, "transactions": payload},
                       queue="ingest", task_id=task_id)
    deadline, failures = time.monotonic() + 30, []
    while not failures and time.monotonic() < deadline:
        time.sleep(0.1)
        with session_scope(stack_settings.effective_database_url) as session:
            failures = session.execute(select(FailedTask.error, FailedTask.retries)
                                       .where(FailedTask.task_id == task_id)).all()
    ((error, retries),) = failures
    assert "InvalidPayload: expected a list" in error and retries == 0
    assert worker.process.poll() is None
