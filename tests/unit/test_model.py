"""The model artifact: versioned by content hash, refused when its bytes were changed."""

import copy

import numpy as np
import pytest
from scipy.special import softmax

from pipeline.generate import Generator
from pipeline.model import ArtifactError, confidence_level, load_model, read_manifest, save_model
from pipeline.normalize import feature_text


def test_save_and_load_round_trip(small_model, tmp_path):
    version, digest, path = save_model(copy.copy(small_model), tmp_path)  # saving sets .version
    assert version == "m-" + digest[:12] and read_manifest(path)["sha256"] == digest
    loaded = load_model(path, digest)
    rows = Generator(9).rows(200)
    texts, amounts = [feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows]
    assert loaded.predict(texts, amounts)[0] == small_model.predict(texts, amounts)[0]
    assert loaded.version == version


def test_tampered_artifact_is_refused(small_model, tmp_path):
    _, digest, path = save_model(copy.copy(small_model), tmp_path)
    artifact = path / "model.joblib"
    artifact.write_bytes(artifact.read_bytes() + b"\x00")
    with pytest.raises(ArtifactError, match="refusing"):
        load_model(path, digest)


def test_generated_data_is_learnable_and_confidence_is_calibrated(small_model):
    rows = Generator(21).rows(3_000)
    categories, confidence = small_model.predict([feature_text(r["description"]) for r in rows],
                                                 [float(r["amount"]) for r in rows])
    correct = np.array([c == r["category"] for c, r in zip(categories, rows, strict=True)])
    assert correct.mean() > 0.85
    # Expected calibration error over 15 equal-width bins of the top probability.
    bins = np.minimum((confidence * 15).astype(int), 14)
    ece = sum(abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).mean()
              for b in range(15) if (bins == b).any())
    assert ece < 0.08


@pytest.mark.parametrize(("p", "level"), [(0.99, "very_high"), (0.9, "high"), (0.7, "medium"), (0.3, "low")])
def test_confidence_levels(p, level):
    assert confidence_level(p) == level


def test_artifact_of_another_format_is_refused_with_advice(small_model, tmp_path):
    import hashlib
    import io

    import joblib

    _, _, path = save_model(copy.copy(small_model), tmp_path)
    buffer = io.BytesIO()
    joblib.dump({"features": small_model.features, "classifier": small_model.classifier}, buffer)  # no format
    (path / "model.joblib").write_bytes(buffer.getvalue())
    with pytest.raises(ArtifactError, match="manna train"):
        load_model(path, hashlib.sha256(buffer.getvalue()).hexdigest())


def test_predictions_are_scikit_learns_own_to_the_last_bit(small_model):
    rows = Generator(22).rows(3_000)
    matrix = small_model.vectorize([feature_text(r["description"]) for r in rows], [float(r["amount"]) for r in rows])
    categories, confidence = small_model.predict_matrix(matrix)
    logits = small_model.classifier.decision_function(matrix).astype(np.float64)  # no top probability rounds to 1
    proba = softmax(logits / small_model.temperature, axis=1)
    assert np.array_equal(small_model.predict_proba_matrix(matrix), proba)
    assert categories == [str(c) for c in small_model.classifier.classes_[proba.argmax(axis=1)]]
    assert np.array_equal(confidence, proba.max(axis=1))
