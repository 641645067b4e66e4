"""The model's whole feature set, in one place: weights per block feeding one sparse matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer

# Absolute-amount bucket edges; the model sees only (sign, bucket), so the cache key can too.
AMOUNT_EDGES: tuple[float, ...] = (5.0, 20.0, 60.0, 200.0, 1000.0, 5000.0)

FEATURE_WEIGHTS = {"char": 1.0, "word": 0.8, "amount": 0.6}


class AmountFeatures(TransformerMixin, BaseEstimator):
    """One-hot of (direction, magnitude bucket) from a signed amount column."""

    def __init__(self, edges: Sequence[float] = AMOUNT_EDGES) -> None:
        self.edges = edges

    def fit(self, X: object, y: object = None) -> AmountFeatures:
        """Stateless; present for the estimator contract."""
        self.n_features_out_ = 2 * (len(self.edges) + 1)
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> sp.csr_matrix:
        """Sparse one-hot rows, one column per (sign, bucket)."""
        amounts = np.asarray(X, dtype=float).reshape(-1)
        column = amount_bucket(amounts, self.edges) + np.where(amounts > 0, len(self.edges) + 1, 0)
        rows = np.arange(len(amounts))
        data = np.ones(len(amounts), dtype=np.float32)
        shape = (len(amounts), 2 * (len(self.edges) + 1))
        return sp.csr_matrix((data, (rows, column)), shape=shape)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Readable names such as ``out<5`` for explanations."""
        bounds = ["<" + f"{self.edges[0]:g}"] + [
            f"{lo:g}-{hi:g}" for lo, hi in zip(self.edges, self.edges[1:], strict=False)
        ] + [">" + f"{self.edges[-1]:g}"]
        return np.array([f"amount:{d}{b}" for d in ("out", "in") for b in bounds], dtype=object)


def amount_bucket(amounts: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """Index of the bucket each absolute amount falls in."""
    return np.asarray(np.searchsorted(np.asarray(edges), np.abs(amounts), side="right"))


def build_features() -> ColumnTransformer:
    """Char and word n-gram TF-IDF over the feature text, plus the amount block."""
    return ColumnTransformer(
        [
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                     sublinear_tf=True, max_features=200_000,
                                     dtype=np.float32), "text"),
            ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w[\w&']*\b",
                                     dtype=np.float32), "text"),
            ("amount", AmountFeatures(), ["amount"]),
        ],
        transformer_weights=FEATURE_WEIGHTS,
        sparse_threshold=1.0,
    )


def frame(texts: Sequence[str], amounts: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """The two input columns the feature set reads."""
    return pd.DataFrame({"text": list(texts), "amount": np.asarray(amounts, dtype=float)})
