"""Evaluation: metrics computed right on known predictions; folds keep merchants apart; a report renders."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.categorize import Categorizer
from pipeline.evaluate import Predictions, cross_validate, ece_by_chance, ece_spread, folds, metrics
from pipeline.model import expected_calibration_error
from pipeline.normalize import feature_text
from pipeline.offline import LabeledData, read_labeled
from tests.unit.test_cli import manna


def test_metrics_on_known_predictions():
    truth = np.array(["a"] * 8 + ["b"] * 2, dtype=object)
    predicted = np.array(["a"] * 7 + ["b"] + ["b", "a"], dtype=object)  # rows 7 and 9 wrong
    confidence = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.5, 0.92, 0.4])
    m = metrics(Predictions(truth, predicted, confidence))
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["accuracy_top75"] == pytest.approx(1.0)  # the 7 most confident are all right
    assert m["coverage_at_95"] == pytest.approx(0.8)  # 8 right of the 8 most confident; 9th is wrong
    assert m["per_category"]["b"] == {"precision": 0.5, "recall": 0.5, "support": 2}


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_not():
    correct = np.array([True] * 7 + [False] * 3)
    assert expected_calibration_error(np.full(10, 0.7), correct) == pytest.approx(0.0)
    assert expected_calibration_error(np.full(10, 1.0), correct) == pytest.approx(0.3)


def test_ece_by_chance_is_what_perfectly_calibrated_draws_score_and_shrinks_with_rows():
    confidence = np.random.default_rng(3).uniform(0.3, 1.0, 400)
    rng = np.random.default_rng(0)  # the same draws, one at a time, through the plain ECE
    draws = [expected_calibration_error(confidence, rng.random(400) < confidence) for _ in range(50)]
    assert ece_by_chance(confidence, draws=50) == pytest.approx(np.mean(draws))
    assert ece_by_chance(np.ones(100)) == 0.0  # certain and always right: no noise
    assert ece_by_chance(np.full(10_000, 0.5)) < ece_by_chance(np.full(100, 0.5)) / 5


def test_unseen_folds_never_share_a_merchant():
    groups = [f"m{i % 37}" for i in range(500)]
    data = LabeledData([f"t{i}" for i in range(500)], [1.0] * 500, [f"c{i % 5}" for i in range(500)], groups, 0,
                       [f"t{i}" for i in range(500)])
    for train, test in folds(data, "unseen"):
        assert not {groups[i] for i in train} & {groups[i] for i in test}


def test_ece_spread_resamples_whole_merchants_and_shows_what_rows_drawn_alone_hide():
    rng = np.random.default_rng(3)
    confidence = rng.uniform(0.5, 1.0, 2_000)
    # Each of 40 merchants is right or wrong on all its 50 lines at once.
    merchants = np.repeat(np.arange(40), 50)
    correct = (rng.random(40) < 0.75)[merchants].astype(float)
    spread = ece_spread(confidence, correct, merchants)
    assert 0.01 < spread < 0.05
    assert ece_spread(confidence, correct, np.arange(2_000)) < spread / 1.5  # the same rows, drawn alone
    assert ece_spread(confidence, correct, np.zeros(2_000)) == 0.0  # one merchant: every resample is the file


def test_evaluate_command_writes_json_and_a_report(tmp_path):
    data = tmp_path / "labeled.csv"
    assert manna("generate", "-n", "600", "--seed", "2", "--labels", str(data), data_dir=tmp_path).returncode == 0
    run = manna("evaluate", "--data", str(data), "--split", "unseen", "--folds", "2", "--repeats", "2", "--out",
                str(tmp_path / "out.json"), "--report", str(tmp_path / "report"), data_dir=tmp_path)
    assert run.returncode == 0, run.stderr
    # One progress line per fold and seed (the console writes to stderr).
    assert [run.stderr.count(f"seed {seed}: unseen fold") for seed in (0, 1)] == [2, 2]
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["split"] == "unseen" and (result["folds"], result["repeats"]) == (2, 2)
    assert result["ours"]["rows"] == result["baseline"]["rows"] == 2 * result["rows"]  # every row once per seed
    assert 0 < result["ours"]["accuracy"] <= 1 and "ece" in result["ours"]
    assert 0 < result["ours"]["ece_by_chance"] < 0.2 and "by chance alone" in run.stderr
    spread = result["ours"]["ece_spread"]
    assert 0 < spread < 0.2 and f"± {spread:.3f} over resampled merchants" in run.stderr
    assert 0 < result["baseline"]["accuracy"] <= 1 and "ece" not in result["baseline"]
    for chart in ("reliability.png", "confusion.png", "coverage.png"):
        assert (tmp_path / "report" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert "| accuracy |" in summary and "| ECE by chance alone" in summary
    assert f"| ECE's standard deviation over resampled merchants | {spread:.3f} | n/a |" in summary
    assert "2 folds, 2 fold seeds pooled" in summary


def test_held_out_rows_are_decided_from_their_descriptions_as_manna_predict_decides_them(tmp_path, monkeypatch):
    # An NZ account number's feature text ("tfr from 0-0-0-0") is not its own feature text: deciding
    # the feature text again would read it as a date and decide another line than the file's.
    lines = [f"TFR FROM 12-3456-{1000000 + i}-0{i % 9},-{10 + i}.00,Transfers" for i in range(20)]
    lines += [f"COUNTDOWN {town},-{20 + i}.50,Groceries" for i, town in enumerate(["PAPANUI", "RICCARTON"] * 10)]
    path = tmp_path / "nz.csv"
    path.write_text("description,amount,category\n" + "\n".join(lines) + "\n")
    data = read_labeled(path)
    decided: list[str] = []
    categorize = Categorizer.categorize
    monkeypatch.setattr(Categorizer, "categorize",
                        lambda self, rows: decided.extend(r.description for r in rows) or categorize(self, rows))
    ours, _ = cross_validate(data, "random", baseline=False, n_splits=2)
    assert sorted(decided) == sorted(data.descriptions)
    assert feature_text(data.texts[0]) != data.texts[0]  # the case this test is about
    assert len(ours.predicted) == 40
