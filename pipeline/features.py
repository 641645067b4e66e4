"""The model's whole feature set, in one place: weights per block feeding one sparse matrix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer

# Absolute-amount bucket edges; the model sees only (sign, bucket), so the cache key can too.
AMOUNT_EDGES: tuple[float, ...] = (5.0, 20.0, 60.0, 200.0, 1000.0, 5000.0)

FEATURE_WEIGHTS = {"char": 1.0, "word": 0.8, "amount": 0.6, "lexicon": 0.8}
LEXICON_PATH = Path(__file__).parent / "data" / "lexicon.yaml"
_TOKEN = re.compile(r"[a-z&']+")


@lru_cache(maxsize=1)
def default_lexicon() -> dict[str, tuple[str, ...]]:
    """Domain word groups (coffee, fuel, fees, transfer, ...) from ``data/lexicon.yaml``."""
    document = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    return {str(group): tuple(str(word) for word in words) for group, words in document.items()}


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """One binary column per word group: does the line hold any word of the group?

    Knowledge that generalizes to merchants never seen in training (MODELING.md).
    """

    def __init__(self, lexicon: dict[str, tuple[str, ...]] | None = None) -> None:
        self.lexicon = lexicon

    def fit(self, X: object, y: object = None) -> LexiconFeatures:
        """Index the words; no learning from data."""
        groups = self.lexicon if self.lexicon is not None else default_lexicon()
        self.groups_ = sorted(groups)
        self.word_groups_: dict[str, list[int]] = {}
        for index, group in enumerate(self.groups_):
            for word in groups[group]:
                self.word_groups_.setdefault(word, []).append(index)
        return self

    def transform(self, X: pd.Series | np.ndarray) -> sp.csr_matrix:
        """Sparse binary rows."""
        texts = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else X
        rows: list[int] = []
        columns: list[int] = []
        for row, text in enumerate(texts):
            hit = {g for token in _TOKEN.findall(str(text)) for g in self.word_groups_.get(token, ())}
            rows.extend([row] * len(hit))
            columns.extend(hit)
        data = np.ones(len(rows), dtype=np.float32)
        return sp.csr_matrix((data, (rows, columns)), shape=(len(texts), len(self.groups_)))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``lex:<group>`` names for explanations."""
        return np.array([f"lex:{group}" for group in self.groups_], dtype=object)


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
            ("lexicon", LexiconFeatures(), ["text"]),
        ],
        transformer_weights=FEATURE_WEIGHTS,
        sparse_threshold=1.0,
    )


def frame(texts: Sequence[str], amounts: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """The two input columns the feature set reads."""
    return pd.DataFrame({"text": list(texts), "amount": np.asarray(amounts, dtype=float)})
