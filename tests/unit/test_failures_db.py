"""The failed_tasks record keeps any task's arguments exactly, in the database and in the spool."""

import json

from db.engine import session_scope
from db.failures import import_spool, pending_failures, record_failure

HOSTILE_KWARGS = {"job_id": "j", "transactions": [
    {"id": "nan", "amount": float("nan")}, {"id": "inf", "amount": float("-inf")}, {"id": "big", "amount": 1e308},
    {"id": "nul\x00", "description": "lone \ud800 surrogate, \u202e bidi, '; DROP TABLE failed_tasks; --"}]}


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN != NaN; its JSON text is equal


def test_hostile_arguments_and_errors_are_recorded_exactly(sqlite_settings):
    url = sqlite_settings.effective_database_url
    record_failure(url, sqlite_settings.failure_spool, task_id="t1", task_name="manna.submit_batch",
                   kwargs=HOSTILE_KWARGS, error="KeyError: 'nul\x00 \ud800'", retries=0)
    record_failure("sqlite:////nonexistent/dir/x.db", sqlite_settings.failure_spool, task_id="t2",
                   task_name="manna.submit_batch", kwargs=HOSTILE_KWARGS, error="OperationalError", retries=3)
    with session_scope(url) as session:
        assert import_spool(session, sqlite_settings.failure_spool) == 1
    with session_scope(url) as session:
        failures = pending_failures(session)
    assert [f.task_id for f in failures] == ["t1", "t2"]
    assert all(_same(f.kwargs, HOSTILE_KWARGS) for f in failures)
    assert failures[0].error == "KeyError: 'nul\\x00 \\ud800'"


def test_a_line_cut_short_in_the_spool_costs_that_line_only(sqlite_settings, caplog):
    url = sqlite_settings.effective_database_url
    for task_id in ("t1", "t2"):  # the database is away: both spool
        record_failure("sqlite:////nonexistent/dir/x.db", sqlite_settings.failure_spool, task_id=task_id,
                       task_name="manna.submit_batch", kwargs={"job_id": "j"}, error="OperationalError", retries=3)
    spooled = sqlite_settings.failure_spool.read_text().splitlines()
    sqlite_settings.failure_spool.write_text(spooled[0] + "\n" + spooled[1][:40] + "\n")  # a crash mid-write
    with session_scope(url) as session:
        assert import_spool(session, sqlite_settings.failure_spool) == 1
    with session_scope(url) as session:
        assert [f.task_id for f in pending_failures(session)] == ["t1"]
    assert "line 2 is unreadable" in caplog.text
