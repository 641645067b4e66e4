"""The CLI, embedded (no servers): train, then submit a file through the real task path."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]


def manna(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANNA_")}
    env["MANNA_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One `manna train -n 600` for the module (any model will do): its data dir (database and models) and the run."""
    data_dir = tmp_path_factory.mktemp("trained")
    run = manna("train", "-n", "600", data_dir=data_dir)
    assert run.returncode == 0, run.stderr
    return data_dir, run


def with_model(trained: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> str:
    """A copy of the module's trained data dir in ``tmp_path`` (the test's own database); the active version."""
    shutil.copytree(trained[0], tmp_path, dirs_exist_ok=True)
    return trained[1].stdout.strip()


def test_train_generate_submit_and_job_embedded(trained, tmp_path):
    version = with_model(trained, tmp_path)
    assert version.startswith("m-") and (tmp_path / "models" / version / "model.joblib").is_file()

    rows = tmp_path / "rows.csv"
    assert manna("generate", "-n", "1500", "--seed", "3", str(rows), data_dir=tmp_path).returncode == 0
    with rows.open("a") as handle:
        handle.write("bad-1,,-3.00,USD,2026-10-01,acct-01,\n")  # no description
    submitted = manna("submit", str(rows), "--job-id", "cli-job", data_dir=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    assert submitted.stdout.strip() == "cli-job"

    job = json.loads(manna("jobs", "show", "cli-job", data_dir=tmp_path).stdout)
    assert (job["status"], job["received"], job["accepted"], job["rejected"], job["labeled"]) == (
        "finished", 1501, 1500, 1, 1500)
    engine = create_engine(f"sqlite:///{tmp_path / 'manna.db'}")
    with engine.connect() as connection:
        by = dict(connection.execute(text(
            "SELECT decided_by, count(*) FROM categorized_transactions WHERE job_id = 'cli-job' GROUP BY 1")).all())
        reason = connection.execute(text("SELECT reason FROM rejected_transactions")).scalar_one()
    assert sum(by.values()) == 1500 and by.get("model", 0) > 0 and set(by) <= {"model", "rule", "cache"}
    assert reason == "description:missing"
    engine.dispose()

    explained = json.loads(manna("explain", "g3-00000000", data_dir=tmp_path).stdout)
    assert explained["transaction_id"] == "g3-00000000" and explained["explanation"]
    assert explained["decided_by"] in {"model", "rule", "cache"}


def test_unknown_job_and_bad_file_type_are_clear_errors(tmp_path):
    assert manna("db", "upgrade", data_dir=tmp_path).returncode == 0
    missing = manna("jobs", "show", "nope", data_dir=tmp_path)
    assert missing.returncode == 1 and "no job 'nope'" in missing.stderr
    odd = tmp_path / "rows.txt"
    odd.write_text("x")
    bad = manna("submit", str(odd), data_dir=tmp_path)
    assert bad.returncode == 2 and "expected .csv" in bad.stderr


def test_model_registry_commands(trained, tmp_path):
    first = with_model(trained, tmp_path)
    # A fifth of the data: the second model is worse by design, not by the luck of a seed.
    second = manna("train", "-n", "300", "--seed", "1", data_dir=tmp_path).stdout.strip()
    listed = manna("models", "list", data_dir=tmp_path).stdout
    assert first in listed and second in listed and "active" in listed and "candidate" in listed
    shown = json.loads(manna("models", "show", second, data_dir=tmp_path).stdout)
    assert shown["status"] == "candidate" and len(shown["artifact_sha256"]) == 64
    # It measures clearly worse on its held-out merchants: serving it takes --force.
    refused = manna("models", "activate", second, data_dir=tmp_path)
    assert refused.returncode == 2 and f"manna models activate {second} --force" in refused.stderr, refused.stderr
    assert manna("models", "activate", second, "--force", data_dir=tmp_path).returncode == 0
    statuses = {json.loads(manna("models", "show", v, data_dir=tmp_path).stdout)["status"] for v in (first, second)}
    assert statuses == {"retired", "active"}
    unknown = manna("models", "activate", "m-nope", data_dir=tmp_path)
    assert unknown.returncode == 1 and "m-nope" in unknown.stderr, unknown.stderr
    unknown = manna("models", "candidate", "m-nope", data_dir=tmp_path)
    assert unknown.returncode == 1 and "unknown model version 'm-nope'" in unknown.stderr, unknown.stderr


def test_a_model_trained_on_a_file_is_registered_and_listed_with_its_metrics(tmp_path):
    data = tmp_path / "labeled.csv"
    assert manna("generate", "-n", "600", "--labels", str(data), data_dir=tmp_path).returncode == 0
    trained = manna("train", "--data", str(data), "--out", str(tmp_path / "file-model"), data_dir=tmp_path)
    assert trained.returncode == 0, trained.stderr
    # It says what it measured on merchants it held out, the figures the registry shows below.
    said = re.search(r"held-out merchants \(([\d,]+) rows, .*\): accuracy ([\d.]+), ECE ([\d.]+), temperature",
                     trained.stderr)
    assert said, trained.stderr
    registered = manna("models", "register", str(tmp_path / "file-model"), "--activate", data_dir=tmp_path)
    assert registered.returncode == 0, registered.stderr
    version = registered.stdout.strip()
    assert version == trained.stdout.strip() and (tmp_path / "models" / version / "model.joblib").is_file()
    shown = json.loads(manna("models", "show", version, data_dir=tmp_path).stdout)
    assert shown["status"] == "active" and shown["training_summary"]["data"] == "labeled.csv"
    held_out = shown["metrics"]
    assert said.groups() == (f"{held_out['held_out_merchant_rows']:,}", f"{held_out['held_out_merchant_accuracy']:.3f}",
                             f"{held_out['held_out_merchant_ece']:.3f}")
    (tmp_path / "file-model" / "rules.yaml").write_text("rules: []\n")
    refused = manna("models", "register", str(tmp_path / "file-model"), data_dir=tmp_path)
    assert refused.returncode == 2 and "changed since" in refused.stderr


def test_offline_commands_refuse_what_would_do_nothing_or_destroy_the_data(tmp_path):
    data = tmp_path / "labeled.csv"
    assert manna("generate", "-n", "300", "--labels", str(data), data_dir=tmp_path).returncode == 0
    before, out = data.read_bytes(), str(tmp_path / "m")
    for args, said in ((("train", "--data", str(data), "--out", out, "-n", "5"), "--count does nothing with --data"),
                       (("train", "--out", out), "--out does nothing without --data"),
                       (("generate", "-n", "5", str(tmp_path / "rows.txt")), "rows.txt must end in .csv"),
                       (("evaluate", "--data", str(data), "--out", str(data)), "is the data file itself"),
                       (("evaluate", "--data", str(data), "--out", str(tmp_path / "no" / "e.json")), "cannot use")):
        refused = manna(*args, data_dir=tmp_path)
        assert refused.returncode == 2 and said in refused.stderr, (args, refused.stderr)
        assert "Traceback" not in refused.stderr and "fold 1" not in refused.stderr  # refused before any work
    assert data.read_bytes() == before and not (tmp_path / "m").exists()
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"description,amount,category\nCAF\xc9 DU MONDE,-4.50,coffee\n")
    warned = manna("evaluate", "--data", str(latin), "--out", str(latin), data_dir=tmp_path)
    said = " ".join(warned.stderr.split())  # as one line, however the console wrapped it
    assert "latin.csv is not UTF-8 (line 2 holds the byte 0xC9)" in said
    assert "iconv -f cp1252 -t utf-8 latin.csv > latin-utf8.csv" in said

    model = tmp_path / "model"
    assert manna("train", "--data", str(data), "--out", str(model), data_dir=tmp_path).returncode == 0
    kept = (model / "training.csv").read_bytes()
    # Retraining a model folder from its own copies of the data and the rules.
    again = manna("train", "--data", str(model / "training.csv"), "--rules", str(model / "rules.yaml"),
                  "--out", str(model), data_dir=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (model / "training.csv").read_bytes() == kept == before


def test_feedback_import_says_why_rows_are_rejected_and_keeps_the_rest(trained, tmp_path):
    with_model(trained, tmp_path)
    rows = tmp_path / "rows.csv"
    manna("generate", "-n", "300", "--seed", "4", str(rows), data_dir=tmp_path)
    assert manna("submit", str(rows), "--source", "bank", "--job-id", "fb", data_dir=tmp_path).returncode == 0
    queue = json.loads(manna("review", "--source", "bank", "--limit", "2", "--json", data_dir=tmp_path).stdout)
    assert len(queue) == 2 and queue[0]["expected_errors"] >= queue[1]["expected_errors"]

    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("source,transaction,category\nbank,g4-00000001,food.coffee\n")
    refused = manna("feedback", "import", str(bad_header), data_dir=tmp_path)
    assert refused.returncode == 2 and "missing column(s) transaction_id" in refused.stderr
    assert "Traceback" not in refused.stderr

    reviews = tmp_path / "reviews.csv"
    reviews.write_text("source,transaction_id,category,reviewer\n"
                       f"bank,{queue[0]['transaction_id']},shopping.general,ann\n"
                       "bank,no-such-id,food.coffee,ann\n"
                       'bank,g4-00000002,"food.coffee,ann\n')  # an unterminated quote swallows the rest
    imported = manna("feedback", "import", str(reviews), "--json", data_dir=tmp_path)
    assert imported.returncode == 1, imported.stderr
    summary = json.loads(imported.stdout)
    assert (summary["accepted"], summary["corrections"]) == (1, 1)
    assert summary["reasons"] == {"transaction:unknown": 1, "row:missing_fields": 1}  # the open quote ate a field
    explained = json.loads(manna("explain", queue[0]["transaction_id"], data_dir=tmp_path).stdout)
    assert (explained["category"], explained["decided_by"]) == ("shopping.general", "override")


def test_submit_says_what_was_accepted_and_exits_by_it(trained, tmp_path):
    with_model(trained, tmp_path)
    rows = tmp_path / "rows.csv"
    rows.write_text("id,description,amount,category\nt1,STARBUCKS 12,-4.50,x\nt2,,-3.00,x\nt3,SHELL OIL,oops,x\n")
    first = manna("submit", str(rows), "--job-id", "first", data_dir=tmp_path)
    assert first.returncode == 0 and first.stdout.strip() == "first", first.stderr
    assert "ignored column(s): category" in first.stderr
    assert "accepted 1, rejected 2" in first.stderr and "amount:invalid 1" in first.stderr, first.stderr
    strict = manna("submit", str(rows), "--job-id", "strict", "--source", "other", "--min-accepted", "0.5",
                   data_dir=tmp_path)
    assert strict.returncode == 1 and "accepted 1, rejected 2" in strict.stderr
    assert "33.3% of rows accepted, under --min-accepted 50.0%" in strict.stderr
    # t1 now has a label in two sources: explain prints one JSON document, so it asks which.
    both = manna("explain", "t1", data_dir=tmp_path)
    assert both.returncode == 2 and "several sources (default, other): give --source" in both.stderr
    assert json.loads(manna("explain", "t1", "--source", "other", data_dir=tmp_path).stdout)["source"] == "other"
    # The same rows again under a new job: the one good id was already received, nothing is accepted.
    again = manna("submit", str(rows), "--json", data_dir=tmp_path)
    outcome = json.loads(again.stdout)
    assert again.returncode == 1 and (outcome["accepted"], outcome["rejected"]) == (0, 3)
    assert "exit 1: no row was accepted" in again.stderr  # the exit code says why
    assert outcome["top_reasons"] == {"id:already_received": 1, "description:missing": 1, "amount:invalid": 1}
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,description,amount\n")
    refused = manna("submit", str(header_only), data_dir=tmp_path)
    assert refused.returncode == 2 and "holds no rows" in refused.stderr
    # What the workers would refuse is refused here, before a row is sent (else submit waited for a job never made).
    for option, value, said in (("--source", "", "must be 1 to 64 characters, not 0"),
                                ("--job-id", "j" * 129, "must be 1 to 128 characters, not 129")):
        refused = manna("submit", str(rows), option, value, "--timeout", "5", data_dir=tmp_path)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr


def test_results_come_out_without_sql(trained, tmp_path):
    import pandas as pd

    with_model(trained, tmp_path)
    rows = tmp_path / "rows.csv"
    assert manna("generate", "-n", "300", "--seed", "5", str(rows), data_dir=tmp_path).returncode == 0
    assert manna("submit", str(rows), "--job-id", "exported", "--source", "bank", data_dir=tmp_path).returncode == 0
    listed = json.loads(manna("jobs", "list", "--json", data_dir=tmp_path).stdout)
    assert [(j["job_id"], j["labeled"]) for j in listed] == [("exported", 300)]
    ids = set(pd.read_csv(rows, dtype=str)["id"])
    for suffix, read in ((".csv", pd.read_csv), (".jsonl", lambda p: pd.read_json(p, lines=True)),
                         (".parquet", pd.read_parquet)):
        out = tmp_path / f"labels{suffix}"
        run = manna("export", "--job", "exported", "--out", str(out), data_dir=tmp_path)
        assert run.returncode == 0 and "300 labels" in run.stderr, run.stderr
        frame = read(out)
        assert set(frame["transaction_id"].astype(str)) == ids and frame["category"].notna().all()
        assert not list(tmp_path.glob("*.partial"))
    by_source = manna("export", "--source", "bank", "--since", "2000-01-01", "--out", str(tmp_path / "s.csv"),
                      data_dir=tmp_path)
    assert by_source.returncode == 0 and len(pd.read_csv(tmp_path / "s.csv")) == 300
    none = manna("export", "--source", "nobody", "--out", str(tmp_path / "none.csv"), data_dir=tmp_path)
    assert none.returncode == 1 and "no labels" in none.stderr
    # Nothing found leaves an earlier export as it was.
    kept = manna("export", "--source", "nobody", "--out", str(tmp_path / "s.csv"), data_dir=tmp_path)
    assert kept.returncode == 1 and "as it was" in kept.stderr and len(pd.read_csv(tmp_path / "s.csv")) == 300


def test_db_current_and_history(tmp_path):
    assert manna("db", "current", data_dir=tmp_path).stdout.strip() == "none"
    history = manna("db", "history", data_dir=tmp_path).stdout.split("\n")
    head = history[-2].split()[0] if history[-1] == "" else history[-1].split()[0]
    assert history[0].startswith("0001 ")
    assert manna("db", "upgrade", data_dir=tmp_path).returncode == 0
    assert manna("db", "current", data_dir=tmp_path).stdout.strip() == head
    assert manna("db", "downgrade", "0007", "--yes", data_dir=tmp_path).returncode == 0
    assert manna("db", "current", data_dir=tmp_path).stdout.strip() == "0007"
