"""A newcomer's failures, without servers: every known failure is one line and exit code 2, never a traceback.

Postgres and Redis are "down" here by pointing at a port nothing listens on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cli.bench.stack import free_port
from cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def manna(*args: str, data_dir: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MANNA_")}
    env.update({"MANNA_DATA_DIR": str(data_dir), "MANNA_PUBLISH_RETRY_SECONDS": "0", **env_vars})
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def assert_one_line_failure(run: subprocess.CompletedProcess[str], *words: str, command: str = "") -> None:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, (command, run.returncode, run.stderr[-2000:])
    assert "Traceback" not in run.stderr and len(lines) == 1, (command, run.stderr[-2000:])
    for word in words:
        assert word in lines[0], (command, lines[0])


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("files")
    rows = root / "rows.csv"
    rows.write_text("id,description,amount\nt1,STARBUCKS 123,-4.50\n")
    reviews = root / "reviews.csv"
    reviews.write_text("source,transaction_id,category\ndefault,t1,food.coffee\n")
    return {"rows": rows, "reviews": reviews, "root": root}


DATABASE_COMMANDS = [
    ("db", "upgrade"), ("db", "current"), ("jobs", "list"), ("jobs", "show", "j1"), ("models", "list"),
    ("export", "--job", "j1", "--out", "{root}/out.csv"), ("review",), ("retrain", "--history", "1"),
    ("alerts", "status"), ("explain", "t1"), ("feedback", "import", "{reviews}"), ("submit", "{rows}"),
    ("rollout", "status"), ("failed", "list"), ("train", "-n", "300"),
]


def run_all(commands, files: dict[str, Path], data_dir: Path, **env_vars: str) -> dict[str, Any]:
    """Each command in its own process, two at a time: most of a run is Python importing the CLI."""
    def one(args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return manna(*(a.format(**files) for a in args), data_dir=data_dir, **env_vars)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip((" ".join(c) for c in commands), pool.map(one, commands), strict=True))


def test_postgres_down_is_one_line_naming_the_database(files, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/manna"
    for command, run in run_all(DATABASE_COMMANDS, files, tmp_path, MANNA_DATABASE_URL=url).items():
        assert_one_line_failure(run, "database is not answering", "MANNA_DATABASE_URL", command=command)


def test_rollout_phases_that_are_not_numbers_are_a_usage_error():
    result = CliRunner().invoke(main, ["rollout", "start", "--candidate", "m-x", "--phases", "a,b"])
    assert result.exit_code == 2 and "shares in percent separated by commas" in result.output


def test_a_data_folder_not_made_yet_is_named_with_the_command_that_makes_it(tmp_path):
    run = manna("jobs", "list", data_dir=tmp_path / "not-yet")
    assert_one_line_failure(run, "cannot open the SQLite database", "(MANNA_DATA_DIR)", "manna db upgrade makes it")


def test_broker_down_is_one_line_naming_the_broker(files, tmp_path):
    assert manna("db", "upgrade", data_dir=tmp_path).returncode == 0
    url = f"redis://127.0.0.1:{free_port()}/0"
    for command, run in run_all([("submit", "{rows}"), ("retrain",)], files, tmp_path, MANNA_BROKER_URL=url).items():
        assert_one_line_failure(run, "broker is not answering", "MANNA_BROKER_URL", command=command)


def test_an_invalid_setting_is_one_line_naming_it(files, tmp_path):
    commands = [("jobs", "list"), ("submit", "{rows}"), ("demo",), ("status",)]
    for command, run in run_all(commands, files, tmp_path, MANNA_CHUNK_SIZE="many").items():
        assert_one_line_failure(run, "MANNA_CHUNK_SIZE=many", "valid integer", command=command)


def test_the_schema_missing_names_the_fix(tmp_path):
    (tmp_path / "manna.db").write_bytes(b"")  # a database file, but no migration ran
    assert_one_line_failure(manna("models", "list", data_dir=tmp_path), "manna db upgrade")


def in_parallel(*runs: Callable[[], subprocess.CompletedProcess[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Independent commands two at a time (as ``run_all``), their results in the order given."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda run: run(), runs))


def test_wrong_folders_and_unusable_files_are_one_line(files, tmp_path):
    # Each command its own data dir, as they run at once; the model folder is empty, as it was when run first.
    empty, submitting, importing, binary = (tmp_path / "empty", tmp_path / "submit", tmp_path / "import",
                                            files["root"] / "binary.csv")
    for folder in (empty, submitting, importing):
        folder.mkdir()
    binary.write_bytes(bytes(range(256)) * 4)
    predict, submit, feedback, directory_out = in_parallel(
        lambda: manna("predict", "--model", str(empty), "--data", str(files["rows"]), "--out",
                      str(empty / "p.csv"), data_dir=empty),
        lambda: manna("submit", str(binary), data_dir=submitting),
        lambda: manna("feedback", "import", str(binary), data_dir=importing),
        lambda: manna("generate", "-n", "10", str(tmp_path), data_dir=tmp_path))
    assert_one_line_failure(predict, str(empty))
    assert_one_line_failure(submit, "missing column(s) id")
    assert_one_line_failure(feedback, "missing column(s)")
    assert directory_out.returncode == 2 and "Traceback" not in directory_out.stderr


def test_debug_keeps_the_traceback(tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/manna"
    for run in in_parallel(lambda: manna("--debug", "jobs", "list", data_dir=tmp_path, MANNA_DATABASE_URL=url),
                           lambda: manna("jobs", "list", data_dir=tmp_path, MANNA_DATABASE_URL=url,
                                         MANNA_DEBUG="1")):
        assert run.returncode == 1 and "Traceback" in run.stderr and "OperationalError" in run.stderr


def test_version_and_help_on_every_option():
    run = subprocess.run([sys.executable, "-m", "cli", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("manna ")
    missing = []
    for path, command in _commands(main, ("manna",)):
        if not command.help:
            missing.append(" ".join(path))
        missing += [f"{' '.join(path)} {p.opts[0]}" for p in command.params
                    if isinstance(p, click.Option) and not p.help]
    assert not missing, missing


def _commands(command: click.Command, path: tuple[str, ...]):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_data_too_small_to_evaluate_is_one_line_naming_the_fix(tmp_path):
    three = tmp_path / "three.csv"
    three.write_text("description,amount,category\nA,1,x\nB,-2,y\nC,3,z\n")
    one_other = tmp_path / "one_other.csv"  # two merchants, two folds: each trains on one merchant
    one_other.write_text("description,amount,category\n" + "".join(f"SHOP{i},-{i},x\n" for i in range(1, 7))
                         + "OTHER,-3,y\n")
    too_few, one_category, one_each = in_parallel(
        lambda: manna("evaluate", "--data", str(three), data_dir=tmp_path),
        lambda: manna("evaluate", "--data", str(one_other), "--split", "unseen", "--folds", "2", data_dir=tmp_path),
        lambda: manna("evaluate", "--data", str(three), "--folds", "2", data_dir=tmp_path))
    # Three rows of three categories: no number of random folds would do (each needs a row of one category).
    assert_one_line_failure(too_few, "three.csv", "5 folds need at least 5 rows", "has 3: evaluate on more data")
    # Two folds are the fewest: the advice is more data alone.
    assert_one_line_failure(one_each, "three.csv", "need a category with at least 2 rows", "largest has 1: evaluate "
                            "on more data")
    assert_one_line_failure(one_category, "one_other.csv", "unseen fold 1 has one category only", "evaluate on more")


def test_a_file_separated_by_semicolons_is_named_as_such_and_a_batch_of_no_rows_is_refused(files, tmp_path):
    # Bank exports of Europe separate fields by ";": the error says so instead of only "missing column(s)".
    labeled, rows = tmp_path / "labeled.csv", tmp_path / "rows.csv"
    labeled.write_text("description;amount;category\nCOUNTDOWN;-5;Groceries\n")
    rows.write_text("id;description;amount\nt1;COUNTDOWN;-5\n")
    train, submit, batch = in_parallel(
        lambda: manna("train", "--data", str(labeled), "--out", str(tmp_path / "model"), data_dir=tmp_path),
        lambda: manna("submit", str(rows), data_dir=tmp_path),
        lambda: manna("predict", "--model", str(tmp_path), "--data", str(files["rows"]), "--out",
                      str(tmp_path / "p.csv"), "--batch-size", "0", data_dir=tmp_path))
    for run in (train, submit):
        assert_one_line_failure(run, "missing column(s)", "separated by commas, not semicolons")
    assert batch.returncode == 2 and "0 is not in the range x>=1" in batch.stderr
    jsonl = manna("predict", "--model", str(tmp_path), "--data", str(files["rows"]), "--out", str(tmp_path / "p.jsonl"),
                  data_dir=tmp_path)
    assert jsonl.returncode == 2 and "predictions are written as CSV" in jsonl.stderr
    # A spreadsheet's capitalised header: the error names the column that is almost right.
    labeled.write_text("Description,amount,Category\nCOUNTDOWN,-5,Groceries\n")
    capitalised = manna("train", "--data", str(labeled), "--out", str(tmp_path / "model"), data_dir=tmp_path)
    assert_one_line_failure(capitalised, "missing column(s) description, category",
                            "(column names are lower case: 'Description' is not 'description')")
    labeled.write_text("description,amount,category,amount\nCOUNTDOWN,-5,Groceries,5\n")
    rows.write_text("id,description,amount,id\nt1,COUNTDOWN,-5,t2\n")
    twice = in_parallel(
        lambda: manna("train", "--data", str(labeled), "--out", str(tmp_path / "model"), data_dir=tmp_path),
        lambda: manna("submit", str(rows), data_dir=tmp_path))
    assert_one_line_failure(twice[0], "labeled.csv: the header has amount more than once")
    assert_one_line_failure(twice[1], "rows.csv: the header has id more than once")
