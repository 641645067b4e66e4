"""The scikit-learn model: features -> logistic regression -> temperature-calibrated probabilities."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit

from pipeline.features import AMOUNT_EDGES, build_features, frame

ARTIFACT_NAME = "model.joblib"
MANIFEST_NAME = "manifest.json"

# Named confidence levels: the lowest calibrated probability each level admits.
LEVELS: tuple[tuple[str, float], ...] = (("very_high", 0.95), ("high", 0.85), ("medium", 0.6))


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

    features: ColumnTransformer
    classifier: LogisticRegression
    temperature: float = 1.0
    amount_edges: tuple[float, ...] = AMOUNT_EDGES
    summary: dict[str, Any] = field(default_factory=dict)
    version: str = "unsaved"

    @property
    def classes(self) -> np.ndarray:
        """Category ids, in the column order of ``predict_proba``."""
        return np.asarray(self.classifier.classes_)

    def vectorize(self, texts: Sequence[str], amounts: Sequence[float]) -> sp.csr_matrix:
        """One sparse feature matrix for a batch of inputs."""
        return sp.csr_matrix(self.features.transform(frame(texts, amounts)))

    def predict_proba_matrix(self, matrix: sp.csr_matrix) -> np.ndarray:
        """Calibrated probabilities, one row per input, one column per category."""
        logits = self.classifier.decision_function(matrix)
        return np.asarray(softmax(logits / self.temperature, axis=1))

    def predict_matrix(self, matrix: sp.csr_matrix) -> tuple[list[str], np.ndarray]:
        """Best category per row and its calibrated probability."""
        if matrix.shape[0] == 0:
            return [], np.zeros(0)
        proba = self.predict_proba_matrix(matrix)
        best = proba.argmax(axis=1)
        return [str(c) for c in self.classes[best]], proba[np.arange(len(best)), best]

    def predict(self, texts: Sequence[str], amounts: Sequence[float]) -> tuple[list[str], np.ndarray]:
        """Best category per input and its calibrated probability."""
        return self.predict_matrix(self.vectorize(texts, amounts))


def train_model(
    texts: Sequence[str],
    amounts: Sequence[float],
    labels: Sequence[str],
    groups: Sequence[str],
    *,
    c: float = 20.0,
    random_state: int = 0,
) -> CategoryModel:
    """Fit the model; the temperature is fitted on merchants held out of a first fit."""
    started = time.perf_counter()
    texts, amounts, labels, groups = list(texts), np.asarray(amounts, float), np.asarray(labels), np.asarray(groups)
    temperature = _held_out_temperature(texts, amounts, labels, groups, c, random_state)
    features, classifier = _fit(texts, amounts, labels, c, random_state)
    summary = {
        "rows": len(texts),
        "categories": len(classifier.classes_),
        "merchant_groups": len(set(groups.tolist())),
        "features": int(sum(len(t.get_feature_names_out()) for _, t, _ in features.transformers_ if t != "drop")),
        "temperature": round(temperature, 4),
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    return CategoryModel(features, classifier, temperature, summary=summary)


def _fit(
    texts: list[str], amounts: np.ndarray, labels: np.ndarray, c: float, random_state: int
) -> tuple[ColumnTransformer, LogisticRegression]:
    features = build_features()
    matrix = features.fit_transform(frame(texts, amounts))
    classifier = LogisticRegression(C=c, max_iter=300, tol=1e-3, random_state=random_state)
    classifier.fit(matrix, labels)
    return features, classifier


def _held_out_temperature(
    texts: list[str], amounts: np.ndarray, labels: np.ndarray, groups: np.ndarray, c: float, seed: int
) -> float:
    # Confidence must hold for merchants never seen (MODELING.md): calibrate on held-out groups.
    if len(set(groups.tolist())) < 5:
        return 1.0
    split = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
    fit_idx, hold_idx = next(split.split(texts, labels, groups))
    known = np.isin(labels[hold_idx], labels[fit_idx])
    hold_idx = hold_idx[known]
    if len(hold_idx) < 20:
        return 1.0
    features, classifier = _fit([texts[i] for i in fit_idx], amounts[fit_idx], labels[fit_idx], c, seed)
    logits = classifier.decision_function(features.transform(frame([texts[i] for i in hold_idx], amounts[hold_idx])))
    truth = np.searchsorted(classifier.classes_, labels[hold_idx])

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(truth)), truth].mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def save_model(model: CategoryModel, model_dir: Path) -> tuple[str, str, Path]:
    """Write the artifact under ``model_dir/<version>/``; returns version, sha256 and directory."""
    buffer = io.BytesIO()
    joblib.dump({"features": model.features, "classifier": model.classifier,
                 "temperature": model.temperature, "amount_edges": model.amount_edges}, buffer)
    payload = buffer.getvalue()
    digest = hashlib.sha256(payload).hexdigest()
    version = "m-" + digest[:12]
    target = model_dir / version
    target.mkdir(parents=True, exist_ok=True)
    (target / ARTIFACT_NAME).write_bytes(payload)
    manifest = {"version": version, "sha256": digest, "classes": [str(c) for c in model.classes],
                "summary": model.summary}
    (target / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    model.version = version
    return version, digest, target


def load_model(artifact_dir: Path, expected_sha256: str) -> CategoryModel:
    """Load an artifact only after its bytes hash to ``expected_sha256`` (never unverified pickle)."""
    path = artifact_dir / ARTIFACT_NAME
    if not path.is_file():
        raise ArtifactError(f"no model artifact at {path}")
    payload = path.read_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    if digest != expected_sha256:
        raise ArtifactError(f"refusing {path}: sha256 {digest[:12]}... != expected {expected_sha256[:12]}...")
    state = joblib.load(io.BytesIO(payload))
    manifest = json.loads((artifact_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    return CategoryModel(
        features=state["features"],
        classifier=state["classifier"],
        temperature=float(state["temperature"]),
        amount_edges=tuple(state["amount_edges"]),
        summary=manifest.get("summary", {}),
        version=manifest["version"],
    )


def read_manifest(artifact_dir: Path) -> dict[str, Any]:
    """The manifest written beside an artifact (version, sha256, classes, training summary)."""
    data: dict[str, Any] = json.loads((artifact_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    return data
