"""Bring your own data: train on a labeled file, predict a file row for row, offline."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools

import numpy as np
import pytest

from pipeline.generate import Generator
from pipeline.normalize import feature_text
from pipeline.offline import (
    PREDICTION_COLUMNS,
    DataFileError,
    csv_text,
    held_out_summary,
    load_model_dir,
    predict_file,
    train_file,
)
from pipeline.readers import write_rows


def _labeled(path, seed, n, rename=None):
    rows = Generator(seed).rows(n, id_prefix=f"s{seed}-")
    for row in rows:
        row.pop("merchant")
        if rename:
            row["category"] = rename(row["category"])
    write_rows(path, rows)
    return rows


@pytest.fixture(scope="module")
def own_taxonomy(tmp_path_factory):
    """A model trained on categories written like a bookkeeping chart of accounts."""
    base = tmp_path_factory.mktemp("own")
    rename = lambda c: "Expense::" + c.replace(".", "::").title()  # noqa: E731
    _labeled(base / "train.csv", 3, 4_000, rename)
    test_rows = _labeled(base / "test.csv", 4, 600, rename)
    train_file(base / "train.csv", base / "model")
    return base, test_rows


def test_predictions_come_back_one_per_row_in_order(own_taxonomy, tmp_path):
    base, test_rows = own_taxonomy
    data = tmp_path / "input.csv"
    rows = [{k: v for k, v in r.items() if k != "category"} for r in test_rows]
    rows.insert(7, {**rows[0], "amount": "abc"})
    write_rows(data, rows)
    out = tmp_path / "pred.csv"
    assert predict_file(base / "model", data, out, batch_size=128) == 601
    with out.open() as handle:
        predictions = list(csv.DictReader(handle))
    assert list(predictions[0]) == list(PREDICTION_COLUMNS) and len(predictions) == 601
    assert predictions[7]["decided_by"] == "rejected"
    del predictions[7]
    correct = sum(p["category"] == r["category"] for p, r in zip(predictions, test_rows, strict=True))
    assert correct / len(test_rows) > 0.8
    assert {p["decided_by"] for p in predictions} == {"model"}  # our rules don't belong to this taxonomy
    assert all(p["explanation"] for p in predictions)


def test_default_taxonomy_keeps_the_default_rules_and_they_are_verified(tmp_path):
    _labeled(tmp_path / "train.csv", 5, 1_000)  # the rules follow the taxonomy, whatever the row count
    train_file(tmp_path / "train.csv", tmp_path / "model")
    _model, rules = load_model_dir(tmp_path / "model")
    assert len(rules.rules) >= 20
    rules_file = tmp_path / "model" / "rules.yaml"
    rules_file.write_text(rules_file.read_text() + "\n# edited\n")
    with pytest.raises(DataFileError, match="changed since"):
        load_model_dir(tmp_path / "model")


def test_a_file_without_the_needed_columns_is_a_clear_error(tmp_path):
    (tmp_path / "bad.csv").write_text("text,amount\nfoo,1\n")
    with pytest.raises(DataFileError, match="missing column"):
        train_file(tmp_path / "bad.csv", tmp_path / "model")


def test_a_registered_file_model_is_served_with_its_own_rules_and_metrics(own_taxonomy, sqlite_settings):
    from decimal import Decimal

    from db.engine import session_scope
    from db.registry import get_model_version
    from pipeline.schema import Transaction
    from services.runtime import runtime
    from services.training import register_model_dir

    base, test_rows = own_taxonomy
    version, added = register_model_dir(sqlite_settings, base / "model", activate=True)
    assert added and not register_model_dir(sqlite_settings, base / "model")[1]
    with session_scope(sqlite_settings.effective_database_url) as session:
        row = get_model_version(session, version)
        assert row.status == "active" and row.training_summary["data"] == "train.csv"
        assert 0.5 < row.metrics["held_out_merchant_accuracy"] <= 1 and row.metrics["held_out_merchant_ece"] < 0.2
    categorizer = runtime().categorizer(version)
    assert categorizer.rules.rules == ()  # the default rules belong to another taxonomy
    txns = [Transaction(str(i), r["description"], Decimal(r["amount"]), "USD") for i, r in enumerate(test_rows)]
    decisions = categorizer.categorize(txns).decisions
    assert all(d.category.startswith("Expense::") for d in decisions)


def test_a_file_model_keeps_its_data_and_retrains_from_it_with_reviews(own_taxonomy, sqlite_settings):
    from db.engine import session_scope
    from db.registry import get_model_version
    from services.feedback import record_feedback
    from services.retrain import retrain
    from services.runtime import runtime
    from services.training import register_model_dir
    from tests.unit.test_feedback import categorize

    base, test_rows = own_taxonomy
    assert (base / "model" / "training.csv").read_bytes() == (base / "train.csv").read_bytes()
    version, _ = register_model_dir(sqlite_settings, base / "model", activate=True)
    served = runtime().categorizer(version)
    rows = [{"id": f"r{i}", "description": r["description"], "amount": r["amount"]} for i, r in enumerate(test_rows)]
    categorize(sqlite_settings, rows, job_id="j1", model=served.model, rules=served.rules)
    reviews = record_feedback(sqlite_settings, [{"source": "s1", "transaction_id": f"r{i}",
                                                 "category": test_rows[i]["category"]} for i in range(40)])
    assert reviews.accepted == 40 and not reviews.rejected
    result = retrain(sqlite_settings, trigger="cli")
    assert result.status == "registered", result.reason
    assert result.figures["reviews"] == 40 and result.figures["standard"]["rows"] == 4_000
    with session_scope(sqlite_settings.effective_database_url) as session:
        candidate = get_model_version(session, result.candidate_version)
        assert candidate.status == "candidate" and candidate.training_summary["recipe"]["kind"] == "file"
    kept = sqlite_settings.effective_model_dir / result.candidate_version / "training.csv"
    assert kept.read_bytes() == (base / "train.csv").read_bytes()  # the candidate can be retrained in turn
    assert retrain(sqlite_settings, trigger="cli").reason.startswith("no review since run")


def test_predicting_in_processes_writes_the_same_file(own_taxonomy, tmp_path, monkeypatch):
    # Without the merchant layer a line's decision depends on the line alone: --jobs must change nothing.
    # (With it, each process's cache answers only the merchants that process has seen.)
    from pipeline.settings import _from_environment

    monkeypatch.setenv("MANNA_MERCHANT_CACHE", "0")  # spawned processes read the environment afresh
    _from_environment.cache_clear()
    base, test_rows = own_taxonomy
    data = tmp_path / "input.csv"
    rows = [{k: v for k, v in r.items() if k != "category"} for r in test_rows]
    rows.insert(150, {**rows[0], "amount": "abc"})
    write_rows(data, rows)
    predict_file(base / "model", data, tmp_path / "one.csv", batch_size=64)
    assert predict_file(base / "model", data, tmp_path / "three.csv", batch_size=64, jobs=3) == 601
    assert (tmp_path / "three.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    _from_environment.cache_clear()


def test_a_failed_training_leaves_no_folder_it_made(tmp_path):
    data = tmp_path / "one.csv"
    data.write_text("description,amount,category\nA,-1,x\nB,-2,x\n")
    with pytest.raises(DataFileError, match="at least two categories"):
        train_file(data, tmp_path / "new" / "model")
    assert not (tmp_path / "new" / "model").exists()
    (tmp_path / "kept").mkdir()
    with pytest.raises(DataFileError):
        train_file(data, tmp_path / "kept")
    assert (tmp_path / "kept").is_dir()  # not made by this run: left as it was


def test_checking_an_output_keeps_what_is_there(tmp_path):
    from cli.main import _check_writable

    (tmp_path / "result.json").write_text("earlier")
    _check_writable(tmp_path / "result.json")
    assert (tmp_path / "result.json").read_text() == "earlier"
    _check_writable(tmp_path / "new.json")
    assert not (tmp_path / "new.json").exists()
    (tmp_path / "link.json").symlink_to(tmp_path / "target.json")  # dangling: the run would write through it
    _check_writable(tmp_path / "link.json")
    assert (tmp_path / "link.json").is_symlink()
    with pytest.raises(OSError):
        _check_writable(tmp_path / "no" / "such" / "folder.json")


@pytest.mark.parametrize(("manifest", "said"), [("{nope", "is not JSON"), ("[]", "is not a model manifest"),
                                                 ('{"sha256": 5}', "is not a model manifest")])
def test_a_broken_manifest_is_one_clear_error(own_taxonomy, tmp_path, manifest, said):
    import shutil

    from pipeline.model import ArtifactError

    base, _ = own_taxonomy
    shutil.copytree(base / "model", tmp_path / "model")
    (tmp_path / "model" / "manifest.json").write_text(manifest)
    with pytest.raises(ArtifactError, match=f"manifest.json {said}.*train again"):
        load_model_dir(tmp_path / "model")


def test_processes_start_as_batches_come(own_taxonomy):
    # A file of one batch gains nothing from more processes, and each costs about 2 s to start.
    import multiprocessing

    from pipeline.predict_processes import decided_in_processes

    base, _ = own_taxonomy
    decided = decided_in_processes(base / "model", iter([[{"description": "SHELL OIL", "amount": "-40"}]]), jobs=4,
                                   cache_items=100)
    assert len(next(decided)) == 1
    assert [p.name for p in multiprocessing.active_children() if p.name.startswith("manna-predict")] == [
        "manna-predict-0"]
    assert list(decided) == []


def test_a_predict_process_that_dies_is_an_error_naming_it():
    import multiprocessing

    from pipeline.predict_processes import PredictProcessError, _result

    context = multiprocessing.get_context("spawn")
    process = context.Process(target=exit, args=(3,))
    process.start()
    with pytest.raises(PredictProcessError, match="died \\(exit code 3\\)"):
        _result(0, [context.Queue()], [process])


def test_a_failed_predict_process_is_an_error_and_the_run_exits(tmp_path):
    # The batches queued for a process that failed can never be delivered: the run must still exit.
    import subprocess
    import sys

    script = (
        "from pathlib import Path\n"
        "from pipeline.predict_processes import PredictProcessError, decided_in_processes\n"
        "batches = iter([[{'description': 'x' * 50, 'amount': '1'}] * 20_000] * 6)\n"
        "try:\n"
        f"    list(decided_in_processes(Path({str(tmp_path / 'no-model')!r}), batches, 2, 100))\n"
        "except PredictProcessError as err:\n"
        "    print(str(err).splitlines()[0])\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("predict process 0 failed")


def test_prediction_rows_are_written_as_csv_writer_writes_them():
    """Byte for byte, for every field that needs quotes (a comma, a quote, a line end) in every column."""
    awkward = ["", "plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "crlf\r\n", ' "', "café ✓", ",", '"']
    rows = [("id-1", "Food", 0.9731, "high", "model", "", "", 'brand kind "cafe" (+14.4), word group "coffee" (+4.9)'),
            ("7", "", 0.0, "low", "rejected", "", "amount:invalid", "amount 'x' is not a decimal number")]
    for column in range(len(PREDICTION_COLUMNS)):
        for value in awkward:
            row = list(rows[0])
            row[column] = value if column != 2 else 0.5
            rows.append(tuple(row))
    rows += [tuple(values) for values in itertools.product(awkward[:5], ["a,b", "x"], [1e-05], ["low"], ["rule"],
                                                          ['r"1', ""], ["", "row:extra_fields"], awkward[:4])]
    for confidence in (1.0, 1, True, -0.0, 0.0, 0.25, 0.25, 1e-05, float("nan")):  # each twice: once remembered
        rows += [("n", "Food", confidence, "high", "model", "", "", "")] * 2
    expected = io.StringIO(newline="")
    csv.writer(expected).writerows(rows)
    assert csv_text(rows) == expected.getvalue()
    assert list(csv.reader(io.StringIO(csv_text(rows), newline=""))) == [[str(v) for v in row] for row in rows]


def test_a_model_of_two_categories_predicts_explains_and_gives_scikit_learns_probability(tmp_path):
    # scikit-learn keeps one row of coefficients for two categories; predicting once crashed on it.
    rows = [r for r in Generator(6).rows(3_000, id_prefix="t-") if r["category"] in ("food.coffee", "transport.fuel")]
    for row in rows:
        row.pop("merchant")
    write_rows(tmp_path / "train.csv", rows)
    train_file(tmp_path / "train.csv", tmp_path / "model")
    write_rows(tmp_path / "input.csv", [{k: v for k, v in r.items() if k != "category"} for r in rows])
    assert predict_file(tmp_path / "model", tmp_path / "input.csv", tmp_path / "pred.csv") == len(rows)
    with (tmp_path / "pred.csv").open() as handle:
        predictions = list(csv.DictReader(handle))
    assert sum(p["category"] == r["category"] for p, r in zip(predictions, rows, strict=True)) / len(rows) > 0.95
    assert all(p["explanation"] for p in predictions if p["decided_by"] == "model")
    model, _rules = load_model_dir(tmp_path / "model")
    matrix = model.vectorize([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows])
    at_one = dataclasses.replace(model, temperature=1.0)
    # scikit-learn works in float32 here, the model in float64.
    assert np.allclose(at_one.predict_proba_matrix(matrix), model.classifier.predict_proba(matrix), atol=1e-6)


def test_predictions_never_overwrite_the_rows_they_come_from(own_taxonomy, tmp_path):
    base, test_rows = own_taxonomy
    data = tmp_path / "input.csv"
    write_rows(data, [{k: v for k, v in r.items() if k != "category"} for r in test_rows[:20]])
    before = data.read_bytes()
    (tmp_path / "link.csv").symlink_to(data)
    for out in (data, tmp_path / "." / "input.csv", tmp_path / "link.csv"):
        with pytest.raises(DataFileError, match="is the data file itself"):
            predict_file(base / "model", data, out)
    assert data.read_bytes() == before
    with pytest.raises(ValueError, match="batch_size"):
        predict_file(base / "model", data, tmp_path / "out.csv", batch_size=0)


def test_a_file_of_too_few_merchants_trains_and_says_its_confidence_is_not_calibrated(tmp_path):
    data = tmp_path / "tiny.csv"
    data.write_text("description,amount,category\nCOUNTDOWN PAPANUI,-50.20,Groceries\nZ ENERGY,-80,Fuel\n"
                    "NETFLIX,-15.99,Subscriptions\nNEW WORLD,-33,Groceries\n")
    said: list[str] = []
    model = train_file(data, tmp_path / "model", progress=said.append)
    assert model.temperature == 1.0 and not model.metrics  # four merchant names: no fold to hold out
    assert said[-1] == held_out_summary(model) and said[-1].startswith("confidence not calibrated (temperature 1)")
