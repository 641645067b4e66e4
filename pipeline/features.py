"""The model's whole feature set, in one place: four weighted blocks feeding one sparse matrix.

Fitting uses scikit-learn's ``TfidfVectorizer`` for the vocabularies and idf weights, so the
features mean exactly what sklearn's would. Transforming does not: sklearn's analyzers build a
Python string per n-gram, about 60 µs per line, the slowest step of categorization. Here char
n-grams are integer windows over one array of code points for the whole batch (numpy), which
gives the same matrix (a test holds the two to it) many times faster.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

# Absolute-amount bucket edges; the model sees only (sign, bucket), so the cache key can too.
AMOUNT_EDGES: tuple[float, ...] = (5.0, 20.0, 60.0, 200.0, 1000.0, 5000.0)

BLOCK_WEIGHTS = {"char": 1.0, "word": 0.8, "amount": 0.6, "lexicon": 0.8}
CHAR_PARAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2, "sublinear_tf": True,
                               "max_features": 200_000, "dtype": np.float32}
WORD_PARAMS: dict[str, Any] = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True,
                               "token_pattern": r"(?u)\b\w[\w&']*\b", "dtype": np.float32}
LEXICON_PATH = Path(__file__).parent / "data" / "lexicon.yaml"
_WORD = re.compile(WORD_PARAMS["token_pattern"])
_MAX_WINDOW_BITS = 63  # n-gram ids are int64


@lru_cache(maxsize=1)
def default_lexicon() -> dict[str, tuple[str, ...]]:
    """Domain word groups (coffee, fuel, fees, transfer, ...) from ``data/lexicon.yaml``."""
    document = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))
    return {str(group): tuple(str(word) for word in words) for group, words in document.items()}


def amount_bucket(amounts: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """Index of the bucket each absolute amount falls in."""
    return np.asarray(np.searchsorted(np.asarray(edges), np.abs(amounts), side="right"))


def amount_block(amounts: np.ndarray, edges: Sequence[float] = AMOUNT_EDGES) -> sp.csr_matrix:
    """One-hot of (direction, magnitude bucket): the model never sees the exact amount."""
    column = amount_bucket(amounts, edges) + np.where(amounts > 0, len(edges) + 1, 0)
    data = np.ones(len(amounts), dtype=np.float32)
    return sp.csr_matrix((data, column, np.arange(len(amounts) + 1)), shape=(len(amounts), 2 * (len(edges) + 1)))


def amount_names(edges: Sequence[float] = AMOUNT_EDGES) -> list[str]:
    """Readable names such as ``amount:out<5`` for explanations."""
    bounds = [f"<{edges[0]:g}"] + [f"{lo:g}-{hi:g}" for lo, hi in pairwise(edges)]
    bounds.append(f">{edges[-1]:g}")
    return [f"amount:{d}{b}" for d in ("out", "in") for b in bounds]


class CharNgrams:
    """The char_wb 2-5-gram TF-IDF block of a fitted ``TfidfVectorizer``, transformed with numpy.

    A window of up to five characters, each coded by its rank in the vocabulary's alphabet, packs
    into one int64; a sorted array of the vocabulary's ids maps windows to columns.
    """

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        alphabet = sorted({ch for term in terms for ch in term} - {"\0"})  # "\0" is the line sentinel
        self.names = terms
        self.idf = vectorizer.idf_.astype(np.float32)
        self.max_n = int(vectorizer.ngram_range[1])
        self.bits = max(1, math.ceil(math.log2(len(alphabet) + 1)))
        if self.bits * self.max_n > _MAX_WINDOW_BITS:
            raise ValueError(f"{len(alphabet)} distinct characters do not fit a {self.max_n}-char window id")
        self.alphabet = np.array([ord(ch) for ch in alphabet], dtype=np.uint32)
        code = {ch: rank + 1 for rank, ch in enumerate(alphabet)}
        ids = np.array([self._id_of(term, code) for term in terms], dtype=np.int64)
        order = np.argsort(ids)
        self.sorted_ids = ids[order]
        self.sorted_columns = order.astype(np.int32)

    def _id_of(self, term: str, code: dict[str, int]) -> int:
        value = 0
        for ch in term:
            if ch not in code:
                return -1  # a term holding the sentinel: no window ever has this id
            value = (value << self.bits) | code[ch]
        return value

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """TF-IDF rows (sublinear tf, l2-normalized), equal to the vectorizer's own transform."""
        # "\0 w1 w2 " per line. char_wb terms hold spaces only at their ends, so a window across
        # two words never finds a column; the sentinel (code 0) keeps windows inside their line.
        pieces = ["\0 " + " ".join(text.lower().split()) + " " for text in texts]
        codes = self._codes("".join(pieces))
        row_of_char = np.repeat(np.arange(len(pieces), dtype=np.int32), [len(p) for p in pieces])
        rows, columns = [], []
        window = codes
        zeros = np.concatenate(([0], np.cumsum(codes == 0)))
        for n in range(2, self.max_n + 1):
            window = (window[:-1] << self.bits) | codes[n - 1:]
            starts = np.flatnonzero(zeros[n:] == zeros[:-n])  # windows without a sentinel
            found = np.searchsorted(self.sorted_ids, window[starts]).clip(max=len(self.sorted_ids) - 1)
            hit = self.sorted_ids[found] == window[starts]
            rows.append(row_of_char[starts[hit]])
            columns.append(self.sorted_columns[found[hit]])
        return _tfidf_rows(np.concatenate(rows), np.concatenate(columns), self.idf, len(texts))

    def _codes(self, text: str) -> np.ndarray:
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        rank = np.searchsorted(self.alphabet, points).clip(max=len(self.alphabet) - 1)
        known = self.alphabet[rank] == points
        return np.where(known, rank + 1, 0).astype(np.int64)  # unknown characters end windows too


class WordNgrams:
    """The word 1-2-gram TF-IDF block, plus the lexicon groups its tokens belong to."""

    def __init__(self, vectorizer: TfidfVectorizer, lexicon: dict[str, tuple[str, ...]]) -> None:
        self.names = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        self.vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self.idf = vectorizer.idf_.astype(np.float32)
        self.groups = sorted(lexicon)
        self.word_groups: dict[str, tuple[int, ...]] = {}
        for index, group in enumerate(self.groups):
            for word in lexicon[group]:
                self.word_groups[word] = (*self.word_groups.get(word, ()), index)

    def transform(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """TF-IDF rows of word uni- and bigrams, and binary rows of lexicon groups."""
        vocabulary, word_groups = self.vocabulary, self.word_groups
        rows: list[int] = []
        columns: list[int] = []
        lex_rows: list[int] = []
        lex_columns: list[int] = []
        for row, text in enumerate(texts):
            tokens = _WORD.findall(text.lower())
            grams = tokens + [f"{a} {b}" for a, b in pairwise(tokens)]
            found = [vocabulary[g] for g in grams if g in vocabulary]
            rows.extend([row] * len(found))
            columns.extend(found)
            groups = {g for token in tokens for g in word_groups.get(token, ())}
            lex_rows.extend([row] * len(groups))
            lex_columns.extend(groups)
        words = _tfidf_rows(np.array(rows, dtype=np.int32), np.array(columns, dtype=np.int32), self.idf, len(texts))
        lexicon = sp.csr_matrix((np.ones(len(lex_rows), dtype=np.float32), (lex_rows, lex_columns)),
                                shape=(len(texts), len(self.groups)))
        return words, lexicon


def _tfidf_rows(rows: np.ndarray, columns: np.ndarray, idf: np.ndarray, n_rows: int) -> sp.csr_matrix:
    counts = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(n_rows, len(idf)))
    counts.sum_duplicates()
    counts.data = (np.log(counts.data) + 1.0) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    counts.data /= np.repeat(norms, np.diff(counts.indptr)).astype(np.float32)
    return counts


class FeatureSet:
    """Char n-grams, word n-grams, (direction, amount bucket) and lexicon groups, weighted."""

    def __init__(self, char: CharNgrams, word: WordNgrams, edges: Sequence[float] = AMOUNT_EDGES) -> None:
        self.char = char
        self.word = word
        self.edges = tuple(edges)

    @classmethod
    def fit(cls, texts: Sequence[str], lexicon: dict[str, tuple[str, ...]] | None = None) -> FeatureSet:
        """Learn both vocabularies and their idf weights from the training texts."""
        char = TfidfVectorizer(**CHAR_PARAMS).fit(texts)
        word = TfidfVectorizer(**WORD_PARAMS).fit(texts)
        return cls(CharNgrams(char), WordNgrams(word, lexicon if lexicon is not None else default_lexicon()))

    def transform(self, texts: Sequence[str], amounts: Sequence[float] | np.ndarray) -> sp.csr_matrix:
        """One sparse float32 row per input."""
        words, lexicon = self.word.transform(texts)
        blocks = {"char": self.char.transform(texts), "word": words,
                  "amount": amount_block(np.asarray(amounts, dtype=float), self.edges), "lexicon": lexicon}
        return sp.hstack([blocks[name] * np.float32(weight) for name, weight in BLOCK_WEIGHTS.items()],
                         format="csr", dtype=np.float32)

    @property
    def n_features(self) -> int:
        """Columns of the matrix ``transform`` returns."""
        return len(self.char.names) + len(self.word.names) + 2 * (len(self.edges) + 1) + len(self.word.groups)

    def names(self) -> list[str]:
        """Short names per column, for explanations: ``c:'bu'``, ``w:uber eats``, ``amount:out<5``, ``lex:fuel``."""
        return ([f"c:'{n}'" for n in self.char.names] + [f"w:{n}" for n in self.word.names]
                + amount_names(self.edges) + [f"lex:{g}" for g in self.word.groups])
