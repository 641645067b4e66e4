"""Cross-validated evaluation of the whole decision path (rules + model), beside a plain baseline.

Splits: ``random`` (5-fold stratified) and ``unseen`` (5-fold by merchant: no merchant is in
both train and test; the file's ``merchant`` column when it has one, else the merchant key). Each
fold's model groups its rows by merchant key, as ``manna train`` does on a file without one.

The baseline is word 1-3-gram counts + a linear SVC, the approach of
beancount's smart_importer, run on the same folds.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import classification_report, f1_score
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from pipeline.categorize import Categorizer
from pipeline.features import FeatureConfig
from pipeline.model import ECE_BINS, CategoryModel, calibration_bin, expected_calibration_error, train_model
from pipeline.offline import LabeledData, rules_for
from pipeline.schema import Transaction

SPLITS = ("random", "unseen")


@dataclass
class Predictions:
    """Out-of-fold predictions for every row of the data."""

    truth: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    decided_by: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


class EvaluationError(ValueError):
    """The data cannot be split into the folds asked for."""


def folds(data: LabeledData, split: str, n_splits: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs for a split."""
    labels, groups = np.asarray(data.labels), np.asarray(data.split_groups)
    index = np.arange(len(labels))
    units, unit = (len(set(groups.tolist())), "merchants") if split == "unseen" else (len(labels), "rows")
    # Stratified folds also need a category with a row in every fold.
    largest = max(Counter(labels.tolist()).values(), default=0) if split == "random" else units
    if units < n_splits:
        raise EvaluationError(f"{n_splits} folds need at least {n_splits} {unit}, and the data has {units}: "
                              f"evaluate {_fewer_folds(min(units, largest))}more data")
    if largest < n_splits:
        raise EvaluationError(f"{n_splits} random folds need a category with at least {n_splits} rows, and the "
                              f"largest has {largest}: evaluate {_fewer_folds(largest)}more data")
    if split == "unseen":
        return list(GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(index, labels, groups))
    if split != "random":
        raise ValueError(f"split must be one of {SPLITS}")
    with warnings.catch_warnings():  # rare categories: fewer members than folds is fine here
        warnings.simplefilter("ignore", UserWarning)
        return list(StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(index, labels))


def _fewer_folds(most: int) -> str:
    """Advice on folds when at most ``most`` would do: none below 2, the smallest number of folds."""
    return f"with --folds {most} or on " if most >= 2 else "on "


def cross_validate(data: LabeledData, split: str, *, progress: Callable[[str], None] = lambda _: None,
                   config: FeatureConfig | None = None, calibrate: bool = True, baseline: bool = True,
                   n_splits: int = 5, seed: int = 0) -> tuple[Predictions, Predictions]:
    """Out-of-fold predictions of ours and of the baseline (unless ``baseline`` is off), on the same folds.

    ``config`` and ``calibrate`` are the model's levers (``train_model``), for ablations; a config
    without a country takes the data's (its currency column), as ``manna train`` does.
    """
    config = config or FeatureConfig()
    if config.country is None:
        config = replace(config, country=data.country)
    n = len(data.labels)
    ours = Predictions(np.asarray(data.labels), np.empty(n, dtype=object), np.zeros(n), np.empty(n, dtype=object))
    base = Predictions(np.asarray(data.labels), np.empty(n, dtype=object), np.zeros(n))
    rules = rules_for(set(data.labels), None)
    for number, (train, test) in enumerate(folds(data, split, n_splits, seed), start=1):
        started = time.perf_counter()
        if len(trained := {data.labels[i] for i in train}) < 2:
            raise EvaluationError(f"{split} fold {number} has one category only to train on ({trained.pop()}): "
                                  f"evaluate {'with fewer folds (--folds) or ' if n_splits > 2 else ''}on more data")
        model = fold_model(data, train, config, calibrate=calibrate)
        report = Categorizer(rules, model).categorize(held_out_rows(data, test))
        ours.predicted[test] = [d.category for d in report.decisions]
        ours.confidence[test] = [d.confidence for d in report.decisions]
        ours.decided_by[test] = [d.decided_by for d in report.decisions]
        versus = ""
        if baseline:
            base.predicted[test], base.confidence[test] = _baseline(data, train, test)
            versus = f" (baseline {np.mean(base.predicted[test] == base.truth[test]):.3f})"
        progress(f"{split} fold {number}: accuracy {np.mean(ours.predicted[test] == ours.truth[test]):.3f}"
                 f"{versus}, {time.perf_counter() - started:.1f} s")
    return ours, base


def fold_model(data: LabeledData, train: np.ndarray, config: FeatureConfig, *, calibrate: bool = True
               ) -> CategoryModel:
    """The model ``manna train`` would fit on rows ``train`` of ``data``."""
    return train_model([data.texts[i] for i in train], [data.amounts[i] for i in train],
                       [data.labels[i] for i in train], [data.groups[i] for i in train],
                       config=config, calibrate=calibrate)


def held_out_rows(data: LabeledData, test: np.ndarray) -> list[Transaction]:
    """Rows ``test`` of ``data`` to decide, as the file wrote them.

    ``manna predict`` reads descriptions, not feature texts: a feature text is not always its own
    feature text ("0-0-0-0", an NZ account number's, reads as a date again).
    """
    return [Transaction(str(i), data.descriptions[i], Decimal(repr(data.amounts[i])), "XXX") for i in test]


def pooled(runs: list[Predictions]) -> Predictions:
    """The out-of-fold predictions of several cross-validations (other fold seeds) as one set of rows.

    On a file of 1,000-2,000 rows, the fold seed alone moves the unseen ECE by up to 0.025
    (docs/evaluation/hard.md): pooled repeats measure it steadier.
    """
    return Predictions(*(np.concatenate([getattr(run, name) for run in runs])
                         for name in ("truth", "predicted", "confidence", "decided_by")))


def _baseline(data: LabeledData, train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pipeline = make_pipeline(CountVectorizer(ngram_range=(1, 3)), LinearSVC())
    pipeline.fit([data.texts[i] for i in train], [data.labels[i] for i in train])
    scores = pipeline.decision_function([data.texts[i] for i in test])
    if scores.ndim == 1:  # two classes: one score column
        scores = np.column_stack([-scores, scores])
    classes = pipeline.classes_
    # An SVC has no probabilities; its top margin ranks rows for coverage but has no calibration.
    return classes[scores.argmax(axis=1)], scores.max(axis=1)


def metrics(p: Predictions, *, calibrated: bool = True, groups: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy, macro-F1, ECE, accuracy of the most confident 75%, coverage at 95% accuracy.

    ``groups`` (each row's merchant) adds the ECE's spread over resampled merchants (``ece_spread``).
    """
    correct = p.predicted == p.truth
    order = np.argsort(-p.confidence, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    at_95 = np.nonzero(running >= 0.95)[0]
    report = classification_report(p.truth, p.predicted, output_dict=True, zero_division=0)
    result: dict[str, Any] = {
        "rows": len(correct),
        "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(p.truth, p.predicted, average="macro", zero_division=0)),
        "accuracy_top75": float(correct[order[: max(1, int(0.75 * len(order)))]].mean()),
        "coverage_at_95": float((at_95.max() + 1) / len(order)) if len(at_95) else 0.0,
        "per_category": {k: {"precision": v["precision"], "recall": v["recall"], "support": int(v["support"])}
                         for k, v in report.items() if isinstance(v, dict) and k not in
                         ("macro avg", "weighted avg")},
    }
    if calibrated:
        result["ece"] = expected_calibration_error(p.confidence, correct)
        result["ece_by_chance"] = ece_by_chance(p.confidence)
        if groups is not None:
            result["ece_spread"] = ece_spread(p.confidence, correct, groups)
    if len(p.decided_by):
        result["decided_by"] = {str(k): int(v) for k, v in zip(*np.unique(p.decided_by, return_counts=True),
                                                               strict=True)}
    return result


def ece_by_chance(confidence: np.ndarray, draws: int = 200, seed: int = 0) -> float:
    """The ECE a perfectly calibrated model would show on these rows by chance alone (mean of ``draws``).

    Each draw makes a row right with probability equal to its confidence. On 1,000-2,000 rows this
    is 0.015-0.04 (docs/evaluation/hard.md): an ECE that close to it says nothing either way.
    Pooled repeats (``pooled``) count a row once per seed, so there it reads a little low.
    """
    confidence = np.asarray(confidence, dtype=float)
    if not len(confidence):
        return 0.0
    index = calibration_bin(confidence)
    mean_confidence = np.bincount(index, weights=confidence, minlength=ECE_BINS)
    rng = np.random.default_rng(seed)
    gaps = [np.abs(np.bincount(index, weights=rng.random(len(confidence)) < confidence, minlength=ECE_BINS)
                   - mean_confidence).sum() / len(confidence) for _ in range(draws)]
    return float(np.mean(gaps))


def ece_spread(confidence: np.ndarray, correct: np.ndarray, groups: np.ndarray, draws: int = 200,
               seed: int = 0) -> float:
    """The standard deviation of the ECE over ``draws`` resamples of whole merchants (``groups``).

    A model is wrong about a merchant on all its lines at once, so a file's ECE moves with which
    merchants it happens to hold (a fold seed alone moves it by up to 0.025 on 2,000 rows), far more
    than ``ece_by_chance``, which draws each row on its own, shows. A spread, not an interval: the
    ECE of a resample is biased upwards, so its percentiles need not hold the file's own ECE.
    """
    confidence, correct = np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float)
    names, member = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    if len(names) < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(draws):
        weights = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))[member]
        drawn = weights > 0  # a merchant drawn k times counts k times; one not drawn, not at all
        scores.append(expected_calibration_error(confidence[drawn], correct[drawn], weights[drawn]))
    return float(np.std(scores))


def reliability(p: Predictions, bins: int = ECE_BINS) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, rows) per non-empty bin, for the reliability diagram."""
    correct = p.predicted == p.truth
    index = calibration_bin(p.confidence, bins)
    return [(float(p.confidence[index == b].mean()), float(correct[index == b].mean()), int((index == b).sum()))
            for b in range(bins) if (index == b).any()]


def coverage_curve(p: Predictions, points: int = 50) -> list[tuple[float, float]]:
    """(coverage, accuracy) when keeping only the most confident share of rows."""
    correct = (p.predicted == p.truth)[np.argsort(-p.confidence, kind="stable")]
    running = np.cumsum(correct) / np.arange(1, len(correct) + 1)
    keep = np.unique(np.linspace(1, len(correct), points).astype(int))
    return [(float(k / len(correct)), float(running[k - 1])) for k in keep]
