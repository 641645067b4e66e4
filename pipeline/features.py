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
import string
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, pairwise, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from pipeline.brands import brand_matcher, catalog_id
from pipeline.yamlio import load_yaml

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# Absolute-amount bucket edges of the one-hot amount columns.
AMOUNT_EDGES: tuple[float, ...] = (5.0, 20.0, 60.0, 200.0, 1000.0, 5000.0)
# Where the log-magnitude column changes value: powers of two, and the one-hot edges, so that
# every feature of an amount is constant between two edges (the cache and de-duplication keys
# hold the bucket, not the amount).
LOG_AMOUNT_EDGES: tuple[float, ...] = tuple(sorted({*AMOUNT_EDGES, *(2.0 ** k for k in range(17))}))

BLOCK_WEIGHTS = {"char": 1.0, "word": 0.8, "amount": 0.6, "lexicon": 0.8, "brand": 2.0}
CHAR_PARAMS: dict[str, Any] = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 1, "sublinear_tf": True,
                               "max_features": 200_000, "dtype": np.float32}
WORD_PARAMS: dict[str, Any] = {"ngram_range": (1, 2), "min_df": 1, "sublinear_tf": True,
                               "token_pattern": r"(?u)\b\w[\w&']*\b", "dtype": np.float32}
LEXICON_PATH = Path(__file__).parent / "data" / "lexicon.yaml"
_WORD = re.compile(WORD_PARAMS["token_pattern"])
_MAX_WINDOW_BITS = 63  # n-gram ids are int64
_DIRECT_BITS = 20  # n-grams whose ids fit are found in a table (at most 2**20 columns, 4 MB), not by search
_KNOWN_WORDS = 20_000  # words whose columns an Attribution keeps (a few hundred bytes each)


@lru_cache(maxsize=1)
def default_lexicon() -> dict[str, tuple[str, ...]]:
    """Domain word groups (coffee, fuel, fees, transfer, ...) from ``data/lexicon.yaml``."""
    document = load_yaml(LEXICON_PATH.read_text(encoding="utf-8"))
    return {str(group): tuple(str(word) for word in words) for group, words in document.items()}


def amount_bucket(amounts: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """Index of the bucket each absolute amount falls in."""
    return np.asarray(np.searchsorted(np.asarray(edges), np.abs(amounts), side="right"))


def amount_labels(edges: Sequence[float] = AMOUNT_EDGES) -> list[str]:
    """Readable names of the amount columns, such as ``amount 5-20 out`` (out: money out, in: money in)."""
    bounds = [f"0-{edges[0]:g}"] + [f"{lo:g}-{hi:g}" for lo, hi in pairwise(edges)] + [f"{edges[-1]:g}+"]
    return [f"amount {b} {d}" for d in ("out", "in") for b in bounds]


@dataclass(frozen=True)
class FeatureConfig:
    """The levers of the feature set; docs/evaluation measures each on the hard set, on and off."""

    min_df: int = 1  # 2 drops most n-grams of a small file, and with them what unseen merchants share
    log_amount: bool = True  # a log-magnitude column per direction beside the one-hot buckets
    lexicon: bool = True  # the word groups of data/lexicon.yaml
    brands: bool = True  # the OSM keys of well-known brands a line names (pipeline/brands.py)
    country: str | None = None  # whose brands (ISO alpha-2); None: every country's


# What artifacts written before FeatureConfig existed were fitted with.
LEGACY_CONFIG = FeatureConfig(min_df=2, log_amount=False, brands=False)


class AmountBlock:
    """What the model reads of an amount: a (direction, bucket) one-hot and, optionally, the log magnitude.

    The log column holds the magnitude quantized to ``edges``, so the whole block is constant between
    two edges and a key holding (sign, bucket of ``edges``) holds everything the model reads.
    """

    def __init__(self, log: bool) -> None:
        self.log = log
        self.onehot_edges = AMOUNT_EDGES
        self.edges = LOG_AMOUNT_EDGES if log else AMOUNT_EDGES
        bounds = np.array((0.5, *self.edges, self.edges[-1] * 2.0))
        # One value per bucket: log10 of its geometric middle, scaled to about 0-1 over 1 to 100,000.
        self.levels = (np.log10(np.sqrt(bounds[:-1] * bounds[1:])) / 5.0).astype(np.float32)
        self.coarse_of = amount_bucket(np.array((0.0, *self.edges)), self.onehot_edges)  # one-hot bucket per bucket

    @property
    def width(self) -> int:
        """Columns of the block."""
        return 2 * (len(self.onehot_edges) + 1) + (2 if self.log else 0)

    def transform(self, amounts: np.ndarray) -> sp.csr_matrix:
        """One row per amount (money in when positive)."""
        buckets = amount_bucket(amounts, self.edges)
        return self.rows(buckets, amounts > 0)

    def rows(self, buckets: np.ndarray, money_in: np.ndarray) -> sp.csr_matrix:
        """The block's rows for amounts in these buckets (of ``edges``) and directions."""
        n, onehot = len(buckets), len(self.onehot_edges) + 1
        columns = [self.coarse_of[buckets] + np.where(money_in, onehot, 0)]
        values = [np.ones(n, dtype=np.float32)]
        if self.log:
            columns.append(2 * onehot + money_in.astype(np.intp))
            values.append(self.levels[buckets])
        width = len(columns)
        return sp.csr_matrix((np.column_stack(values).ravel(), np.column_stack(columns).ravel(),
                              np.arange(0, width * n + 1, width)), shape=(n, self.width))

    def labels(self) -> list[str]:
        """Readable column names: ``amount 5-20 out``, ``amount size in`` (the log magnitude)."""
        return amount_labels(self.onehot_edges) + (["amount size out", "amount size in"] if self.log else [])


class BrandBlock:
    """Binary columns: the OSM keys (``shop/supermarket``) of the well-known brands a line names.

    Only keys met in training get a column (the others would get no weight). The artifact keeps
    the country, the keys and which catalog they came from; the matcher itself is rebuilt from the
    shipped catalog in each process.
    """

    def __init__(self, country: str | None, keys: Sequence[str]) -> None:
        self.country = country
        self.keys = list(keys)
        self.catalog = catalog_id()

    @classmethod
    def fit(cls, texts: Sequence[str], country: str | None) -> BrandBlock:
        """The keys that the training texts' brands carry."""
        found = brand_matcher(country).keys(texts)
        return cls(country, sorted({key for keys in found for key in keys}))

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One row per feature text."""
        column = self.__dict__.get("_column")
        if column is None:
            if self.catalog != catalog_id():
                warnings.warn(f"the brand catalog changed since this model was trained ({self.catalog}): "
                              "retrain it", stacklevel=2)
            column = self.__dict__["_column"] = {key: i for i, key in enumerate(self.keys)}
        found = brand_matcher(self.country).keys(texts)
        rows = [row for row, keys in enumerate(found) for key in keys if key in column]
        columns = [column[key] for keys in found for key in keys if key in column]
        return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)),
                             shape=(len(texts), len(self.keys)))

    def labels(self) -> list[str]:
        """Readable column names: ``brand kind "supermarket"`` for ``shop/supermarket``."""
        return [f'brand kind "{key.partition("/")[2].replace("_", " ")}"' for key in self.keys]

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_column"}


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
        return _tfidf_in_place(self.counts(texts), self.idf)

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """How often each n-gram occurs in each text, unweighted."""
        # "\0 w1 w2 " per line. char_wb terms hold spaces only at their ends, so a window across
        # two words never finds a column; the sentinel (code 0) keeps windows inside their line.
        pieces = ["\0 " + " ".join(text.lower().split()) + " " for text in texts]
        codes = self._codes("".join(pieces))
        row_of_char = np.repeat(np.arange(len(pieces), dtype=np.int32), [len(p) for p in pieces])
        rows, columns = [], []
        window = codes
        zeros = np.concatenate(([0], np.cumsum(codes == 0)))
        direct = self._direct()
        for n in range(2, self.max_n + 1):
            window = (window[:-1] << self.bits) | codes[n - 1:]
            starts = np.flatnonzero(zeros[n:] == zeros[:-n])  # windows without a sentinel
            if n * self.bits <= _DIRECT_BITS:
                column = direct[window[starts]]
                hit = column >= 0
                column = column[hit]
            else:
                found = np.searchsorted(self.sorted_ids, window[starts]).clip(max=len(self.sorted_ids) - 1)
                hit = self.sorted_ids[found] == window[starts]
                column = self.sorted_columns[found[hit]]
            rows.append(row_of_char[starts[hit]])
            columns.append(column)
        return _count_rows(np.concatenate(rows), np.concatenate(columns), len(texts), len(self.idf))

    def _codes(self, text: str) -> np.ndarray:
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        table = self._code_table()
        return table[np.minimum(points, len(table) - 1)]  # unknown characters (code 0) end windows too

    def _code_table(self) -> np.ndarray:
        """Code of every character up to the alphabet's last (0: not in it), and a last 0 for all above."""
        table: np.ndarray | None = self.__dict__.get("_codes_of")
        if table is None:
            table = np.zeros(int(self.alphabet[-1]) + 2 if len(self.alphabet) else 1, dtype=np.int64)
            table[self.alphabet] = np.arange(1, len(self.alphabet) + 1)
            self.__dict__["_codes_of"] = table
        return table

    def _direct(self) -> np.ndarray:
        """Column of every window id of up to ``_DIRECT_BITS`` bits (-1: none): short n-grams skip the search."""
        table: np.ndarray | None = self.__dict__.get("_columns_of")
        if table is None:
            table = np.full(1 << self.bits * min(self.max_n, _DIRECT_BITS // self.bits), -1, dtype=np.int32)
            short = (self.sorted_ids >= 0) & (self.sorted_ids < len(table))
            table[self.sorted_ids[short]] = self.sorted_columns[short]
            self.__dict__["_columns_of"] = table
        return table

    def __getstate__(self) -> dict[str, Any]:
        # The lookup tables are rebuilt in each process on first use; artifacts stay as they were.
        return {k: v for k, v in self.__dict__.items() if k not in ("_codes_of", "_columns_of")}


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
        # Python touches each line once (tokens and bigram strings); lookups and rows are per batch.
        lines = [_WORD.findall(text.lower()) for text in texts]
        tokens = list(chain.from_iterable(lines))
        per_line = np.fromiter(map(len, lines), dtype=np.intp, count=len(lines))
        bigrams = list(map(" ".join, chain.from_iterable(map(pairwise, lines))))
        grams = np.fromiter(map(self.vocabulary.get, chain(tokens, bigrams), repeat(-1)), dtype=np.int32,
                            count=len(tokens) + len(bigrams))
        rows = np.concatenate([np.repeat(np.arange(len(lines), dtype=np.int32), per_line),
                               np.repeat(np.arange(len(lines), dtype=np.int32), np.maximum(per_line - 1, 0))])
        known = grams >= 0
        words = _tfidf_in_place(_count_rows(rows[known], grams[known], len(texts), len(self.idf)), self.idf)
        return words, self._lexicon(tokens, rows[:len(tokens)], len(texts))

    def _lexicon(self, tokens: list[str], rows: np.ndarray, n_rows: int) -> sp.csr_matrix:
        """Binary rows: the lexicon groups of each line's tokens (a group once however many tokens fire it)."""
        word_groups, width = self.word_groups, max(len(self.groups), 1)
        hits = [(i, group) for i, token in enumerate(tokens) if token in word_groups for group in word_groups[token]]
        at, groups = np.array(hits, dtype=np.int64).reshape(-1, 2).T
        keys = np.unique(rows[at].astype(np.int64) * width + groups)
        return sp.csr_matrix((np.ones(len(keys), dtype=np.float32), (keys // width, keys % width)),
                             shape=(n_rows, len(self.groups)))


def _count_rows(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> sp.csr_matrix:
    counts = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(n_rows, n_columns))
    counts.sum_duplicates()
    return counts


def _tfidf_in_place(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    counts.data = (np.log(counts.data) + 1.0) * idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    counts.data /= np.repeat(norms, np.diff(counts.indptr)).astype(np.float32)
    return counts


class FeatureSet:
    """Char n-grams, word n-grams, the amount block, lexicon groups and brand kinds, weighted."""

    def __init__(self, char: CharNgrams, word: WordNgrams, amount: AmountBlock | None = None,
                 config: FeatureConfig = LEGACY_CONFIG, brands: BrandBlock | None = None) -> None:
        self.char = char
        self.word = word
        self.amount = amount or AmountBlock(log=config.log_amount)
        self.config = config
        self.brands = brands

    @classmethod
    def fit(cls, texts: Sequence[str], lexicon: dict[str, tuple[str, ...]] | None = None,
            config: FeatureConfig | None = None) -> FeatureSet:
        """Learn both vocabularies and their idf weights from the training texts."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # fitting only: see pipeline.model's imports

        config = config or FeatureConfig()
        char = TfidfVectorizer(**{**CHAR_PARAMS, "min_df": config.min_df}).fit(texts)
        word = TfidfVectorizer(**{**WORD_PARAMS, "min_df": config.min_df}).fit(texts)
        if lexicon is None:
            lexicon = default_lexicon() if config.lexicon else {}
        brands = BrandBlock.fit(texts, config.country) if config.brands else None
        return cls(CharNgrams(char), WordNgrams(word, lexicon), AmountBlock(config.log_amount), config, brands)

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "amount" not in state:  # an artifact written before FeatureConfig: the buckets it was fitted with
            state["amount"] = AmountBlock(log=False)
            state["config"] = LEGACY_CONFIG
            state["brands"] = None
            state.pop("edges", None)
        self.__dict__.update(state)

    @property
    def edges(self) -> tuple[float, ...]:
        """Edges between which every feature of an amount is constant (cache and de-duplication keys)."""
        return self.amount.edges

    def transform(self, texts: Sequence[str], amounts: Sequence[float] | np.ndarray) -> sp.csr_matrix:
        """One sparse float32 row per input."""
        words, lexicon = self.word.transform(texts)
        blocks = {"char": self.char.transform(texts), "word": words,
                  "amount": self.amount.transform(np.asarray(amounts, dtype=float)), "lexicon": lexicon}
        if self.brands is not None:
            blocks["brand"] = self.brands.transform(texts)
        return sp.hstack([blocks[name] * np.float32(BLOCK_WEIGHTS[name]) for name in blocks],
                         format="csr", dtype=np.float32)

    @property
    def n_features(self) -> int:
        """Columns of the matrix ``transform`` returns."""
        return self.text_columns + self.amount.width + len(self.word.groups) + len(self.brand_labels())

    @property
    def text_columns(self) -> int:
        """Columns cut from the text (char, then word n-grams); the amount and word-group columns follow."""
        return len(self.char.names) + len(self.word.names)

    def labels(self) -> list[str]:
        """Readable names of the columns after the text ones: ``amount 5-20 out``, ``word group "fuel"``."""
        groups = [f'word group "{g.replace("_", " ")}"' for g in self.word.groups]
        return self.amount.labels() + groups + self.brand_labels()

    def brand_labels(self) -> list[str]:
        """Readable names of the brand columns (none without the brand block)."""
        return self.brands.labels() if self.brands is not None else []


@dataclass(frozen=True)
class Folded:
    """Values of a matrix's entries, the text ones summed per word of the line they were cut from.

    Item ``i`` belongs to row ``rows[i]``; ``positions[i]`` is its word's place in that row's text (-1
    for an amount or word-group column) and ``labels[names[i]]`` its readable name.
    """

    rows: np.ndarray
    values: np.ndarray
    positions: np.ndarray
    names: np.ndarray
    labels: list[str]


class Attribution:
    """Maps the text columns of a feature matrix back to the words of the lines they were cut from.

    A char n-gram belongs to the whitespace word it came from (char_wb never crosses words), a word
    unigram to the word holding its token, a bigram to the words of its two tokens; a column that
    several words of a line hold is shared by count. Numbers (the normalizer's "0" placeholders) are
    not named: a bigram such as ``vacasa 0`` goes wholly to ``vacasa``, and a number's own share is dropped.
    """

    def __init__(self, features: FeatureSet) -> None:
        self.char = features.char
        self.vocabulary = features.word.vocabulary
        self.word_start = len(features.char.names)
        self.text_columns = features.text_columns
        self.labels = features.labels()
        self.to_unigrams = _unigram_map(features)
        self._table = _WordTable.empty()
        self._learning = threading.Lock()

    def fold(self, matrix: sp.csr_matrix, values: np.ndarray, texts: Sequence[str]) -> Folded:
        """Sum ``values`` (one per entry of ``matrix``, indices sorted) per word of ``texts``, its rows' lines."""
        lines = [text.lower().split() for text in texts]  # the words char_wb cuts n-grams from
        every = list(chain.from_iterable(lines))
        table = self._table
        word_of = np.fromiter(map(table.ids.get, every, repeat(-1)), dtype=np.intp, count=len(every))
        # The ids dict is shared and grows first: a word another thread is adding may have an id past
        # this table's rows. Such a word counts as unknown here; learning it waits for that thread.
        word_of[word_of >= len(table.named)] = -1
        unknown = np.flatnonzero(word_of < 0)
        if len(unknown):  # words never seen: learn them in one batch
            learned = self._learn(every)
            if learned.ids is table.ids:  # the table grew: the ids found stand
                word_of[unknown] = [learned.ids[every[i]] for i in unknown.tolist()]
            else:  # it started afresh
                word_of = np.fromiter(map(learned.ids.__getitem__, every), dtype=np.intp, count=len(every))
            table = learned
        lengths = np.fromiter(map(len, lines), dtype=np.intp, count=len(lines))
        row_of = np.repeat(np.arange(len(lines), dtype=np.int64), lengths)

        entry_rows = _entries(matrix)[0]
        keys = entry_rows.astype(np.int64) * matrix.shape[1] + matrix.indices
        text = self._onto_unigrams(matrix, values, keys)
        occurrence, columns, counts = table.held(word_of)
        entry, found = _lookup(keys, row_of[occurrence] * matrix.shape[1] + columns)
        counts = counts[found]
        holders = np.bincount(entry, weights=counts, minlength=len(values))  # a column two words of a line hold
        folded = np.bincount(occurrence[found], weights=text[entry] * counts / holders[entry], minlength=len(word_of))

        named = np.flatnonzero(table.named[word_of])
        other = np.flatnonzero(matrix.indices >= self.text_columns)
        position = np.arange(len(word_of)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        words = table.names[:]  # one copy: another thread may add words meanwhile
        return Folded(
            rows=np.concatenate([row_of[named], entry_rows[other]]),
            values=np.concatenate([folded[named], values[other]]),
            positions=np.concatenate([position[named], np.full(len(other), -1)]),
            names=np.concatenate([word_of[named], len(words) + matrix.indices[other] - self.text_columns]),
            labels=words + self.labels,
        )

    def _onto_unigrams(self, matrix: sp.csr_matrix, values: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """``values`` with each word bigram's moved onto the unigram entries of its tokens, on the same row.

        Only the word n-gram entries move, each to its row of ``to_unigrams``; the sums run in the order
        a sparse product ``values @ to_unigrams`` would use, so the figures are that product's.
        """
        words = np.flatnonzero((matrix.indices >= self.word_start) & (matrix.indices < self.text_columns))
        targets = self.to_unigrams.indptr
        starts, counts = targets[matrix.indices[words]], np.diff(targets)[matrix.indices[words]]
        pick = _ranges(starts, counts)
        source = np.repeat(words, counts)
        at, found = _lookup(keys, _entries(matrix)[0][source].astype(np.int64) * matrix.shape[1]
                            + self.to_unigrams.indices[pick])
        moved = values[source[found]].astype(np.float64) * self.to_unigrams.data[pick[found]]
        onto = np.bincount(at, weights=moved, minlength=len(values))
        in_words = np.zeros(len(values), dtype=bool)
        in_words[words] = True
        return np.where(in_words, onto, values).astype(values.dtype)

    def _learn(self, words: list[str]) -> _WordTable:
        """The word table, with those of ``words`` it lacked learned in one batch.

        Lines repeat the same words, so the table is kept; past ``_KNOWN_WORDS`` it starts afresh.
        Learning takes a lock (API threads may fold at once); the table returned holds all ``words``.
        """
        with self._learning:
            table = self._table
            missing = [word for word in dict.fromkeys(words) if word not in table.ids]
            if len(table.names) + len(missing) > _KNOWN_WORDS:
                table, missing = _WordTable.empty(), list(dict.fromkeys(words))
            if missing:
                table = table.extended(missing, *self._facts(missing))
            self._table = table
        return table

    def _facts(self, words: list[str]) -> tuple[sp.csr_matrix, list[str]]:
        """The text columns each word produces (char n-grams, then its tokens' unigrams), how often, and its name."""
        tokens = [_WORD.findall(word) for word in words]
        rows = [row for row, found in enumerate(tokens) for t in found if t in self.vocabulary]
        columns = [self.vocabulary[t] for found in tokens for t in found if t in self.vocabulary]
        unigrams = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)),
                                 shape=(len(words), len(self.vocabulary)))
        held = sp.hstack([self.char.counts(words), unigrams], format="csr", dtype=np.float32)
        names = [word.strip(string.punctuation) if any(not t.isdigit() for t in found) else ""
                 for word, found in zip(words, tokens, strict=True)]
        return held, names


@dataclass(frozen=True)
class _WordTable:
    """Words seen so far, by id: the text columns each produces and how often (rows of a CSR), and its name."""

    ids: dict[str, int]
    indptr: np.ndarray
    columns: np.ndarray
    counts: np.ndarray
    names: list[str]  # as shown; "" for a number (the normalizer's "0")
    named: np.ndarray

    @classmethod
    def empty(cls) -> _WordTable:
        """A table of no words."""
        return cls({}, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32),
                   [], np.zeros(0, dtype=bool))

    def extended(self, words: list[str], held: sp.csr_matrix, names: list[str]) -> _WordTable:
        """The table with ``words`` added (``held`` and ``names`` as ``Attribution._facts`` gives them).

        The ids dict and the names list are shared and only grow: a table handed out earlier still
        holds every word it was handed out for.
        """
        self.ids.update((word, len(self.names) + i) for i, word in enumerate(words))
        self.names.extend(names)
        return _WordTable(
            ids=self.ids,
            indptr=np.concatenate([self.indptr, self.indptr[-1] + held.indptr[1:].astype(np.int64)]),
            columns=np.concatenate([self.columns, held.indices.astype(np.int32)]),
            counts=np.concatenate([self.counts, held.data]),
            names=self.names,
            named=np.concatenate([self.named, np.array([bool(name) for name in names], dtype=bool)]),
        )

    def held(self, word_of: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Occurrence, column and count of every text column the words ``word_of`` (ids) produce."""
        starts = self.indptr[word_of]
        counts = self.indptr[word_of + 1] - starts
        pick = _ranges(starts, counts)
        return np.repeat(np.arange(len(word_of)), counts), self.columns[pick], self.counts[pick]


def _unigram_map(features: FeatureSet) -> sp.csr_matrix:
    """Word n-gram columns onto unigram columns: a unigram stays, a bigram goes half to each of its
    tokens (all to one when the other is a number); other columns go nowhere.

    With min_df >= 2 both tokens of a bigram are unigram columns too; one that is not gets no share.
    """
    start, vocabulary = len(features.char.names), features.word.vocabulary
    rows: list[int] = []
    columns: list[int] = []
    shares: list[float] = []
    for column, name in enumerate(features.word.names):
        tokens = [t for t in name.split(" ") if t in vocabulary]
        named = [t for t in tokens if not t.isdigit()] or tokens
        rows.extend([start + column] * len(named))
        columns.extend(start + vocabulary[t] for t in named)
        shares.extend([1.0 / len(named)] * len(named))
    return sp.csr_matrix((shares, (rows, columns)), shape=(features.n_features, features.n_features))


def _entries(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and value of every stored entry."""
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)), matrix.indices, matrix.data


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indices ``starts[i], ..., starts[i] + counts[i] - 1`` for every ``i``, concatenated."""
    ends = np.cumsum(counts)
    return np.asarray(np.arange(ends[-1] if len(ends) else 0) + np.repeat(starts - (ends - counts), counts))


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the keys found in ``sorted_keys`` sit there, and which keys those are."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(len(keys), dtype=bool)
    at = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
    found = sorted_keys[at] == keys
    return at[found], found
