"""The temperature is fitted on merchants the fits never saw, in folds, rows of unseen categories included."""

import numpy as np
import pytest
import scipy.sparse as sp

from pipeline import model as model_module
from pipeline.model import _fit_temperature, _held_out_fit, _HeldOut, _TrainingSet, calibration_splits
from pipeline.normalize import feature_text, merchant_word

CHAINS = {"countdown": "groceries", "kmart": "groceries", "starbucks": "coffee", "subway": "coffee",
          "shell": "fuel", "caltex": "fuel", "uber": "transport", "target": "shopping", "bunnings": "shopping",
          "netflix": "streaming"}  # the only chain of its category
PLACES = ["auckland", "wellington", "napier", "nelson", "dunedin", "hamilton"]


def training_set() -> _TrainingSet:
    texts = [feature_text(f"EFTPOS {chain.upper()} {place.upper()}") for chain in CHAINS for place in PLACES]
    labels = [category for category in CHAINS.values() for _ in PLACES]
    return _TrainingSet.deduplicated(texts, [-10.0] * len(texts), labels, texts, None, True)


def test_folds_hold_out_whole_merchant_words_and_every_row_once():
    data = training_set()
    splits = calibration_splits(data, random_state=0)
    assert len(splits) == model_module.CALIBRATION_FOLDS
    words = np.array([merchant_word(t) for t in data.texts])
    for fit, hold in splits:
        assert not set(words[fit]) & set(words[hold])
    assert sorted(np.concatenate([hold for _, hold in splits]).tolist()) == list(range(len(data.labels)))


@pytest.mark.parametrize(("held_out", "folds"), [(1, 1), (13, 2)])
def test_larger_data_stops_at_the_fold_that_reaches_enough_held_out_rows(monkeypatch, held_out, folds):
    data = training_set()  # 60 rows in 5 folds of 12
    every = calibration_splits(data, random_state=0)
    monkeypatch.setattr(model_module, "CALIBRATION_HELD_OUT", held_out)
    splits = calibration_splits(data, random_state=0)
    assert len(splits) == folds
    for (fit, hold), (every_fit, every_hold) in zip(splits, every, strict=False):  # the first of the same folds
        assert fit.tolist() == every_fit.tolist() and hold.tolist() == every_hold.tolist()
    held = np.concatenate([hold for _, hold in splits])
    assert len(held) >= held_out and len(set(held.tolist())) == len(held)


def test_too_few_merchants_means_no_calibration():
    data = _TrainingSet.deduplicated(["a shop", "b shop"], [-1.0, -1.0], ["x", "y"], ["a", "b"], None, True)
    assert calibration_splits(data, random_state=0) == []


def test_held_out_rows_of_a_category_the_fit_never_saw_count_as_wrong():
    data = training_set()
    words = np.array([merchant_word(t) for t in data.texts])
    hold = np.flatnonzero(np.isin(words, ["countdown", "netflix"]))
    fit = np.setdiff1d(np.arange(len(words)), hold)
    matrix = np.eye(len(words), dtype=np.float32)  # any features do: the truth column is what counts
    part = _held_out_fit(sp.csr_matrix(matrix), data, 1.0, 0, fit, hold)
    unseen = np.isin(data.labels[hold], data.labels[fit], invert=True)
    assert unseen.any() and len(part.truth) == len(hold)
    assert (part.truth[unseen] == -1).all() and (part.truth[~unseen] >= 0).all()


def test_the_temperature_brings_confidence_down_to_held_out_accuracy():
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 1.0, (400, 5))
    logits[:, 0] += 6.0  # confident in column 0 ...
    truth = np.where(rng.random(400) < 0.6, 0, -1)  # ... but right on 60% (the rest: unseen categories)
    temperature = _fit_temperature([_HeldOut(logits, truth, np.ones(400))])
    confidence, correct = _HeldOut(logits, truth, np.ones(400)).top(temperature)
    assert temperature > 1.0
    assert confidence.mean() == pytest.approx(correct.mean(), abs=0.05)
