"""The scikit-learn model: features -> logistic regression -> temperature-calibrated probabilities."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.special import softmax

from pipeline.features import AmountBlock, Attribution, FeatureConfig, FeatureSet, Folded, amount_bucket
from pipeline.normalize import US_CITIES, US_STATES, merchant_word

# What only fitting needs is imported where it fits (here and in pipeline.features): every process
# that imports this module (beat, Flower, the API, each CLI command) would otherwise pay about 2 s
# of CPU for sklearn and scipy.optimize. Loading an artifact imports the sklearn classes it holds.
if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

ARTIFACT_NAME = "model.joblib"
PROCESS_FIT_LIMIT = 40_000  # distinct training inputs; see train_model
CALIBRATION_FOLDS = 5  # merchant folds the temperature's held-out fits come from (calibration_splits)
CALIBRATION_HELD_OUT = 2_000  # distinct inputs held out past which no further fold is fitted
MANIFEST_NAME = "manifest.json"
ECE_BINS = 15
ARTIFACT_FORMAT = 2  # bump when the pickled classes change shape; older artifacts are refused, not misread

# Named confidence levels: the lowest calibrated probability each level admits.
LEVELS: tuple[tuple[str, float], ...] = (("very_high", 0.95), ("high", 0.85), ("medium", 0.6))
SHOWN_FLOOR = 0.05  # an explanation leaves out what would print as +0.0
JOIN_SHARE = 1 / 3  # neighbouring words read as one phrase when the weaker has this share of the stronger
_CITIES = frozenset(US_CITIES)


class ArtifactError(RuntimeError):
    """A model artifact is missing, or its bytes do not match the recorded hash."""


def confidence_level(confidence: float) -> str:
    """Map a calibrated probability to very_high / high / medium / low."""
    for name, floor in LEVELS:
        if confidence >= floor:
            return name
    return "low"


@dataclass
class CategoryModel:
    """A fitted feature set and classifier; ``predict`` gives category and calibrated confidence."""

    features: FeatureSet
    classifier: LogisticRegression
    temperature: float = 1.0
    summary: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # on merchants held out of a first fit
    version: str = "unsaved"
    # For explanations, built once: columns back to words, and each category's row of coefficients.
    _attribution: Attribution | None = field(default=None, init=False, repr=False)
    _classes: dict[str, int] | None = field(default=None, init=False, repr=False)
    _coefficients: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)

    @property
    def amount_edges(self) -> tuple[float, ...]:
        """The amount buckets the model distinguishes (the cache key must hold the bucket)."""
        return self.features.edges

    @property
    def classes(self) -> np.ndarray:
        """Category ids, in the column order of ``predict_proba``."""
        return np.asarray(self.classifier.classes_)

    def vectorize(self, texts: Sequence[str], amounts: Sequence[float] | np.ndarray) -> sp.csr_matrix:
        """One sparse feature matrix for a batch of inputs."""
        return self.features.transform(texts, amounts)

    def predict_proba_matrix(self, matrix: sp.csr_matrix) -> np.ndarray:
        """Calibrated probabilities, one row per input, one column per category."""
        # In float64: float32 rounds any top probability above 1 - 6e-8 to exactly 1.0, a certainty
        # no model has, which a confidence threshold of 1.0 would then let through.
        logits = self._logits(matrix).astype(np.float64)
        return np.asarray(softmax(logits / self.temperature, axis=1))

    def _logits(self, matrix: sp.csr_matrix) -> np.ndarray:
        # LogisticRegression.decision_function computes exactly this product, after validating its
        # input again (a pass over every entry, about a third of the cost); our matrix is our own.
        coefficients, intercepts = self.coefficients()
        logits: np.ndarray = np.asarray(matrix @ coefficients.T) + intercepts
        return logits

    def coefficients(self) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (categories x features) and intercepts, one row per category in column order.

        A two-category fit keeps one row, the second category's log-odds z; it becomes the logits
        -z/2 and z/2, whose softmax is that fit's own probability.
        """
        if self._coefficients is None:
            coef, intercept = np.asarray(self.classifier.coef_), np.asarray(self.classifier.intercept_)
            if len(coef) == 1:
                coef, intercept = np.vstack([-coef, coef]) / 2, np.concatenate([-intercept, intercept]) / 2
            self._coefficients = coef, intercept
        return self._coefficients

    def predict_matrix(self, matrix: sp.csr_matrix) -> tuple[list[str], np.ndarray]:
        """Best category per row and its calibrated probability."""
        if matrix.shape[0] == 0:
            return [], np.zeros(0)
        return self.best_of(self.predict_proba_matrix(matrix))

    def best_of(self, proba: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Best category per row of ``predict_proba_matrix``'s output, and its probability."""
        best = proba.argmax(axis=1)
        names = self._class_names()
        return [names[i] for i in best.tolist()], proba[np.arange(len(best)), best]

    def predict(self, texts: Sequence[str], amounts: Sequence[float]) -> tuple[list[str], np.ndarray]:
        """Best category per input and its calibrated probability."""
        return self.predict_matrix(self.vectorize(texts, amounts))

    def explain(self, matrix: sp.csr_matrix, texts: Sequence[str], categories: Sequence[str],
                top: int = 3) -> list[str]:
        """Per row, what pushed hardest toward its category: ``merchant "blue bottle" (+2.1), amount 5-20 out (+0.9)``.

        ``texts`` are the feature texts the rows were made from: n-grams are summed into their words.
        """
        if len(texts) != matrix.shape[0]:
            raise ValueError(f"{len(texts)} texts for {matrix.shape[0]} rows")
        if matrix.shape[0] == 0:
            return []
        if not matrix.has_sorted_indices:
            matrix = matrix.sorted_indices()
        class_index = np.fromiter(map(self._class_index().__getitem__, categories), dtype=np.intp,
                                  count=len(categories))
        class_of_entry = np.repeat(class_index, np.diff(matrix.indptr))
        contributions = matrix.data * self.coefficients()[0][class_of_entry, matrix.indices]
        return _describe(self._attributions().fold(matrix, contributions, texts), matrix.shape[0], top)

    def _class_index(self) -> dict[str, int]:
        if self._classes is None:
            self._classes = {str(c): i for i, c in enumerate(self.classes)}
        return self._classes

    def _class_names(self) -> list[str]:
        return list(self._class_index())  # in column order

    def _attributions(self) -> Attribution:
        if self._attribution is None:
            self._attribution = Attribution(self.features)
        return self._attribution


def _describe(folded: Folded, n_rows: int, top: int) -> list[str]:
    """One line per row: its ``top`` strongest positive items, strongest first."""
    shown = folded.values >= SHOWN_FLOOR
    words, others = np.flatnonzero(shown & (folded.positions >= 0)), np.flatnonzero(shown & (folded.positions < 0))
    first, last, phrase_values = _phrases(folded, words)
    rows = np.concatenate([folded.rows[first], folded.rows[others]])
    values = np.concatenate([phrase_values, folded.values[others]])
    order = np.lexsort((-values, rows))
    rank = np.arange(len(order)) - np.searchsorted(rows[order], rows[order])
    order = order[rank < top]
    starts = np.concatenate([first, others])[order].tolist()
    ends = np.concatenate([last, others])[order].tolist()
    names, word_of = folded.names.tolist(), folded.labels.__getitem__
    texts = [f"{_phrase_label(tuple(map(word_of, names[start:end + 1]))) if phrase else word_of(names[start])}"
             f" ({value:+.1f})" for start, end, phrase, value
             in zip(starts, ends, (order < len(first)).tolist(), values[order].tolist(), strict=True)]
    bounds = np.searchsorted(rows[order], np.arange(n_rows + 1)).tolist()
    return [", ".join(texts[start:end]) for start, end in pairwise(bounds)]


def _phrases(folded: Folded, words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of neighbouring words, the weaker of each pair with at least ``JOIN_SHARE`` of the stronger.

    ``words`` index word items in text order; returns each run's first and last item and its value.
    A weak neighbour ("store" beside "starbucks") stays apart, and so is rarely shown.
    """
    if len(words) == 0:
        return words, words, np.zeros(0)
    value, row, position = folded.values[words], folded.rows[words], folded.positions[words]
    joins = ((row[1:] == row[:-1]) & (position[1:] == position[:-1] + 1)
             & (np.minimum(value[1:], value[:-1]) >= JOIN_SHARE * np.maximum(value[1:], value[:-1])))
    starts = np.flatnonzero(np.concatenate(([True], ~joins)))
    ends = np.append(starts[1:], len(words)) - 1
    return words[starts], words[ends], np.add.reduceat(value, starts)


@lru_cache(maxsize=50_000)  # the same phrases come back line after line
def _phrase_label(words: tuple[str, ...]) -> str:
    """``merchant "blue bottle"``, or ``place "oakland ca"`` for a city and/or state codes."""
    place = words
    while place and place[-1] in US_STATES:
        place = place[:-1]
    return f'{"place" if not place or " ".join(place) in _CITIES else "merchant"} "{" ".join(words)}"'


def train_model(
    texts: Sequence[str],
    amounts: Sequence[float],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
    c: float = 20.0,
    random_state: int = 0,
    config: FeatureConfig | None = None,
    calibrate: bool = True,
) -> CategoryModel:
    """Fit the model; the temperature is fitted on merchants held out of first fits (``calibration_splits``).

    ``weights`` counts a row that many times (reviewed lines weigh more than generated ones).
    ``config`` chooses the features; ``calibrate=False`` keeps the temperature at 1 (for ablations).
    """
    started = time.perf_counter()
    features_of = config or FeatureConfig()
    data = _TrainingSet.deduplicated(texts, amounts, labels, groups, weights, features_of.log_amount)
    features = FeatureSet.fit(data.texts, config=features_of)
    matrix = features.transform(data.texts, data.amounts)
    # The held-out fits (for the temperature) and the full fit are independent: one core each.
    # Processes run them fastest but copy the data; past a size, threads keep memory in bounds.
    backend = "loky" if len(data.labels) < PROCESS_FIT_LIMIT else "threading"
    splits = calibration_splits(data, random_state)
    classifier, *held_out = Parallel(n_jobs=2, backend=backend)(
        [delayed(_full_fit)(matrix, data, c, random_state)]
        + [delayed(_held_out_fit)(matrix, data, c, random_state, fit, hold) for fit, hold in splits]
    )
    temperature, metrics = 1.0, {}
    if held_out:
        temperature = _fit_temperature(held_out) if calibrate else 1.0
        metrics = _held_out_metrics(held_out, temperature)
    summary = {
        "rows": len(texts),
        "distinct_inputs": len(data.labels),
        "categories": len(classifier.classes_),
        "merchant_groups": len(set(data.groups.tolist())),
        "features": int(matrix.shape[1]),
        "feature_config": dataclasses.asdict(features_of),
        "temperature": round(temperature, 4),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    return CategoryModel(features, classifier, temperature, summary=summary, metrics=metrics)


@dataclass
class _TrainingSet:
    texts: list[str]
    amounts: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    weights: np.ndarray

    @classmethod
    def deduplicated(cls, texts: Sequence[str], amounts: Sequence[float], labels: Sequence[str],
                     groups: Sequence[str], weights: Sequence[float] | None = None,
                     log_amount: bool = True) -> _TrainingSet:
        # The model sees (text, sign, amount bucket) only: identical inputs train once, weighted.
        values = np.asarray(amounts, dtype=float)
        buckets = amount_bucket(values, AmountBlock(log_amount).edges)
        row_weights = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
        counts: dict[tuple[str, float, int, str], list[Any]] = {}
        for text, amount, bucket, label, group, weight in zip(texts, values, buckets, labels, groups, row_weights,
                                                              strict=True):
            key = (text, float(np.sign(amount)), int(bucket), str(label))
            if key in counts:
                counts[key][1] += float(weight)
            else:
                counts[key] = [amount, float(weight), group]
        keys = list(counts)
        return cls(
            texts=[k[0] for k in keys],
            amounts=np.array([counts[k][0] for k in keys]),
            labels=np.array([k[3] for k in keys]),
            groups=np.array([counts[k][2] for k in keys]),
            weights=np.array([counts[k][1] for k in keys], dtype=float),
        )


def _classifier(c: float, random_state: int) -> LogisticRegression:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=500, tol=1e-4, random_state=random_state)


def _full_fit(matrix: sp.csr_matrix, data: _TrainingSet, c: float, random_state: int) -> LogisticRegression:
    return _classifier(c, random_state).fit(matrix, data.labels, sample_weight=data.weights)


def _held_out_fit(
    matrix: sp.csr_matrix, data: _TrainingSet, c: float, random_state: int, fit_idx: np.ndarray, hold_idx: np.ndarray
) -> _HeldOut:
    """Top probability (per temperature, later) inputs: logits on merchants a fit on the others never saw.

    Rows of a category that fit never saw stay in, as always wrong: an unseen merchant is often
    the only one of its category (one employer's salary, one power company), and leaving those
    rows out is what made confidences too high on unseen merchants.
    """
    classifier = _classifier(c, random_state).fit(matrix[fit_idx], data.labels[fit_idx],
                                                  sample_weight=data.weights[fit_idx])
    known = np.isin(data.labels[hold_idx], classifier.classes_)
    truth = np.where(known, np.searchsorted(classifier.classes_, data.labels[hold_idx]).clip(
        max=len(classifier.classes_) - 1), -1)
    return _HeldOut(classifier.decision_function(matrix[hold_idx]), truth, data.weights[hold_idx])


@dataclass(frozen=True)
class _HeldOut:
    logits: np.ndarray  # one column per category of the fit that made them
    truth: np.ndarray  # column of the true category; -1 when that fit never saw it
    weights: np.ndarray

    def top(self, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        """Top probability and whether it is right, at ``temperature``."""
        logits = self.logits if self.logits.ndim == 2 else np.column_stack([-self.logits, self.logits]) / 2
        proba = softmax(logits / temperature, axis=1)
        return proba.max(axis=1), proba.argmax(axis=1) == self.truth


def calibration_splits(data: _TrainingSet, random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fit/held-out index pairs that keep whole merchants apart, by their merchant word (coarse on purpose).

    The merchants fall into ``CALIBRATION_FOLDS`` folds, held out in turn until ``CALIBRATION_HELD_OUT``
    distinct inputs have been: small data holds out every row once, so the temperature rests on all
    of them; 6,000 inputs take two folds, and past 10,000 one is enough. Each fold costs a fit.
    """
    from sklearn.model_selection import GroupKFold

    groups = np.array([merchant_word(text) for text in data.texts])
    if len(set(groups.tolist())) < CALIBRATION_FOLDS or len(set(data.labels.tolist())) < 2:
        return []
    folds = GroupKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=random_state)
    splits: list[tuple[np.ndarray, np.ndarray]] = []
    held = 0
    for fit, hold in folds.split(data.texts, data.labels, groups):
        splits.append((fit, hold))
        held += len(hold)
        if held >= CALIBRATION_HELD_OUT:
            break
    return splits


def _fit_temperature(held_out: list[_HeldOut]) -> float:
    """The temperature with the least top-label Brier score on held-out merchants.

    Confidence must hold for merchants never seen (MODELING.md). The Brier score of the top
    probability, unlike the log-likelihood, takes the rows no fit could get right.
    """
    def brier(log_t: float) -> float:
        tops = [part.top(float(np.exp(log_t))) for part in held_out]
        errors = np.concatenate([(confidence - correct) ** 2 for confidence, correct in tops])
        return float(np.average(errors, weights=np.concatenate([part.weights for part in held_out])))

    from scipy.optimize import minimize_scalar

    result = minimize_scalar(brier, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def _held_out_metrics(held_out: list[_HeldOut], temperature: float) -> dict[str, Any]:
    """Accuracy and calibration on merchants the first fits never saw: the registry's quality figures."""
    tops = [part.top(temperature) for part in held_out]
    confidence = np.concatenate([t[0] for t in tops])
    correct = np.concatenate([t[1] for t in tops]).astype(float)
    weights = np.concatenate([part.weights for part in held_out])
    return {"held_out_merchant_rows": int(weights.sum()),
            "held_out_merchant_accuracy": round(float(np.average(correct, weights=weights)), 4),
            "held_out_merchant_ece": round(expected_calibration_error(confidence, correct, weights), 4)}


def calibration_bin(confidence: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """Each row's equal-width bin of the top probability (1.0 falls in the last), as ECE counts them."""
    return np.asarray(np.minimum((np.asarray(confidence) * bins).astype(int), bins - 1))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None,
                               bins: int = ECE_BINS) -> float:
    """ECE over equal-width bins of the top probability (rows optionally weighted)."""
    weights = np.ones(len(confidence)) if weights is None else np.asarray(weights, dtype=float)
    index = calibration_bin(confidence, bins)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            w = weights[mask]
            gap = np.average(correct[mask], weights=w) - np.average(confidence[mask], weights=w)
            total += w.sum() / weights.sum() * abs(gap)
    return float(total)


def save_model(model: CategoryModel, model_dir: Path, *, versioned: bool = True,
               extra: dict[str, Any] | None = None) -> tuple[str, str, Path]:
    """Write the artifact to ``model_dir/<version>/`` (or ``model_dir`` itself when not versioned).

    Returns version, sha256 and directory; ``extra`` goes into the manifest.
    """
    buffer = io.BytesIO()
    joblib.dump({"format": ARTIFACT_FORMAT, "features": model.features, "classifier": model.classifier,
                 "temperature": model.temperature}, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    version = "m-" + digest[:12]
    target = model_dir / version if versioned else model_dir
    target.mkdir(parents=True, exist_ok=True)
    (target / ARTIFACT_NAME).write_bytes(payload)
    manifest = {"version": version, "sha256": digest, "classes": [str(c) for c in model.classes],
                "summary": model.summary, "metrics": model.metrics, **(extra or {})}
    (target / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    model.version = version
    return version, digest, target


def import_model_classes() -> None:
    """Import the sklearn classes an artifact holds now: in a worker before its pool forks, children share them."""
    import sklearn.feature_extraction.text
    import sklearn.linear_model  # noqa: F401


def load_model(artifact_dir: Path, expected_sha256: str) -> CategoryModel:
    """Load an artifact only after its bytes hash to ``expected_sha256`` (never unverified pickle)."""
    path = artifact_dir / ARTIFACT_NAME
    if not path.is_file():
        raise ArtifactError(f"no model artifact at {path}")
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected_sha256:
        raise ArtifactError(f"refusing {path}: sha256 {digest[:12]}... != expected {expected_sha256[:12]}...")
    try:
        state = joblib.load(io.BytesIO(payload))
    except (AttributeError, ImportError) as err:  # classes of an older Manna
        raise ArtifactError(f"{path} was written by an incompatible version of Manna ({err}); "
                            "train it again with `manna train`") from None
    if not isinstance(state, dict) or state.get("format") != ARTIFACT_FORMAT:
        raise ArtifactError(f"{path} is not a format-{ARTIFACT_FORMAT} Manna model; train it again with `manna train`")
    manifest = json.loads((artifact_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    return CategoryModel(
        features=state["features"],
        classifier=state["classifier"],
        temperature=float(state["temperature"]),
        summary=manifest.get("summary", {}),
        metrics=manifest.get("metrics", {}),
        version=manifest["version"],
    )


def read_manifest(artifact_dir: Path) -> dict[str, Any]:
    """The manifest written beside an artifact (version, sha256, classes, training summary)."""
    path = artifact_dir / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(f"{artifact_dir} holds no {MANIFEST_NAME}: not a model folder (manna train --data FILE "
                            "--out DIR writes one)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise ArtifactError(f"{path} is not JSON ({err}): the manifest a training run writes; train again") from None
    if not isinstance(data, dict) or not isinstance(data.get("sha256"), str):
        raise ArtifactError(f"{path} is not a model manifest (it needs the artifact's sha256): train again")
    return data
