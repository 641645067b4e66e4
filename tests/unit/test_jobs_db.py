"""Job bookkeeping on SQLite: a re-sent message and a re-run chunk change no count."""

from sqlalchemy import func, select

from db.engine import session_scope
from db.jobs import commit_chunk, record_batch
from db.models import Label, RejectedTransaction, TransactionRow
from pipeline.schema import validate_batch

ROWS = [{"id": f"t{i}", "description": f"SHOP {i}", "amount": "-5"} for i in range(5)] + [{"id": "bad"}]


def _record(settings, batch_key="k1", rows=ROWS):
    batch = validate_batch(rows, settings)
    with session_scope(settings.effective_database_url) as s:
        return record_batch(s, job_id="j1", source="src", batch_key=batch_key, accepted=batch.accepted,
                            positions=batch.positions, rejected=batch.rejected, callback=None, chunk_size=2)


def _label(txn_id):
    return {"source": "src", "transaction_id": txn_id, "category": "other.uncategorized", "confidence": 0.5,
            "confidence_level": "low", "decided_by": "model", "rule_id": None, "model_version": "m-x",
            "variant": "A", "needs_review": False, "job_id": "j1", "task_id": "task-1"}


def test_resent_message_stores_nothing_twice_and_returns_the_same_rows(sqlite_settings):
    fresh, new = _record(sqlite_settings)
    again, new_again = _record(sqlite_settings)
    assert new and not new_again and [t.id for t in again] == [t.id for t in fresh] == [f"t{i}" for i in range(5)]
    with session_scope(sqlite_settings.effective_database_url) as s:
        assert s.scalar(select(func.count()).select_from(TransactionRow)) == 5
        assert s.scalar(select(func.count()).select_from(RejectedTransaction)) == 1


def test_ids_seen_in_an_earlier_message_are_rejected_as_already_received(sqlite_settings):
    _record(sqlite_settings)
    fresh, _ = _record(sqlite_settings, batch_key="k2", rows=[ROWS[0], {"id": "new", "description": "x", "amount": 1}])
    assert [t.id for t in fresh] == ["new"]
    with session_scope(sqlite_settings.effective_database_url) as s:
        reasons = s.scalars(select(RejectedTransaction.reason).order_by(RejectedTransaction.id)).all()
    assert reasons == ["description:missing", "id:already_received"]


def test_chunk_counted_once_and_job_finishes_once(sqlite_settings):
    _record(sqlite_settings)  # 5 rows, chunk size 2 -> 3 chunks
    url = sqlite_settings.effective_database_url
    outcomes = []
    for task_id, ids in [("c0", ["t0", "t1"]), ("c0", ["t0", "t1"]), ("c1", ["t2", "t3"]), ("c2", ["t4"])]:
        with session_scope(url) as s:
            written, progress = commit_chunk(s, task_id=task_id, job_id="j1", labels=[_label(i) for i in ids],
                                             metrics={"task_id": task_id, "task_name": "t", "job_id": "j1"})
        outcomes.append((written, progress.chunks_done, progress.status, progress.just_finished))
    assert outcomes == [(2, 1, "running", False), (0, 1, "running", False), (2, 2, "running", False),
                        (1, 3, "finished", True)]
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 5


def test_the_chunks_a_lost_message_held_are_found_with_exactly_their_unlabeled_rows(sqlite_settings):
    from db.jobs import missing_chunks, stalled_jobs
    from pipeline.chunks import plan_chunks

    fresh, _ = _record(sqlite_settings)  # 5 rows, chunk size 2 -> 3 chunks
    url = sqlite_settings.effective_database_url
    planned = plan_chunks(fresh, source="src", job_id="j1", key="k1", size=2)
    with session_scope(url) as s:  # only the first chunk ever ran
        commit_chunk(s, task_id=planned[0].task_id, job_id="j1", labels=[_label(t.id) for t in planned[0].transactions],
                     metrics={"task_id": planned[0].task_id, "task_name": "t", "job_id": "j1"})
    with session_scope(url) as s:
        assert stalled_jobs(s, idle_seconds=3600) == [] and stalled_jobs(s, idle_seconds=-1) == ["j1"]
        missing = missing_chunks(s, "j1")
    assert [m.task_id for m in missing] == [planned[1].task_id, planned[2].task_id]
    assert sorted(t.id for m in missing for t in m.transactions) == ["t2", "t3", "t4"]
    outcomes = []
    for chunk in missing:  # sent again: the job finishes with every row labeled once
        with session_scope(url) as s:
            _, progress = commit_chunk(s, task_id=chunk.task_id, job_id="j1",
                                             labels=[_label(t.id) for t in chunk.transactions],
                                             metrics={"task_id": chunk.task_id, "task_name": "t", "job_id": "j1"})
        outcomes.append(progress.status)
    assert outcomes == ["running", "finished"]
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 5 and missing_chunks(s, "j1") == []
