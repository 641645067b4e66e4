"""The learning loop on real Redis, Postgres and worker processes: labels, reviews through the CLI and
the API, overrides in the view, a new job decided by memory, the nightly retrain registering a
candidate, and a backfill (dry run, then real) that leaves every override as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from api.app import create_app
from db.engine import session_scope
from pipeline.generate import Generator
from pipeline.settings import use_settings
from services.runtime import reset_runtime
from tests.integration.conftest import ROOT, WorkerProcess, stack_env, wait_for_job
from workers.client import submit_rows

TOKEN = SecretStr(f"token-{uuid.uuid4().hex}")
AUTH = {"Authorization": f"Bearer {TOKEN.get_secret_value()}"}
SOURCE = f"loop-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def api(stack_settings, trained_model, worker):
    with TestClient(create_app(stack_settings.model_copy(update={"admin_token": TOKEN}))) as client:
        yield client
    use_settings(stack_settings)  # create_app installs its own settings in this process
    reset_runtime()


def manna(settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, in its own process with the stack's environment."""
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=stack_env(settings),
                          capture_output=True, text=True, timeout=300)


def view(url: str, where: str, **params) -> list[dict]:
    with session_scope(url) as session:
        rows = session.execute(text(f"SELECT * FROM categorized_transactions WHERE {where} "
                                    "ORDER BY transaction_id"), params)
        return [dict(row._mapping) for row in rows]


def submit(producer, url: str, rows: list[dict], job_id: str) -> None:
    submit_rows(producer, rows, job_id=job_id, source=SOURCE)
    wait_for_job(url, job_id, expected_received=len(rows))


def test_reviews_override_teach_memory_retrain_and_survive_a_backfill(
        api, producer, stack_settings, trained_model, tmp_path):
    url = stack_settings.effective_database_url
    job = f"loop-{uuid.uuid4().hex[:8]}"
    rows = Generator(77).rows(3_000, id_prefix=f"{job}-")
    submit(producer, url, rows, job)

    # The queue names the merchants worth correcting; correct three through the CLI, three through the API.
    queue = api.get(f"/api/v1/ml/review?limit=6&source={SOURCE}", headers=AUTH).json()
    assert len(queue) == 6 and all(entry["why"] for entry in queue)
    fixes = [{"source": SOURCE, "transaction_id": e["transaction_id"], "category": _other(e["category"])}
             for e in queue]
    feedback_csv = tmp_path / "reviews.csv"
    feedback_csv.write_text("source,transaction_id,category,reviewer\n"
                            + "".join(f"{f['source']},{f['transaction_id']},{f['category']},ann\n" for f in fixes[:3])
                            + f"{SOURCE},no-such-id,food.coffee,ann\n")
    cli = manna(stack_settings, "feedback", "import", str(feedback_csv), "--json")
    assert cli.returncode == 1, cli.stderr  # one row rejected, the others kept
    assert json.loads(cli.stdout) | {"rejections": None} == {
        "accepted": 3, "rejected": 1, "reasons": {"transaction:unknown": 1}, "confirmations": 0, "corrections": 3,
        "new_categories": [], "rejections": None}
    through_api = api.post("/api/v1/ml/feedback", headers=AUTH, json={"corrections": fixes[3:] + fixes[:1]})
    assert through_api.status_code == 200, through_api.text
    assert (through_api.json()["corrections"], through_api.json()["reasons"]) == (3, {"review:duplicate": 1})

    # Confirm 30 other labels as they stand, so live accuracy has a figure.
    fixed_ids = {f["transaction_id"] for f in fixes}
    sample = [r for r in view(url, "source = :s AND decided_by = 'model'", s=SOURCE)
              if r["transaction_id"] not in fixed_ids][:30]
    confirmed = api.post("/api/v1/ml/feedback", headers=AUTH, json={"corrections": [
        {"source": SOURCE, "transaction_id": r["transaction_id"], "category": r["category"]} for r in sample]})
    assert confirmed.json()["confirmations"] == 30
    live = api.get("/api/v1/ml/performance/metrics", headers=AUTH).json()["live_accuracy"]
    assert live["reviews"] >= 36 and live["accuracy"] is not None
    assert "manna_corrected_label_accuracy " in api.get("/metrics", headers=AUTH).text

    # The view shows each correction as an override.
    overrides = {r["transaction_id"]: r for r in view(url, "source = :s AND decided_by = 'override'", s=SOURCE)}
    assert {t: r["category"] for t, r in overrides.items()} == {f["transaction_id"]: f["category"] for f in fixes}
    assert all(r["correction_id"] for r in overrides.values())

    # A new job with the same merchants: memory decides them at once.
    by_id = {row["id"]: row for row in rows}
    again = [{**by_id[f["transaction_id"]], "id": f"{job}-again-{n}"} for n, f in enumerate(fixes)]
    submit(producer, url, again, f"{job}-again")
    remembered = view(url, "job_id = :j", j=f"{job}-again")
    assert [r["decided_by"] for r in remembered] == ["memory"] * len(fixes)
    assert [r["category"] for r in remembered] == [f["category"] for f in fixes]

    # The nightly retrain, sent by name as beat sends it, to a worker of the training queue.
    trainer = WorkerProcess(stack_settings, tmp_path / "training.log", concurrency=1, queues="training")
    try:
        earlier = _newest_retrain_id(url)  # another stack's beat may have run the nightly retrain on this database
        producer.send_task("manna.retrain", queue="training")
        run = _wait_for_retrain(url, after=earlier)
    finally:
        trainer.stop()
    assert run["status"] == "registered", run["reason"]
    assert run["figures"]["reviews"] >= 36 and run["figures"]["standard"]["judged"]
    with session_scope(url) as session:
        status = session.execute(text("SELECT status FROM model_versions WHERE version = :v"),
                                 {"v": run["candidate_version"]}).scalar_one()
    assert status == "candidate"

    # Backfill: a dry run counts, the real run changes the same labels, overrides stay as they were.
    dry = manna(stack_settings, "recategorize", "--source", SOURCE, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["examined"] == len(rows) + len(again) - len(fixes) - len(sample)  # reviewed ones are skipped
    real = json.loads(manna(stack_settings, "recategorize", "--source", SOURCE, "--json").stdout)
    assert (real["changed"], real["pairs"]) == (planned["changed"], planned["pairs"])
    after = {r["transaction_id"]: r for r in view(url, "source = :s AND decided_by = 'override'", s=SOURCE)}
    assert after == overrides
    with session_scope(url) as session:
        history = session.execute(text("SELECT count(*) FROM label_history WHERE replaced_by = :r"),
                                  {"r": real["run"]}).scalar_one()
    assert history == real["changed"]


def _other(category: str) -> str:
    """A category of our taxonomy other than ``category``: a reviewer's correction."""
    return "shopping.general" if category != "shopping.general" else "food.coffee"


def _newest_retrain_id(url: str) -> int:
    with session_scope(url) as session:
        return int(session.execute(text("SELECT coalesce(max(id), 0) FROM retrain_runs")).scalar_one())


def _wait_for_retrain(url: str, *, after: int, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(url) as session:
            row = session.execute(text("SELECT * FROM retrain_runs WHERE status <> 'running' AND trigger = 'beat' "
                                       "AND id > :after ORDER BY id DESC LIMIT 1"), {"after": after}).first()
        if row is not None:
            return dict(row._mapping)
        time.sleep(0.5)
    raise AssertionError("the retrain did not finish")
