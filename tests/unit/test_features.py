"""The numpy transform must give exactly the matrix scikit-learn's vectorizers give."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.features import (
    AMOUNT_EDGES,
    CHAR_PARAMS,
    LEGACY_CONFIG,
    WORD_PARAMS,
    AmountBlock,
    CharNgrams,
    FeatureSet,
    WordNgrams,
    amount_bucket,
)
from pipeline.generate import Generator
from pipeline.normalize import feature_text

EDGE_CASES = ["", " ", "a", "ab", "abc", "  x  y\tz ", "café crème", "ünïcödé ñ", "\u4e00\u4e8c shop",
              "sq *blue bottle 0 sf ca", "Blue BOTTLE", "o'reilly auto parts", "at&t bill", "a b c d e f", "x" * 300]


@pytest.fixture(scope="module")
def fitted():
    texts = [feature_text(r["description"]) for r in Generator(5).rows(3_000)] + ["café crème", "ü ü"]
    char, word = TfidfVectorizer(**CHAR_PARAMS).fit(texts), TfidfVectorizer(**WORD_PARAMS).fit(texts)
    return char, word, CharNgrams(char), WordNgrams(word, {})


def _assert_same(ours, theirs):
    assert ours.shape == theirs.shape
    assert ours.nnz == theirs.nnz
    assert abs(ours - theirs).max() < 1e-6 if ours.nnz else True


def test_char_and_word_blocks_equal_sklearn_on_bank_lines(fitted):
    char, word, our_char, our_word = fitted
    lines = [feature_text(r["description"]) for r in Generator(6).rows(2_000)] + EDGE_CASES
    _assert_same(our_char.transform(lines), char.transform(lines))
    _assert_same(our_word.transform(lines)[0], word.transform(lines))
    assert our_char.transform([]).shape == (0, len(char.vocabulary_))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("abcAÉé üx'&0-*\t\u200b\u4e00İ"), max_size=40),
                min_size=1, max_size=8))
def test_char_and_word_blocks_equal_sklearn_on_any_text(fitted, lines):
    char, word, our_char, our_word = fitted
    _assert_same(our_char.transform(lines), char.transform(lines))
    _assert_same(our_word.transform(lines)[0], word.transform(lines))


def test_lexicon_groups_fire_on_whole_tokens():
    features = FeatureSet.fit(["shell oil 0", "blue bottle coffee", "shell oil 0", "blue bottle coffee"],
                              lexicon={"fuel": ("shell", "gas"), "coffee": ("coffee",)})
    matrix = features.transform(["shell gas", "coffeehouse", "my coffee"], np.array([-5.0, -5.0, -5.0]))
    labels = features.labels()
    fired = [{labels[j - features.text_columns] for j in matrix[i].indices if j >= features.text_columns}
             for i in range(3)]
    groups = [{label for label in row if label.startswith("word group")} for row in fired]
    assert groups == [{'word group "fuel"'}, set(), {'word group "coffee"'}]
    assert matrix.shape[1] == features.n_features == features.text_columns + len(labels)


def test_amount_block_names_direction_and_bucket():
    features = FeatureSet.fit(["a shop", "a shop"], lexicon={})
    matrix = features.transform(["a shop", "a shop"], np.array([-3.0, 250.0]))
    labels = features.labels()
    amount = [[labels[j - features.text_columns] for j in matrix[i].indices if j >= features.text_columns]
              for i in range(2)]
    assert amount == [["amount 0-5 out", "amount size out"], ["amount 200-1000 in", "amount size in"]]
    larger = [matrix[i, features.text_columns + 14 + i] for i in range(2)]  # after the 14 one-hot columns
    assert 0 < larger[0] < larger[1]  # $250 reads larger than $3


@pytest.mark.parametrize("log_amount", [True, False])
def test_every_amount_feature_is_constant_between_two_key_edges(log_amount):
    """The cache and de-duplication keys hold (sign, bucket of ``edges``), not the amount."""
    block = AmountBlock(log_amount)
    rng = np.random.default_rng(0)
    amounts = np.concatenate([rng.lognormal(3, 2, 2000), -rng.lognormal(3, 2, 2000), [0.0, -0.0, 1e9, -1e9]])
    buckets = amount_bucket(amounts, block.edges)
    rows = block.transform(amounts).toarray()
    for sign in (True, False):
        for bucket in np.unique(buckets):
            same = rows[(buckets == bucket) & ((amounts > 0) == sign)]
            assert (same == same[:1]).all()
    assert len(np.unique(rows, axis=0)) == len(set(zip((amounts > 0).tolist(), buckets.tolist(), strict=True)))


def test_an_artifact_from_before_feature_config_loads_with_its_buckets():
    features = FeatureSet.fit(["shell oil 0", "blue bottle coffee"] * 2, config=LEGACY_CONFIG)
    state = dict(features.__dict__)
    del state["amount"], state["config"]
    state["edges"] = AMOUNT_EDGES  # what such an artifact held
    old = FeatureSet.__new__(FeatureSet)
    old.__setstate__(state)
    assert old.edges == AMOUNT_EDGES and old.config == LEGACY_CONFIG
    amounts = np.array([-3.0, 250.0])
    assert (old.transform(["shell oil", "coffee"], amounts) != features.transform(["shell oil", "coffee"],
                                                                                 amounts)).nnz == 0


def test_lookup_tables_are_rebuilt_per_process_and_never_pickled(fitted):
    char, _, our_char, _ = fitted
    lines = [feature_text(r["description"]) for r in Generator(7).rows(300)]
    before = pickle.dumps(our_char)
    used = our_char.transform(lines)
    assert pickle.dumps(our_char) == before
    _assert_same(pickle.loads(before).transform(lines), used)
    _assert_same(used, char.transform(lines))


def test_lexicon_rows_are_the_set_of_groups_of_each_lines_tokens():
    from pipeline.features import _WORD, default_lexicon

    lines = [feature_text(r["description"]) for r in Generator(8).rows(500)] + EDGE_CASES + ["shell gas shell"]
    features = FeatureSet.fit(lines)
    _, lexicon = features.word.transform(lines)
    groups = features.word.groups
    expected = [{groups.index(g) for t in _WORD.findall(line.lower()) for g, words in default_lexicon().items()
                 if t in words} for line in lines]
    assert [set(lexicon[i].indices.tolist()) for i in range(len(lines))] == expected
    assert set(lexicon.data.tolist()) <= {1.0}
